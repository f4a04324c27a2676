//! `CachedSettingsRepo` over a mocked repository and a real `MokaCache`: reads come from the
//! cache after the first, writes reach the repository first and then drop the cached copy, and
//! a failing cache never fails a call. Each mock states how often the repository is asked, so a
//! decorator that skipped the cache (or served a stale copy) fails the test.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use minstrel_app::ports::{Cache, MockSettingsRepo, SettingsRepo, StoreError};
use minstrel_cache::{CachedSettingsRepo, MokaCache, keys};
use minstrel_domain::{GuildId, GuildSettings, Preset, RoleId, UserId, UserSettings, Volume};

use crate::support::BrokenCache;

fn user() -> UserId {
    UserId::new(81_384_788_765_712_384).unwrap()
}

fn guild() -> GuildId {
    GuildId::new(42).unwrap()
}

fn user_settings(volume: i64) -> UserSettings {
    UserSettings {
        user_id: user(),
        default_volume: Volume::new(volume).unwrap(),
        preferred_filters: vec![Preset::Nightcore, Preset::BassBoostLow],
        autoplay: true,
    }
}

/// Every field away from its default, so a lossy round trip through the cache shows.
fn guild_settings(locale: &str) -> GuildSettings {
    let mut settings = GuildSettings::new(guild());
    settings.set_max_queue(50).unwrap();
    settings.default_volume = Volume::new(80).unwrap();
    settings.allowed_filters = Some(vec![Preset::Slow, Preset::EightD]);
    settings.dj_role = Some(RoleId::new(9_000_000_000_000).unwrap());
    settings.stay_24_7 = true;
    settings.set_idle_timeout(Duration::from_mins(2)).unwrap();
    settings.set_vote_skip_ratio(0.75).unwrap();
    settings.normalisation = false;
    locale.clone_into(&mut settings.locale);
    settings
}

fn unavailable() -> StoreError {
    StoreError::Unavailable("the database is down".to_owned())
}

/// A repository that keeps one user's settings, asked `reads` times in all.
fn stateful_user_repo(
    initial: Option<UserSettings>,
    reads: usize,
) -> (MockSettingsRepo, Arc<Mutex<Option<UserSettings>>>) {
    let stored = Arc::new(Mutex::new(initial));
    let mut repo = MockSettingsRepo::new();
    let read = stored.clone();
    repo.expect_user()
        .times(reads)
        .returning(move |_| Ok(read.lock().unwrap().clone()));
    let write = stored.clone();
    repo.expect_save_user().returning(move |settings| {
        *write.lock().unwrap() = Some(settings.clone());
        Ok(())
    });
    (repo, stored)
}

#[tokio::test]
async fn the_second_user_read_is_served_from_the_cache() {
    let (repo, _) = stateful_user_repo(Some(user_settings(150)), 1);
    let cached = CachedSettingsRepo::new(Arc::new(repo), Arc::new(MokaCache::default()));

    assert_eq!(cached.user(user()).await, Ok(Some(user_settings(150))));
    assert_eq!(
        cached.user(user()).await,
        Ok(Some(user_settings(150))),
        "the copy keeps every field"
    );
}

#[tokio::test]
async fn never_saved_is_cached_too() {
    let (repo, _) = stateful_user_repo(None, 1);
    let cached = CachedSettingsRepo::new(Arc::new(repo), Arc::new(MokaCache::default()));

    assert_eq!(cached.user(user()).await, Ok(None));
    assert_eq!(cached.user(user()).await, Ok(None));
}

