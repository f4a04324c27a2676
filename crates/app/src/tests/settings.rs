//! `SettingsService` (user and guild settings, applied to live sessions) and `HistoryService`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use minstrel_domain::{
    AddPosition, FilterError, GuildSettings, HistoryEntry, Preset, QueueError, RequesterId,
    SettingsError, UserSettings,
};
use mockall::predicate::eq;

use super::{Fixture, Harness, PlayerCall, admin, dj, dj_role, guild, member, user_id, volume};
use crate::error::MusicError;
use crate::filters::FilterService;
use crate::policy::{Actor, PermissionError};
use crate::ports::{MockHistoryRepo, StoreError};
use crate::settings::{GuildSettingChange, HistoryService, SettingsService};

fn service(harness: &Harness) -> SettingsService {
    SettingsService::new(harness.settings.clone(), harness.music.clone())
}

/// The settings repo keeps user 5's settings in memory: `user` returns what `save_user` saved,
/// and `save_user` may be called exactly `saves` times.
fn remembers_user_settings(fixture: &mut Fixture, saves: usize) {
    let stored: Arc<Mutex<Option<UserSettings>>> = Arc::default();
    let read = Arc::clone(&stored);
    fixture
        .settings
        .expect_user()
        .with(eq(user_id(5)))
        .returning(move |_| Ok(read.lock().unwrap().clone()));
    fixture
        .settings
        .expect_save_user()
        .withf(|settings| settings.user_id == user_id(5))
        .times(saves)
        .returning(move |settings| {
            *stored.lock().unwrap() = Some(settings.clone());
            Ok(())
        });
}

// ----- user settings ----------------------------------------------------------------------

#[tokio::test]
async fn user_settings_round_trip_through_the_repo_and_reach_playback() {
    let mut fixture = Fixture::new();
    remembers_user_settings(&mut fixture, 3);
    let harness = fixture.build();
    let settings = service(&harness);
    let user = user_id(5);

    assert_eq!(settings.user(user).await, Ok(UserSettings::new(user)));
    settings.set_user_volume(user, 35).await.unwrap();
    let names = vec!["nightcore".to_owned(), "Bass Boost".to_owned()];
    settings.set_user_filters(user, &names).await.unwrap();
    let last = settings.set_user_autoplay(user, true).await.unwrap();

    let read = settings.user(user).await.unwrap();
    assert_eq!(read, last);
    assert_eq!(read.default_volume, volume(35));
    assert_eq!(
        read.preferred_filters,
        [Preset::Nightcore, Preset::BassBoostMedium]
    );
    assert!(read.autoplay);

    harness
        .music
        .play(guild(), &member(5), "A", AddPosition::End)
        .await
        .unwrap();
    assert!(matches!(
        harness.take_player_calls().as_slice(),
        [PlayerCall::Play { volume: played, filters, .. }]
            if *played == volume(35) && *filters == read.preferred_spec()
    ));
}

#[tokio::test]
async fn empty_filter_names_clear_the_preferred_filters() {
    let mut fixture = Fixture::new();
    remembers_user_settings(&mut fixture, 2);
    let harness = fixture.build();
    let settings = service(&harness);
    settings
        .set_user_filters(user_id(5), &["slow".to_owned()])
        .await
        .unwrap();

    let cleared = settings.set_user_filters(user_id(5), &[]).await.unwrap();

    assert!(cleared.preferred_filters.is_empty());
}

#[tokio::test]
async fn invalid_user_settings_are_refused_and_not_saved() {
    let mut fixture = Fixture::new();
    remembers_user_settings(&mut fixture, 0);
    let harness = fixture.build();
    let settings = service(&harness);

    let loud = settings.set_user_volume(user_id(5), 250).await.unwrap_err();
    let unknown = settings
        .set_user_filters(user_id(5), &["nightcore".to_owned(), "wobble".to_owned()])
        .await
        .unwrap_err();

    assert_eq!(
        loud.to_string(),
        "volume must be between 0 and 200 % (got 250)"
    );
    assert_eq!(
        unknown,
        MusicError::Filter(FilterError::UnknownPreset("wobble".to_owned()))
    );
    assert_eq!(
        settings.user(user_id(5)).await,
        Ok(UserSettings::new(user_id(5)))
    );
}

#[tokio::test]
async fn a_failing_save_of_user_settings_is_reported() {
    let mut fixture = Fixture::new();
    fixture
        .settings
        .expect_save_user()
        .times(1)
        .returning(|_| Err(StoreError::Internal("constraint".to_owned())));
    let harness = fixture.build();

    let error = service(&harness)
        .set_user_autoplay(user_id(5), true)
        .await
        .unwrap_err();

    assert!(error.is_internal());
    assert_eq!(error.to_string(), "storage failed");
}

// ----- guild settings ---------------------------------------------------------------------

#[tokio::test]
async fn a_guild_without_saved_settings_gets_the_defaults() {
    let mut fixture = Fixture::new();
    fixture.defaults.settings = false;
    fixture
        .settings
        .expect_guild()
        .with(eq(guild()))
        .times(1)
        .returning(|_| Ok(None));
    let harness = fixture.build();

    let settings = service(&harness).guild(guild()).await.unwrap();

    assert_eq!(settings, GuildSettings::new(guild()));
    assert_eq!(settings.max_queue(), GuildSettings::DEFAULT_MAX_QUEUE);
}

