//! `MusicService` reacting to the player (`handle_player_event`, `run_player_events`) and
//! bringing queues back after a restart (`restore_all`).

use std::time::Duration;

use minstrel_domain::{
    ChannelId, DomainEvent, EndReason, FilterSpec, GuildId, PlaybackState, Preset, RepeatMode,
    Requester, TrackId,
};
use mockall::Sequence;
use mockall::predicate::eq;
use tokio::sync::broadcast;

use super::{
    Fixture, Harness, PlayerCall, guild, names, requester, saved_track, the_time, voice_channel,
    volume,
};
use crate::error::MusicError;
use crate::music::MAX_RESTORED_STARTS;
use crate::policy::Actor;
use crate::ports::{PlayerError, PlayerEvent, PlayerEventKind, QueueSnapshot, StoreError};

/// A harness where the console has started "A" and queued `upcoming` after it; returns the id
/// of "A".
async fn playing(upcoming: &[&str]) -> (Harness, TrackId) {
    let mut harness = Fixture::new().build();
    for title in std::iter::once(&"A").chain(upcoming) {
        harness.play_console(title).await;
    }
    harness.take_events();
    harness.take_player_calls();
    let current = harness.music.now_playing(guild()).await.unwrap().track.id;
    (harness, current)
}

fn event(track: TrackId, kind: PlayerEventKind) -> PlayerEvent {
    PlayerEvent {
        guild: guild(),
        track,
        kind,
    }
}

// ----- handle_player_event ----------------------------------------------------------------

#[tokio::test]
async fn a_finished_track_starts_the_next_one() {
    let (mut harness, a) = playing(&["B"]).await;

    harness
        .music
        .handle_player_event(event(a, PlayerEventKind::Finished))
        .await;

    assert_eq!(harness.take_played_titles(), ["B"]);
    let events = harness.take_events();
    assert_eq!(names(&events), ["track_ended", "track_started"]);
    assert!(matches!(
        &events[0],
        DomainEvent::TrackEnded { track, reason: EndReason::Finished, .. } if track.id == a
    ));
    assert_eq!(harness.current_title().await.as_deref(), Some("B"));
    assert_eq!(
        harness
            .last_save()
            .current
            .map(|track| track.title)
            .as_deref(),
        Some("B")
    );
}

#[tokio::test]
async fn a_lost_voice_connection_is_released_and_the_queue_saved_without_a_rejoin() {
    let (mut harness, a) = playing(&["B"]).await;
    harness
        .music
        .join(guild(), &Actor::console(), voice_channel(), None)
        .await
        .unwrap();
    harness.take_player_calls();

    harness
        .music
        .handle_player_event(event(
            a,
            PlayerEventKind::Disconnected("voice close 4014".to_owned()),
        ))
        .await;

    // Released, never rejoined, nothing started.
    assert_eq!(harness.take_player_calls(), [PlayerCall::Leave]);
    let events = harness.take_events();
    assert_eq!(names(&events), ["track_ended", "voice_lost"]);
    assert!(matches!(
        &events[0],
        DomainEvent::TrackEnded { track, reason: EndReason::Stopped, .. } if track.id == a
    ));
    // Front-ends tell the guild, with how much is kept.
    assert_eq!(
        events[1],
        DomainEvent::VoiceLost {
            guild: guild(),
            queued: 2
        }
    );
    assert_eq!(harness.music.state(guild()).await, PlaybackState::Stopped);
    assert_eq!(harness.current_title().await, None);
    assert_eq!(harness.upcoming_titles().await, ["A", "B"]);
    let saved = harness.last_save();
    assert_eq!(saved.voice_channel, None);
    assert!(saved.current.is_none());
    let titles: Vec<&str> = saved.upcoming.iter().map(|t| t.title.as_str()).collect();
    assert_eq!(titles, ["A", "B"]);

    // The next play carries on with the saved queue, "A" first.
    harness.play_console("C").await;
    assert_eq!(harness.take_played_titles(), ["A"]);
}

#[tokio::test]
async fn a_lost_voice_connection_of_an_idle_player_only_releases_it() {
    let mut harness = Fixture::new().build();
    harness
        .music
        .join(guild(), &Actor::console(), voice_channel(), None)
        .await
        .unwrap();
    harness.take_player_calls();
    harness.take_events();

    harness
        .music
        .handle_player_event(event(
            TrackId(0),
            PlayerEventKind::Disconnected("voice close 4022".to_owned()),
        ))
        .await;

    assert_eq!(harness.take_player_calls(), [PlayerCall::Leave]);
    assert_eq!(
        harness.take_events(),
        [DomainEvent::VoiceLost {
            guild: guild(),
            queued: 0
        }]
    );
    assert_eq!(harness.last_save().voice_channel, None);
}

