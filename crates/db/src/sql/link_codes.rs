use std::time::SystemTime;

use async_trait::async_trait;
use minstrel_app::ports::{LinkCode, LinkCodeRepo, LinkCodeTarget, StoreError};
use minstrel_domain::{GuildId, TelegramChatId, TelegramUserId, UserId};
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use super::convert::{id_from_column, id_to_column, instant_from_column, instant_to_column};
use super::entity::link_codes;
use super::error::{is_unique_violation, store_error};
use super::{SqlDatabase, begin_write};
use crate::messages;

/// [`LinkCodeRepo`] on SQL: one `link_codes` row per code; taking a code deletes its row, so
/// exactly one caller gets it even when several race.
#[derive(Debug, Clone)]
pub struct SqlLinkCodeRepo {
    connection: DatabaseConnection,
}

impl SqlLinkCodeRepo {
    pub fn new(database: &SqlDatabase) -> Self {
        Self {
            connection: database.connection().clone(),
        }
    }
}

const CHAT_TARGET: &str = "chat";
const GUILD_TARGET: &str = "guild";

fn row_from_code(code: &LinkCode) -> Result<link_codes::ActiveModel, StoreError> {
    let (kind, target, issued_by) = match code.target {
        LinkCodeTarget::Chat { chat, issued_by } => (CHAT_TARGET, chat.get(), issued_by.get()),
        LinkCodeTarget::Guild { guild, issued_by } => (
            GUILD_TARGET,
            id_to_column(guild.get(), "guild id")?,
            id_to_column(issued_by.get(), "user id")?,
        ),
    };
    Ok(link_codes::ActiveModel {
        code: Set(code.code.clone()),
        target_kind: Set(kind.to_owned()),
        target_id: Set(target),
        issued_by: Set(issued_by),
        created_at_ms: Set(instant_to_column(code.created_at)?),
        expires_at_ms: Set(instant_to_column(code.expires_at)?),
    })
}

fn code_from_row(row: link_codes::Model) -> Result<LinkCode, StoreError> {
    let invalid = |what: &str, value: i64| {
        StoreError::Internal(format!("the stored link code's {what} {value} is invalid"))
    };
    let target = match row.target_kind.as_str() {
        CHAT_TARGET => LinkCodeTarget::Chat {
            chat: TelegramChatId::new(row.target_id)
                .map_err(|_| invalid("chat id", row.target_id))?,
            issued_by: TelegramUserId::new(row.issued_by)
                .map_err(|_| invalid("issuer", row.issued_by))?,
        },
        GUILD_TARGET => LinkCodeTarget::Guild {
            guild: id_from_column(row.target_id, "guild id", GuildId::new)?,
            issued_by: id_from_column(row.issued_by, "user id", UserId::new)?,
        },
        other => {
            return Err(StoreError::Internal(format!(
                "the stored link code target \"{other}\" is unknown"
            )));
        }
    };
    Ok(LinkCode {
        code: row.code,
        target,
        created_at: instant_from_column(row.created_at_ms)?,
        expires_at: instant_from_column(row.expires_at_ms)?,
    })
}

#[async_trait]
impl LinkCodeRepo for SqlLinkCodeRepo {
    async fn insert(&self, code: &LinkCode) -> Result<(), StoreError> {
        link_codes::Entity::insert(row_from_code(code)?)
            .exec_without_returning(&self.connection)
            .await
            .map_err(|error| {
                if is_unique_violation(&error) {
                    messages::duplicate_link_code()
                } else {
                    store_error(error)
                }
            })?;
        Ok(())
    }

    async fn take(&self, code: &str) -> Result<Option<LinkCode>, StoreError> {
        let transaction = begin_write(&self.connection).await?;
        let Some(row) = link_codes::Entity::find_by_id(code.to_owned())
            .one(&transaction)
            .await
            .map_err(store_error)?
        else {
            return Ok(None);
        };
        // Whoever deletes the row owns the code; a racing taker deletes nothing.
        let deleted = link_codes::Entity::delete_by_id(code.to_owned())
            .exec(&transaction)
            .await
            .map_err(store_error)?;
        transaction.commit().await.map_err(store_error)?;
        if deleted.rows_affected == 0 {
            return Ok(None);
        }
        code_from_row(row).map(Some)
    }

    async fn purge_expired(&self, now: SystemTime) -> Result<usize, StoreError> {
        let deleted = link_codes::Entity::delete_many()
            .filter(link_codes::Column::ExpiresAtMs.lte(instant_to_column(now)?))
            .exec(&self.connection)
            .await
            .map_err(store_error)?;
        Ok(usize::try_from(deleted.rows_affected).unwrap_or(usize::MAX))
    }
}
