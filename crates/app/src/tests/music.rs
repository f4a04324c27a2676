//! `MusicService` commands: play, queue management, transport, permissions and rate limits.

use std::time::Duration;

use minstrel_domain::{
    AddPosition, DomainEvent, EndReason, FilterSpec, PlaybackError, PlaybackState, Playlist,
    PlaylistEntry, PlaylistId, PlaylistName, PlaylistOwner, Preset, QueueError, RepeatMode,
    RequesterId, SourceKind, TrackId, UserSettings,
};
use mockall::predicate::eq;

use super::{
    Fixture, Harness, PlayerCall, dj, guild, info, infos, member, names, the_time, user_id,
    voice_channel, volume,
};
use crate::error::MusicError;
use crate::policy::{Actor, PermissionError, RateLimit};
use crate::ports::{OpenOptions, PlayerError, ResolveError, StoreError};

/// A harness where the console has started "A" and queued `upcoming` after it.
async fn playing(upcoming: &[&str]) -> Harness {
    let mut harness = Fixture::new().build();
    harness.play_console("A").await;
    for title in upcoming {
        harness.play_console(title).await;
    }
    harness.take_events();
    harness.take_player_calls();
    harness
}

// ----- play -------------------------------------------------------------------------------

#[tokio::test]
async fn play_on_an_idle_player_starts_the_track_with_the_guild_volume_and_filters() {
    let mut fixture = Fixture::new();
    fixture.guild_settings.default_volume = volume(70);
    let mut harness = fixture.build();

    let outcome = harness.play_console("  A  ").await;

    assert_eq!(outcome.queued.len(), 1);
    assert_eq!(outcome.queued[0].title, "A");
    assert_eq!(outcome.queued[0].requested_by.id, RequesterId::Console);
    assert_eq!(outcome.started.as_ref(), Some(&outcome.queued[0]));
    assert_eq!(
        outcome.position, None,
        "a track that started is not 'queued at'"
    );
    assert_eq!(outcome.rejected, 0);
    assert_eq!(
        harness.take_player_calls(),
        vec![PlayerCall::Play {
            title: "A".to_owned(),
            track: outcome.queued[0].id,
            start_at: Duration::ZERO,
            volume: volume(70),
            filters: FilterSpec::default(),
            options: OpenOptions::default(),
        }]
    );
    let track = outcome.queued[0].clone();
    assert_eq!(
        harness.take_events(),
        vec![
            DomainEvent::TrackQueued {
                guild: guild(),
                track: track.clone(),
                position: 0
            },
            DomainEvent::TrackStarted {
                guild: guild(),
                track
            },
        ]
    );
    assert_eq!(harness.music.state(guild()).await, PlaybackState::Playing);
    let saved = harness.last_save();
    assert_eq!(saved.current.map(|track| track.title).as_deref(), Some("A"));
    assert_eq!(saved.volume, volume(70));
    assert_eq!(saved.updated_at, the_time());
}

#[tokio::test]
async fn the_resolver_gets_the_trimmed_query() {
    let mut fixture = Fixture::new();
    fixture.defaults.resolver = false;
    fixture
        .resolver
        .expect_resolve()
        .with(eq("never gonna"))
        .times(1)
        .returning(|_| Ok(vec![info("Never Gonna Give You Up")]));
    let harness = fixture.build();

    let outcome = harness
        .music
        .play(
            guild(),
            &Actor::console(),
            "  never gonna \n",
            AddPosition::End,
        )
        .await
        .unwrap();

    assert_eq!(outcome.queued[0].title, "Never Gonna Give You Up");
}

#[tokio::test]
async fn play_while_playing_queues_at_the_end_and_reports_the_position() {
    let mut harness = playing(&["B"]).await;

    let outcome = harness.play_console("C").await;

    assert_eq!(outcome.position, Some(1));
    assert_eq!(outcome.started, None);
    assert_eq!(outcome.queued[0].title, "C");
    assert!(
        harness.take_player_calls().is_empty(),
        "the playing track is not replaced"
    );
    assert_eq!(
        harness.take_events(),
        vec![DomainEvent::TrackQueued {
            guild: guild(),
            track: outcome.queued[0].clone(),
            position: 1,
        }]
    );
    assert_eq!(harness.upcoming_titles().await, ["B", "C"]);
}

#[tokio::test]
async fn playnext_puts_the_track_first_in_line() {
    let harness = playing(&["B", "C"]).await;

    let outcome = harness
        .music
        .play(guild(), &Actor::console(), "D", AddPosition::Next)
        .await
        .unwrap();

    assert_eq!(outcome.position, Some(0));
    assert_eq!(harness.upcoming_titles().await, ["D", "B", "C"]);
    assert_eq!(harness.current_title().await.as_deref(), Some("A"));
}

#[tokio::test]
async fn every_queued_track_gets_its_own_id_and_a_queued_event() {
    let mut fixture = Fixture::new();
    fixture
        .resolver
        .expect_resolve()
        .with(eq("album"))
        .returning(|_| Ok(infos(&["A", "B", "C"])));
    let mut harness = fixture.build();

    let outcome = harness.play_console("album").await;

    let ids: Vec<TrackId> = outcome.queued.iter().map(|track| track.id).collect();
    assert_eq!(ids, [TrackId(1), TrackId(2), TrackId(3)]);
    let queued_positions: Vec<usize> = harness
        .take_events()
        .into_iter()
        .filter_map(|event| match event {
            DomainEvent::TrackQueued { position, .. } => Some(position),
            _ => None,
        })
        .collect();
    assert_eq!(queued_positions, [0, 1, 2]);
    assert_eq!(
        outcome.started.map(|track| track.title).as_deref(),
        Some("A")
    );
    assert_eq!(outcome.position, None);
}

