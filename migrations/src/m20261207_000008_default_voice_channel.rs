//! The voice channel a guild's player joins when a command from outside Discord (a linked
//! Telegram chat) asks it to play while it is in no channel. Existing rows have none.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::big_integer_null;
use sea_orm_migration::sea_orm::DbBackend;

use crate::steps::{Step, Steps, add_column, drop_column};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum GuildSettings {
    Table,
    DefaultVoiceChannelId,
}

impl Steps for Migration {
    fn up(&self, _backend: DbBackend) -> Vec<Step> {
        vec![add_column(
            GuildSettings::Table,
            big_integer_null(GuildSettings::DefaultVoiceChannelId),
        )]
    }

    fn down(&self) -> Vec<Step> {
        vec![drop_column(
            GuildSettings::Table,
            GuildSettings::DefaultVoiceChannelId,
        )]
    }
}