#[tokio::test]
async fn the_entry_lives_under_the_user_settings_key() {
    let (repo, _) = stateful_user_repo(Some(user_settings(150)), 1);
    let cache = Arc::new(MokaCache::default());
    let cached = CachedSettingsRepo::new(Arc::new(repo), cache.clone());

    cached.user(user()).await.unwrap();
    assert!(
        cache
            .get(&keys::user_settings(user()))
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn saving_invalidates_so_the_next_read_sees_the_new_value() {
    let (repo, stored) = stateful_user_repo(Some(user_settings(150)), 2);
    let cache = Arc::new(MokaCache::default());
    let cached = CachedSettingsRepo::new(Arc::new(repo), cache.clone());
    assert_eq!(cached.user(user()).await, Ok(Some(user_settings(150))));
    assert_eq!(cached.user(user()).await, Ok(Some(user_settings(150))));

    cached.save_user(&user_settings(60)).await.unwrap();
    assert_eq!(
        *stored.lock().unwrap(),
        Some(user_settings(60)),
        "the repository took the write"
    );
    assert_eq!(
        cache.get(&keys::user_settings(user())).await,
        Ok(None),
        "the cached copy is gone"
    );
    assert_eq!(cached.user(user()).await, Ok(Some(user_settings(60))));
}

#[tokio::test]
async fn a_failed_save_leaves_the_cache_untouched() {
    let mut repo = MockSettingsRepo::new();
    repo.expect_user()
        .times(1)
        .returning(|_| Ok(Some(user_settings(150))));
    repo.expect_save_user()
        .times(1)
        .returning(|_| Err(unavailable()));
    let cached = CachedSettingsRepo::new(Arc::new(repo), Arc::new(MokaCache::default()));
    cached.user(user()).await.unwrap();

    assert_eq!(
        cached.save_user(&user_settings(60)).await,
        Err(unavailable())
    );
    assert_eq!(
        cached.user(user()).await,
        Ok(Some(user_settings(150))),
        "served from the cache, which still holds what the repository has"
    );
}

#[tokio::test]
async fn a_failing_cache_still_returns_the_repository_answer() {
    let (repo, stored) = stateful_user_repo(Some(user_settings(150)), 3);
    let cached = CachedSettingsRepo::new(Arc::new(repo), Arc::new(BrokenCache));

    assert_eq!(cached.user(user()).await, Ok(Some(user_settings(150))));
    assert_eq!(cached.user(user()).await, Ok(Some(user_settings(150))));
    assert_eq!(cached.save_user(&user_settings(60)).await, Ok(()));
    assert_eq!(*stored.lock().unwrap(), Some(user_settings(60)));
    assert_eq!(cached.user(user()).await, Ok(Some(user_settings(60))));
}

#[tokio::test]
async fn a_repository_error_is_not_cached() {
    let mut repo = MockSettingsRepo::new();
    let mut calls = 0;
    repo.expect_user().times(2).returning(move |_| {
        calls += 1;
        if calls == 1 {
            Err(unavailable())
        } else {
            Ok(Some(user_settings(150)))
        }
    });
    let cached = CachedSettingsRepo::new(Arc::new(repo), Arc::new(MokaCache::default()));

    assert_eq!(cached.user(user()).await, Err(unavailable()));
    assert_eq!(cached.user(user()).await, Ok(Some(user_settings(150))));
}

#[tokio::test]
async fn an_unreadable_entry_is_a_miss_and_is_replaced() {
    let (repo, _) = stateful_user_repo(Some(user_settings(150)), 1);
    let cache = Arc::new(MokaCache::default());
    cache
        .set(
            &keys::user_settings(user()),
            b"{not json".to_vec(),
            Duration::from_mins(1),
        )
        .await
        .unwrap();
    let cached = CachedSettingsRepo::new(Arc::new(repo), cache);

    assert_eq!(cached.user(user()).await, Ok(Some(user_settings(150))));
    assert_eq!(
        cached.user(user()).await,
        Ok(Some(user_settings(150))),
        "the repaired entry serves the second read"
    );
}

#[tokio::test]
async fn guild_settings_read_through_and_invalidate() {
    let stored = Arc::new(Mutex::new(Some(guild_settings("de"))));
    let mut repo = MockSettingsRepo::new();
    let read = stored.clone();
    repo.expect_guild()
        .times(2)
        .returning(move |_| Ok(read.lock().unwrap().clone()));
    let write = stored.clone();
    repo.expect_save_guild()
        .times(1)
        .returning(move |settings| {
            *write.lock().unwrap() = Some(settings.clone());
            Ok(())
        });
    let cache = Arc::new(MokaCache::default());
    let cached = CachedSettingsRepo::new(Arc::new(repo), cache.clone());

    assert_eq!(cached.guild(guild()).await, Ok(Some(guild_settings("de"))));
    assert_eq!(
        cached.guild(guild()).await,
        Ok(Some(guild_settings("de"))),
        "the copy keeps every field"
    );
    assert!(
        cache
            .get(&keys::guild_settings(guild()))
            .await
            .unwrap()
            .is_some()
    );

    cached.save_guild(&guild_settings("fr")).await.unwrap();
    assert_eq!(cache.get(&keys::guild_settings(guild())).await, Ok(None));
    assert_eq!(cached.guild(guild()).await, Ok(Some(guild_settings("fr"))));
}

#[tokio::test]
async fn a_failed_guild_save_leaves_the_cache_untouched() {
    let mut repo = MockSettingsRepo::new();
    repo.expect_guild()
        .times(1)
        .returning(|_| Ok(Some(guild_settings("de"))));
    repo.expect_save_guild()
        .times(1)
        .returning(|_| Err(unavailable()));
    let cached = CachedSettingsRepo::new(Arc::new(repo), Arc::new(MokaCache::default()));
    cached.guild(guild()).await.unwrap();

    assert_eq!(
        cached.save_guild(&guild_settings("fr")).await,
        Err(unavailable())
    );
    assert_eq!(cached.guild(guild()).await, Ok(Some(guild_settings("de"))));
}

#[tokio::test]
async fn guild_settings_with_a_failing_cache_come_from_the_repository() {
    let mut repo = MockSettingsRepo::new();
    repo.expect_guild().times(2).returning(|_| Ok(None));
    repo.expect_save_guild().times(1).returning(|_| Ok(()));
    let cached = CachedSettingsRepo::new(Arc::new(repo), Arc::new(BrokenCache));

    assert_eq!(cached.guild(guild()).await, Ok(None));
    assert_eq!(cached.guild(guild()).await, Ok(None));
    assert_eq!(cached.save_guild(&guild_settings("fr")).await, Ok(()));
}