#[tokio::test]
async fn only_server_managers_change_guild_settings() {
    // No expect_save_guild: a save would panic.
    let mut fixture = Fixture::new();
    fixture.guild_settings.dj_role = Some(dj_role());
    let harness = fixture.build();
    let settings = service(&harness);

    for actor in [member(1), dj(2)] {
        let error = settings
            .update_guild(guild(), &actor, GuildSettingChange::Stay247(true))
            .await
            .unwrap_err();
        assert_eq!(error, MusicError::Permission(PermissionError::NeedsAdmin));
        assert_eq!(
            error.to_string(),
            "only server managers can change the server settings"
        );
    }
}

#[tokio::test]
async fn invalid_guild_settings_are_refused_and_not_saved() {
    // No expect_save_guild: a save would panic.
    let harness = Fixture::new().build();
    let settings = service(&harness);
    let manager = admin(1);
    let update = |change| settings.update_guild(guild(), &manager, change);

    let no_queue = update(GuildSettingChange::MaxQueue(0)).await.unwrap_err();
    let ratio = update(GuildSettingChange::VoteSkipRatio(1.5))
        .await
        .unwrap_err();
    let timeout = update(GuildSettingChange::IdleTimeout(Duration::from_secs(1)))
        .await
        .unwrap_err();
    let loud = update(GuildSettingChange::DefaultVolume(300))
        .await
        .unwrap_err();
    let preset = update(GuildSettingChange::AllowedFilters(Some(vec![
        "slow".to_owned(),
        "wobble".to_owned(),
    ])))
    .await
    .unwrap_err();

    assert_eq!(
        no_queue,
        MusicError::Settings(SettingsError::MaxQueue { value: 0 })
    );
    assert_eq!(
        no_queue.to_string(),
        "the maximum queue size must be between 1 and 10000 (got 0)"
    );
    assert_eq!(
        ratio.to_string(),
        "the vote-skip ratio must be between 0 and 1 (got 1.5)"
    );
    assert_eq!(
        timeout.to_string(),
        "the idle timeout must be between 10 seconds and 24 hours (got 1 s)"
    );
    assert_eq!(
        loud.to_string(),
        "volume must be between 0 and 200 % (got 300)"
    );
    assert_eq!(
        preset,
        MusicError::Filter(FilterError::UnknownPreset("wobble".to_owned()))
    );
}

#[tokio::test]
async fn a_valid_change_is_saved_and_returned() {
    let mut fixture = Fixture::new();
    fixture
        .settings
        .expect_save_guild()
        .withf(|settings| {
            settings.guild_id == guild()
                && settings.allowed_filters == Some(vec![Preset::Slow, Preset::EightD])
                && settings.max_queue() == GuildSettings::DEFAULT_MAX_QUEUE
        })
        .times(1)
        .returning(|_| Ok(()));
    let harness = fixture.build();

    let saved = service(&harness)
        .update_guild(
            guild(),
            &admin(1),
            GuildSettingChange::AllowedFilters(Some(vec!["Slow".to_owned(), "8d".to_owned()])),
        )
        .await
        .unwrap();

    assert!(saved.allows(Preset::Slow));
    assert!(!saved.allows(Preset::Nightcore));
}

#[tokio::test]
async fn the_console_may_change_guild_settings() {
    let mut fixture = Fixture::new();
    fixture
        .settings
        .expect_save_guild()
        .withf(|settings| settings.default_volume == volume(60))
        .times(1)
        .returning(|_| Ok(()));
    let harness = fixture.build();

    let saved = service(&harness)
        .update_guild(
            guild(),
            &Actor::console(),
            GuildSettingChange::DefaultVolume(60),
        )
        .await
        .unwrap();

    assert_eq!(saved.default_volume, volume(60));
}

#[tokio::test]
async fn a_failed_save_does_not_change_the_live_session() {
    let mut fixture = Fixture::new();
    fixture
        .settings
        .expect_save_guild()
        .times(1)
        .returning(|_| Err(StoreError::Unavailable("db down".to_owned())));
    let harness = fixture.build();
    for title in ["A", "B"] {
        harness.play_console(title).await;
    }

    let error = service(&harness)
        .update_guild(guild(), &admin(1), GuildSettingChange::MaxQueue(1))
        .await
        .unwrap_err();

    assert!(error.is_internal());
    harness
        .music
        .play(guild(), &Actor::console(), "C", AddPosition::End)
        .await
        .expect("the old limit still holds");
}

