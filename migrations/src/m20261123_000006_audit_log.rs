//! Who did what, where and when.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, big_integer_null, big_pk_auto, text};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    /// `NULL` for actions outside any guild.
    GuildId,
    /// `discord`, `telegram` or `console`; `system` for the bot itself.
    ActorKind,
    /// The Discord or Telegram user id; `NULL` for the console and the system.
    ActorId,
    /// What was done, e.g. `settings.update`, `playlist.delete`, `telegram.link`.
    Action,
    /// A sentence with the details.
    Detail,
    AtMs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(big_pk_auto(AuditLog::Id))
                    .col(big_integer_null(AuditLog::GuildId))
                    .col(text(AuditLog::ActorKind))
                    .col(big_integer_null(AuditLog::ActorId))
                    .col(text(AuditLog::Action))
                    .col(text(AuditLog::Detail))
                    .col(big_integer(AuditLog::AtMs))
                    .to_owned(),
            )
            .await?;
        // Serves "a guild's entries, newest (last recorded) first".
        manager
            .create_index(
                Index::create()
                    .name("ix_audit_log_guild_id")
                    .table(AuditLog::Table)
                    .col(AuditLog::GuildId)
                    .col((AuditLog::Id, IndexOrder::Desc))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditLog::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
