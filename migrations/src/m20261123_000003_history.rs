//! Listening history.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, big_integer_null, big_pk_auto, text};

use sea_orm_migration::sea_orm::DbBackend;

use crate::m20261123_000001_users_and_settings::Users;
use crate::steps::{Step, Steps, cascade, drop_tables, index};

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

impl Steps for Migration {
    fn up(&self, _backend: DbBackend) -> Vec<Step> {
        vec![
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
                .foreign_key(&mut cascade(
                    "fk_user_history_user",
                    (UserHistory::Table, UserHistory::UserId),
                    (Users::Table, Users::Id),
                ))
                .into(),
            // Serves "a user's history, newest first", including the tie-break on `id`.
            index("ix_user_history_user_played_at", UserHistory::Table)
                .col(UserHistory::UserId)
                .col((UserHistory::PlayedAtMs, IndexOrder::Desc))
                .col((UserHistory::Id, IndexOrder::Desc))
                .into(),
        ]
    }

    fn down(&self) -> Vec<Step> {
        drop_tables([UserHistory::Table.into_iden()])
    }
}
