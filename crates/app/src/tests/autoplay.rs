//! Autoplay: a related track when the queue runs out, if the last track's requester wants it.

use minstrel_domain::{
    AddPosition, DomainEvent, GuildId, HistoryEntry, RequesterId, TrackId, UserSettings,
};
use mockall::predicate::eq;

use super::{Fixture, Harness, guild, info, member, the_time, user_id};
use crate::music::AUTOPLAY_REQUESTER_NAME;
use crate::ports::{MockRelatedTracks, PlayerEvent, PlayerEventKind, ResolveError, TrackInfo};

/// The Discord user who queues "A".
const LISTENER: u64 = 7;

/// A fixture whose listener has autoplay set to `autoplay`.
fn fixture(autoplay: bool, related: MockRelatedTracks) -> Fixture {
    let mut fixture = Fixture::new();
    fixture.settings.expect_user().returning(move |user| {
        let mut settings = UserSettings::new(user);
        settings.autoplay = autoplay;
        Ok(Some(settings))
    });
    fixture.related = Some(related);
    fixture
}

/// The listener plays "A" alone; returns its id.
async fn play_a(harness: &mut Harness) -> TrackId {
    harness
        .music
        .play(guild(), &member(LISTENER), "A", AddPosition::End)
        .await
        .unwrap();
    harness.take_events();
    harness.take_player_calls();
    harness.music.now_playing(guild()).await.unwrap().track.id
}

async fn finish(harness: &Harness, track: TrackId) {
    harness
        .music
        .handle_player_event(PlayerEvent {
            guild: guild(),
            track,
            kind: PlayerEventKind::Finished,
        })
        .await;
}

#[tokio::test]
async fn the_queue_ending_queues_and_starts_a_related_track_when_the_requester_wants_it() {
    let mut related = MockRelatedTracks::new();
    related
        .expect_related()
        .times(1)
        .withf(|seed, recent| seed.title == "A" && recent.iter().any(|locator| locator == "A.wav"))
        // The source repeats the seed first: autoplay skips what was just played.
        .returning(|_, _| Ok(vec![info("A"), info("Related"), info("Other")]));
    let mut harness = fixture(true, related).build();
    let a = play_a(&mut harness).await;

    finish(&harness, a).await;

    assert_eq!(harness.take_played_titles(), ["Related"]);
    let events = harness.take_events();
    let queued = events
        .iter()
        .find_map(|event| match event {
            DomainEvent::TrackQueued { track, .. } => Some(track.clone()),
            _ => None,
        })
        .expect("autoplay announces the track it queued");
    assert_eq!(queued.title, "Related");
    assert_eq!(queued.requested_by.display_name, AUTOPLAY_REQUESTER_NAME);
    assert_eq!(
        queued.requested_by.id,
        RequesterId::Discord(user_id(LISTENER))
    );
    assert!(events.iter().any(
        |event| matches!(event, DomainEvent::TrackStarted { track, .. } if track.title == "Related")
    ));
    assert!(
        !events
            .iter()
            .any(|event| matches!(event, DomainEvent::QueueFinished { .. }))
    );
    assert_eq!(harness.current_title().await.as_deref(), Some("Related"));
}

#[tokio::test]
async fn the_queue_finishes_as_before_when_the_requester_has_autoplay_off() {
    let mut related = MockRelatedTracks::new();
    related.expect_related().never();
    let mut harness = fixture(false, related).build();
    let a = play_a(&mut harness).await;

    finish(&harness, a).await;

    assert!(harness.take_played_titles().is_empty());
    assert_eq!(
        harness.take_events().last(),
        Some(&DomainEvent::QueueFinished { guild: guild() })
    );
    assert_eq!(harness.current_title().await, None);
}

/// Whether the queue finished, with nothing played, when the related source answers
/// `answer` (and the history has nothing).
async fn finishes_when_related_answers(
    answer: fn() -> Result<Vec<TrackInfo>, ResolveError>,
) -> bool {
    let mut related = MockRelatedTracks::new();
    related
        .expect_related()
        .times(1)
        .returning(move |_, _| answer());
    let mut harness = fixture(true, related).build();
    let a = play_a(&mut harness).await;

    finish(&harness, a).await;

    harness.take_played_titles().is_empty()
        && harness.take_events().last() == Some(&DomainEvent::QueueFinished { guild: guild() })
}

#[tokio::test]
async fn a_failing_related_source_finishes_the_queue() {
    assert!(
        finishes_when_related_answers(|| Err(ResolveError::Unavailable(
            "yt-dlp is down".to_owned()
        )))
        .await
    );
}

#[tokio::test]
async fn only_already_played_related_tracks_finish_the_queue() {
    assert!(finishes_when_related_answers(|| Ok(vec![info("A")])).await);
}

#[tokio::test]
async fn with_nothing_related_a_track_by_the_same_artist_comes_from_the_history() {
    let mut related = MockRelatedTracks::new();
    related
        .expect_related()
        .times(1)
        .returning(|_, _| Err(ResolveError::NotFound("A".to_owned())));
    let mut fixture = fixture(true, related);
    fixture
        .resolver
        .expect_resolve()
        .with(eq("A"))
        .returning(|_| {
            Ok(vec![TrackInfo {
                artist: Some("The Band".to_owned()),
                ..info("A")
            }])
        });
    let entry = |guild_id, title: &str, locator: &str| HistoryEntry {
        guild_id,
        requester: RequesterId::Discord(user_id(LISTENER)),
        title: title.to_owned(),
        locator: locator.to_owned(),
        duration: None,
        played_at: the_time(),
    };
    let other_guild = GuildId::new(2).unwrap();
    let history = vec![
        // Newest first: the seed itself, another artist, another guild, then the one.
        entry(guild(), "The Band – A", "A.wav"),
        entry(guild(), "Someone Else – Tune", "Tune.wav"),
        entry(other_guild, "The Band – Elsewhere", "Elsewhere.wav"),
        entry(guild(), "the band – Old Song", "Old Song.wav"),
    ];
    fixture
        .history
        .expect_for_user()
        .withf(|user, _, _| *user == user_id(LISTENER))
        .returning(move |_, _, _| Ok(history.clone()));
    let mut harness = fixture.build();
    let a = play_a(&mut harness).await;

    finish(&harness, a).await;

    // The default resolver names a track after what it was asked for.
    assert_eq!(harness.take_played_titles(), ["Old Song.wav"]);
    assert!(
        !harness
            .take_events()
            .iter()
            .any(|event| matches!(event, DomainEvent::QueueFinished { .. }))
    );
}
