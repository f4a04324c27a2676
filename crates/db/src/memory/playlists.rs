use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use minstrel_app::ports::{PlaylistRepo, StoreError};
use minstrel_domain::{GuildId, Playlist, PlaylistEntry, PlaylistId, PlaylistName, PlaylistOwner};

use super::{lock, page};
use crate::messages;

/// [`PlaylistRepo`] kept in memory.
#[derive(Debug)]
pub struct MemoryPlaylistRepo {
    next_id: AtomicU64,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    playlists: HashMap<PlaylistId, Playlist>,
    active: HashMap<GuildId, PlaylistId>,
}

impl State {
    fn named(&self, owner: PlaylistOwner, name: &PlaylistName) -> Option<&Playlist> {
        let key = name.key();
        self.playlists
            .values()
            .find(|playlist| playlist.owner == owner && playlist.name.key() == key)
    }

    fn get_mut(&mut self, id: &PlaylistId) -> Result<&mut Playlist, StoreError> {
        self.playlists
            .get_mut(id)
            .ok_or_else(messages::no_such_playlist)
    }
}

impl MemoryPlaylistRepo {
    pub fn new() -> Self {
        Self {
            // Starts at 1 so no playlist has the id 0, which SQL sequences never hand out either.
            next_id: AtomicU64::new(1),
            state: Mutex::default(),
        }
    }
}

impl Default for MemoryPlaylistRepo {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl PlaylistRepo for MemoryPlaylistRepo {
    async fn create(
        &self,
        owner: PlaylistOwner,
        name: &PlaylistName,
    ) -> Result<Playlist, StoreError> {
        let mut state = lock(&self.state);
        if let Some(existing) = state.named(owner, name) {
            return Err(messages::duplicate_playlist(owner, &existing.name));
        }
        let playlist = Playlist {
            id: PlaylistId(self.next_id.fetch_add(1, Ordering::Relaxed)),
            owner,
            name: name.clone(),
            entries: Vec::new(),
        };
        state
            .playlists
            .insert(playlist.id.clone(), playlist.clone());
        Ok(playlist)
    }

    async fn find(
        &self,
        owner: PlaylistOwner,
        name: &PlaylistName,
    ) -> Result<Option<Playlist>, StoreError> {
        Ok(lock(&self.state).named(owner, name).cloned())
    }

    /// Sorted by the case-insensitive name key, so "apple" comes before "Banana".
    async fn list(
        &self,
        owner: PlaylistOwner,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<Playlist>, StoreError> {
        let state = lock(&self.state);
        let mut of_owner: Vec<&Playlist> = state
            .playlists
            .values()
            .filter(|playlist| playlist.owner == owner)
            .collect();
        of_owner.sort_by_cached_key(|playlist| playlist.name.key());
        Ok(page(of_owner, offset, limit).into_iter().cloned().collect())
    }

    /// All or nothing: a batch that would overflow [`Playlist::MAX_ENTRIES`] adds no entry.
    async fn append(&self, id: &PlaylistId, entries: &[PlaylistEntry]) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        let playlist = state.get_mut(id)?;
        let current = playlist.entries.len();
        if current.saturating_add(entries.len()) > Playlist::MAX_ENTRIES {
            return Err(messages::playlist_full(&playlist.name, current));
        }
        playlist.entries.extend_from_slice(entries);
        Ok(())
    }

    async fn remove_entry(
        &self,
        id: &PlaylistId,
        index: usize,
    ) -> Result<PlaylistEntry, StoreError> {
        let mut state = lock(&self.state);
        let playlist = state.get_mut(id)?;
        if index >= playlist.entries.len() {
            return Err(messages::no_such_entry(index));
        }
        Ok(playlist.entries.remove(index))
    }

    /// Also clears every guild's active pointer to the playlist.
    async fn delete(&self, id: &PlaylistId) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        state
            .playlists
            .remove(id)
            .ok_or_else(messages::no_such_playlist)?;
        state.active.retain(|_, active| active != id);
        Ok(())
    }

    /// # Errors
    /// `NotFound` when `playlist` names no stored playlist.
    async fn set_active(
        &self,
        guild: GuildId,
        playlist: Option<PlaylistId>,
    ) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        match playlist {
            Some(id) if !state.playlists.contains_key(&id) => {
                return Err(messages::no_such_playlist());
            }
            Some(id) => state.active.insert(guild, id),
            None => state.active.remove(&guild),
        };
        Ok(())
    }

    async fn active(&self, guild: GuildId) -> Result<Option<Playlist>, StoreError> {
        let state = lock(&self.state);
        Ok(state
            .active
            .get(&guild)
            .and_then(|id| state.playlists.get(id))
            .cloned())
    }
}
