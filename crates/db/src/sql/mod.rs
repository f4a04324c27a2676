//! The SQL adapters: every storage port on `SQLite` (the embedded default) and Postgres, from one
//! sea-orm code path.
//!
//! [`SqlDatabase::connect`] opens a pool for a `sqlite:` or `postgres:` URL; each repository is
//! built from it and shares its pool. The schema comes from `minstrel-migration`
//! ([`SqlDatabase::migrate_up`]). Row types stay in `entity`; `DbErr` is turned into
//! [`StoreError`] in `error` before anything crosses a port.
//!
//! Backend differences are confined to [`SqlDatabase::connect`] (connection settings) and
//! [`SqlDatabase::tables`] (catalog query); every repository statement is the same sea-orm
//! code for both.

mod audit;
mod chat_links;
mod convert;
mod entity;
mod error;
mod history;
mod json;
mod link_codes;
mod playlists;
mod queue;
mod settings;
mod telegram_members;

use std::time::Duration;

use minstrel_app::ports::StoreError;
use minstrel_migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};

pub use audit::SqlAuditLog;
pub use chat_links::SqlChatLinkRepo;
pub use history::SqlHistoryRepo;
pub use link_codes::SqlLinkCodeRepo;
pub use playlists::SqlPlaylistRepo;
pub use queue::SqlQueueStore;
pub use settings::SqlSettingsRepo;
pub use telegram_members::SqlTelegramMemberRepo;

use self::error::store_error;

/// How long a `SQLite` statement waits for another connection's write lock before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections in a file-backed `SQLite` pool: several readers work beside the one writer WAL
/// allows; write transactions start `IMMEDIATE`, so they queue on the lock (up to the busy
/// timeout) instead of failing when a reader upgrades.
const SQLITE_MAX_CONNECTIONS: u32 = 4;
/// Postgres pool size: the bot's queries are short; a few connections serve many guilds.
const POSTGRES_MAX_CONNECTIONS: u32 = 10;
/// How long a caller waits for a pooled connection (or a new one) before the store reports
/// `Unavailable`.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a caller waits for the database before the store reports `Unavailable`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqlTimeouts {
    /// For a pooled connection (or a new one).
    pub acquire: Duration,
    /// For a new connection to be established.
    pub connect: Duration,
}

impl Default for SqlTimeouts {
    fn default() -> Self {
        Self {
            acquire: ACQUIRE_TIMEOUT,
            connect: CONNECT_TIMEOUT,
        }
    }
}

/// Which database a [`SqlDatabase`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlBackend {
    Sqlite,
    Postgres,
}

impl SqlBackend {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "Postgres",
        }
    }
}

/// A connection pool to minstrel's database; cheap to clone (clones share the pool).
#[derive(Debug, Clone)]
pub struct SqlDatabase {
    connection: DatabaseConnection,
    backend: SqlBackend,
}

