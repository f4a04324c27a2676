use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use minstrel_app::ports::{Cache, PlaylistRepo, StoreError};
use minstrel_app::{Outbox, Written, outbox_write};
use minstrel_domain::{
    GuildId, Playlist, PlaylistEntry, PlaylistId, PlaylistName, PlaylistOwner, SourceKind, UserId,
};
use serde::{Deserialize, Serialize};

use crate::keys;
use crate::read_through::{self, Lookup};

/// A [`PlaylistRepo`] decorator caching each guild's active playlist, which `play` with no
/// argument reads.
///
/// Two entries make one answer: `playlist:{guild}` says which playlist is active (or that none
/// is), `playlist_contents:{id}` holds that playlist. Writes go to the inner repository first;
/// only when it took them is a key deleted: `set_active` deletes the guild's pointer, `append`,
/// `remove_entry` and `delete` the playlist's contents (they know the playlist, not the guilds
/// that play it). A pointer to a deleted playlist then finds no contents and asks the
/// repository again, which knows the playlist is gone.
///
/// `create`, `find` and `list` go straight to the inner repository. A cache that fails never
/// fails a call: the inner repository answers.
///
/// With an [`Outbox`] ([`CachedPlaylistRepo::with_outbox`]), `append`, `delete` and
/// `set_active` wait there while the database is away (and the cached copy shows the held
/// change where it can); `create` and `remove_entry`, whose answer only the database knows,
/// are refused with "try again shortly" while writes are held, so they never overtake them.
#[derive(Clone)]
pub struct CachedPlaylistRepo {
    inner: Arc<dyn PlaylistRepo>,
    cache: Arc<dyn Cache>,
    outbox: Option<Outbox>,
}

impl CachedPlaylistRepo {
    pub fn new(inner: Arc<dyn PlaylistRepo>, cache: Arc<dyn Cache>) -> Self {
        Self {
            inner,
            cache,
            outbox: None,
        }
    }

    /// Sends the writes through `outbox`.
    #[must_use]
    pub fn with_outbox(mut self, outbox: Outbox) -> Self {
        self.outbox = Some(outbox);
        self
    }

    /// Refuses a write that cannot wait while others wait in the outbox.
    fn ensure_nothing_held(&self) -> Result<(), StoreError> {
        self.outbox
            .as_ref()
            .map_or(Ok(()), Outbox::ensure_nothing_held)
    }

    /// Runs `write` (the inner repository's write, then deleting `key`) now or through the
    /// outbox. Returns whether the outbox holds it.
    async fn write_then_invalidate<F, Fut>(
        &self,
        what: &'static str,
        coalesce: bool,
        key: String,
        write: F,
    ) -> Result<Written, StoreError>
    where
        F: Fn(Arc<dyn PlaylistRepo>) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<(), StoreError>> + Send + 'static,
    {
        let Some(outbox) = &self.outbox else {
            write(Arc::clone(&self.inner)).await?;
            read_through::invalidate(self.cache.as_ref(), &key).await;
            return Ok(Written::Now);
        };
        let (inner, cache) = (Arc::clone(&self.inner), Arc::clone(&self.cache));
        let write_key = key.clone();
        let write = Arc::new(write);
        let held = outbox_write(move || {
            let (inner, cache, write) =
                (Arc::clone(&inner), Arc::clone(&cache), Arc::clone(&write));
            let key = write_key.clone();
            async move {
                write(inner).await?;
                read_through::invalidate(cache.as_ref(), &key).await;
                Ok(())
            }
        });
        outbox.submit(what, coalesce.then_some(key), held).await
    }

    /// The cached active playlist; a miss when any part of it is missing or unreadable.
    async fn cached_active(&self, guild: GuildId) -> Lookup<Option<Playlist>> {
        let pointer: Option<StoredActive> =
            read_through::read(self.cache.as_ref(), &keys::playlist(guild)).await;
        let Some(pointer) = pointer else {
            return Lookup::Miss;
        };
        let Some(id) = pointer.playlist else {
            return Lookup::Hit(None);
        };
        let id = PlaylistId(id);
        let key = keys::playlist_contents(&id);
        let stored: Option<StoredPlaylist> = read_through::read(self.cache.as_ref(), &key).await;
        match stored.and_then(StoredPlaylist::into_playlist) {
            Some(playlist) if playlist.id == id => Lookup::Hit(Some(playlist)),
            Some(_) => {
                tracing::debug!(key, "a cached entry does not fit; asking the repository");
                Lookup::Miss
            }
            None => Lookup::Miss,
        }
    }

    async fn fill_active(&self, guild: GuildId, active: Option<&Playlist>) {
        // Contents before the pointer: a reader that sees the new pointer finds its contents.
        if let Some(playlist) = active {
            read_through::fill(
                self.cache.as_ref(),
                &keys::playlist_contents(&playlist.id),
                &StoredPlaylist::from_playlist(playlist),
                keys::PLAYLIST_TTL,
            )
            .await;
        }
        let pointer = StoredActive {
            playlist: active.map(|playlist| playlist.id.0),
        };
        read_through::fill(
            self.cache.as_ref(),
            &keys::playlist(guild),
            &pointer,
            keys::PLAYLIST_TTL,
        )
        .await;
    }
}

