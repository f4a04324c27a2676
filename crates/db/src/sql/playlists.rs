use std::collections::HashMap;

use async_trait::async_trait;
use minstrel_app::ports::{PlaylistRepo, StoreError};
use minstrel_domain::{
    GuildId, Playlist, PlaylistEntry, PlaylistId, PlaylistName, PlaylistOwner, UserId,
};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::convert::{
    duration_from_column, duration_to_column, id_from_column, id_to_column, now_column, page_bound,
};
use super::entity::{active_playlists, playlist_tracks, playlists};
use super::error::{is_foreign_key_violation, is_unique_violation, store_error};
use super::json::source_kind;
use super::{SqlDatabase, begin_write};
use crate::messages;

/// [`PlaylistRepo`] on SQL. A playlist is a `playlists` row (unique per owner by its lowercased
/// `name_key`) with its entries in `playlist_tracks`, ordered by a gap-tolerant `position`; a
/// guild's active playlist is a row in `active_playlists`. Deleting a playlist cascades to both.
#[derive(Debug, Clone)]
pub struct SqlPlaylistRepo {
    connection: DatabaseConnection,
}

impl SqlPlaylistRepo {
    pub fn new(database: &SqlDatabase) -> Self {
        Self {
            connection: database.connection().clone(),
        }
    }
}

const USER_OWNER: &str = "user";
const GUILD_OWNER: &str = "guild";

fn owner_to_columns(owner: PlaylistOwner) -> Result<(&'static str, i64), StoreError> {
    Ok(match owner {
        PlaylistOwner::User(user) => (USER_OWNER, id_to_column(user.get(), "user id")?),
        PlaylistOwner::Guild(guild) => (GUILD_OWNER, id_to_column(guild.get(), "guild id")?),
    })
}

fn owner_from_columns(kind: &str, id: i64) -> Result<PlaylistOwner, StoreError> {
    match kind {
        USER_OWNER => Ok(PlaylistOwner::User(id_from_column(
            id,
            "user id",
            UserId::new,
        )?)),
        GUILD_OWNER => Ok(PlaylistOwner::Guild(id_from_column(
            id,
            "guild id",
            GuildId::new,
        )?)),
        other => Err(StoreError::Internal(format!(
            "the stored playlist owner kind \"{other}\" is unknown"
        ))),
    }
}

/// A playlist id as a column value. An id past `i64::MAX` cannot name a stored playlist, so it
/// is simply not found.
fn playlist_key(id: &PlaylistId) -> Result<i64, StoreError> {
    i64::try_from(id.0).map_err(|_| messages::no_such_playlist())
}

fn playlist_id(raw: i64) -> Result<PlaylistId, StoreError> {
    u64::try_from(raw)
        .map(PlaylistId)
        .map_err(|_| StoreError::Internal(format!("the stored playlist id {raw} is negative")))
}

fn entry_from_row(row: playlist_tracks::Model) -> Result<PlaylistEntry, StoreError> {
    Ok(PlaylistEntry {
        title: row.title,
        locator: row.locator,
        source_kind: source_kind(&row.source_kind)?,
        duration: row
            .duration_ms
            .map(|millis| duration_from_column(millis, "track duration"))
            .transpose()?,
    })
}

fn playlist_from_row(
    row: &playlists::Model,
    entries: Vec<PlaylistEntry>,
) -> Result<Playlist, StoreError> {
    let name = PlaylistName::new(&row.name).map_err(|error| {
        StoreError::Internal(format!(
            "the stored playlist name \"{}\" is invalid: {error}",
            row.name
        ))
    })?;
    Ok(Playlist {
        id: playlist_id(row.id)?,
        owner: owner_from_columns(&row.owner_kind, row.owner_id)?,
        name,
        entries,
    })
}

