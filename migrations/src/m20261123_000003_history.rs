//! Listening history.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, big_integer_null, big_pk_auto, text};

use crate::m20261123_000001_users_and_settings::Users;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum UserHistory {
    Table,
    Id,
    GuildId,
    /// The Discord user who requested the track; `NULL` for Telegram and console requests.
    UserId,
    /// The Telegram user who requested the track, if it came from Telegram.
    TelegramUserId,
    Title,
    /// What the resolver needs to play it again (a URL or a path).
    Locator,
    DurationMs,
    PlayedAtMs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(UserHistory::Table)
                    .col(big_pk_auto(UserHistory::Id))
                    .col(big_integer(UserHistory::GuildId))
                    .col(big_integer_null(UserHistory::UserId))
                    .col(big_integer_null(UserHistory::TelegramUserId))
                    .col(text(UserHistory::Title))
                    .col(text(UserHistory::Locator))
                    .col(big_integer_null(UserHistory::DurationMs))
                    .col(big_integer(UserHistory::PlayedAtMs))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_user_history_user")
                            .from(UserHistory::Table, UserHistory::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Serves "a user's history, newest first", including the tie-break on `id`.
        manager
            .create_index(
                Index::create()
                    .name("ix_user_history_user_played_at")
                    .table(UserHistory::Table)
                    .col(UserHistory::UserId)
                    .col((UserHistory::PlayedAtMs, IndexOrder::Desc))
                    .col((UserHistory::Id, IndexOrder::Desc))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(UserHistory::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
