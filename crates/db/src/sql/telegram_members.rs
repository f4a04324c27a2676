use async_trait::async_trait;
use minstrel_app::ports::{StoreError, TelegramMember, TelegramMemberRepo};
use minstrel_domain::{TelegramChatId, TelegramUserId};
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use super::convert::{instant_from_column, instant_to_column};
use super::entity::telegram_chat_members;
use super::error::store_error;
use super::{SqlDatabase, begin_write};

/// [`TelegramMemberRepo`] on SQL: one `telegram_chat_members` row per chat and user.
#[derive(Debug, Clone)]
pub struct SqlTelegramMemberRepo {
    connection: DatabaseConnection,
}

impl SqlTelegramMemberRepo {
    pub fn new(database: &SqlDatabase) -> Self {
        Self {
            connection: database.connection().clone(),
        }
    }
}

fn member_from_row(row: telegram_chat_members::Model) -> Result<TelegramMember, StoreError> {
    let invalid = |what: &str, value: i64| {
        StoreError::Internal(format!("the stored Telegram {what} {value} is invalid"))
    };
    Ok(TelegramMember {
        chat: TelegramChatId::new(row.chat_id).map_err(|_| invalid("chat id", row.chat_id))?,
        user: TelegramUserId::new(row.user_id).map_err(|_| invalid("user id", row.user_id))?,
        username: row.username,
        first_name: row.first_name,
        last_name: row.last_name,
        is_bot: row.is_bot,
        updated_at: instant_from_column(row.updated_at_ms)?,
    })
}

#[async_trait]
impl TelegramMemberRepo for SqlTelegramMemberRepo {
    async fn upsert(&self, member: &TelegramMember) -> Result<(), StoreError> {
        let row = telegram_chat_members::ActiveModel {
            chat_id: Set(member.chat.get()),
            user_id: Set(member.user.get()),
            username: Set(member.username.clone()),
            first_name: Set(member.first_name.clone()),
            last_name: Set(member.last_name.clone()),
            is_bot: Set(member.is_bot),
            updated_at_ms: Set(instant_to_column(member.updated_at)?),
        };
        telegram_chat_members::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([
                    telegram_chat_members::Column::ChatId,
                    telegram_chat_members::Column::UserId,
                ])
                .update_columns([
                    telegram_chat_members::Column::Username,
                    telegram_chat_members::Column::FirstName,
                    telegram_chat_members::Column::LastName,
                    telegram_chat_members::Column::IsBot,
                    telegram_chat_members::Column::UpdatedAtMs,
                ])
                .to_owned(),
            )
            .exec_without_returning(&self.connection)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    /// Sorted by lowercased display name, then user id, as the in-memory adapter does (the
    /// display name is computed, so the sort happens here rather than in SQL).
    async fn list(&self, chat: TelegramChatId) -> Result<Vec<TelegramMember>, StoreError> {
        let mut members = telegram_chat_members::Entity::find()
            .filter(telegram_chat_members::Column::ChatId.eq(chat.get()))
            .all(&self.connection)
            .await
            .map_err(store_error)?
            .into_iter()
            .map(member_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        members.sort_by_cached_key(|member| (member.display_name().to_lowercase(), member.user));
        Ok(members)
    }

    async fn remove(&self, chat: TelegramChatId, user: TelegramUserId) -> Result<(), StoreError> {
        telegram_chat_members::Entity::delete_by_id((chat.get(), user.get()))
            .exec(&self.connection)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    /// One transaction: members already known in `to` are replaced by their `from` rows.
    async fn move_chat(&self, from: TelegramChatId, to: TelegramChatId) -> Result<(), StoreError> {
        if from == to {
            return Ok(());
        }
        let transaction = begin_write(&self.connection).await?;
        telegram_chat_members::Entity::delete_many()
            .filter(telegram_chat_members::Column::ChatId.eq(to.get()))
            .filter(
                telegram_chat_members::Column::UserId.in_subquery(
                    Query::select()
                        .column(telegram_chat_members::Column::UserId)
                        .from(telegram_chat_members::Entity)
                        .and_where(telegram_chat_members::Column::ChatId.eq(from.get()))
                        .to_owned(),
                ),
            )
            .exec(&transaction)
            .await
            .map_err(store_error)?;
        telegram_chat_members::Entity::update_many()
            .col_expr(telegram_chat_members::Column::ChatId, Expr::value(to.get()))
            .filter(telegram_chat_members::Column::ChatId.eq(from.get()))
            .exec(&transaction)
            .await
            .map_err(store_error)?;
        transaction.commit().await.map_err(store_error)
    }
}
