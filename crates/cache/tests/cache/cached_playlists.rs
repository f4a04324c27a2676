//! `CachedPlaylistRepo` over a mocked repository and a real `MokaCache`: the guild's active
//! playlist (what `play` with no argument reads) comes from the cache after the first read,
//! every write that changes it reaches the repository first and then drops the cached copy, and
//! a failing cache never fails a call. Each mock states how often `active` is asked, so a
//! decorator that skipped the cache (or served a stale copy) fails the test.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use minstrel_app::ports::{Cache, MockPlaylistRepo, PlaylistRepo, StoreError};
use minstrel_cache::{CachedPlaylistRepo, MokaCache, keys};
use minstrel_domain::{
    GuildId, Playlist, PlaylistEntry, PlaylistId, PlaylistName, PlaylistOwner, SourceKind, UserId,
};

use crate::support::BrokenCache;

fn guild() -> GuildId {
    GuildId::new(42).unwrap()
}

fn other_guild() -> GuildId {
    GuildId::new(43).unwrap()
}

fn entry(n: u64) -> PlaylistEntry {
    PlaylistEntry {
        title: format!("Song {n}"),
        locator: format!("https://example.com/{n}.mp3"),
        source_kind: SourceKind::Http,
        duration: n
            .is_multiple_of(2)
            .then(|| Duration::from_millis(1_000 * n + 7)),
    }
}

fn playlist(id: u64, entries: u64) -> Playlist {
    Playlist {
        id: PlaylistId(id),
        owner: PlaylistOwner::User(UserId::new(81_384_788_765_712_384).unwrap()),
        name: PlaylistName::new("Road trip").unwrap(),
        entries: (0..entries).map(entry).collect(),
    }
}

fn unavailable() -> StoreError {
    StoreError::Unavailable("the database is down".to_owned())
}

/// What the mocked repository holds: every guild's active playlist, one playlist per id.
#[derive(Default)]
struct State {
    playlists: Vec<Playlist>,
    active: Vec<(GuildId, PlaylistId)>,
}

impl State {
    fn active(&self, guild: GuildId) -> Option<Playlist> {
        let (_, id) = self.active.iter().find(|(active, _)| *active == guild)?;
        self.playlists.iter().find(|p| p.id == *id).cloned()
    }
}

/// A repository over [`State`] whose `active` is asked exactly `reads` times; writes always
/// succeed.
fn stateful_repo(state: State, reads: usize) -> (MockPlaylistRepo, Arc<Mutex<State>>) {
    let state = Arc::new(Mutex::new(state));
    let mut repo = MockPlaylistRepo::new();
    let read = state.clone();
    repo.expect_active()
        .times(reads)
        .returning(move |guild| Ok(read.lock().unwrap().active(guild)));
    let write = state.clone();
    repo.expect_set_active().returning(move |guild, id| {
        let mut state = write.lock().unwrap();
        state.active.retain(|(active, _)| *active != guild);
        if let Some(id) = id {
            state.active.push((guild, id));
        }
        Ok(())
    });
    let write = state.clone();
    repo.expect_append().returning(move |id, entries| {
        let mut state = write.lock().unwrap();
        let playlist = state.playlists.iter_mut().find(|p| p.id == *id).unwrap();
        playlist.entries.extend_from_slice(entries);
        Ok(())
    });
    let write = state.clone();
    repo.expect_remove_entry().returning(move |id, index| {
        let mut state = write.lock().unwrap();
        let playlist = state.playlists.iter_mut().find(|p| p.id == *id).unwrap();
        Ok(playlist.entries.remove(index))
    });
    let write = state.clone();
    repo.expect_delete().returning(move |id| {
        let mut state = write.lock().unwrap();
        state.playlists.retain(|p| p.id != *id);
        state.active.retain(|(_, active)| active != id);
        Ok(())
    });
    (repo, state)
}

fn active_in(guilds: &[GuildId], playlist: Playlist) -> State {
    State {
        active: guilds
            .iter()
            .map(|guild| (*guild, playlist.id.clone()))
            .collect(),
        playlists: vec![playlist],
    }
}

