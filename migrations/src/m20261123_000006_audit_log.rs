//! Who did what, where and when.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, big_integer_null, big_pk_auto, text};
use sea_orm_migration::sea_orm::DbBackend;

use crate::steps::{Step, Steps, drop_tables, index};

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

impl Steps for Migration {
    fn up(&self, _backend: DbBackend) -> Vec<Step> {
        vec![
            Table::create()
                .table(AuditLog::Table)
                .col(big_pk_auto(AuditLog::Id))
                .col(big_integer_null(AuditLog::GuildId))
                .col(text(AuditLog::ActorKind))
                .col(big_integer_null(AuditLog::ActorId))
                .col(text(AuditLog::Action))
                .col(text(AuditLog::Detail))
                .col(big_integer(AuditLog::AtMs))
                .into(),
            // Serves "a guild's entries, newest (last recorded) first".
            index("ix_audit_log_guild_id", AuditLog::Table)
                .col(AuditLog::GuildId)
                .col((AuditLog::Id, IndexOrder::Desc))
                .into(),
        ]
    }

    fn down(&self) -> Vec<Step> {
        drop_tables([AuditLog::Table.into_iden()])
    }
}
