use async_trait::async_trait;
use minstrel_app::ports::{AuditEntry, AuditLog, StoreError};
use minstrel_domain::{GuildId, RequesterId, TelegramUserId, UserId};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::SqlDatabase;
use super::convert::{
    id_from_column, id_to_column, instant_from_column, instant_to_column, page_bound,
};
use super::entity::audit_log;
use super::error::store_error;

/// [`AuditLog`] on SQL: an append-only `audit_log` table, read newest (last recorded) first.
#[derive(Debug, Clone)]
pub struct SqlAuditLog {
    connection: DatabaseConnection,
}

impl SqlAuditLog {
    pub fn new(database: &SqlDatabase) -> Self {
        Self {
            connection: database.connection().clone(),
        }
    }
}

const DISCORD: &str = "discord";
const TELEGRAM: &str = "telegram";
const CONSOLE: &str = "console";
/// No actor: the bot itself.
const SYSTEM: &str = "system";

fn entry_from_row(row: audit_log::Model) -> Result<AuditEntry, StoreError> {
    let actor_id = |kind: &str| {
        row.actor_id
            .ok_or_else(|| StoreError::Internal(format!("the stored {kind} audit actor has no id")))
    };
    let actor = match row.actor_kind.as_str() {
        DISCORD => Some(RequesterId::Discord(id_from_column(
            actor_id(DISCORD)?,
            "user id",
            UserId::new,
        )?)),
        TELEGRAM => {
            let raw = actor_id(TELEGRAM)?;
            Some(RequesterId::Telegram(TelegramUserId::new(raw).map_err(
                |_| StoreError::Internal(format!("the stored Telegram user id {raw} is invalid")),
            )?))
        }
        CONSOLE => Some(RequesterId::Console),
        SYSTEM => None,
        other => {
            return Err(StoreError::Internal(format!(
                "the stored audit actor kind \"{other}\" is unknown"
            )));
        }
    };
    Ok(AuditEntry {
        guild: row
            .guild_id
            .map(|guild| id_from_column(guild, "guild id", GuildId::new))
            .transpose()?,
        actor,
        action: row.action,
        detail: row.detail,
        at: instant_from_column(row.at_ms)?,
    })
}

#[async_trait]
impl AuditLog for SqlAuditLog {
    async fn record(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let (actor_kind, actor_id) = match &entry.actor {
            Some(RequesterId::Discord(user)) => {
                (DISCORD, Some(id_to_column(user.get(), "user id")?))
            }
            Some(RequesterId::Telegram(user)) => (TELEGRAM, Some(user.get())),
            Some(RequesterId::Console) => (CONSOLE, None),
            None => (SYSTEM, None),
        };
        let row = audit_log::ActiveModel {
            guild_id: Set(entry
                .guild
                .map(|guild| id_to_column(guild.get(), "guild id"))
                .transpose()?),
            actor_kind: Set(actor_kind.to_owned()),
            actor_id: Set(actor_id),
            action: Set(entry.action.clone()),
            detail: Set(entry.detail.clone()),
            at_ms: Set(instant_to_column(entry.at)?),
            ..Default::default()
        };
        audit_log::Entity::insert(row)
            .exec_without_returning(&self.connection)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn for_guild(&self, guild: GuildId, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        audit_log::Entity::find()
            .filter(audit_log::Column::GuildId.eq(id_to_column(guild.get(), "guild id")?))
            .order_by_desc(audit_log::Column::Id)
            .limit(page_bound(limit))
            .all(&self.connection)
            .await
            .map_err(store_error)?
            .into_iter()
            .map(entry_from_row)
            .collect()
    }
}