/// The entries of each playlist in `ids`, in order, with one query.
async fn entries_of(
    connection: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, Vec<PlaylistEntry>>, StoreError> {
    let mut entries: HashMap<i64, Vec<PlaylistEntry>> =
        ids.iter().map(|id| (*id, Vec::new())).collect();
    if ids.is_empty() {
        return Ok(entries);
    }
    let rows = playlist_tracks::Entity::find()
        .filter(playlist_tracks::Column::PlaylistId.is_in(ids.iter().copied()))
        .order_by_asc(playlist_tracks::Column::PlaylistId)
        .order_by_asc(playlist_tracks::Column::Position)
        .all(connection)
        .await
        .map_err(store_error)?;
    for row in rows {
        let playlist = row.playlist_id;
        entries
            .entry(playlist)
            .or_default()
            .push(entry_from_row(row)?);
    }
    Ok(entries)
}

async fn with_entries(
    connection: &impl ConnectionTrait,
    row: playlists::Model,
) -> Result<Playlist, StoreError> {
    let mut entries = entries_of(connection, &[row.id]).await?;
    let own = entries.remove(&row.id).unwrap_or_default();
    playlist_from_row(&row, own)
}

async fn find_row(
    connection: &impl ConnectionTrait,
    owner: PlaylistOwner,
    name: &PlaylistName,
) -> Result<Option<playlists::Model>, StoreError> {
    let (kind, owner_id) = owner_to_columns(owner)?;
    playlists::Entity::find()
        .filter(playlists::Column::OwnerKind.eq(kind))
        .filter(playlists::Column::OwnerId.eq(owner_id))
        .filter(playlists::Column::NameKey.eq(name.key()))
        .one(connection)
        .await
        .map_err(store_error)
}

/// Marks the playlist as changed and returns its row, or `NotFound`. Updating first takes the
/// row's write lock (Postgres) or the database's (`SQLite`), so concurrent changes to one
/// playlist queue up instead of interleaving their reads and writes.
async fn lock_playlist(
    connection: &impl ConnectionTrait,
    id: i64,
) -> Result<playlists::Model, StoreError> {
    let touched = playlists::Entity::update_many()
        .col_expr(playlists::Column::UpdatedAtMs, Expr::value(now_column()))
        .filter(playlists::Column::Id.eq(id))
        .exec(connection)
        .await
        .map_err(store_error)?;
    if touched.rows_affected == 0 {
        return Err(messages::no_such_playlist());
    }
    playlists::Entity::find_by_id(id)
        .one(connection)
        .await
        .map_err(store_error)?
        .ok_or_else(messages::no_such_playlist)
}

#[async_trait]
impl PlaylistRepo for SqlPlaylistRepo {
    async fn create(
        &self,
        owner: PlaylistOwner,
        name: &PlaylistName,
    ) -> Result<Playlist, StoreError> {
        let (kind, owner_id) = owner_to_columns(owner)?;
        let now = now_column();
        let row = playlists::ActiveModel {
            owner_kind: Set(kind.to_owned()),
            owner_id: Set(owner_id),
            name: Set(name.as_str().to_owned()),
            name_key: Set(name.key()),
            created_at_ms: Set(now),
            updated_at_ms: Set(now),
            ..Default::default()
        };
        // The unique index decides, so two concurrent creates cannot both win.
        let inserted = match playlists::Entity::insert(row).exec(&self.connection).await {
            Ok(inserted) => inserted,
            Err(error) if is_unique_violation(&error) => {
                let existing = find_row(&self.connection, owner, name).await?;
                let shown = existing
                    .and_then(|row| PlaylistName::new(&row.name).ok())
                    .unwrap_or_else(|| name.clone());
                return Err(messages::duplicate_playlist(owner, &shown));
            }
            Err(error) => return Err(store_error(error)),
        };
        Ok(Playlist {
            id: playlist_id(inserted.last_insert_id)?,
            owner,
            name: name.clone(),
            entries: Vec::new(),
        })
    }

    async fn find(
        &self,
        owner: PlaylistOwner,
        name: &PlaylistName,
    ) -> Result<Option<Playlist>, StoreError> {
        match find_row(&self.connection, owner, name).await? {
            Some(row) => with_entries(&self.connection, row).await.map(Some),
            None => Ok(None),
        }
    }

    /// Sorted by the lowercased name key in byte order, as the in-memory adapter does.
    async fn list(
        &self,
        owner: PlaylistOwner,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<Playlist>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let (kind, owner_id) = owner_to_columns(owner)?;
        let rows = playlists::Entity::find()
            .filter(playlists::Column::OwnerKind.eq(kind))
            .filter(playlists::Column::OwnerId.eq(owner_id))
            .order_by_asc(playlists::Column::NameKey)
            .offset(page_bound(offset))
            .limit(page_bound(limit))
            .all(&self.connection)
            .await
            .map_err(store_error)?;
        let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
        let mut entries = entries_of(&self.connection, &ids).await?;
        rows.into_iter()
            .map(|row| {
                let own = entries.remove(&row.id).unwrap_or_default();
                playlist_from_row(&row, own)
            })
            .collect()
    }

    /// All or nothing: a batch that would overflow [`Playlist::MAX_ENTRIES`] adds no entry.
    async fn append(&self, id: &PlaylistId, entries: &[PlaylistEntry]) -> Result<(), StoreError> {
        let id = playlist_key(id)?;
        let transaction = begin_write(&self.connection).await?;
        let playlist = lock_playlist(&transaction, id).await?;
        let (count, last_position): (i64, Option<i64>) = playlist_tracks::Entity::find()
            .select_only()
            .column_as(playlist_tracks::Column::Id.count(), "count")
            .column_as(playlist_tracks::Column::Position.max(), "last_position")
            .filter(playlist_tracks::Column::PlaylistId.eq(id))
            .into_tuple()
            .one(&transaction)
            .await
            .map_err(store_error)?
            .unwrap_or((0, None));
        let current = usize::try_from(count).unwrap_or(usize::MAX);
        if current.saturating_add(entries.len()) > Playlist::MAX_ENTRIES {
            let name = PlaylistName::new(&playlist.name)
                .map_err(|error| StoreError::Internal(error.to_string()))?;
            return Err(messages::playlist_full(&name, current));
        }
        let first = last_position.map_or(0, |last| last + 1);
        let rows = entries
            .iter()
            .zip(first..)
            .map(|(entry, position)| {
                Ok(playlist_tracks::ActiveModel {
                    playlist_id: Set(id),
                    position: Set(position),
                    title: Set(entry.title.clone()),
                    locator: Set(entry.locator.clone()),
                    source_kind: Set(entry.source_kind.as_str().to_owned()),
                    duration_ms: Set(entry.duration.map(duration_to_column).transpose()?),
                    ..Default::default()
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        // At most MAX_ENTRIES rows of 6 values: well within both backends' parameter limits.
        playlist_tracks::Entity::insert_many(rows)
            .exec_without_returning(&transaction)
            .await
            .map_err(store_error)?;
        transaction.commit().await.map_err(store_error)
    }

    async fn remove_entry(
        &self,
        id: &PlaylistId,
        index: usize,
    ) -> Result<PlaylistEntry, StoreError> {
        let id = playlist_key(id)?;
        let transaction = begin_write(&self.connection).await?;
        lock_playlist(&transaction, id).await?;
        let row = playlist_tracks::Entity::find()
            .filter(playlist_tracks::Column::PlaylistId.eq(id))
            .order_by_asc(playlist_tracks::Column::Position)
            .offset(page_bound(index))
            .limit(1)
            .one(&transaction)
            .await
            .map_err(store_error)?
            .ok_or_else(|| messages::no_such_entry(index))?;
        playlist_tracks::Entity::delete_by_id(row.id)
            .exec(&transaction)
            .await
            .map_err(store_error)?;
        transaction.commit().await.map_err(store_error)?;
        entry_from_row(row)
    }

    /// Its entries and every guild's active pointer to it go with it (foreign-key cascade).
    async fn delete(&self, id: &PlaylistId) -> Result<(), StoreError> {
        let deleted = playlists::Entity::delete_by_id(playlist_key(id)?)
            .exec(&self.connection)
            .await
            .map_err(store_error)?;
        if deleted.rows_affected == 0 {
            return Err(messages::no_such_playlist());
        }
        Ok(())
    }

    /// # Errors
    /// `NotFound` when `playlist` names no stored playlist.
    async fn set_active(
        &self,
        guild: GuildId,
        playlist: Option<PlaylistId>,
    ) -> Result<(), StoreError> {
        let guild = id_to_column(guild.get(), "guild id")?;
        let Some(playlist) = playlist else {
            active_playlists::Entity::delete_by_id(guild)
                .exec(&self.connection)
                .await
                .map_err(store_error)?;
            return Ok(());
        };
        let row = active_playlists::ActiveModel {
            guild_id: Set(guild),
            playlist_id: Set(playlist_key(&playlist)?),
            set_at_ms: Set(now_column()),
        };
        // The foreign key is the existence check, so a playlist deleted at the same moment
        // cannot become active.
        active_playlists::Entity::insert(row)
            .on_conflict(
                OnConflict::column(active_playlists::Column::GuildId)
                    .update_columns([
                        active_playlists::Column::PlaylistId,
                        active_playlists::Column::SetAtMs,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&self.connection)
            .await
            .map_err(|error| {
                if is_foreign_key_violation(&error) {
                    messages::no_such_playlist()
                } else {
                    store_error(error)
                }
            })?;
        Ok(())
    }

    async fn active(&self, guild: GuildId) -> Result<Option<Playlist>, StoreError> {
        let guild = id_to_column(guild.get(), "guild id")?;
        let Some(active) = active_playlists::Entity::find_by_id(guild)
            .one(&self.connection)
            .await
            .map_err(store_error)?
        else {
            return Ok(None);
        };
        match playlists::Entity::find_by_id(active.playlist_id)
            .one(&self.connection)
            .await
            .map_err(store_error)?
        {
            Some(row) => with_entries(&self.connection, row).await.map(Some),
            None => Ok(None),
        }
    }
}