#[tokio::test]
async fn a_multi_track_result_fills_the_queue_and_counts_what_did_not_fit() {
    let mut fixture = Fixture::new();
    fixture.guild_settings.set_max_queue(3).unwrap();
    fixture
        .resolver
        .expect_resolve()
        .with(eq("big playlist"))
        .returning(|_| Ok(infos(&["1", "2", "3", "4", "5"])));
    fixture
        .resolver
        .expect_resolve()
        .with(eq("two more"))
        .returning(|_| Ok(infos(&["6", "7"])));
    let harness = fixture.build();
    let console = Actor::console();

    let first = harness
        .music
        .play(guild(), &console, "big playlist", AddPosition::End)
        .await
        .unwrap();
    assert_eq!(first.rejected, 2);
    let titles: Vec<&str> = first.queued.iter().map(|t| t.title.as_str()).collect();
    assert_eq!(titles, ["1", "2", "3"]);
    assert_eq!(first.started.map(|track| track.title).as_deref(), Some("1"));
    assert_eq!(harness.upcoming_titles().await, ["2", "3"]);

    let second = harness
        .music
        .play(guild(), &console, "two more", AddPosition::End)
        .await
        .unwrap();
    assert_eq!(second.rejected, 1);
    assert_eq!(second.position, Some(2));
    assert_eq!(second.queued.len(), 1);
    assert_eq!(second.queued[0].title, "6");

    let error = harness
        .music
        .play(guild(), &console, "two more", AddPosition::End)
        .await
        .unwrap_err();
    assert_eq!(error, MusicError::Queue(QueueError::Full { max: 3 }));
    assert_eq!(error.to_string(), "the queue is full (3 tracks at most)");
    assert_eq!(harness.upcoming_titles().await, ["2", "3", "6"]);
}

#[tokio::test]
async fn a_single_track_on_a_full_queue_is_refused() {
    let mut fixture = Fixture::new();
    fixture.guild_settings.set_max_queue(1).unwrap();
    let mut harness = fixture.build();
    harness.play_console("A").await;
    harness.play_console("B").await;
    harness.take_events();

    let error = harness
        .music
        .play(guild(), &Actor::console(), "C", AddPosition::End)
        .await
        .unwrap_err();

    assert_eq!(error, MusicError::Queue(QueueError::Full { max: 1 }));
    assert!(harness.take_events().is_empty(), "nothing was queued");
}

#[tokio::test]
async fn nothing_found_names_the_query() {
    let mut fixture = Fixture::new();
    fixture.defaults.resolver = false;
    fixture
        .resolver
        .expect_resolve()
        .times(1)
        .returning(|query| Err(ResolveError::NotFound(query.to_owned())));
    let mut harness = fixture.build();

    let error = harness
        .music
        .play(guild(), &Actor::console(), "zzyzx", AddPosition::End)
        .await
        .unwrap_err();

    assert_eq!(error.to_string(), "nothing found for \"zzyzx\"");
    assert!(!error.is_internal());
    assert!(harness.take_player_calls().is_empty());
    assert!(harness.take_events().is_empty());
    assert_eq!(harness.music.state(guild()).await, PlaybackState::Idle);
}

#[tokio::test]
async fn an_empty_resolver_result_is_not_found_with_the_query() {
    let mut fixture = Fixture::new();
    fixture.defaults.resolver = false;
    fixture
        .resolver
        .expect_resolve()
        .times(1)
        .returning(|_| Ok(Vec::new()));
    let harness = fixture.build();

    let error = harness
        .music
        .play(
            guild(),
            &Actor::console(),
            " obscure b-side ",
            AddPosition::End,
        )
        .await
        .unwrap_err();

    assert_eq!(
        error,
        MusicError::Resolve(ResolveError::NotFound("obscure b-side".to_owned()))
    );
    assert_eq!(error.to_string(), "nothing found for \"obscure b-side\"");
}

fn chill_playlist(entries: Vec<PlaylistEntry>) -> Playlist {
    Playlist {
        id: PlaylistId(7),
        owner: PlaylistOwner::Guild(guild()),
        name: PlaylistName::new("chill").unwrap(),
        entries,
    }
}

fn entry(title: &str) -> PlaylistEntry {
    PlaylistEntry {
        title: title.to_owned(),
        locator: format!("https://example.com/{title}"),
        source_kind: SourceKind::Http,
        duration: Some(Duration::from_secs(200)),
    }
}

#[tokio::test]
async fn an_empty_query_plays_the_active_playlist() {
    let mut fixture = Fixture::new();
    // The resolver must not be asked: an unexpected call panics.
    fixture.defaults.resolver = false;
    fixture.defaults.playlists = false;
    fixture
        .playlists
        .expect_active()
        .with(eq(guild()))
        .times(1)
        .returning(|_| Ok(Some(chill_playlist(vec![entry("first"), entry("second")]))));
    let harness = fixture.build();

    let outcome = harness.play_console("   ").await;

    assert_eq!(outcome.queued.len(), 2);
    assert_eq!(outcome.queued[1].locator, "https://example.com/second");
    assert_eq!(outcome.queued[1].source_kind, SourceKind::Http);
    assert_eq!(
        outcome.started.map(|track| track.title).as_deref(),
        Some("first")
    );
    assert_eq!(harness.take_played_titles(), ["first"]);
    assert_eq!(harness.upcoming_titles().await, ["second"]);
}

#[tokio::test]
async fn an_empty_query_without_an_active_playlist_asks_for_a_song() {
    let mut fixture = Fixture::new();
    fixture.defaults.resolver = false;
    let harness = fixture.build();

    let error = harness
        .music
        .play(guild(), &Actor::console(), "", AddPosition::End)
        .await
        .unwrap_err();

    assert_eq!(error, MusicError::NoActivePlaylist);
    assert_eq!(
        error.to_string(),
        "nothing to play: give me a song, or choose a playlist with `playlist use`"
    );
}

#[tokio::test]
async fn an_active_playlist_without_entries_counts_as_none() {
    let mut fixture = Fixture::new();
    fixture.defaults.resolver = false;
    fixture.defaults.playlists = false;
    fixture
        .playlists
        .expect_active()
        .times(1)
        .returning(|_| Ok(Some(chill_playlist(Vec::new()))));
    let harness = fixture.build();

    let error = harness
        .music
        .play(guild(), &Actor::console(), "", AddPosition::End)
        .await
        .unwrap_err();

    assert_eq!(error, MusicError::NoActivePlaylist);
}