#[tokio::test]
async fn the_second_active_read_is_served_from_the_cache() {
    let (repo, _) = stateful_repo(active_in(&[guild()], playlist(7, 3)), 1);
    let cached = CachedPlaylistRepo::new(Arc::new(repo), Arc::new(MokaCache::default()));

    assert_eq!(cached.active(guild()).await, Ok(Some(playlist(7, 3))));
    assert_eq!(
        cached.active(guild()).await,
        Ok(Some(playlist(7, 3))),
        "the copy keeps every field"
    );
}

#[tokio::test]
async fn no_active_playlist_is_cached_too() {
    let (repo, _) = stateful_repo(State::default(), 1);
    let cache = Arc::new(MokaCache::default());
    let cached = CachedPlaylistRepo::new(Arc::new(repo), cache.clone());

    assert_eq!(cached.active(guild()).await, Ok(None));
    assert_eq!(cached.active(guild()).await, Ok(None));
    assert!(cache.get(&keys::playlist(guild())).await.unwrap().is_some());
}

#[tokio::test]
async fn the_entries_live_under_the_playlist_and_contents_keys() {
    let (repo, _) = stateful_repo(active_in(&[guild()], playlist(7, 3)), 1);
    let cache = Arc::new(MokaCache::default());
    let cached = CachedPlaylistRepo::new(Arc::new(repo), cache.clone());

    cached.active(guild()).await.unwrap();
    assert!(cache.get(&keys::playlist(guild())).await.unwrap().is_some());
    assert!(
        cache
            .get(&keys::playlist_contents(&PlaylistId(7)))
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn set_active_invalidates_so_the_next_read_sees_the_new_playlist() {
    let mut state = active_in(&[guild()], playlist(7, 3));
    state.playlists.push(playlist(8, 1));
    let (repo, _) = stateful_repo(state, 2);
    let cached = CachedPlaylistRepo::new(Arc::new(repo), Arc::new(MokaCache::default()));
    assert_eq!(cached.active(guild()).await, Ok(Some(playlist(7, 3))));
    assert_eq!(cached.active(guild()).await, Ok(Some(playlist(7, 3))));

    cached
        .set_active(guild(), Some(PlaylistId(8)))
        .await
        .unwrap();
    assert_eq!(cached.active(guild()).await, Ok(Some(playlist(8, 1))));
}

#[tokio::test]
async fn clearing_the_active_playlist_invalidates() {
    let (repo, _) = stateful_repo(active_in(&[guild()], playlist(7, 3)), 2);
    let cached = CachedPlaylistRepo::new(Arc::new(repo), Arc::new(MokaCache::default()));
    cached.active(guild()).await.unwrap();

    cached.set_active(guild(), None).await.unwrap();
    assert_eq!(cached.active(guild()).await, Ok(None));
}

/// An edit knows the playlist, not the guilds playing it; every one of them sees the edit.
/// Three repository reads: one per guild to fill, then one after the edit, whose refilled
/// contents also serve the other guild.
#[tokio::test]
async fn append_invalidates_the_playlist_in_every_guild_that_plays_it() {
    let (repo, _) = stateful_repo(active_in(&[guild(), other_guild()], playlist(7, 3)), 3);
    let cached = CachedPlaylistRepo::new(Arc::new(repo), Arc::new(MokaCache::default()));
    for _ in 0..2 {
        assert_eq!(cached.active(guild()).await, Ok(Some(playlist(7, 3))));
        assert_eq!(cached.active(other_guild()).await, Ok(Some(playlist(7, 3))));
    }

    cached.append(&PlaylistId(7), &[entry(3)]).await.unwrap();
    assert_eq!(cached.active(guild()).await, Ok(Some(playlist(7, 4))));
    assert_eq!(cached.active(other_guild()).await, Ok(Some(playlist(7, 4))));
}

#[tokio::test]
async fn remove_entry_invalidates() {
    let (repo, _) = stateful_repo(active_in(&[guild()], playlist(7, 3)), 2);
    let cached = CachedPlaylistRepo::new(Arc::new(repo), Arc::new(MokaCache::default()));
    cached.active(guild()).await.unwrap();

    assert_eq!(cached.remove_entry(&PlaylistId(7), 2).await, Ok(entry(2)));
    assert_eq!(cached.active(guild()).await, Ok(Some(playlist(7, 2))));
}

#[tokio::test]
async fn deleting_the_active_playlist_shows_none_afterwards() {
    let (repo, _) = stateful_repo(active_in(&[guild()], playlist(7, 3)), 2);
    let cached = CachedPlaylistRepo::new(Arc::new(repo), Arc::new(MokaCache::default()));
    cached.active(guild()).await.unwrap();

    cached.delete(&PlaylistId(7)).await.unwrap();
    assert_eq!(cached.active(guild()).await, Ok(None));
    assert_eq!(
        cached.active(guild()).await,
        Ok(None),
        "the repaired pointer serves the third read"
    );
}

#[tokio::test]
async fn failed_writes_leave_the_cache_untouched() {
    let mut repo = MockPlaylistRepo::new();
    repo.expect_active()
        .times(1)
        .returning(|_| Ok(Some(playlist(7, 3))));
    repo.expect_append()
        .times(1)
        .returning(|_, _| Err(unavailable()));
    repo.expect_remove_entry()
        .times(1)
        .returning(|_, _| Err(unavailable()));
    repo.expect_delete()
        .times(1)
        .returning(|_| Err(unavailable()));
    repo.expect_set_active()
        .times(1)
        .returning(|_, _| Err(unavailable()));
    let cached = CachedPlaylistRepo::new(Arc::new(repo), Arc::new(MokaCache::default()));
    cached.active(guild()).await.unwrap();

    assert_eq!(
        cached.append(&PlaylistId(7), &[entry(3)]).await,
        Err(unavailable())
    );
    assert_eq!(
        cached.remove_entry(&PlaylistId(7), 0).await,
        Err(unavailable())
    );
    assert_eq!(cached.delete(&PlaylistId(7)).await, Err(unavailable()));
    assert_eq!(cached.set_active(guild(), None).await, Err(unavailable()));
    assert_eq!(
        cached.active(guild()).await,
        Ok(Some(playlist(7, 3))),
        "served from the cache, which still holds what the repository has"
    );
}

#[tokio::test]
async fn a_failing_cache_still_returns_the_repository_answer() {
    let (repo, state) = stateful_repo(active_in(&[guild()], playlist(7, 3)), 3);
    let cached = CachedPlaylistRepo::new(Arc::new(repo), Arc::new(BrokenCache));

    assert_eq!(cached.active(guild()).await, Ok(Some(playlist(7, 3))));
    assert_eq!(cached.active(guild()).await, Ok(Some(playlist(7, 3))));
    assert_eq!(cached.append(&PlaylistId(7), &[entry(3)]).await, Ok(()));
    assert_eq!(state.lock().unwrap().active(guild()), Some(playlist(7, 4)));
    assert_eq!(cached.active(guild()).await, Ok(Some(playlist(7, 4))));
}

#[tokio::test]
async fn find_list_and_create_go_to_the_repository() {
    let name = PlaylistName::new("Road trip").unwrap();
    let owner = playlist(7, 0).owner;
    let mut repo = MockPlaylistRepo::new();
    repo.expect_find()
        .times(2)
        .returning(|_, _| Ok(Some(playlist(7, 1))));
    repo.expect_list()
        .times(1)
        .returning(|_, _, _| Ok(vec![playlist(7, 1)]));
    repo.expect_create()
        .times(1)
        .returning(|_, _| Ok(playlist(9, 0)));
    let cached = CachedPlaylistRepo::new(Arc::new(repo), Arc::new(MokaCache::default()));

    assert_eq!(cached.find(owner, &name).await, Ok(Some(playlist(7, 1))));
    assert_eq!(cached.find(owner, &name).await, Ok(Some(playlist(7, 1))));
    assert_eq!(cached.list(owner, 0, 10).await, Ok(vec![playlist(7, 1)]));
    assert_eq!(cached.create(owner, &name).await, Ok(playlist(9, 0)));
}