impl SqlDatabase {
    /// Opens a pool for `url`:
    /// - `sqlite://path/to/file.db` (also `sqlite:file.db`): the file is created when missing;
    ///   every connection uses WAL journaling, a 5 s busy timeout and enforced foreign keys.
    ///   An in-memory database (`sqlite::memory:`) gets a single connection, since each
    ///   connection would otherwise see its own empty database.
    /// - `postgres://user@host:port/db`: a pool of up to 10 connections, a 5 s connect and
    ///   acquire timeout.
    ///
    /// # Errors
    /// `Unavailable` when the database cannot be reached or opened, `Internal` for a URL that
    /// names neither backend.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, SqlTimeouts::default()).await
    }

    /// [`SqlDatabase::connect`] with other timeouts (a test that cuts the connection wants
    /// short ones).
    ///
    /// # Errors
    /// As [`SqlDatabase::connect`].
    pub async fn connect_with(url: &str, timeouts: SqlTimeouts) -> Result<Self, StoreError> {
        let backend = if url.starts_with("sqlite:") {
            SqlBackend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            SqlBackend::Postgres
        } else {
            return Err(StoreError::Internal(format!(
                "the database URL must start with sqlite: or postgres:// (got \"{}\")",
                scheme_of(url)
            )));
        };
        let mut options = ConnectOptions::new(url);
        options
            .acquire_timeout(timeouts.acquire)
            .connect_timeout(timeouts.connect)
            // Statements are not logged: they would carry user data into the logs.
            .sqlx_logging(false);
        match backend {
            SqlBackend::Sqlite => {
                let in_memory = url.contains(":memory:") || url.contains("mode=memory");
                options
                    .max_connections(if in_memory { 1 } else { SQLITE_MAX_CONNECTIONS })
                    .min_connections(1)
                    .map_sqlx_sqlite_opts(sqlite_options);
            }
            SqlBackend::Postgres => {
                options
                    .max_connections(POSTGRES_MAX_CONNECTIONS)
                    .min_connections(0)
                    .idle_timeout(Duration::from_mins(10))
                    // A connection the server dropped is noticed before it is handed out.
                    .test_before_acquire(true);
            }
        }
        let connection = Database::connect(options).await.map_err(|error| {
            StoreError::Unavailable(format!(
                "could not open the {} database: {error}",
                backend.name()
            ))
        })?;
        Ok(Self {
            connection,
            backend,
        })
    }

    pub fn backend(&self) -> SqlBackend {
        self.backend
    }

    /// Applies every pending migration, oldest first, each in its own transaction, and returns
    /// the names of those it applied (empty when the schema was up to date).
    pub async fn migrate_up(&self) -> Result<Vec<String>, StoreError> {
        let pending = self.pending_migrations().await?;
        Migrator::up(&self.connection, None)
            .await
            .map_err(store_error)?;
        Ok(pending)
    }

    /// Reverts every applied migration, newest first, and returns their names in that order.
    /// Every table the migrations created is gone afterwards (the bookkeeping table stays).
    pub async fn migrate_down_all(&self) -> Result<Vec<String>, StoreError> {
        let mut applied: Vec<String> = Migrator::get_applied_migrations(&self.connection)
            .await
            .map_err(store_error)?
            .iter()
            .map(|migration| migration.name().to_owned())
            .collect();
        applied.reverse();
        Migrator::down(&self.connection, None)
            .await
            .map_err(store_error)?;
        Ok(applied)
    }

    /// Names of the migrations not applied yet, oldest first.
    pub async fn pending_migrations(&self) -> Result<Vec<String>, StoreError> {
        Ok(Migrator::get_pending_migrations(&self.connection)
            .await
            .map_err(store_error)?
            .iter()
            .map(|migration| migration.name().to_owned())
            .collect())
    }

    /// The tables in the database (its current schema on Postgres), sorted by name.
    pub async fn tables(&self) -> Result<Vec<String>, StoreError> {
        let (backend, sql) = match self.backend {
            SqlBackend::Sqlite => (
                DbBackend::Sqlite,
                "SELECT name AS table_name FROM sqlite_master \
                 WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
            ),
            SqlBackend::Postgres => (
                DbBackend::Postgres,
                "SELECT table_name::text AS table_name FROM information_schema.tables \
                 WHERE table_schema = current_schema() ORDER BY table_name",
            ),
        };
        let rows = self
            .connection
            .query_all_raw(Statement::from_string(backend, sql))
            .await
            .map_err(store_error)?;
        rows.iter()
            .map(|row| row.try_get::<String>("", "table_name").map_err(store_error))
            .collect()
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.connection.ping().await.map_err(store_error)
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(self) -> Result<(), StoreError> {
        self.connection.close().await.map_err(store_error)
    }

    pub fn settings_repo(&self) -> SqlSettingsRepo {
        SqlSettingsRepo::new(self)
    }

    pub fn playlist_repo(&self) -> SqlPlaylistRepo {
        SqlPlaylistRepo::new(self)
    }

    pub fn history_repo(&self) -> SqlHistoryRepo {
        SqlHistoryRepo::new(self)
    }

    pub fn queue_store(&self) -> SqlQueueStore {
        SqlQueueStore::new(self)
    }

    pub fn chat_link_repo(&self) -> SqlChatLinkRepo {
        SqlChatLinkRepo::new(self)
    }

    pub fn link_code_repo(&self) -> SqlLinkCodeRepo {
        SqlLinkCodeRepo::new(self)
    }

    pub fn telegram_member_repo(&self) -> SqlTelegramMemberRepo {
        SqlTelegramMemberRepo::new(self)
    }

    pub fn audit_log(&self) -> SqlAuditLog {
        SqlAuditLog::new(self)
    }

    pub(crate) fn connection(&self) -> &DatabaseConnection {
        &self.connection
    }
}

fn sqlite_options(options: SqliteConnectOptions) -> SqliteConnectOptions {
    options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // NORMAL is durable across application crashes in WAL mode; only an OS crash or power
        // loss may lose the last transactions, never corrupt the file.
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(SQLITE_BUSY_TIMEOUT)
        .foreign_keys(true)
}

/// Starts a transaction that writes: on `SQLite` it takes the write lock at once (`BEGIN
/// IMMEDIATE`), so it waits for other writers instead of failing when it upgrades from reading.
pub(crate) async fn begin_write(
    connection: &DatabaseConnection,
) -> Result<DatabaseTransaction, StoreError> {
    connection
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        })
        .await
        .map_err(store_error)
}

/// The part of a URL before `://` or `:`, so an error never repeats a password.
fn scheme_of(url: &str) -> &str {
    url.split(':').next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn pragma<T: sea_orm::TryGetable>(database: &SqlDatabase, name: &str) -> T {
        database
            .connection()
            .query_one_raw(Statement::from_string(
                DbBackend::Sqlite,
                format!("PRAGMA {name}"),
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get_by_index(0)
            .unwrap()
    }

    #[tokio::test]
    async fn sqlite_connections_use_wal_a_busy_timeout_and_foreign_keys() {
        let directory = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", directory.path().join("pragmas.db").display());
        let database = SqlDatabase::connect(&url).await.unwrap();
        // Several rounds, so more than one pooled connection is likely looked at.
        for _ in 0..SQLITE_MAX_CONNECTIONS {
            assert_eq!(pragma::<String>(&database, "journal_mode").await, "wal");
            assert_eq!(pragma::<i64>(&database, "busy_timeout").await, 5_000);
            assert_eq!(pragma::<i64>(&database, "foreign_keys").await, 1);
            // 1 = NORMAL
            assert_eq!(pragma::<i64>(&database, "synchronous").await, 1);
        }
        database.close().await.unwrap();
    }

    #[tokio::test]
    async fn in_memory_sqlite_keeps_one_connection_so_the_schema_stays_visible() {
        let database = SqlDatabase::connect("sqlite::memory:").await.unwrap();
        database.migrate_up().await.unwrap();
        for _ in 0..3 {
            assert!(
                database
                    .tables()
                    .await
                    .unwrap()
                    .contains(&"playlists".to_owned())
            );
        }
    }

    #[test]
    fn schemes_are_cut_before_any_credentials() {
        assert_eq!(scheme_of("mysql://root:secret@host/db"), "mysql");
        assert_eq!(scheme_of("nonsense"), "nonsense");
    }
}