#[tokio::test]
async fn a_track_that_fails_to_start_is_reported_and_the_next_one_starts() {
    let mut fixture = Fixture::new();
    fixture
        .resolver
        .expect_resolve()
        .with(eq("album"))
        .returning(|_| Ok(infos(&["broken", "fine"])));
    fixture
        .player
        .expect_play()
        .withf(|_, track, _, _, _, _| track.title == "broken")
        .times(1)
        .returning(|_, _, _, _, _, _| Err(PlayerError::Failed("bad codec".to_owned())));
    let mut harness = fixture.build();

    let outcome = harness.play_console("album").await;

    assert_eq!(
        outcome.started.map(|track| track.title).as_deref(),
        Some("fine")
    );
    assert_eq!(harness.take_played_titles(), ["fine"]);
    let events = harness.take_events();
    assert_eq!(
        names(&events),
        [
            "track_queued",
            "track_queued",
            "track_failed",
            "track_started"
        ]
    );
    assert!(matches!(
        &events[2],
        DomainEvent::TrackFailed { track, reason, .. }
            if track.title == "broken" && reason == "the audio could not be played: bad codec"
    ));
    assert!(harness.upcoming_titles().await.is_empty());
    assert_eq!(harness.music.state(guild()).await, PlaybackState::Playing);
}

#[tokio::test]
async fn when_every_track_fails_to_start_the_player_stays_idle() {
    let mut fixture = Fixture::new();
    fixture.defaults.player = false;
    fixture
        .player
        .expect_play()
        .times(1)
        .returning(|_, _, _, _, _, _| Err(PlayerError::NotConnected));
    let mut harness = fixture.build();

    let outcome = harness.play_console("A").await;

    assert_eq!(outcome.started, None);
    assert_eq!(
        names(&harness.take_events()),
        ["track_queued", "track_failed"]
    );
    assert_eq!(harness.music.state(guild()).await, PlaybackState::Idle);
    assert_eq!(harness.current_title().await, None);
}

#[tokio::test]
async fn a_discord_user_over_the_burst_is_rate_limited_and_the_console_never() {
    let mut fixture = Fixture::new();
    fixture.rate_limit = RateLimit::new(2, Duration::from_hours(1));
    fixture.defaults.resolver = false;
    // Two plays of the user and thirty of the console reach the resolver; the third of the
    // user does not.
    fixture
        .resolver
        .expect_resolve()
        .times(32)
        .returning(|query| Ok(vec![info(query)]));
    let harness = fixture.build();
    let user = member(5);

    for title in ["one", "two"] {
        harness
            .music
            .play(guild(), &user, title, AddPosition::End)
            .await
            .unwrap();
    }
    let error = harness
        .music
        .play(guild(), &user, "three", AddPosition::End)
        .await
        .unwrap_err();

    let MusicError::RateLimited { retry_after } = error else {
        panic!("expected RateLimited, got {error:?}");
    };
    assert!(retry_after > Duration::from_mins(50), "{retry_after:?}");
    assert!(
        error
            .to_string()
            .starts_with("slow down a little: try again in "),
        "{error}"
    );
    // Every command counts, not just play.
    assert!(matches!(
        harness.music.pause(guild(), &user).await,
        Err(MusicError::RateLimited { .. })
    ));
    for round in 0..30 {
        harness
            .music
            .play(
                guild(),
                &Actor::console(),
                &format!("console {round}"),
                AddPosition::End,
            )
            .await
            .unwrap();
    }
    // Another user has their own budget.
    harness
        .music
        .set_volume(guild(), &member(6), 50)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_discord_user_starting_an_idle_player_gets_their_volume_and_filters() {
    let mut fixture = Fixture::new();
    fixture.guild_settings.default_volume = volume(70);
    fixture
        .settings
        .expect_user()
        .with(eq(user_id(5)))
        .times(1)
        .returning(|user| {
            let mut settings = UserSettings::new(user);
            settings.default_volume = volume(30);
            settings.preferred_filters = vec![Preset::Nightcore];
            Ok(Some(settings))
        });
    let harness = fixture.build();

    harness
        .music
        .play(guild(), &member(5), "A", AddPosition::End)
        .await
        .unwrap();

    let calls = harness.take_player_calls();
    let [
        PlayerCall::Play {
            volume, filters, ..
        },
    ] = calls.as_slice()
    else {
        panic!("expected one play call, got {calls:?}");
    };
    assert_eq!(*volume, super::volume(30));
    assert_eq!(*filters, Preset::Nightcore.spec());
    let now = harness.music.now_playing(guild()).await.unwrap();
    assert_eq!(now.volume, super::volume(30));
    assert_eq!(now.filters, Preset::Nightcore.spec());
}

#[tokio::test]
async fn user_preferred_filters_do_not_replace_filters_someone_already_set() {
    let mut fixture = Fixture::new();
    fixture.settings.expect_user().returning(|user| {
        let mut settings = UserSettings::new(user);
        settings.preferred_filters = vec![Preset::Nightcore];
        Ok(Some(settings))
    });
    let harness = fixture.build();
    let filters = crate::filters::FilterService::new(harness.music.clone());
    let slow = filters
        .apply_preset(guild(), &Actor::console(), "slow")
        .await
        .unwrap();

    harness
        .music
        .play(guild(), &member(5), "A", AddPosition::End)
        .await
        .unwrap();

    let now = harness.music.now_playing(guild()).await.unwrap();
    assert_eq!(now.filters, slow);
    assert_eq!(now.filters, Preset::Slow.spec());
}

#[tokio::test]
async fn unreadable_user_settings_fall_back_to_the_guild_defaults() {
    let mut fixture = Fixture::new();
    fixture.guild_settings.default_volume = volume(70);
    fixture
        .settings
        .expect_user()
        .times(1)
        .returning(|_| Err(StoreError::Unavailable("db down".to_owned())));
    let harness = fixture.build();

    harness
        .music
        .play(guild(), &member(5), "A", AddPosition::End)
        .await
        .unwrap();

    let now = harness.music.now_playing(guild()).await.unwrap();
    assert_eq!(now.volume, volume(70));
    assert_eq!(now.filters, FilterSpec::default());
}

#[tokio::test]
async fn history_is_recorded_for_discord_requesters_only() {
    let harness = Fixture::new().build();

    harness.play_console("console song").await;
    assert!(harness.recorded_history().is_empty());
    harness
        .music
        .stop(guild(), &Actor::console())
        .await
        .unwrap();

    harness
        .music
        .play(guild(), &member(5), "user song", AddPosition::End)
        .await
        .unwrap();

    let history = harness.recorded_history();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].guild_id, guild());
    assert_eq!(history[0].requester, RequesterId::Discord(user_id(5)));
    assert_eq!(history[0].title, "user song");
    assert_eq!(history[0].locator, "user song.wav");
    assert_eq!(history[0].duration, Some(Duration::from_mins(3)));
    assert_eq!(history[0].played_at, the_time());
}

