//! How many restarts brought a queue's current track back without it finishing, so a track the
//! process keeps dying during is dropped instead of restored forever. Existing rows start at 0.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::integer;
use sea_orm_migration::sea_orm::DbBackend;

use crate::steps::{Step, Steps, add_column, drop_column};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum QueueSnapshots {
    Table,
    CurrentAttempts,
}

impl Steps for Migration {
    fn up(&self, _backend: DbBackend) -> Vec<Step> {
        vec![add_column(
            QueueSnapshots::Table,
            integer(QueueSnapshots::CurrentAttempts).default(0),
        )]
    }

    fn down(&self) -> Vec<Step> {
        vec![drop_column(
            QueueSnapshots::Table,
            QueueSnapshots::CurrentAttempts,
        )]
    }
}
