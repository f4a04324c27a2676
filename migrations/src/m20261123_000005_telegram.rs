//! The Telegram bridge: chat ↔ guild links, chat members, and one-time link codes.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, boolean, text, text_null};
use sea_orm_migration::sea_orm::DbBackend;

use crate::steps::{Step, Steps, drop_tables, index};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum TelegramChatLinks {
    Table,
    /// A guild has at most one chat (primary key) …
    GuildId,
    /// … and a chat at most one guild (unique).
    ChatId,
    /// The Discord user who made the link.
    LinkedBy,
    LinkedAtMs,
}

#[derive(DeriveIden)]
enum TelegramChatMembers {
    Table,
    ChatId,
    UserId,
    Username,
    FirstName,
    LastName,
    IsBot,
    UpdatedAtMs,
}

#[derive(DeriveIden)]
enum LinkCodes {
    Table,
    /// Upper-case, without separators. Taking a code deletes its row, so it works once.
    Code,
    /// `chat`: issued in a Telegram chat, redeemed in a guild; `guild`: the other way round.
    TargetKind,
    /// The chat id or the guild id, as `target_kind` says.
    TargetId,
    /// The Telegram user (for `chat`) or Discord user (for `guild`) who asked for the code.
    IssuedBy,
    CreatedAtMs,
    ExpiresAtMs,
}

impl Steps for Migration {
    fn up(&self, _backend: DbBackend) -> Vec<Step> {
        vec![
            Table::create()
                .table(TelegramChatLinks::Table)
                .col(big_integer(TelegramChatLinks::GuildId).primary_key())
                .col(big_integer(TelegramChatLinks::ChatId).unique_key())
                .col(big_integer(TelegramChatLinks::LinkedBy))
                .col(big_integer(TelegramChatLinks::LinkedAtMs))
                .into(),
            Table::create()
                .table(TelegramChatMembers::Table)
                .col(big_integer(TelegramChatMembers::ChatId))
                .col(big_integer(TelegramChatMembers::UserId))
                .col(text_null(TelegramChatMembers::Username))
                .col(text(TelegramChatMembers::FirstName))
                .col(text_null(TelegramChatMembers::LastName))
                .col(boolean(TelegramChatMembers::IsBot))
                .col(big_integer(TelegramChatMembers::UpdatedAtMs))
                .primary_key(
                    Index::create()
                        .col(TelegramChatMembers::ChatId)
                        .col(TelegramChatMembers::UserId),
                )
                .into(),
            Table::create()
                .table(LinkCodes::Table)
                .col(text(LinkCodes::Code).primary_key())
                .col(text(LinkCodes::TargetKind))
                .col(big_integer(LinkCodes::TargetId))
                .col(big_integer(LinkCodes::IssuedBy))
                .col(big_integer(LinkCodes::CreatedAtMs))
                .col(big_integer(LinkCodes::ExpiresAtMs))
                .into(),
            // Expired codes are swept by expiry.
            index("ix_link_codes_expires_at", LinkCodes::Table)
                .col(LinkCodes::ExpiresAtMs)
                .into(),
        ]
    }

    fn down(&self) -> Vec<Step> {
        drop_tables([
            LinkCodes::Table.into_iden(),
            TelegramChatMembers::Table.into_iden(),
            TelegramChatLinks::Table.into_iden(),
        ])
    }
}