#[tokio::test]
async fn a_failing_history_store_does_not_stop_playback() {
    let mut fixture = Fixture::new();
    fixture.defaults.history = false;
    fixture
        .history
        .expect_record()
        .times(1)
        .returning(|_| Err(StoreError::Internal("disk full".to_owned())));
    let harness = fixture.build();

    let outcome = harness
        .music
        .play(guild(), &member(5), "A", AddPosition::End)
        .await
        .unwrap();

    assert!(outcome.started.is_some());
}

#[tokio::test]
async fn queue_store_errors_do_not_fail_commands() {
    let mut fixture = Fixture::new();
    fixture.defaults.queue_store = false;
    // play, pause and resume each save once.
    fixture
        .queue_store
        .expect_save()
        .times(3)
        .returning(|_| Err(StoreError::Unavailable("redis down".to_owned())));
    let harness = fixture.build();
    let console = Actor::console();

    let outcome = harness
        .music
        .play(guild(), &console, "A", AddPosition::End)
        .await
        .unwrap();
    harness.music.pause(guild(), &console).await.unwrap();
    harness.music.resume(guild(), &console).await.unwrap();

    assert!(outcome.started.is_some());
    assert_eq!(harness.music.state(guild()).await, PlaybackState::Playing);
}

#[tokio::test]
async fn unreadable_guild_settings_fail_the_command_with_a_storage_error() {
    let mut fixture = Fixture::new();
    fixture.defaults.settings = false;
    fixture
        .settings
        .expect_guild()
        .times(1)
        .returning(|_| Err(StoreError::Unavailable("db down".to_owned())));
    let harness = fixture.build();

    let error = harness
        .music
        .play(guild(), &Actor::console(), "A", AddPosition::End)
        .await
        .unwrap_err();

    assert_eq!(
        error.to_string(),
        "storage is unavailable right now, please try again shortly"
    );
    assert!(error.is_internal());
}

// ----- join / leave -----------------------------------------------------------------------

#[tokio::test]
async fn join_connects_the_player_and_remembers_the_channels() {
    let mut fixture = Fixture::new();
    fixture
        .player
        .expect_join()
        .with(eq(guild()), eq(voice_channel()))
        .times(1)
        .returning(|_, _| Ok(()));
    let harness = fixture.build();
    let text = minstrel_domain::ChannelId::new(11).unwrap();

    harness
        .music
        .join(guild(), &member(5), voice_channel(), Some(text))
        .await
        .unwrap();

    let saved = harness.last_save();
    assert_eq!(saved.voice_channel, Some(voice_channel()));
    assert_eq!(saved.text_channel, Some(text));
}

#[tokio::test]
async fn a_failed_join_is_reported_and_nothing_is_remembered() {
    let mut fixture = Fixture::new();
    fixture
        .player
        .expect_join()
        .times(1)
        .returning(|_, _| Err(PlayerError::Failed("no permission to connect".to_owned())));
    let harness = fixture.build();

    let error = harness
        .music
        .join(guild(), &member(5), voice_channel(), None)
        .await
        .unwrap_err();

    assert_eq!(
        error.to_string(),
        "the audio could not be played: no permission to connect"
    );
    assert!(harness.saves.lock().unwrap().is_empty());
}

#[tokio::test]
async fn leave_while_playing_stops_and_disconnects() {
    let mut fixture = Fixture::new();
    fixture
        .queue_store
        .expect_delete()
        .with(eq(guild()))
        .times(1)
        .returning(|_| Ok(()));
    let mut harness = fixture.build();
    harness.play_console("A").await;
    harness.play_console("B").await;
    harness.take_events();
    harness.take_player_calls();

    harness
        .music
        .leave(guild(), &Actor::console())
        .await
        .unwrap();

    assert_eq!(
        harness.take_player_calls(),
        [PlayerCall::Stop, PlayerCall::Leave]
    );
    assert!(matches!(
        harness.take_events().as_slice(),
        [DomainEvent::TrackEnded { reason: EndReason::Stopped, track, .. }] if track.title == "A"
    ));
    assert_eq!(harness.current_title().await, None);
    assert!(harness.upcoming_titles().await.is_empty());
}

#[tokio::test]
async fn leave_with_nothing_playing_still_disconnects() {
    let mut fixture = Fixture::new();
    fixture
        .player
        .expect_leave()
        .with(eq(guild()))
        .times(1)
        .returning(|_| Ok(()));
    let harness = fixture.build();
    harness
        .music
        .join(guild(), &Actor::console(), voice_channel(), None)
        .await
        .unwrap();

    harness
        .music
        .leave(guild(), &Actor::console())
        .await
        .unwrap();

    assert_eq!(
        harness.take_player_calls(),
        [PlayerCall::Join(voice_channel())]
    );
}

#[tokio::test]
async fn leave_needs_the_dj_role_when_the_guild_has_one() {
    let mut fixture = Fixture::new();
    fixture.guild_settings.dj_role = Some(super::dj_role());
    let harness = fixture.build();

    let error = harness.music.leave(guild(), &member(5)).await.unwrap_err();

    assert_eq!(error, MusicError::Permission(PermissionError::NeedsDj));
    assert!(harness.take_player_calls().is_empty());
}

// ----- pause / resume ---------------------------------------------------------------------

#[tokio::test]
async fn pause_with_nothing_playing_says_so() {
    let harness = Fixture::new().build();

    let error = harness
        .music
        .pause(guild(), &Actor::console())
        .await
        .unwrap_err();

    assert_eq!(error, MusicError::Playback(PlaybackError::NothingPlaying));
    assert_eq!(error.to_string(), "nothing is playing");
    assert!(harness.take_player_calls().is_empty());
}

