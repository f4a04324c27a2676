use async_trait::async_trait;
use minstrel_app::ports::{QueueSnapshot, QueueStore, StoreError};
use minstrel_domain::{ChannelId, GuildId, RepeatMode, Volume};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait, QueryOrder};

use super::SqlDatabase;
use super::convert::{
    duration_from_column, duration_to_column, id_from_column, id_to_column, instant_from_column,
    instant_to_column,
};
use super::entity::queue_snapshots;
use super::error::store_error;
use super::json::{filters_from_text, filters_to_text, tracks_from_text, tracks_to_text};

/// [`QueueStore`] on SQL: one `queue_snapshots` row per guild, replaced whole on every save.
/// The tracks (current first, then upcoming) and the filter chain are JSON.
#[derive(Debug, Clone)]
pub struct SqlQueueStore {
    connection: DatabaseConnection,
}

impl SqlQueueStore {
    pub fn new(database: &SqlDatabase) -> Self {
        Self {
            connection: database.connection().clone(),
        }
    }
}

fn channel_to_column(channel: Option<ChannelId>) -> Result<Option<i64>, StoreError> {
    channel
        .map(|channel| id_to_column(channel.get(), "channel id"))
        .transpose()
}

fn channel_from_column(channel: Option<i64>) -> Result<Option<ChannelId>, StoreError> {
    channel
        .map(|channel| id_from_column(channel, "channel id", ChannelId::new))
        .transpose()
}

fn row_from_snapshot(snapshot: &QueueSnapshot) -> Result<queue_snapshots::ActiveModel, StoreError> {
    let tracks = tracks_to_text(snapshot.current.iter().chain(&snapshot.upcoming))?;
    Ok(queue_snapshots::ActiveModel {
        guild_id: Set(id_to_column(snapshot.guild.get(), "guild id")?),
        voice_channel_id: Set(channel_to_column(snapshot.voice_channel)?),
        text_channel_id: Set(channel_to_column(snapshot.text_channel)?),
        tracks: Set(tracks),
        current_index: Set(snapshot.current.as_ref().map(|_| 0)),
        position_ms: Set(duration_to_column(snapshot.position)?),
        repeat_mode: Set(snapshot.repeat.as_str().to_owned()),
        filters: Set(filters_to_text(&snapshot.filters)?),
        volume: Set(i32::from(snapshot.volume.percent())),
        paused: Set(snapshot.paused),
        updated_at_ms: Set(instant_to_column(snapshot.updated_at)?),
        current_attempts: Set(i32::try_from(snapshot.current_attempts).unwrap_or(i32::MAX)),
    })
}

fn snapshot_from_row(row: &queue_snapshots::Model) -> Result<QueueSnapshot, StoreError> {
    let invalid =
        |what: &str| StoreError::Internal(format!("the stored queue's {what} is invalid"));
    let mut upcoming = tracks_from_text(&row.tracks)?;
    // Tracks before the current one are not kept: a snapshot resumes at its current track.
    let current = match row.current_index {
        None => None,
        Some(index) => {
            let index = usize::try_from(index)
                .ok()
                .filter(|index| *index < upcoming.len())
                .ok_or_else(|| invalid("current index"))?;
            let current = upcoming.remove(index);
            upcoming.drain(..index);
            Some(current)
        }
    };
    Ok(QueueSnapshot {
        guild: id_from_column(row.guild_id, "guild id", GuildId::new)?,
        voice_channel: channel_from_column(row.voice_channel_id)?,
        text_channel: channel_from_column(row.text_channel_id)?,
        current,
        upcoming,
        position: duration_from_column(row.position_ms, "position")?,
        repeat: RepeatMode::parse(&row.repeat_mode).ok_or_else(|| invalid("repeat mode"))?,
        filters: filters_from_text(&row.filters)?,
        volume: Volume::new(i64::from(row.volume)).map_err(|_| invalid("volume"))?,
        paused: row.paused,
        updated_at: instant_from_column(row.updated_at_ms)?,
        current_attempts: u32::try_from(row.current_attempts)
            .map_err(|_| invalid("current track's attempts"))?,
    })
}

#[async_trait]
impl QueueStore for SqlQueueStore {
    async fn save(&self, snapshot: &QueueSnapshot) -> Result<(), StoreError> {
        queue_snapshots::Entity::insert(row_from_snapshot(snapshot)?)
            .on_conflict(
                OnConflict::column(queue_snapshots::Column::GuildId)
                    .update_columns([
                        queue_snapshots::Column::VoiceChannelId,
                        queue_snapshots::Column::TextChannelId,
                        queue_snapshots::Column::Tracks,
                        queue_snapshots::Column::CurrentIndex,
                        queue_snapshots::Column::PositionMs,
                        queue_snapshots::Column::RepeatMode,
                        queue_snapshots::Column::Filters,
                        queue_snapshots::Column::Volume,
                        queue_snapshots::Column::Paused,
                        queue_snapshots::Column::UpdatedAtMs,
                        queue_snapshots::Column::CurrentAttempts,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&self.connection)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn load(&self, guild: GuildId) -> Result<Option<QueueSnapshot>, StoreError> {
        queue_snapshots::Entity::find_by_id(id_to_column(guild.get(), "guild id")?)
            .one(&self.connection)
            .await
            .map_err(store_error)?
            .map(|row| snapshot_from_row(&row))
            .transpose()
    }

    /// Ordered by guild id, so guilds are restored in a stable order.
    async fn load_all(&self) -> Result<Vec<QueueSnapshot>, StoreError> {
        queue_snapshots::Entity::find()
            .order_by_asc(queue_snapshots::Column::GuildId)
            .all(&self.connection)
            .await
            .map_err(store_error)?
            .into_iter()
            .map(|row| snapshot_from_row(&row))
            .collect()
    }

    /// Deleting a guild without a snapshot is not an error: the goal, no snapshot, is reached.
    async fn delete(&self, guild: GuildId) -> Result<(), StoreError> {
        queue_snapshots::Entity::delete_by_id(id_to_column(guild.get(), "guild id")?)
            .exec(&self.connection)
            .await
            .map_err(store_error)?;
        Ok(())
    }
}
