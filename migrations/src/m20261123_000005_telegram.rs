//! The Telegram bridge: chat ↔ guild links, chat members, and one-time link codes.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, boolean, text, text_null};

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

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TelegramChatLinks::Table)
                    .col(big_integer(TelegramChatLinks::GuildId).primary_key())
                    .col(big_integer(TelegramChatLinks::ChatId).unique_key())
                    .col(big_integer(TelegramChatLinks::LinkedBy))
                    .col(big_integer(TelegramChatLinks::LinkedAtMs))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
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
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LinkCodes::Table)
                    .col(text(LinkCodes::Code).primary_key())
                    .col(text(LinkCodes::TargetKind))
                    .col(big_integer(LinkCodes::TargetId))
                    .col(big_integer(LinkCodes::IssuedBy))
                    .col(big_integer(LinkCodes::CreatedAtMs))
                    .col(big_integer(LinkCodes::ExpiresAtMs))
                    .to_owned(),
            )
            .await?;
        // Expired codes are swept by expiry.
        manager
            .create_index(
                Index::create()
                    .name("ix_link_codes_expires_at")
                    .table(LinkCodes::Table)
                    .col(LinkCodes::ExpiresAtMs)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            LinkCodes::Table.into_iden(),
            TelegramChatMembers::Table.into_iden(),
            TelegramChatLinks::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