#[tokio::test]
async fn a_finished_track_plays_again_with_repeat_track() {
    let (mut harness, a) = playing(&["B"]).await;
    harness
        .music
        .set_repeat(guild(), &Actor::console(), RepeatMode::Track)
        .await
        .unwrap();

    harness
        .music
        .handle_player_event(event(a, PlayerEventKind::Finished))
        .await;

    let calls = harness.take_player_calls();
    assert!(
        matches!(calls.as_slice(), [PlayerCall::Play { track, start_at, .. }] if *track == a && *start_at == Duration::ZERO),
        "{calls:?}"
    );
    assert_eq!(
        names(&harness.take_events()),
        ["track_ended", "track_started"]
    );
    assert_eq!(harness.upcoming_titles().await, ["B"]);
}

#[tokio::test]
async fn a_failed_track_is_reported_and_the_next_one_starts() {
    let (mut harness, a) = playing(&["B"]).await;

    harness
        .music
        .handle_player_event(event(a, PlayerEventKind::Failed("stream reset".to_owned())))
        .await;

    let events = harness.take_events();
    assert_eq!(
        names(&events),
        ["track_failed", "track_ended", "track_started"]
    );
    assert!(matches!(
        &events[0],
        DomainEvent::TrackFailed { track, reason, .. } if track.id == a && reason == "stream reset"
    ));
    assert!(matches!(
        &events[1],
        DomainEvent::TrackEnded { reason: EndReason::Failed(reason), .. } if reason == "stream reset"
    ));
    assert_eq!(harness.take_played_titles(), ["B"]);
}

#[tokio::test]
async fn a_failed_track_is_not_repeated_by_repeat_track() {
    let (harness, a) = playing(&["B"]).await;
    harness
        .music
        .set_repeat(guild(), &Actor::console(), RepeatMode::Track)
        .await
        .unwrap();

    harness
        .music
        .handle_player_event(event(a, PlayerEventKind::Failed("gone".to_owned())))
        .await;

    assert_eq!(harness.take_played_titles(), ["B"]);
}

#[tokio::test]
async fn a_stuck_track_is_skipped() {
    let (mut harness, a) = playing(&["B"]).await;

    harness
        .music
        .handle_player_event(event(a, PlayerEventKind::Stuck))
        .await;

    assert!(matches!(
        harness.take_events().first(),
        Some(DomainEvent::TrackEnded {
            reason: EndReason::Stuck,
            ..
        })
    ));
    assert_eq!(harness.take_played_titles(), ["B"]);
}

#[tokio::test]
async fn an_event_of_a_replaced_track_is_ignored() {
    let (mut harness, a) = playing(&["B"]).await;
    let stale = TrackId(a.0 + 100);

    harness
        .music
        .handle_player_event(event(stale, PlayerEventKind::Finished))
        .await;
    harness
        .music
        .handle_player_event(event(stale, PlayerEventKind::Failed("late".to_owned())))
        .await;

    assert!(harness.take_player_calls().is_empty());
    assert!(harness.take_events().is_empty());
    assert_eq!(harness.current_title().await.as_deref(), Some("A"));
    assert_eq!(harness.upcoming_titles().await, ["B"]);
}

#[tokio::test]
async fn started_and_events_of_unknown_guilds_change_nothing() {
    let (mut harness, a) = playing(&["B"]).await;

    harness
        .music
        .handle_player_event(event(a, PlayerEventKind::Started))
        .await;
    harness
        .music
        .handle_player_event(PlayerEvent {
            guild: GuildId::new(2).unwrap(),
            track: a,
            kind: PlayerEventKind::Finished,
        })
        .await;

    assert!(harness.take_player_calls().is_empty());
    assert!(harness.take_events().is_empty());
    assert_eq!(harness.current_title().await.as_deref(), Some("A"));
}

#[tokio::test]
async fn the_last_track_finishing_finishes_the_queue() {
    let (mut harness, a) = playing(&[]).await;

    harness
        .music
        .handle_player_event(event(a, PlayerEventKind::Finished))
        .await;

    assert_eq!(
        harness.take_events().last(),
        Some(&DomainEvent::QueueFinished { guild: guild() })
    );
    assert_eq!(harness.music.state(guild()).await, PlaybackState::Idle);
    assert!(harness.take_player_calls().is_empty());
    assert_eq!(harness.last_save().current, None);
    // A new play starts at once again.
    let outcome = harness.play_console("C").await;
    assert!(outcome.started.is_some());
}