#[tokio::test]
async fn resume_while_playing_says_it_is_not_paused() {
    let harness = playing(&[]).await;

    let error = harness
        .music
        .resume(guild(), &Actor::console())
        .await
        .unwrap_err();

    assert_eq!(error, MusicError::Playback(PlaybackError::NotPaused));
    assert_eq!(error.to_string(), "playback is not paused");
    assert!(harness.take_player_calls().is_empty());
}

#[tokio::test]
async fn pause_then_resume_moves_through_the_state_machine() {
    let mut fixture = Fixture::new();
    fixture
        .player
        .expect_position()
        .with(eq(guild()))
        .times(1)
        .returning(|_| Some(Duration::from_secs(42)));
    let mut harness = fixture.build();
    harness.play_console("A").await;
    harness.take_events();
    harness.take_player_calls();
    let console = Actor::console();

    harness.music.pause(guild(), &console).await.unwrap();
    assert_eq!(harness.music.state(guild()).await, PlaybackState::Paused);
    let saved = harness.last_save();
    assert!(saved.paused);
    assert_eq!(saved.position, Duration::from_secs(42));
    assert_eq!(
        harness.music.pause(guild(), &console).await,
        Err(MusicError::Playback(PlaybackError::AlreadyPaused))
    );

    harness.music.resume(guild(), &console).await.unwrap();
    assert_eq!(harness.music.state(guild()).await, PlaybackState::Playing);
    assert!(!harness.last_save().paused);
    assert_eq!(
        harness.take_player_calls(),
        [PlayerCall::Pause, PlayerCall::Resume]
    );
    assert_eq!(
        harness.take_events(),
        [
            DomainEvent::Paused { guild: guild() },
            DomainEvent::Resumed { guild: guild() }
        ]
    );
}

#[tokio::test]
async fn a_player_that_cannot_pause_leaves_the_state_alone() {
    let mut fixture = Fixture::new();
    fixture
        .player
        .expect_pause()
        .times(1)
        .returning(|_| Err(PlayerError::NotConnected));
    let mut harness = fixture.build();
    harness.play_console("A").await;
    harness.take_events();

    let error = harness
        .music
        .pause(guild(), &Actor::console())
        .await
        .unwrap_err();

    assert_eq!(error, MusicError::Player(PlayerError::NotConnected));
    assert_eq!(harness.music.state(guild()).await, PlaybackState::Playing);
    assert!(harness.take_events().is_empty());
}

// ----- skip / vote skip / skip to / previous ------------------------------------------------

#[tokio::test]
async fn skip_stops_the_track_and_starts_the_next() {
    let mut harness = playing(&["B"]).await;

    let outcome = harness
        .music
        .skip(guild(), &Actor::console())
        .await
        .unwrap();

    assert_eq!(outcome.skipped.title, "A");
    assert_eq!(outcome.next.map(|track| track.title).as_deref(), Some("B"));
    let calls = harness.take_player_calls();
    assert_eq!(calls[0], PlayerCall::Stop);
    assert!(matches!(&calls[1], PlayerCall::Play { title, .. } if title == "B"));
    assert_eq!(calls.len(), 2);
    let events = harness.take_events();
    assert_eq!(names(&events), ["skipped", "track_ended", "track_started"]);
    assert!(matches!(
        &events[1],
        DomainEvent::TrackEnded { reason: EndReason::Skipped, track, .. } if track.title == "A"
    ));
}

#[tokio::test]
async fn skipping_the_last_track_finishes_the_queue() {
    let mut harness = playing(&[]).await;

    let outcome = harness
        .music
        .skip(guild(), &Actor::console())
        .await
        .unwrap();

    assert_eq!(outcome.next, None);
    assert_eq!(
        names(&harness.take_events()),
        ["skipped", "track_ended", "queue_finished"]
    );
    assert_eq!(harness.music.state(guild()).await, PlaybackState::Idle);
}

#[tokio::test]
async fn skip_with_nothing_playing_says_so() {
    let harness = Fixture::new().build();

    let error = harness
        .music
        .skip(guild(), &Actor::console())
        .await
        .unwrap_err();

    assert_eq!(error, MusicError::NothingPlaying);
    assert!(harness.take_player_calls().is_empty());
}

#[tokio::test]
async fn with_a_dj_role_members_skip_only_their_own_tracks_and_djs_any() {
    let mut fixture = Fixture::new();
    fixture.guild_settings.dj_role = Some(super::dj_role());
    let harness = fixture.build();
    for (user, title) in [(1, "mine"), (2, "theirs"), (2, "also theirs")] {
        harness
            .music
            .play(guild(), &member(user), title, AddPosition::End)
            .await
            .unwrap();
    }

    let own = harness.music.skip(guild(), &member(1)).await.unwrap();
    assert_eq!(own.skipped.title, "mine");

    let error = harness.music.skip(guild(), &member(1)).await.unwrap_err();
    assert_eq!(error, MusicError::Permission(PermissionError::NotYourTrack));
    assert_eq!(
        error.to_string(),
        "only members with the DJ role can skip someone else's track; try voteskip"
    );
    assert_eq!(harness.current_title().await.as_deref(), Some("theirs"));

    let by_dj = harness.music.skip(guild(), &dj(3)).await.unwrap();
    assert_eq!(by_dj.skipped.title, "theirs");
    assert_eq!(
        harness.current_title().await.as_deref(),
        Some("also theirs")
    );
}

#[tokio::test]
async fn vote_skip_needs_the_guild_ratio_of_listeners() {
    let mut fixture = Fixture::new();
    fixture.guild_settings.set_vote_skip_ratio(0.75).unwrap();
    let harness = fixture.build();
    harness.play_console("A").await;
    harness.play_console("B").await;
    harness.take_player_calls();

    let first = harness
        .music
        .vote_skip(guild(), &member(1), 4)
        .await
        .unwrap();
    assert_eq!((first.votes, first.needed, first.skipped), (1, 3, None));

    let again = harness.music.vote_skip(guild(), &member(1), 4).await;
    assert_eq!(again, Err(MusicError::AlreadyVoted));
    assert_eq!(
        MusicError::AlreadyVoted.to_string(),
        "you already voted to skip this track"
    );

    let second = harness
        .music
        .vote_skip(guild(), &member(2), 4)
        .await
        .unwrap();
    assert_eq!((second.votes, second.skipped.is_none()), (2, true));
    assert!(harness.take_player_calls().is_empty(), "not skipped yet");

    let third = harness
        .music
        .vote_skip(guild(), &member(3), 4)
        .await
        .unwrap();
    assert_eq!(third.votes, 3);
    let skipped = third.skipped.expect("the third vote skips");
    assert_eq!(skipped.skipped.title, "A");
    assert_eq!(skipped.next.map(|track| track.title).as_deref(), Some("B"));

    // Votes start over for the new track.
    let fresh = harness
        .music
        .vote_skip(guild(), &member(1), 4)
        .await
        .unwrap();
    assert_eq!((fresh.votes, fresh.needed), (1, 3));
}

