//! A migration written as the schema statements it runs. [`Applied`] runs them in order, the
//! same way for every migration, each inside a transaction on every backend; the helpers build
//! the statements several migrations share the shape of.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// One schema statement of a migration.
pub(crate) enum Step {
    CreateTable(Box<TableCreateStatement>),
    CreateIndex(Box<IndexCreateStatement>),
    AlterTable(Box<TableAlterStatement>),
    DropTable(Box<TableDropStatement>),
}

impl From<&mut TableCreateStatement> for Step {
    fn from(statement: &mut TableCreateStatement) -> Self {
        Self::CreateTable(Box::new(statement.to_owned()))
    }
}

impl From<&mut IndexCreateStatement> for Step {
    fn from(statement: &mut IndexCreateStatement) -> Self {
        Self::CreateIndex(Box::new(statement.to_owned()))
    }
}

/// What a migration does, as statements; wrapped in [`Applied`] it is a sea-orm migration.
pub(crate) trait Steps: MigrationName + Send + Sync {
    /// The statements that bring the schema up, in order, for `backend`.
    fn up(&self, backend: DbBackend) -> Vec<Step>;
    /// The statements that undo [`Steps::up`] exactly, in order.
    fn down(&self) -> Vec<Step>;
}

/// A [`Steps`] migration as sea-orm runs it: `up` and `down` apply the statements in order,
/// inside a transaction on every backend, so a failed migration leaves the schema as it was.
pub(crate) struct Applied<M>(pub(crate) M);

impl<M: MigrationName> MigrationName for Applied<M> {
    fn name(&self) -> &str {
        self.0.name()
    }
}

#[async_trait::async_trait]
impl<M: Steps> MigrationTrait for Applied<M> {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, self.0.up(manager.get_database_backend())).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, self.0.down()).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

async fn run(manager: &SchemaManager<'_>, steps: Vec<Step>) -> Result<(), DbErr> {
    for step in steps {
        match step {
            Step::CreateTable(statement) => manager.create_table(*statement).await?,
            Step::CreateIndex(statement) => manager.create_index(*statement).await?,
            Step::AlterTable(statement) => manager.alter_table(*statement).await?,
            Step::DropTable(statement) => manager.drop_table(*statement).await?,
        }
    }
    Ok(())
}

/// Drops `tables`, in order. Dropping a table drops its indexes on both backends.
pub(crate) fn drop_tables(tables: impl IntoIterator<Item = DynIden>) -> Vec<Step> {
    tables
        .into_iter()
        .map(|table| Step::DropTable(Box::new(Table::drop().table(table).to_owned())))
        .collect()
}

/// Adds `column` to `table`.
pub(crate) fn add_column(table: impl IntoIden, column: impl IntoColumnDef) -> Step {
    Step::AlterTable(Box::new(
        Table::alter().table(table).add_column(column).to_owned(),
    ))
}

/// Drops `column` from `table`: the inverse of [`add_column`].
pub(crate) fn drop_column(table: impl IntoIden, column: impl IntoIden) -> Step {
    Step::AlterTable(Box::new(
        Table::alter().table(table).drop_column(column).to_owned(),
    ))
}

/// The foreign key `name` from `from` (table, column) to `to` (table, column): deleting the
/// referenced row deletes the rows that refer to it.
pub(crate) fn cascade(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

/// The index `name` on `table`, without columns yet.
pub(crate) fn index(name: &str, table: impl IntoIden) -> IndexCreateStatement {
    Index::create().name(name).table(table).to_owned()
}
