//! Users, their settings, and guild settings.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_integer_null, boolean, float, integer, text, text_null,
};
use sea_orm_migration::sea_orm::DbBackend;

use crate::steps::{Step, Steps, cascade, drop_tables};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
pub(crate) enum Users {
    Table,
    Id,
    FirstSeenAtMs,
}

#[derive(DeriveIden)]
enum UserSettings {
    Table,
    UserId,
    DefaultVolume,
    /// JSON array of preset names.
    PreferredFilters,
    Autoplay,
    UpdatedAtMs,
}

#[derive(DeriveIden)]
enum GuildSettings {
    Table,
    GuildId,
    MaxQueueSize,
    DefaultVolume,
    /// JSON array of preset names; `NULL` allows every preset.
    AllowedFilters,
    DjRoleId,
    #[sea_orm(iden = "stay_24_7")]
    Stay247,
    IdleTimeoutMs,
    VoteSkipRatio,
    Normalisation,
    Locale,
    UpdatedAtMs,
}

impl Steps for Migration {
    fn up(&self, _backend: DbBackend) -> Vec<Step> {
        vec![
            Table::create()
                .table(Users::Table)
                .col(big_integer(Users::Id).primary_key())
                .col(big_integer(Users::FirstSeenAtMs))
                .into(),
            Table::create()
                .table(UserSettings::Table)
                .col(big_integer(UserSettings::UserId).primary_key())
                .col(integer(UserSettings::DefaultVolume))
                .col(text(UserSettings::PreferredFilters))
                .col(boolean(UserSettings::Autoplay))
                .col(big_integer(UserSettings::UpdatedAtMs))
                .foreign_key(&mut cascade(
                    "fk_user_settings_user",
                    (UserSettings::Table, UserSettings::UserId),
                    (Users::Table, Users::Id),
                ))
                .into(),
            Table::create()
                .table(GuildSettings::Table)
                .col(big_integer(GuildSettings::GuildId).primary_key())
                .col(integer(GuildSettings::MaxQueueSize))
                .col(integer(GuildSettings::DefaultVolume))
                .col(text_null(GuildSettings::AllowedFilters))
                .col(big_integer_null(GuildSettings::DjRoleId))
                .col(boolean(GuildSettings::Stay247))
                .col(big_integer(GuildSettings::IdleTimeoutMs))
                .col(float(GuildSettings::VoteSkipRatio))
                .col(boolean(GuildSettings::Normalisation))
                .col(text(GuildSettings::Locale))
                .col(big_integer(GuildSettings::UpdatedAtMs))
                .into(),
        ]
    }

    fn down(&self) -> Vec<Step> {
        drop_tables([
            GuildSettings::Table.into_iden(),
            UserSettings::Table.into_iden(),
            Users::Table.into_iden(),
        ])
    }
}