#[tokio::test]
async fn run_player_events_handles_events_until_the_player_goes_away() {
    let (sender, receiver) = broadcast::channel(8);
    let mut fixture = Fixture::new();
    fixture
        .player
        .expect_events()
        .times(1)
        .return_once(move || receiver);
    let harness = fixture.build();
    harness.play_console("A").await;
    harness.play_console("B").await;
    let a = harness.music.now_playing(guild()).await.unwrap().track.id;
    harness.take_player_calls();

    sender.send(event(a, PlayerEventKind::Finished)).unwrap();
    drop(sender);
    // Returns once the channel is closed, after handling what was sent.
    harness.music.clone().run_player_events().await;

    assert_eq!(harness.take_played_titles(), ["B"]);
}

// ----- checkpoints ------------------------------------------------------------------------

#[tokio::test]
async fn a_checkpoint_saves_playing_guilds_and_skips_paused_ones() {
    let (harness, a) = playing(&["B"]).await;
    let saves_before = harness.saves.lock().unwrap().len();

    assert_eq!(harness.music.checkpoint_playing().await, 1);
    let saves = harness.saves.lock().unwrap().clone();
    assert_eq!(saves.len(), saves_before + 1);
    let snapshot = saves.last().unwrap();
    assert_eq!(snapshot.current.as_ref().map(|track| track.id), Some(a));
    assert_eq!(snapshot.upcoming.len(), 1);

    harness
        .music
        .pause(guild(), &Actor::console())
        .await
        .unwrap();
    let saves_paused = harness.saves.lock().unwrap().len();
    assert_eq!(harness.music.checkpoint_playing().await, 0);
    assert_eq!(harness.saves.lock().unwrap().len(), saves_paused);
}

#[tokio::test(start_paused = true)]
async fn checkpoints_run_on_their_period() {
    let (harness, _) = playing(&[]).await;
    let saves_before = harness.saves.lock().unwrap().len();
    let task = tokio::spawn(
        harness
            .music
            .clone()
            .run_checkpoints(Duration::from_secs(5)),
    );
    // Paused time: the sleep advances the clock exactly, no real waiting.
    tokio::time::sleep(Duration::from_millis(12_500)).await;
    assert_eq!(harness.saves.lock().unwrap().len(), saves_before + 2);
    task.abort();
}

// ----- idle timeout -----------------------------------------------------------------------

/// A harness whose guild joined the voice channel and played "A" until it was stopped.
async fn stopped_in_voice(fixture: Fixture) -> Harness {
    let harness = fixture.build();
    harness
        .music
        .join(guild(), &Actor::console(), voice_channel(), None)
        .await
        .unwrap();
    harness.play_console("A").await;
    harness
        .music
        .stop(guild(), &Actor::console())
        .await
        .unwrap();
    harness.take_player_calls();
    harness
}

#[tokio::test]
async fn an_idle_player_leaves_after_the_guild_timeout_and_not_before() {
    let harness = stopped_in_voice(Fixture::new()).await;
    let timeout = minstrel_domain::GuildSettings::new(guild()).idle_timeout();
    let start = the_time();

    assert_eq!(harness.music.leave_idle_guilds(start).await, 0);
    let almost = start + timeout - Duration::from_secs(1);
    assert_eq!(harness.music.leave_idle_guilds(almost).await, 0);
    assert!(harness.take_player_calls().is_empty());

    assert_eq!(harness.music.leave_idle_guilds(start + timeout).await, 1);
    assert_eq!(harness.take_player_calls(), [PlayerCall::Leave]);
    assert_eq!(harness.last_save().voice_channel, None);
    // Gone once: nothing more to leave.
    let later = start + timeout * 2;
    assert_eq!(harness.music.leave_idle_guilds(later).await, 0);
}

#[tokio::test]
async fn a_24_7_guild_and_a_playing_guild_stay() {
    let mut fixture = Fixture::new();
    fixture.guild_settings.stay_24_7 = true;
    let harness = stopped_in_voice(fixture).await;
    let far = the_time() + Duration::from_hours(48);
    assert_eq!(harness.music.leave_idle_guilds(the_time()).await, 0);
    assert_eq!(harness.music.leave_idle_guilds(far).await, 0);

    let harness = Fixture::new().build();
    harness
        .music
        .join(guild(), &Actor::console(), voice_channel(), None)
        .await
        .unwrap();
    harness.play_console("A").await;
    assert_eq!(harness.music.leave_idle_guilds(the_time()).await, 0);
    assert_eq!(harness.music.leave_idle_guilds(far).await, 0);
    assert!(
        !harness.take_player_calls().contains(&PlayerCall::Leave),
        "a playing guild stays"
    );
}

