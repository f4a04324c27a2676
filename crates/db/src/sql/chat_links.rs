use async_trait::async_trait;
use minstrel_app::ports::{ChatLink, ChatLinkRepo, StoreError};
use minstrel_domain::{GuildId, TelegramChatId, UserId};
use sea_orm::sea_query::Condition;
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use super::convert::{id_from_column, id_to_column, instant_from_column, instant_to_column};
use super::entity::telegram_chat_links;
use super::error::store_error;
use super::{SqlDatabase, begin_write};

/// [`ChatLinkRepo`] on SQL: `telegram_chat_links` keyed by guild, with a unique chat, so the
/// one-to-one relation holds in the schema itself.
#[derive(Debug, Clone)]
pub struct SqlChatLinkRepo {
    connection: DatabaseConnection,
}

impl SqlChatLinkRepo {
    pub fn new(database: &SqlDatabase) -> Self {
        Self {
            connection: database.connection().clone(),
        }
    }
}

fn link_from_row(row: &telegram_chat_links::Model) -> Result<ChatLink, StoreError> {
    Ok(ChatLink {
        guild: id_from_column(row.guild_id, "guild id", GuildId::new)?,
        chat: TelegramChatId::new(row.chat_id).map_err(|_| {
            StoreError::Internal(format!(
                "the stored Telegram chat id {} is invalid",
                row.chat_id
            ))
        })?,
        linked_by: id_from_column(row.linked_by, "user id", UserId::new)?,
        linked_at: instant_from_column(row.linked_at_ms)?,
    })
}

#[async_trait]
impl ChatLinkRepo for SqlChatLinkRepo {
    /// One transaction: drop any link of the guild or the chat, then insert the new one.
    async fn link(&self, link: &ChatLink) -> Result<(), StoreError> {
        let guild = id_to_column(link.guild.get(), "guild id")?;
        let chat = link.chat.get();
        let row = telegram_chat_links::ActiveModel {
            guild_id: Set(guild),
            chat_id: Set(chat),
            linked_by: Set(id_to_column(link.linked_by.get(), "user id")?),
            linked_at_ms: Set(instant_to_column(link.linked_at)?),
        };
        let transaction = begin_write(&self.connection).await?;
        telegram_chat_links::Entity::delete_many()
            .filter(
                Condition::any()
                    .add(telegram_chat_links::Column::GuildId.eq(guild))
                    .add(telegram_chat_links::Column::ChatId.eq(chat)),
            )
            .exec(&transaction)
            .await
            .map_err(store_error)?;
        telegram_chat_links::Entity::insert(row)
            .exec_without_returning(&transaction)
            .await
            .map_err(store_error)?;
        transaction.commit().await.map_err(store_error)
    }

    async fn unlink_chat(&self, chat: TelegramChatId) -> Result<bool, StoreError> {
        let deleted = telegram_chat_links::Entity::delete_many()
            .filter(telegram_chat_links::Column::ChatId.eq(chat.get()))
            .exec(&self.connection)
            .await
            .map_err(store_error)?;
        Ok(deleted.rows_affected > 0)
    }

    async fn by_guild(&self, guild: GuildId) -> Result<Option<ChatLink>, StoreError> {
        telegram_chat_links::Entity::find_by_id(id_to_column(guild.get(), "guild id")?)
            .one(&self.connection)
            .await
            .map_err(store_error)?
            .map(|row| link_from_row(&row))
            .transpose()
    }

    async fn by_chat(&self, chat: TelegramChatId) -> Result<Option<ChatLink>, StoreError> {
        telegram_chat_links::Entity::find()
            .filter(telegram_chat_links::Column::ChatId.eq(chat.get()))
            .one(&self.connection)
            .await
            .map_err(store_error)?
            .map(|row| link_from_row(&row))
            .transpose()
    }
}
