//! Fresh databases for the tests: a temporary `SQLite` file, or a randomly named Postgres
//! database created beside `MINSTREL_TEST_DATABASE_URL` and dropped afterwards.

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use minstrel_db::SqlDatabase;
use sea_orm::{ConnectionTrait, Database};
use tempfile::TempDir;

pub(crate) const POSTGRES_URL_VAR: &str = "MINSTREL_TEST_DATABASE_URL";

pub(crate) struct TestDatabase {
    database: SqlDatabase,
    /// Where `database` connects (a test may open a second pool to it).
    url: String,
    /// Whether [`TestDatabase::run`] applies the migrations before the check.
    migrated: bool,
    cleanup: Cleanup,
}

enum Cleanup {
    /// The directory holding the database file (and its WAL files); removed on drop.
    Sqlite(TempDir),
    /// The server URL to connect to for `DROP DATABASE`, and the database's name.
    Postgres { admin_url: String, name: String },
}

impl TestDatabase {
    /// A new `SQLite` file in a new temporary directory, migrated when `migrated`.
    pub(crate) async fn sqlite(migrated: bool) -> Self {
        let directory = tempfile::tempdir().expect("a temporary directory");
        let url = format!(
            "sqlite://{}",
            directory.path().join("minstrel.db").display()
        );
        let database = SqlDatabase::connect(&url).await.expect("SQLite opens");
        Self {
            database,
            url,
            migrated,
            cleanup: Cleanup::Sqlite(directory),
        }
    }

    /// A new database on the Postgres server of `MINSTREL_TEST_DATABASE_URL`, migrated when
    /// `migrated`; `None` when the variable is unset outside CI.
    ///
    /// # Panics
    /// When the variable is unset and `CI=true`, or the server cannot be used.
    pub(crate) async fn postgres(migrated: bool) -> Option<Self> {
        let admin_url = postgres_url()?;
        let name = unique_name();
        let admin = Database::connect(&admin_url)
            .await
            .unwrap_or_else(|error| panic!("cannot connect to {POSTGRES_URL_VAR}: {error}"));
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .unwrap_or_else(|error| panic!("cannot create the test database {name}: {error}"));
        admin.close().await.ok();
        let url = with_database(&admin_url, &name);
        let database = SqlDatabase::connect(&url)
            .await
            .expect("the new test database opens");
        Some(Self {
            database,
            url,
            migrated,
            cleanup: Cleanup::Postgres { admin_url, name },
        })
    }

    /// The URL of the test database.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// Migrates (when asked) and runs `check` on the database, then removes the database even
    /// when either panicked, and re-raises that panic.
    pub(crate) async fn run<F, Fut>(self, check: F)
    where
        F: FnOnce(SqlDatabase) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let database = self.database.clone();
        let migrated = self.migrated;
        let checked = check(self.database.clone());
        let outcome = tokio::spawn(async move {
            if migrated {
                database.migrate_up().await.expect("migrations apply");
            }
            checked.await;
        })
        .await;
        self.database.close().await.ok();
        match self.cleanup {
            Cleanup::Sqlite(directory) => drop(directory),
            Cleanup::Postgres { admin_url, name } => {
                drop_postgres_database(&admin_url, &name).await;
            }
        }
        if let Err(error) = outcome {
            match error.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(error) => panic!("the check did not finish: {error}"),
            }
        }
    }
}

async fn drop_postgres_database(admin_url: &str, name: &str) {
    let admin = Database::connect(admin_url)
        .await
        .unwrap_or_else(|error| panic!("cannot connect to drop {name}: {error}"));
    // FORCE ends connections a failed check may have left behind.
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await
        .unwrap_or_else(|error| panic!("cannot drop the test database {name}: {error}"));
    admin.close().await.ok();
}

/// The Postgres URL, `None` (with a note) when unset locally.
///
/// # Panics
/// When unset and `CI=true`.
pub(crate) fn postgres_url() -> Option<String> {
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|ci| ci == "true") => panic!(
            "{POSTGRES_URL_VAR} is not set, and CI=true: the Postgres repository tests must run \
             in CI. Set it to a server where the user may create databases, e.g. \
             postgres://postgres@127.0.0.1:5432/postgres"
        ),
        _ => {
            eprintln!(
                "note: {POSTGRES_URL_VAR} is not set; skipping this Postgres test locally \
                 (CI=true makes it a failure)"
            );
            None
        }
    }
}

/// A database name no other run uses: the time in microseconds and the process id.
fn unique_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_micros())
        .unwrap_or_default();
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("minstrel_test_{micros}_{}_{count}", std::process::id())
}

/// `url` with its database name replaced by `name` (query parameters kept).
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(base, query)| (base, Some(query)));
    let authority_start = base.find("://").map_or(0, |index| index + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |index| authority_start + index);
    let mut result = format!("{}/{name}", &base[..path_start]);
    if let Some(query) = query {
        result.push('?');
        result.push_str(query);
    }
    result
}

#[test]
fn database_names_are_replaced_in_urls() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database("postgres://u:p@host/test?sslmode=disable", "x"),
        "postgres://u:p@host/x?sslmode=disable"
    );
    assert_eq!(
        with_database("postgres://host:5432", "x"),
        "postgres://host:5432/x"
    );
}