// ----- restore_all ------------------------------------------------------------------------

fn snapshot(paused: bool) -> QueueSnapshot {
    QueueSnapshot {
        guild: guild(),
        voice_channel: Some(voice_channel()),
        text_channel: Some(ChannelId::new(11).unwrap()),
        current: Some(saved_track(41, "saved current", requester(5))),
        upcoming: vec![saved_track(42, "saved next", Requester::console())],
        position: Duration::from_secs(75),
        repeat: RepeatMode::Queue,
        filters: Preset::Nightcore.spec(),
        volume: volume(80),
        paused,
        updated_at: the_time(),
        current_attempts: 0,
    }
}

#[tokio::test]
async fn restore_rejoins_and_resumes_a_paused_queue_where_it_was() {
    let mut fixture = Fixture::new();
    fixture.defaults.player = false;
    fixture
        .queue_store
        .expect_load_all()
        .times(1)
        .returning(|| Ok(vec![snapshot(true)]));
    let mut order = Sequence::new();
    fixture
        .player
        .expect_join()
        .with(eq(guild()), eq(voice_channel()))
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _| Ok(()));
    fixture
        .player
        .expect_play()
        .withf(|guild_id, track, start_at, volume, filters, _| {
            *guild_id == guild()
                && track.id == TrackId(41)
                && *start_at == Duration::from_secs(75)
                && *volume == super::volume(80)
                && *filters == Preset::Nightcore.spec()
        })
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _, _, _, _, _| Ok(()));
    fixture
        .player
        .expect_pause()
        .with(eq(guild()))
        .times(1)
        .in_sequence(&mut order)
        .returning(|_| Ok(()));
    fixture.player.expect_position().returning(|_| None);
    let harness = fixture.build();

    let restored = harness.music.restore_all().await.unwrap();

    assert_eq!(restored, 1);
    assert_eq!(harness.music.state(guild()).await, PlaybackState::Paused);
    let now = harness.music.now_playing(guild()).await.unwrap();
    assert_eq!(now.track.title, "saved current");
    assert_eq!(now.volume, volume(80));
    assert_eq!(now.repeat, RepeatMode::Queue);
    assert_eq!(harness.upcoming_titles().await, ["saved next"]);
    // New tracks get ids after the restored ones.
    let outcome = harness.play_console("new").await;
    assert_eq!(outcome.queued[0].id, TrackId(43));
    assert_eq!(outcome.position, Some(1));
    let saved = harness.last_save();
    assert_eq!(saved.voice_channel, Some(voice_channel()));
    assert!(saved.paused);
}

#[tokio::test]
async fn restore_owned_leaves_the_queues_of_other_shards_alone() {
    let mut fixture = Fixture::new();
    fixture.defaults.player = false;
    fixture
        .queue_store
        .expect_load_all()
        .times(1)
        .returning(|| Ok(vec![snapshot(false)]));
    // Not this process's guild: no rejoin, no playback, no session.
    fixture.player.expect_join().never();
    fixture.player.expect_play().never();
    let harness = fixture.build();

    assert_eq!(harness.music.restore_owned(|_| false).await, Ok(0));
    assert_eq!(harness.music.state(guild()).await, PlaybackState::Idle);
}

#[tokio::test]
async fn a_queue_started_before_the_restore_is_kept_and_the_snapshot_left_alone() {
    let mut fixture = Fixture::new();
    fixture
        .queue_store
        .expect_load_all()
        .times(1)
        .returning(|| Ok(vec![snapshot(false)]));
    let harness = fixture.build();
    harness.play_console("fresh").await;
    harness.take_player_calls();

    assert_eq!(harness.music.restore_all().await, Ok(0));

    assert!(
        harness.take_player_calls().is_empty(),
        "nothing rejoined or replayed"
    );
    assert_eq!(harness.current_title().await.as_deref(), Some("fresh"));
}

#[tokio::test]
async fn restore_of_a_playing_queue_does_not_pause() {
    let mut fixture = Fixture::new();
    fixture
        .queue_store
        .expect_load_all()
        .times(1)
        .returning(|| Ok(vec![snapshot(false)]));
    let harness = fixture.build();

    assert_eq!(harness.music.restore_all().await, Ok(1));

    assert_eq!(harness.music.state(guild()).await, PlaybackState::Playing);
    let calls = harness.take_player_calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[0], PlayerCall::Join(voice_channel()));
    assert!(matches!(
        &calls[1],
        PlayerCall::Play { track, start_at, .. }
            if *track == TrackId(41) && *start_at == Duration::from_secs(75)
    ));
}

