//! How many restarts brought a queue's current track back without it finishing, so a track the
//! process keeps dying during is dropped instead of restored forever. Existing rows start at 0.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::integer;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum QueueSnapshots {
    Table,
    CurrentAttempts,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(QueueSnapshots::Table)
                    .add_column(integer(QueueSnapshots::CurrentAttempts).default(0))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(QueueSnapshots::Table)
                    .drop_column(QueueSnapshots::CurrentAttempts)
                    .to_owned(),
            )
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
