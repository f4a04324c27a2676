use async_trait::async_trait;
use minstrel_app::ports::{SettingsRepo, StoreError};
use minstrel_domain::{ChannelId, GuildId, GuildSettings, RoleId, UserId, UserSettings, Volume};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait};

use super::convert::{
    duration_from_column, duration_to_column, id_from_column, id_to_column, now_column,
    small_to_column,
};
use super::entity::{guild_settings, user_settings, users};
use super::error::store_error;
use super::json::{presets_from_text, presets_to_text};
use super::{SqlDatabase, begin_write};

/// [`SettingsRepo`] on SQL: one row per user in `user_settings` (with its `users` row) and one
/// per guild in `guild_settings`.
#[derive(Debug, Clone)]
pub struct SqlSettingsRepo {
    connection: DatabaseConnection,
}

impl SqlSettingsRepo {
    pub fn new(database: &SqlDatabase) -> Self {
        Self {
            connection: database.connection().clone(),
        }
    }
}

/// Makes sure `users` has a row for each id (a user's settings and history reference it).
pub(super) async fn ensure_users(
    connection: &impl sea_orm::ConnectionTrait,
    ids: impl IntoIterator<Item = i64>,
) -> Result<(), StoreError> {
    let now = now_column();
    let rows: Vec<users::ActiveModel> = ids
        .into_iter()
        .map(|id| users::ActiveModel {
            id: Set(id),
            first_seen_at_ms: Set(now),
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    users::Entity::insert_many(rows)
        .on_conflict_do_nothing()
        .exec_without_returning(connection)
        .await
        .map_err(store_error)?;
    Ok(())
}

fn volume_from_column(value: i32, what: &str) -> Result<Volume, StoreError> {
    Volume::new(i64::from(value))
        .map_err(|error| StoreError::Internal(format!("the stored {what} is invalid: {error}")))
}

fn user_from_row(row: &user_settings::Model) -> Result<UserSettings, StoreError> {
    Ok(UserSettings {
        user_id: id_from_column(row.user_id, "user id", UserId::new)?,
        default_volume: volume_from_column(row.default_volume, "default volume")?,
        preferred_filters: presets_from_text(&row.preferred_filters)?,
        autoplay: row.autoplay,
    })
}

fn guild_from_row(row: guild_settings::Model) -> Result<GuildSettings, StoreError> {
    let invalid = |error: minstrel_domain::SettingsError| {
        StoreError::Internal(format!("the stored guild settings are invalid: {error}"))
    };
    let mut settings = GuildSettings::new(id_from_column(row.guild_id, "guild id", GuildId::new)?);
    let max_queue = usize::try_from(row.max_queue_size).map_err(|_| {
        StoreError::Internal(format!(
            "the stored maximum queue size {} is negative",
            row.max_queue_size
        ))
    })?;
    settings.set_max_queue(max_queue).map_err(invalid)?;
    settings.default_volume = volume_from_column(row.default_volume, "default volume")?;
    settings.allowed_filters = row
        .allowed_filters
        .as_deref()
        .map(presets_from_text)
        .transpose()?;
    settings.dj_role = row
        .dj_role_id
        .map(|role| id_from_column(role, "DJ role id", RoleId::new))
        .transpose()?;
    settings.stay_24_7 = row.stay_24_7;
    settings
        .set_idle_timeout(duration_from_column(row.idle_timeout_ms, "idle timeout")?)
        .map_err(invalid)?;
    settings
        .set_vote_skip_ratio(row.vote_skip_ratio)
        .map_err(invalid)?;
    settings.normalisation = row.normalisation;
    settings.locale = row.locale;
    settings.default_voice_channel = row
        .default_voice_channel_id
        .map(|channel| id_from_column(channel, "default voice channel id", ChannelId::new))
        .transpose()?;
    Ok(settings)
}

#[async_trait]
impl SettingsRepo for SqlSettingsRepo {
    async fn user(&self, user: UserId) -> Result<Option<UserSettings>, StoreError> {
        user_settings::Entity::find_by_id(id_to_column(user.get(), "user id")?)
            .one(&self.connection)
            .await
            .map_err(store_error)?
            .map(|row| user_from_row(&row))
            .transpose()
    }

    async fn save_user(&self, settings: &UserSettings) -> Result<(), StoreError> {
        let user_id = id_to_column(settings.user_id.get(), "user id")?;
        let row = user_settings::ActiveModel {
            user_id: Set(user_id),
            default_volume: Set(i32::from(settings.default_volume.percent())),
            preferred_filters: Set(presets_to_text(&settings.preferred_filters)?),
            autoplay: Set(settings.autoplay),
            updated_at_ms: Set(now_column()),
        };
        let transaction = begin_write(&self.connection).await?;
        ensure_users(&transaction, [user_id]).await?;
        user_settings::Entity::insert(row)
            .on_conflict(
                OnConflict::column(user_settings::Column::UserId)
                    .update_columns([
                        user_settings::Column::DefaultVolume,
                        user_settings::Column::PreferredFilters,
                        user_settings::Column::Autoplay,
                        user_settings::Column::UpdatedAtMs,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&transaction)
            .await
            .map_err(store_error)?;
        transaction.commit().await.map_err(store_error)
    }

    async fn guild(&self, guild: GuildId) -> Result<Option<GuildSettings>, StoreError> {
        guild_settings::Entity::find_by_id(id_to_column(guild.get(), "guild id")?)
            .one(&self.connection)
            .await
            .map_err(store_error)?
            .map(guild_from_row)
            .transpose()
    }

    async fn save_guild(&self, settings: &GuildSettings) -> Result<(), StoreError> {
        let row = guild_settings::ActiveModel {
            guild_id: Set(id_to_column(settings.guild_id.get(), "guild id")?),
            max_queue_size: Set(small_to_column(settings.max_queue(), "maximum queue size")?),
            default_volume: Set(i32::from(settings.default_volume.percent())),
            allowed_filters: Set(settings
                .allowed_filters
                .as_deref()
                .map(presets_to_text)
                .transpose()?),
            dj_role_id: Set(settings
                .dj_role
                .map(|role| id_to_column(role.get(), "DJ role id"))
                .transpose()?),
            stay_24_7: Set(settings.stay_24_7),
            idle_timeout_ms: Set(duration_to_column(settings.idle_timeout())?),
            vote_skip_ratio: Set(settings.vote_skip_ratio()),
            normalisation: Set(settings.normalisation),
            locale: Set(settings.locale.clone()),
            default_voice_channel_id: Set(settings
                .default_voice_channel
                .map(|channel| id_to_column(channel.get(), "default voice channel id"))
                .transpose()?),
            updated_at_ms: Set(now_column()),
        };
        guild_settings::Entity::insert(row)
            .on_conflict(
                OnConflict::column(guild_settings::Column::GuildId)
                    .update_columns([
                        guild_settings::Column::MaxQueueSize,
                        guild_settings::Column::DefaultVolume,
                        guild_settings::Column::AllowedFilters,
                        guild_settings::Column::DjRoleId,
                        guild_settings::Column::Stay247,
                        guild_settings::Column::IdleTimeoutMs,
                        guild_settings::Column::VoteSkipRatio,
                        guild_settings::Column::Normalisation,
                        guild_settings::Column::Locale,
                        guild_settings::Column::DefaultVoiceChannelId,
                        guild_settings::Column::UpdatedAtMs,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&self.connection)
            .await
            .map_err(store_error)?;
        Ok(())
    }
}