#[tokio::test]
async fn restore_keeps_the_queue_but_does_not_play_when_the_channel_is_gone() {
    let mut fixture = Fixture::new();
    fixture
        .queue_store
        .expect_load_all()
        .times(1)
        .returning(|| Ok(vec![snapshot(false)]));
    fixture
        .player
        .expect_join()
        .times(1)
        .returning(|_, _| Err(PlayerError::NotConnected));
    let harness = fixture.build();

    assert_eq!(harness.music.restore_all().await, Ok(1));

    assert!(harness.take_player_calls().is_empty(), "nothing was played");
    // Not connected: the saved current track waits at the head of the queue, so the next
    // `play` starts it instead of queueing behind a track that never plays.
    assert_eq!(harness.current_title().await, None);
    let page = harness.music.queue_page(guild(), 1, 10).await.unwrap();
    assert_eq!(page.items[0].1.title, "saved current");
    assert_eq!(harness.music.state(guild()).await, PlaybackState::Idle);
}

#[tokio::test]
async fn restore_without_a_current_track_only_restores_the_queue() {
    let mut fixture = Fixture::new();
    fixture
        .queue_store
        .expect_load_all()
        .times(1)
        .returning(|| {
            let mut snapshot = snapshot(false);
            snapshot.current = None;
            snapshot.voice_channel = None;
            snapshot.filters = FilterSpec::default();
            Ok(vec![snapshot])
        });
    let harness = fixture.build();

    assert_eq!(harness.music.restore_all().await, Ok(1));

    assert!(harness.take_player_calls().is_empty());
    assert_eq!(harness.upcoming_titles().await, ["saved next"]);
}

#[tokio::test]
async fn restore_reports_an_unreadable_queue_store() {
    let mut fixture = Fixture::new();
    fixture
        .queue_store
        .expect_load_all()
        .times(1)
        .returning(|| Err(StoreError::Unavailable("redis down".to_owned())));
    let harness = fixture.build();

    let error = harness.music.restore_all().await.unwrap_err();

    assert_eq!(
        error,
        MusicError::Store(StoreError::Unavailable("redis down".to_owned()))
    );
    assert!(harness.take_player_calls().is_empty());
}

// ----- crash-loop guard -------------------------------------------------------------------

#[tokio::test]
async fn a_restored_track_is_counted_and_saved_before_it_plays() {
    let mut fixture = Fixture::new();
    let mut restarted_once = snapshot(false);
    restarted_once.current_attempts = 1;
    fixture
        .queue_store
        .expect_load_all()
        .times(1)
        .returning(move || Ok(vec![restarted_once.clone()]));
    let harness = fixture.build();

    assert_eq!(harness.music.restore_all().await, Ok(1));

    assert_eq!(harness.take_played_titles(), ["saved current"]);
    let saves = harness.saves.lock().unwrap().clone();
    let first = saves.first().expect("saved before playing");
    assert_eq!(first.current.as_ref().unwrap().id, TrackId(41));
    assert_eq!(first.current_attempts, 2);
}

#[tokio::test]
async fn a_track_the_process_died_during_after_two_restarts_is_dropped_with_a_notice() {
    let mut fixture = Fixture::new();
    let mut restarted_twice = snapshot(false);
    restarted_twice.current_attempts = MAX_RESTORED_STARTS;
    fixture
        .queue_store
        .expect_load_all()
        .times(1)
        .returning(move || Ok(vec![restarted_twice.clone()]));
    let mut harness = fixture.build();

    assert_eq!(harness.music.restore_all().await, Ok(1));

    assert_eq!(harness.take_played_titles(), ["saved next"]);
    let saved = harness.last_save();
    assert_eq!(saved.current.as_ref().unwrap().id, TrackId(42));
    assert_eq!(saved.current_attempts, 1, "the next track's own count");
    let failed: Vec<DomainEvent> = harness
        .take_events()
        .into_iter()
        .filter(|event| matches!(event, DomainEvent::TrackFailed { .. }))
        .collect();
    assert!(
        matches!(
            failed.as_slice(),
            [DomainEvent::TrackFailed { track, reason, .. }]
                if track.id == TrackId(41) && reason.contains("stopped twice")
        ),
        "{failed:?}"
    );
}