#[tokio::test]
async fn vote_skip_with_nothing_playing_says_so() {
    let harness = Fixture::new().build();

    assert_eq!(
        harness.music.vote_skip(guild(), &member(1), 3).await,
        Err(MusicError::NothingPlaying)
    );
}

#[tokio::test]
async fn skip_to_jumps_over_tracks_and_refuses_positions_past_the_end() {
    let mut harness = playing(&["B", "C", "D"]).await;

    let error = harness
        .music
        .skip_to(guild(), &Actor::console(), 3)
        .await
        .unwrap_err();
    assert_eq!(
        error,
        MusicError::Queue(QueueError::NoSuchIndex { index: 3, len: 3 })
    );
    assert_eq!(
        error.to_string(),
        "there is no track at position 4 (the queue has 3)"
    );
    assert!(harness.take_player_calls().is_empty());

    let started = harness
        .music
        .skip_to(guild(), &Actor::console(), 1)
        .await
        .unwrap();

    assert_eq!(started.title, "C");
    assert_eq!(harness.upcoming_titles().await, ["D"]);
    let calls = harness.take_player_calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0], PlayerCall::Stop);
    assert!(matches!(&calls[1], PlayerCall::Play { title, .. } if title == "C"));
    assert!(matches!(
        harness.take_events().first(),
        Some(DomainEvent::TrackEnded { reason: EndReason::Skipped, track, .. }) if track.title == "A"
    ));
}

#[tokio::test]
async fn previous_without_history_is_an_error() {
    let harness = playing(&["B"]).await;

    let error = harness
        .music
        .previous(guild(), &Actor::console())
        .await
        .unwrap_err();

    assert_eq!(error, MusicError::Queue(QueueError::NoPrevious));
    assert_eq!(error.to_string(), "there is no previous track");
    assert_eq!(harness.current_title().await.as_deref(), Some("A"));
    assert!(harness.take_player_calls().is_empty());
}

#[tokio::test]
async fn previous_plays_the_last_track_again() {
    let harness = playing(&["B"]).await;
    harness
        .music
        .skip(guild(), &Actor::console())
        .await
        .unwrap();
    harness.take_player_calls();

    let track = harness
        .music
        .previous(guild(), &Actor::console())
        .await
        .unwrap();

    assert_eq!(track.title, "A");
    assert_eq!(harness.upcoming_titles().await, ["B"]);
    assert_eq!(harness.take_played_titles(), ["A"]);
}

// ----- stop -------------------------------------------------------------------------------

#[tokio::test]
async fn stop_clears_the_queue_and_ends_the_track() {
    let mut harness = playing(&["B", "C"]).await;

    let removed = harness
        .music
        .stop(guild(), &Actor::console())
        .await
        .unwrap();

    assert_eq!(removed, 2);
    assert_eq!(harness.take_player_calls(), [PlayerCall::Stop]);
    assert!(matches!(
        harness.take_events().as_slice(),
        [DomainEvent::TrackEnded { reason: EndReason::Stopped, track, .. }] if track.title == "A"
    ));
    assert_eq!(harness.music.state(guild()).await, PlaybackState::Stopped);
    assert_eq!(harness.current_title().await, None);
    assert!(harness.upcoming_titles().await.is_empty());
    let saved = harness.last_save();
    assert_eq!((saved.current, saved.upcoming.len()), (None, 0));
}

#[tokio::test]
async fn stop_with_nothing_playing_says_so() {
    let harness = Fixture::new().build();

    let error = harness
        .music
        .stop(guild(), &Actor::console())
        .await
        .unwrap_err();

    assert_eq!(error, MusicError::Playback(PlaybackError::NothingPlaying));
}

#[tokio::test]
async fn play_after_stop_starts_again() {
    let harness = playing(&["B"]).await;
    harness
        .music
        .stop(guild(), &Actor::console())
        .await
        .unwrap();
    harness.take_player_calls();

    let outcome = harness.play_console("C").await;

    assert_eq!(
        outcome.started.map(|track| track.title).as_deref(),
        Some("C")
    );
    assert_eq!(harness.music.state(guild()).await, PlaybackState::Playing);
}

// ----- seek / volume / repeat -------------------------------------------------------------

#[tokio::test]
async fn seek_past_the_end_is_refused_with_the_length() {
    let harness = playing(&[]).await;

    let error = harness
        .music
        .seek(guild(), &Actor::console(), Duration::from_mins(3))
        .await
        .unwrap_err();

    assert_eq!(error, MusicError::SeekPastEnd("3:00".to_owned()));
    assert_eq!(
        error.to_string(),
        "that is past the end of the track (3:00)"
    );
    assert!(harness.take_player_calls().is_empty());
}

#[tokio::test]
async fn seek_moves_the_player_and_the_saved_position() {
    let mut fixture = Fixture::new();
    fixture
        .player
        .expect_seek()
        .with(eq(guild()), eq(Duration::from_secs(95)))
        .times(1)
        .returning(|_, _| Ok(()));
    let mut harness = fixture.build();
    harness.play_console("A").await;
    harness.take_events();

    harness
        .music
        .seek(guild(), &Actor::console(), Duration::from_secs(95))
        .await
        .unwrap();

    assert_eq!(
        harness.take_events(),
        [DomainEvent::Seeked {
            guild: guild(),
            position: Duration::from_secs(95)
        }]
    );
    assert_eq!(harness.last_save().position, Duration::from_secs(95));
    // The permissive player knows no position, so now_playing falls back to the saved one.
    let now = harness.music.now_playing(guild()).await.unwrap();
    assert_eq!(now.position, Duration::from_secs(95));
}