#[tokio::test]
async fn a_lower_max_queue_applies_to_the_live_session() {
    let mut fixture = Fixture::new();
    fixture
        .settings
        .expect_save_guild()
        .withf(|settings| settings.max_queue() == 1)
        .times(1)
        .returning(|_| Ok(()));
    let harness = fixture.build();
    let console = Actor::console();
    for title in ["A", "B"] {
        harness
            .music
            .play(guild(), &console, title, AddPosition::End)
            .await
            .unwrap();
    }

    service(&harness)
        .update_guild(guild(), &admin(1), GuildSettingChange::MaxQueue(1))
        .await
        .unwrap();
    let error = harness
        .music
        .play(guild(), &console, "C", AddPosition::End)
        .await
        .unwrap_err();

    assert_eq!(error, MusicError::Queue(QueueError::Full { max: 1 }));
    assert_eq!(harness.upcoming_titles().await, ["B"]);
}

#[tokio::test]
async fn a_new_dj_role_applies_to_the_live_session() {
    let mut fixture = Fixture::new();
    fixture
        .settings
        .expect_save_guild()
        .times(1)
        .returning(|_| Ok(()));
    let harness = fixture.build();
    harness
        .music
        .play(guild(), &member(1), "A", AddPosition::End)
        .await
        .unwrap();
    harness
        .music
        .set_volume(guild(), &member(1), 50)
        .await
        .unwrap();

    service(&harness)
        .update_guild(
            guild(),
            &admin(9),
            GuildSettingChange::DjRole(Some(dj_role())),
        )
        .await
        .unwrap();

    assert_eq!(
        harness.music.set_volume(guild(), &member(1), 60).await,
        Err(MusicError::Permission(PermissionError::NeedsDj))
    );
    assert_eq!(
        FilterService::new(harness.music.clone())
            .apply_preset(guild(), &member(1), "slow")
            .await,
        Err(MusicError::Permission(PermissionError::NeedsDj))
    );
}

// ----- history ----------------------------------------------------------------------------

fn history_entry(title: &str) -> HistoryEntry {
    HistoryEntry {
        guild_id: guild(),
        requester: RequesterId::Discord(user_id(5)),
        title: title.to_owned(),
        locator: format!("{title}.wav"),
        duration: None,
        played_at: super::the_time(),
    }
}

#[tokio::test]
async fn history_pages_ask_the_repo_for_ten_from_the_right_offset() {
    let mut history = MockHistoryRepo::new();
    history
        .expect_for_user()
        .with(eq(user_id(5)), eq(0), eq(10))
        .times(2)
        .returning(|_, _, _| Ok(vec![history_entry("newest")]));
    history
        .expect_for_user()
        .with(eq(user_id(5)), eq(20), eq(10))
        .times(1)
        .returning(|_, _, _| Ok(vec![history_entry("older")]));
    let service = HistoryService::new(Arc::new(history));

    let first = service.page(user_id(5), 1).await.unwrap();
    let third = service.page(user_id(5), 3).await.unwrap();
    let zeroth = service.page(user_id(5), 0).await.unwrap();

    assert_eq!(first[0].title, "newest");
    assert_eq!(third[0].title, "older");
    assert_eq!(zeroth, first, "page 0 is the first page");
    assert_eq!(HistoryService::PER_PAGE, 10);
}

#[tokio::test]
async fn history_errors_are_passed_through() {
    let mut history = MockHistoryRepo::new();
    history
        .expect_for_user()
        .times(1)
        .returning(|_, _, _| Err(StoreError::Unavailable("db down".to_owned())));
    let service = HistoryService::new(Arc::new(history));

    let error = service.page(user_id(5), 1).await.unwrap_err();

    assert_eq!(
        error,
        MusicError::Store(StoreError::Unavailable("db down".to_owned()))
    );
}

/// The normalisation options of every track the player was asked to play, in order.
fn played_normalisation(harness: &Harness) -> Vec<(String, bool)> {
    harness
        .take_player_calls()
        .into_iter()
        .filter_map(|call| match call {
            PlayerCall::Play { title, options, .. } => Some((title, options.normalise)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_guild_with_normalisation_off_plays_its_tracks_without_it() {
    let mut fixture = Fixture::new();
    fixture.guild_settings.normalisation = false;
    let harness = fixture.build();

    harness.play_console("A").await;

    assert_eq!(played_normalisation(&harness), [("A".to_owned(), false)]);
}

#[tokio::test]
async fn turning_normalisation_off_applies_from_the_next_track_and_back_on_again() {
    let mut fixture = Fixture::new();
    fixture
        .settings
        .expect_save_guild()
        .times(2)
        .returning(|_| Ok(()));
    let harness = fixture.build();
    let console = Actor::console();
    for title in ["A", "B", "C"] {
        harness
            .music
            .play(guild(), &console, title, AddPosition::End)
            .await
            .unwrap();
    }
    let settings = service(&harness);

    let saved = settings
        .update_guild(guild(), &admin(1), GuildSettingChange::Normalisation(false))
        .await
        .unwrap();
    assert!(!saved.normalisation);
    harness.music.skip(guild(), &console).await.unwrap();
    settings
        .update_guild(guild(), &admin(1), GuildSettingChange::Normalisation(true))
        .await
        .unwrap();
    harness.music.skip(guild(), &console).await.unwrap();

    assert_eq!(
        played_normalisation(&harness),
        [
            ("A".to_owned(), true),
            ("B".to_owned(), false),
            ("C".to_owned(), true)
        ]
    );
}
