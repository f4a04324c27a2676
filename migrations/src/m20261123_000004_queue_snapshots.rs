//! One queue snapshot per guild, to bring the player back after a restart.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_integer_null, boolean, integer, integer_null, text,
};
use sea_orm_migration::sea_orm::DbBackend;

use crate::steps::{Step, Steps, drop_tables};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum QueueSnapshots {
    Table,
    GuildId,
    VoiceChannelId,
    TextChannelId,
    /// JSON array of tracks: the current one (if any) and then the upcoming ones.
    Tracks,
    /// Index of the current track in `tracks`; `NULL` when nothing is current.
    CurrentIndex,
    PositionMs,
    RepeatMode,
    /// JSON object of the filter chain.
    Filters,
    Volume,
    Paused,
    UpdatedAtMs,
}

impl Steps for Migration {
    fn up(&self, _backend: DbBackend) -> Vec<Step> {
        vec![
            Table::create()
                .table(QueueSnapshots::Table)
                .col(big_integer(QueueSnapshots::GuildId).primary_key())
                .col(big_integer_null(QueueSnapshots::VoiceChannelId))
                .col(big_integer_null(QueueSnapshots::TextChannelId))
                .col(text(QueueSnapshots::Tracks))
                .col(integer_null(QueueSnapshots::CurrentIndex))
                .col(big_integer(QueueSnapshots::PositionMs))
                .col(text(QueueSnapshots::RepeatMode))
                .col(text(QueueSnapshots::Filters))
                .col(integer(QueueSnapshots::Volume))
                .col(boolean(QueueSnapshots::Paused))
                .col(big_integer(QueueSnapshots::UpdatedAtMs))
                .into(),
        ]
    }

    fn down(&self) -> Vec<Step> {
        drop_tables([QueueSnapshots::Table.into_iden()])
    }
}