#[tokio::test]
async fn seek_with_nothing_playing_says_so() {
    let harness = Fixture::new().build();

    assert_eq!(
        harness
            .music
            .seek(guild(), &Actor::console(), Duration::from_secs(1))
            .await,
        Err(MusicError::NothingPlaying)
    );
}

#[tokio::test]
async fn a_player_that_cannot_seek_says_so() {
    let mut fixture = Fixture::new();
    fixture
        .player
        .expect_seek()
        .times(1)
        .returning(|_, _| Err(PlayerError::SeekUnsupported));
    let harness = fixture.build();
    harness.play_console("A").await;

    let error = harness
        .music
        .seek(guild(), &Actor::console(), Duration::from_secs(10))
        .await
        .unwrap_err();

    assert_eq!(error.to_string(), "this track cannot seek");
    assert_eq!(harness.last_save().position, Duration::ZERO);
}

#[tokio::test]
async fn volume_out_of_range_is_refused_with_the_range() {
    let harness = playing(&[]).await;

    let error = harness
        .music
        .set_volume(guild(), &Actor::console(), 201)
        .await
        .unwrap_err();

    assert_eq!(
        error.to_string(),
        "volume must be between 0 and 200 % (got 201)"
    );
    assert!(harness.take_player_calls().is_empty());
    assert!(matches!(
        harness
            .music
            .set_volume(guild(), &Actor::console(), -1)
            .await,
        Err(MusicError::Volume(_))
    ));
}

#[tokio::test]
async fn volume_while_playing_changes_the_player_at_once() {
    let mut fixture = Fixture::new();
    fixture
        .player
        .expect_set_volume()
        .with(eq(guild()), eq(volume(150)))
        .times(1)
        .returning(|_, _| Ok(()));
    let mut harness = fixture.build();
    harness.play_console("A").await;
    harness.play_console("B").await;
    harness.take_events();
    harness.take_player_calls();

    let set = harness
        .music
        .set_volume(guild(), &Actor::console(), 150)
        .await
        .unwrap();

    assert_eq!(set, volume(150));
    assert_eq!(
        harness.take_events(),
        [DomainEvent::VolumeChanged {
            guild: guild(),
            volume: volume(150)
        }]
    );
    // The next track keeps the new volume.
    harness
        .music
        .skip(guild(), &Actor::console())
        .await
        .unwrap();
    assert!(harness.take_player_calls().contains(&PlayerCall::Play {
        title: "B".to_owned(),
        track: TrackId(2),
        start_at: Duration::ZERO,
        volume: volume(150),
        filters: FilterSpec::default(),
        options: OpenOptions::default(),
    }));
}

#[tokio::test]
async fn volume_while_idle_is_kept_for_the_next_track() {
    let harness = Fixture::new().build();

    harness
        .music
        .set_volume(guild(), &Actor::console(), 40)
        .await
        .unwrap();
    assert!(
        harness.take_player_calls().is_empty(),
        "no player call while idle"
    );
    harness.play_console("A").await;

    assert!(matches!(
        harness.take_player_calls().as_slice(),
        [PlayerCall::Play { volume: played, .. }] if *played == volume(40)
    ));
}

#[tokio::test]
async fn volume_needs_the_dj_role_when_the_guild_has_one() {
    let mut fixture = Fixture::new();
    fixture.guild_settings.dj_role = Some(super::dj_role());
    let harness = fixture.build();

    assert_eq!(
        harness.music.set_volume(guild(), &member(1), 50).await,
        Err(MusicError::Permission(PermissionError::NeedsDj))
    );
    assert_eq!(
        harness.music.set_volume(guild(), &dj(2), 50).await,
        Ok(volume(50))
    );
}

#[tokio::test]
async fn repeat_mode_is_kept_and_shown() {
    let harness = playing(&["B"]).await;

    harness
        .music
        .set_repeat(guild(), &Actor::console(), RepeatMode::Queue)
        .await
        .unwrap();

    assert_eq!(harness.last_save().repeat, RepeatMode::Queue);
    let page = harness.music.queue_page(guild(), 1, 10).await.unwrap();
    assert_eq!(page.repeat, RepeatMode::Queue);
    let now = harness.music.now_playing(guild()).await.unwrap();
    assert_eq!(now.repeat, RepeatMode::Queue);
    // With repeat queue, the skipped track comes back at the end.
    harness
        .music
        .skip(guild(), &Actor::console())
        .await
        .unwrap();
    assert_eq!(harness.upcoming_titles().await, ["A"]);
}

// ----- shuffle / remove / move / clear ------------------------------------------------------

#[tokio::test]
async fn shuffle_keeps_the_same_tracks() {
    let upcoming: Vec<String> = (1..=20).map(|n| format!("t{n:02}")).collect();
    let titles: Vec<&str> = upcoming.iter().map(String::as_str).collect();
    let harness = playing(&titles).await;

    let shuffled = harness
        .music
        .shuffle(guild(), &Actor::console())
        .await
        .unwrap();

    assert_eq!(shuffled, 20);
    let mut after = harness.upcoming_titles().await;
    after.sort();
    assert_eq!(after, upcoming);
    assert_eq!(harness.current_title().await.as_deref(), Some("A"));
}

#[tokio::test]
async fn shuffle_of_an_empty_queue_is_an_error() {
    let harness = playing(&[]).await;

    let error = harness
        .music
        .shuffle(guild(), &Actor::console())
        .await
        .unwrap_err();

    assert_eq!(error, MusicError::Queue(QueueError::Empty));
    assert_eq!(error.to_string(), "the queue is empty");
}

#[tokio::test]
async fn remove_takes_the_track_out_and_refuses_missing_positions() {
    let harness = playing(&["B", "C", "D"]).await;

    let removed = harness
        .music
        .remove(guild(), &Actor::console(), 1)
        .await
        .unwrap();

    assert_eq!(removed.title, "C");
    assert_eq!(harness.upcoming_titles().await, ["B", "D"]);
    assert_eq!(
        harness.music.remove(guild(), &Actor::console(), 2).await,
        Err(MusicError::Queue(QueueError::NoSuchIndex {
            index: 2,
            len: 2
        }))
    );
    assert_eq!(harness.last_save().upcoming.len(), 2);
}

