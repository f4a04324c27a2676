//! Checks for [`QueueStore`] adapters.

use std::time::Duration;

use minstrel_app::ports::{QueueSnapshot, QueueStore};
use minstrel_domain::{FilterSpec, GuildId, RepeatMode, RequesterId, Volume};

use super::fixtures::{self, bare_track, full_track};

pub async fn all(repo: &dyn QueueStore) {
    unknown_guild_has_no_snapshot(repo).await;
    full_snapshot_roundtrip(repo).await;
    bare_snapshot_roundtrip(repo).await;
    save_replaces_the_guilds_snapshot(repo).await;
    load_all_returns_every_saved_guild(repo).await;
    delete_removes_only_that_guild(repo).await;
}

/// A snapshot with every field set: tracks of each kind of requester, every filter, repeat,
/// volume, position, pause and channels.
fn full_snapshot(guild: GuildId) -> QueueSnapshot {
    let discord = RequesterId::Discord(fixtures::user());
    let telegram = RequesterId::Telegram(fixtures::telegram_user());
    QueueSnapshot {
        guild,
        voice_channel: Some(fixtures::channel()),
        text_channel: Some(fixtures::channel()),
        current: Some(full_track(1, discord.clone())),
        upcoming: vec![
            full_track(2, telegram),
            bare_track(3),
            full_track(4, discord),
            // The same song queued twice is two entries with their own ids.
            bare_track(5),
            bare_track(6),
        ],
        position: Duration::from_millis(83_250),
        repeat: RepeatMode::Queue,
        filters: fixtures::every_filter(),
        volume: Volume::new(150).unwrap(),
        paused: true,
        updated_at: fixtures::at(42_123),
        current_attempts: 2,
    }
}

/// A snapshot with every optional part empty.
fn bare_snapshot(guild: GuildId) -> QueueSnapshot {
    QueueSnapshot {
        guild,
        voice_channel: None,
        text_channel: None,
        current: None,
        upcoming: Vec::new(),
        position: Duration::ZERO,
        repeat: RepeatMode::Off,
        filters: FilterSpec::default(),
        volume: Volume::DEFAULT,
        paused: false,
        updated_at: fixtures::at(0),
        current_attempts: 0,
    }
}

pub async fn unknown_guild_has_no_snapshot(repo: &dyn QueueStore) {
    assert_eq!(repo.load(fixtures::guild()).await.unwrap(), None);
}

/// Every field of a full snapshot comes back equal, upcoming tracks in order.
pub async fn full_snapshot_roundtrip(repo: &dyn QueueStore) {
    let snapshot = full_snapshot(fixtures::guild());
    repo.save(&snapshot).await.unwrap();
    assert_eq!(repo.load(snapshot.guild).await.unwrap(), Some(snapshot));
}

/// Empty parts come back empty, not as defaults of something else.
pub async fn bare_snapshot_roundtrip(repo: &dyn QueueStore) {
    let snapshot = bare_snapshot(fixtures::guild());
    repo.save(&snapshot).await.unwrap();
    assert_eq!(repo.load(snapshot.guild).await.unwrap(), Some(snapshot));
}

/// A guild has one snapshot: saving again replaces it whole, including shorter track lists.
pub async fn save_replaces_the_guilds_snapshot(repo: &dyn QueueStore) {
    let guild = fixtures::guild();
    repo.save(&full_snapshot(guild)).await.unwrap();

    let mut replacement = full_snapshot(guild);
    replacement.upcoming.truncate(1);
    replacement.current = Some(bare_track(9));
    replacement.repeat = RepeatMode::Track;
    replacement.filters = FilterSpec::default().with_volume(0.5).unwrap();
    replacement.volume = Volume::new(0).unwrap();
    replacement.position = Duration::from_millis(1);
    replacement.paused = false;
    replacement.updated_at = fixtures::at(99_999);
    replacement.current_attempts = 1;
    repo.save(&replacement).await.unwrap();
    assert_eq!(repo.load(guild).await.unwrap(), Some(replacement.clone()));

    let emptied = QueueSnapshot {
        updated_at: fixtures::at(100_000),
        ..bare_snapshot(guild)
    };
    repo.save(&emptied).await.unwrap();
    assert_eq!(repo.load(guild).await.unwrap(), Some(emptied));
}

/// `load_all` returns each saved guild's latest snapshot exactly once. (Other checks sharing the
/// store may have saved guilds too, so only this check's guilds are looked at.)
pub async fn load_all_returns_every_saved_guild(repo: &dyn QueueStore) {
    let (first, second) = (
        full_snapshot(fixtures::guild()),
        bare_snapshot(fixtures::guild()),
    );
    repo.save(&first).await.unwrap();
    repo.save(&bare_snapshot(second.guild)).await.unwrap();
    repo.save(&second).await.unwrap();
    let deleted = fixtures::guild();
    repo.save(&bare_snapshot(deleted)).await.unwrap();
    repo.delete(deleted).await.unwrap();

    let all = repo.load_all().await.unwrap();
    for expected in [&first, &second] {
        let found: Vec<&QueueSnapshot> = all
            .iter()
            .filter(|snapshot| snapshot.guild == expected.guild)
            .collect();
        assert_eq!(found, [expected]);
    }
    assert!(all.iter().all(|snapshot| snapshot.guild != deleted));
}

/// Deleting drops that guild's snapshot only; deleting what is not there is fine.
pub async fn delete_removes_only_that_guild(repo: &dyn QueueStore) {
    let (doomed, kept) = (
        full_snapshot(fixtures::guild()),
        full_snapshot(fixtures::guild()),
    );
    repo.save(&doomed).await.unwrap();
    repo.save(&kept).await.unwrap();

    repo.delete(doomed.guild).await.unwrap();
    assert_eq!(repo.load(doomed.guild).await.unwrap(), None);
    assert_eq!(repo.load(kept.guild).await.unwrap(), Some(kept));
    repo.delete(doomed.guild).await.unwrap();
    repo.delete(fixtures::guild()).await.unwrap();
}
