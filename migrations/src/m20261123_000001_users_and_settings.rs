//! Users, their settings, and guild settings.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_integer_null, boolean, float, integer, text, text_null,
};

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

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(big_integer(Users::Id).primary_key())
                    .col(big_integer(Users::FirstSeenAtMs))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UserSettings::Table)
                    .col(big_integer(UserSettings::UserId).primary_key())
                    .col(integer(UserSettings::DefaultVolume))
                    .col(text(UserSettings::PreferredFilters))
                    .col(boolean(UserSettings::Autoplay))
                    .col(big_integer(UserSettings::UpdatedAtMs))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_user_settings_user")
                            .from(UserSettings::Table, UserSettings::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
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
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            GuildSettings::Table.into_iden(),
            UserSettings::Table.into_iden(),
            Users::Table.into_iden(),
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