#[tokio::test]
async fn with_a_dj_role_members_remove_only_their_own_tracks() {
    let mut fixture = Fixture::new();
    fixture.guild_settings.dj_role = Some(super::dj_role());
    let harness = fixture.build();
    for (user, title) in [(1, "now"), (1, "mine"), (2, "theirs")] {
        harness
            .music
            .play(guild(), &member(user), title, AddPosition::End)
            .await
            .unwrap();
    }

    assert_eq!(
        harness.music.remove(guild(), &member(1), 1).await,
        Err(MusicError::Permission(PermissionError::NeedsDj))
    );
    let own = harness.music.remove(guild(), &member(1), 0).await.unwrap();
    assert_eq!(own.title, "mine");
    assert_eq!(harness.upcoming_titles().await, ["theirs"]);
}

#[tokio::test]
async fn move_track_reorders_the_queue() {
    let harness = playing(&["B", "C", "D"]).await;

    let moved = harness
        .music
        .move_track(guild(), &Actor::console(), 0, 2)
        .await
        .unwrap();

    assert_eq!(moved.title, "B");
    assert_eq!(harness.upcoming_titles().await, ["C", "D", "B"]);
    assert_eq!(
        harness
            .music
            .move_track(guild(), &Actor::console(), 0, 3)
            .await,
        Err(MusicError::Queue(QueueError::NoSuchIndex {
            index: 3,
            len: 3
        }))
    );
    assert_eq!(harness.upcoming_titles().await, ["C", "D", "B"]);
}

#[tokio::test]
async fn clear_removes_the_upcoming_tracks_but_keeps_the_current_one() {
    let harness = playing(&["B", "C"]).await;

    let removed = harness
        .music
        .clear(guild(), &Actor::console())
        .await
        .unwrap();

    assert_eq!(removed, 2);
    assert!(harness.upcoming_titles().await.is_empty());
    assert_eq!(harness.current_title().await.as_deref(), Some("A"));
    assert!(harness.take_player_calls().is_empty());
    assert_eq!(harness.music.state(guild()).await, PlaybackState::Playing);
}

#[tokio::test]
async fn clear_needs_the_dj_role_when_the_guild_has_one() {
    let mut fixture = Fixture::new();
    fixture.guild_settings.dj_role = Some(super::dj_role());
    let harness = fixture.build();
    harness.play_console("A").await;
    harness.play_console("B").await;

    assert_eq!(
        harness.music.clear(guild(), &member(1)).await,
        Err(MusicError::Permission(PermissionError::NeedsDj))
    );
    assert_eq!(harness.upcoming_titles().await, ["B"]);
}

// ----- now playing / queue page -------------------------------------------------------------

#[tokio::test]
async fn now_playing_with_nothing_playing_says_so() {
    let harness = Fixture::new().build();

    assert_eq!(
        harness.music.now_playing(guild()).await,
        Err(MusicError::NothingPlaying)
    );
}

#[tokio::test]
async fn now_playing_reports_the_player_position_and_session() {
    let mut fixture = Fixture::new();
    fixture.guild_settings.default_volume = volume(80);
    fixture
        .player
        .expect_position()
        .with(eq(guild()))
        .returning(|_| Some(Duration::from_secs(61)));
    let harness = fixture.build();
    harness.play_console("A").await;
    harness.play_console("B").await;
    harness.play_console("C").await;

    let now = harness.music.now_playing(guild()).await.unwrap();

    assert_eq!(now.track.title, "A");
    assert_eq!(now.position, Duration::from_secs(61));
    assert_eq!(now.state, PlaybackState::Playing);
    assert_eq!(now.volume, volume(80));
    assert_eq!(now.filters, FilterSpec::default());
    assert_eq!(now.repeat, RepeatMode::Off);
    assert_eq!(now.upcoming, 2);
}

#[tokio::test]
async fn queue_pages_are_counted_and_clamped() {
    let titles: Vec<String> = (0..24).map(|n| format!("t{n:02}")).collect();
    let mut fixture = Fixture::new();
    let result: Vec<_> = titles.iter().map(|title| info(title)).collect();
    fixture
        .resolver
        .expect_resolve()
        .with(eq("24 tracks"))
        .returning(move |_| Ok(result.clone()));
    let harness = fixture.build();
    harness.play_console("24 tracks").await;

    let first = harness.music.queue_page(guild(), 1, 10).await.unwrap();
    assert_eq!((first.page, first.pages, first.total), (1, 3, 23));
    assert_eq!(first.items.len(), 10);
    assert_eq!(first.items[0].0, 0);
    assert_eq!(first.items[0].1.title, "t01");
    assert_eq!(
        first.current.map(|track| track.title).as_deref(),
        Some("t00")
    );
    assert_eq!(first.total_duration, Duration::from_mins(3 * 23));

    let clamped = harness.music.queue_page(guild(), 5, 10).await.unwrap();
    assert_eq!((clamped.page, clamped.pages), (3, 3));
    let positions: Vec<usize> = clamped.items.iter().map(|(index, _)| *index).collect();
    assert_eq!(positions, [20, 21, 22]);
    assert_eq!(clamped.items[2].1.title, "t23");

    let zeroth = harness.music.queue_page(guild(), 0, 10).await.unwrap();
    assert_eq!(zeroth.page, 1, "page 0 clamps to the first page");
}

#[tokio::test]
async fn an_empty_queue_has_one_empty_page() {
    let harness = Fixture::new().build();

    let page = harness.music.queue_page(guild(), 3, 10).await.unwrap();

    assert_eq!((page.page, page.pages, page.total), (1, 1, 0));
    assert!(page.items.is_empty());
    assert_eq!(page.current, None);
}

#[tokio::test]
async fn playnext_of_an_album_puts_all_of_it_first_in_order() {
    let mut fixture = Fixture::new();
    fixture
        .resolver
        .expect_resolve()
        .with(eq("album"))
        .returning(|_| Ok(infos(&["X", "Y"])));
    let harness = fixture.build();
    harness.play_console("A").await;
    harness.play_console("B").await;

    let outcome = harness
        .music
        .play(guild(), &Actor::console(), "album", AddPosition::Next)
        .await
        .unwrap();

    assert_eq!(outcome.position, Some(0));
    assert_eq!(harness.upcoming_titles().await, ["X", "Y", "B"]);
}
