//! `PlaylistService`: saved playlists of a user or a guild, and the guild's active playlist.

use std::sync::Arc;

use minstrel_domain::{GuildId, Playlist, PlaylistEntry, PlaylistName, PlaylistOwner};

use crate::error::MusicError;
use crate::music::MusicService;
use crate::ports::{PlaylistRepo, ResolveError, StoreError, TrackResolver};

pub struct PlaylistService {
    playlists: Arc<dyn PlaylistRepo>,
    resolver: Arc<dyn TrackResolver>,
    music: Arc<MusicService>,
}

impl PlaylistService {
    pub fn new(
        playlists: Arc<dyn PlaylistRepo>,
        resolver: Arc<dyn TrackResolver>,
        music: Arc<MusicService>,
    ) -> Self {
        Self {
            playlists,
            resolver,
            music,
        }
    }

    pub async fn create(&self, owner: PlaylistOwner, name: &str) -> Result<Playlist, MusicError> {
        let name = PlaylistName::new(name)?;
        Ok(self.playlists.create(owner, &name).await?)
    }

    async fn find(&self, owner: PlaylistOwner, name: &str) -> Result<Playlist, MusicError> {
        let name = PlaylistName::new(name)?;
        self.playlists
            .find(owner, &name)
            .await?
            .ok_or_else(|| MusicError::NoSuchPlaylist(name.to_string()))
    }

    /// `playlist add`: saves the track playing in `guild`.
    pub async fn add_current(
        &self,
        owner: PlaylistOwner,
        name: &str,
        guild: GuildId,
    ) -> Result<PlaylistEntry, MusicError> {
        let playlist = self.find(owner, name).await?;
        let track = self.music.now_playing(guild).await?.track;
        let entry = PlaylistEntry {
            title: track.display_title(),
            locator: track.locator,
            source_kind: track.source_kind,
            duration: track.duration,
        };
        self.playlists
            .append(&playlist.id, std::slice::from_ref(&entry))
            .await?;
        Ok(entry)
    }

    /// `playlist addto`: resolves `query` and saves what it found.
    pub async fn add_query(
        &self,
        owner: PlaylistOwner,
        name: &str,
        query: &str,
    ) -> Result<Vec<PlaylistEntry>, MusicError> {
        if query.trim().is_empty() {
            return Err(MusicError::EmptyQuery);
        }
        let playlist = self.find(owner, name).await?;
        let entries: Vec<PlaylistEntry> = self
            .resolver
            .resolve(query.trim())
            .await?
            .into_iter()
            .map(|info| PlaylistEntry {
                title: minstrel_domain::single_line(&match &info.artist {
                    Some(artist) => format!("{artist} – {}", info.title),
                    None => info.title,
                })
                .into_owned(),
                locator: info.locator,
                source_kind: info.source_kind,
                duration: info.duration,
            })
            .collect();
        if entries.is_empty() {
            return Err(ResolveError::NotFound(query.trim().to_owned()).into());
        }
        self.playlists.append(&playlist.id, &entries).await?;
        Ok(entries)
    }

    /// Removes the entry at 1-based `position`.
    pub async fn remove(
        &self,
        owner: PlaylistOwner,
        name: &str,
        position: usize,
    ) -> Result<PlaylistEntry, MusicError> {
        let playlist = self.find(owner, name).await?;
        let index = position
            .checked_sub(1)
            .ok_or_else(|| StoreError::NotFound("entry 0".to_owned()))?;
        Ok(self.playlists.remove_entry(&playlist.id, index).await?)
    }

    /// Makes a playlist the guild's active one: `play` with no argument plays it.
    pub async fn use_playlist(
        &self,
        guild: GuildId,
        owner: PlaylistOwner,
        name: &str,
    ) -> Result<Playlist, MusicError> {
        let playlist = self.find(owner, name).await?;
        self.playlists
            .set_active(guild, Some(playlist.id.clone()))
            .await?;
        Ok(playlist)
    }

    pub async fn show(&self, owner: PlaylistOwner, name: &str) -> Result<Playlist, MusicError> {
        self.find(owner, name).await
    }

    /// One page (1-based, 10 per page) of the owner's playlists.
    pub async fn list(
        &self,
        owner: PlaylistOwner,
        page: usize,
    ) -> Result<Vec<Playlist>, MusicError> {
        const PER_PAGE: usize = 10;
        Ok(self
            .playlists
            .list(owner, page.saturating_sub(1) * PER_PAGE, PER_PAGE)
            .await?)
    }

    pub async fn delete(&self, owner: PlaylistOwner, name: &str) -> Result<Playlist, MusicError> {
        let playlist = self.find(owner, name).await?;
        self.playlists.delete(&playlist.id).await?;
        Ok(playlist)
    }
}

impl std::fmt::Debug for PlaylistService {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("PlaylistService")
            .finish_non_exhaustive()
    }
}
