//! A track that takes long to open (a slow source, a broken voice connection) does not hold
//! its guild: the session is unlocked while the player opens it.

use std::sync::{Mutex, mpsc};
use std::time::Duration;

use minstrel_domain::{AddPosition, DomainEvent, PlaybackState};

use super::{Fixture, Harness, guild};
use crate::error::MusicError;
use crate::policy::Actor;

/// Long enough for a command that does not wait on the open; far shorter than the open.
const AT_ONCE: Duration = Duration::from_secs(2);
/// A command that starts a track answers by then, with the track still opening if need be.
const WITH_A_START: Duration = Duration::from_secs(3);

/// "slow" played on the idle player: the answer comes while it still opens, naming it.
async fn play_slow(harness: &Harness) {
    let outcome = tokio::time::timeout(
        WITH_A_START,
        harness
            .music
            .play(guild(), &Actor::console(), "slow", AddPosition::End),
    )
    .await
    .expect("play waited for the whole open")
    .unwrap();
    assert_eq!(
        outcome.started.map(|track| track.title).as_deref(),
        Some("slow")
    );
    assert_eq!(outcome.position, None);
}

/// A harness whose player blocks the first `play` until the returned sender sends (or 20 s
/// pass); every other call succeeds at once.
fn with_a_slow_first_open() -> (Harness, mpsc::Sender<()>) {
    let (release, gate) = mpsc::channel::<()>();
    let gate = Mutex::new(gate);
    let mut fixture = Fixture::new();
    fixture
        .player
        .expect_play()
        .times(1)
        .returning(move |_, _, _, _, _, _| {
            let _ = gate.lock().unwrap().recv_timeout(Duration::from_secs(20));
            Ok(())
        });
    (fixture.build(), release)
}

/// Waits until the guild's current track is `title` (the spawned play has queued it).
async fn until_current(harness: &Harness, title: &str) {
    for _ in 0..200 {
        if let Ok(now) = tokio::time::timeout(AT_ONCE, harness.music.now_playing(guild())).await
            && now.is_ok_and(|now| now.track.title == title)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{title} never became the current track");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_answer_while_a_track_opens_and_a_skip_replaces_the_open() {
    let (mut harness, release) = with_a_slow_first_open();
    play_slow(&harness).await;
    until_current(&harness, "slow").await;

    // Queueing, pausing and skipping answer while "slow" is still opening.
    let queued = tokio::time::timeout(
        AT_ONCE,
        harness
            .music
            .play(guild(), &Actor::console(), "next", AddPosition::End),
    )
    .await
    .expect("play waited on the open")
    .unwrap();
    assert_eq!(queued.position, Some(0));
    let paused = tokio::time::timeout(AT_ONCE, harness.music.pause(guild(), &Actor::console()))
        .await
        .expect("pause waited on the open");
    assert_eq!(paused, Err(MusicError::StillOpening));
    let skipped =
        tokio::time::timeout(WITH_A_START, harness.music.skip(guild(), &Actor::console()))
            .await
            .expect("skip waited on the open")
            .unwrap();
    assert_eq!(skipped.skipped.title, "slow");
    assert_eq!(
        skipped.next.map(|track| track.title).as_deref(),
        Some("next")
    );

    // The open finishes after the skip: it does not take the guild back.
    release.send(()).unwrap();
    // The open's end is seen once the start task has taken the session back.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let now = harness.music.now_playing(guild()).await.unwrap();
    assert_eq!(now.track.title, "next");
    assert_eq!(now.state, PlaybackState::Playing);
    let started: Vec<String> = harness
        .take_events()
        .into_iter()
        .filter_map(|event| match event {
            DomainEvent::TrackStarted { track, .. } => Some(track.title),
            _ => None,
        })
        .collect();
    assert_eq!(started, ["next"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_during_the_open_wins_over_it() {
    let (harness, release) = with_a_slow_first_open();
    play_slow(&harness).await;
    tokio::time::timeout(AT_ONCE, harness.music.stop(guild(), &Actor::console()))
        .await
        .expect("stop waited on the open")
        .unwrap();
    release.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        harness.music.now_playing(guild()).await,
        Err(MusicError::NothingPlaying)
    );
    assert_ne!(harness.music.state(guild()).await, PlaybackState::Playing);
}