impl std::fmt::Debug for CachedPlaylistRepo {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("CachedPlaylistRepo")
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl PlaylistRepo for CachedPlaylistRepo {
    /// A new playlist is no guild's active one yet, so nothing cached changes.
    async fn create(
        &self,
        owner: PlaylistOwner,
        name: &PlaylistName,
    ) -> Result<Playlist, StoreError> {
        self.ensure_nothing_held()?;
        self.inner.create(owner, name).await
    }

    async fn find(
        &self,
        owner: PlaylistOwner,
        name: &PlaylistName,
    ) -> Result<Option<Playlist>, StoreError> {
        self.inner.find(owner, name).await
    }

    async fn list(
        &self,
        owner: PlaylistOwner,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<Playlist>, StoreError> {
        self.inner.list(owner, offset, limit).await
    }

    async fn append(&self, id: &PlaylistId, entries: &[PlaylistEntry]) -> Result<(), StoreError> {
        let key = keys::playlist_contents(id);
        let (playlist, added) = (id.clone(), Arc::new(entries.to_vec()));
        let written = self
            .write_then_invalidate("playlist append", false, key.clone(), {
                let added = Arc::clone(&added);
                move |inner| {
                    let (playlist, added) = (playlist.clone(), Arc::clone(&added));
                    async move { inner.append(&playlist, &added).await }
                }
            })
            .await?;
        if written == Written::Held {
            // The held entries join the cached copy, if there is one, so the guild plays them.
            let stored: Option<StoredPlaylist> =
                read_through::read(self.cache.as_ref(), &key).await;
            if let Some(mut playlist) = stored.and_then(StoredPlaylist::into_playlist) {
                playlist.entries.extend(added.iter().cloned());
                let stored = StoredPlaylist::from_playlist(&playlist);
                read_through::fill(self.cache.as_ref(), &key, &stored, keys::PLAYLIST_TTL).await;
            }
        }
        Ok(())
    }

    async fn remove_entry(
        &self,
        id: &PlaylistId,
        index: usize,
    ) -> Result<PlaylistEntry, StoreError> {
        self.ensure_nothing_held()?;
        let removed = self.inner.remove_entry(id, index).await?;
        read_through::invalidate(self.cache.as_ref(), &keys::playlist_contents(id)).await;
        Ok(removed)
    }

    async fn delete(&self, id: &PlaylistId) -> Result<(), StoreError> {
        let playlist = id.clone();
        let written = self
            .write_then_invalidate(
                "playlist delete",
                false,
                keys::playlist_contents(id),
                move |inner| {
                    let playlist = playlist.clone();
                    async move { inner.delete(&playlist).await }
                },
            )
            .await?;
        if written == Written::Held {
            // A pointer to it then finds no contents and asks the repository.
            read_through::invalidate(self.cache.as_ref(), &keys::playlist_contents(id)).await;
        }
        Ok(())
    }

    async fn set_active(
        &self,
        guild: GuildId,
        playlist: Option<PlaylistId>,
    ) -> Result<(), StoreError> {
        let chosen = playlist.clone();
        let written = self
            .write_then_invalidate(
                "active playlist",
                true,
                keys::playlist(guild),
                move |inner| {
                    let chosen = chosen.clone();
                    async move { inner.set_active(guild, chosen).await }
                },
            )
            .await?;
        if written == Written::Held {
            let pointer = StoredActive {
                playlist: playlist.map(|id| id.0),
            };
            read_through::fill(
                self.cache.as_ref(),
                &keys::playlist(guild),
                &pointer,
                keys::PLAYLIST_TTL,
            )
            .await;
        }
        Ok(())
    }

    async fn active(&self, guild: GuildId) -> Result<Option<Playlist>, StoreError> {
        if let Lookup::Hit(active) = self.cached_active(guild).await {
            return Ok(active);
        }
        let active = self.inner.active(guild).await?;
        self.fill_active(guild, active.as_ref()).await;
        Ok(active)
    }
}

// The cached shapes. The domain types stay free of serde; these carry plain values and go back
// through the domain's own constructors, so a damaged entry is a miss, never an invalid value.

#[derive(Debug, Serialize, Deserialize)]
struct StoredActive {
    playlist: Option<u64>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
enum StoredOwner {
    User(u64),
    Guild(u64),
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredPlaylist {
    id: u64,
    owner: StoredOwner,
    name: String,
    entries: Vec<StoredEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredEntry {
    title: String,
    locator: String,
    source_kind: String,
    duration_ms: Option<u64>,
}

impl StoredPlaylist {
    fn from_playlist(playlist: &Playlist) -> Self {
        Self {
            id: playlist.id.0,
            owner: match playlist.owner {
                PlaylistOwner::User(user) => StoredOwner::User(user.get()),
                PlaylistOwner::Guild(guild) => StoredOwner::Guild(guild.get()),
            },
            name: playlist.name.as_str().to_owned(),
            entries: playlist
                .entries
                .iter()
                .map(|entry| StoredEntry {
                    title: entry.title.clone(),
                    locator: entry.locator.clone(),
                    source_kind: entry.source_kind.as_str().to_owned(),
                    duration_ms: entry
                        .duration
                        .map(|duration| u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)),
                })
                .collect(),
        }
    }

    fn into_playlist(self) -> Option<Playlist> {
        let owner = match self.owner {
            StoredOwner::User(user) => PlaylistOwner::User(UserId::new(user).ok()?),
            StoredOwner::Guild(guild) => PlaylistOwner::Guild(GuildId::new(guild).ok()?),
        };
        let entries = self
            .entries
            .into_iter()
            .map(|entry| {
                Some(PlaylistEntry {
                    title: entry.title,
                    locator: entry.locator,
                    source_kind: SourceKind::parse(&entry.source_kind)?,
                    duration: entry.duration_ms.map(Duration::from_millis),
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Playlist {
            id: PlaylistId(self.id),
            owner,
            name: PlaylistName::new(&self.name).ok()?,
            entries,
        })
    }
}
