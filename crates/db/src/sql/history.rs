use std::collections::BTreeSet;

use async_trait::async_trait;
use minstrel_app::ports::{HistoryRepo, StoreError};
use minstrel_domain::{GuildId, HistoryEntry, RequesterId, TelegramUserId, UserId};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::convert::{
    duration_from_column, duration_to_column, id_from_column, id_to_column, instant_from_column,
    instant_to_column, page_bound,
};
use super::entity::user_history;
use super::error::store_error;
use super::settings::ensure_users;
use super::{SqlDatabase, begin_write};

/// Rows per `INSERT`: 8 values each keeps a statement far below Postgres' 65 535 and `SQLite`'s
/// 32 766 bound parameters. A batch of up to this many entries is one statement.
const ROWS_PER_INSERT: usize = 1_000;

/// [`HistoryRepo`] on SQL: one `user_history` row per played track, newest first through the
/// `(user_id, played_at_ms DESC, id DESC)` index.
#[derive(Debug, Clone)]
pub struct SqlHistoryRepo {
    connection: DatabaseConnection,
}

impl SqlHistoryRepo {
    pub fn new(database: &SqlDatabase) -> Self {
        Self {
            connection: database.connection().clone(),
        }
    }
}

fn row_from_entry(entry: &HistoryEntry) -> Result<user_history::ActiveModel, StoreError> {
    let (user_id, telegram_user_id) = match &entry.requester {
        RequesterId::Discord(user) => (Some(id_to_column(user.get(), "user id")?), None),
        RequesterId::Telegram(user) => (None, Some(user.get())),
        RequesterId::Console => (None, None),
    };
    Ok(user_history::ActiveModel {
        guild_id: Set(id_to_column(entry.guild_id.get(), "guild id")?),
        user_id: Set(user_id),
        telegram_user_id: Set(telegram_user_id),
        title: Set(entry.title.clone()),
        locator: Set(entry.locator.clone()),
        duration_ms: Set(entry.duration.map(duration_to_column).transpose()?),
        played_at_ms: Set(instant_to_column(entry.played_at)?),
        ..Default::default()
    })
}

fn entry_from_row(row: user_history::Model) -> Result<HistoryEntry, StoreError> {
    let requester = match (row.user_id, row.telegram_user_id) {
        (Some(user), _) => RequesterId::Discord(id_from_column(user, "user id", UserId::new)?),
        (None, Some(user)) => RequesterId::Telegram(TelegramUserId::new(user).map_err(|_| {
            StoreError::Internal(format!("the stored Telegram user id {user} is invalid"))
        })?),
        (None, None) => RequesterId::Console,
    };
    Ok(HistoryEntry {
        guild_id: id_from_column(row.guild_id, "guild id", GuildId::new)?,
        requester,
        title: row.title,
        locator: row.locator,
        duration: row
            .duration_ms
            .map(|millis| duration_from_column(millis, "track duration"))
            .transpose()?,
        played_at: instant_from_column(row.played_at_ms)?,
    })
}

#[async_trait]
impl HistoryRepo for SqlHistoryRepo {
    /// One transaction: the Discord requesters' `users` rows, then the entries in a single
    /// multi-row `INSERT` (one per [`ROWS_PER_INSERT`] for huge batches).
    async fn record(&self, entries: &[HistoryEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let rows = entries
            .iter()
            .map(row_from_entry)
            .collect::<Result<Vec<_>, _>>()?;
        let users: BTreeSet<i64> = rows
            .iter()
            .filter_map(|row| match &row.user_id {
                sea_orm::ActiveValue::Set(user) => *user,
                _ => None,
            })
            .collect();
        let transaction = begin_write(&self.connection).await?;
        ensure_users(&transaction, users).await?;
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<_> = rows.by_ref().take(ROWS_PER_INSERT).collect();
            user_history::Entity::insert_many(chunk)
                .exec_without_returning(&transaction)
                .await
                .map_err(store_error)?;
        }
        transaction.commit().await.map_err(store_error)
    }

    async fn for_user(
        &self,
        user: UserId,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        user_history::Entity::find()
            .filter(user_history::Column::UserId.eq(id_to_column(user.get(), "user id")?))
            // Among equal times the later record comes first, as in the in-memory adapter.
            .order_by_desc(user_history::Column::PlayedAtMs)
            .order_by_desc(user_history::Column::Id)
            .offset(page_bound(offset))
            .limit(page_bound(limit))
            .all(&self.connection)
            .await
            .map_err(store_error)?
            .into_iter()
            .map(entry_from_row)
            .collect()
    }
}
