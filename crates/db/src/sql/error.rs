//! `DbErr` → [`StoreError`]: the one place sea-orm's errors are classified, so none crosses a
//! port.
//!
//! - The database cannot be reached, is shutting down, or is too busy (connection refused or
//!   dropped, pool timeout, Postgres class 08/57P0x/53300, `SQLite` BUSY/LOCKED) → `Unavailable`:
//!   the user is told to try again shortly and the outbox may hold the write.
//! - A unique violation → `Conflict`. Call sites that know what was duplicated (a playlist name)
//!   map it themselves to the sentence in `messages`; this is the fallback.
//! - Everything else → `Internal` with the cause, for the log.

use minstrel_app::ports::StoreError;
use sea_orm::sqlx;
use sea_orm::{DbErr, RuntimeErr, SqlErr};

// By value, so call sites read `.map_err(store_error)`.
#[allow(clippy::needless_pass_by_value)]
pub(crate) fn store_error(error: DbErr) -> StoreError {
    if is_unavailable(&error) {
        return StoreError::Unavailable(error.to_string());
    }
    if let Some(SqlErr::UniqueConstraintViolation(_)) = error.sql_err() {
        return StoreError::Conflict(
            "that was changed by someone else at the same moment; please try again".to_owned(),
        );
    }
    StoreError::Internal(error.to_string())
}

/// Whether `error` is a unique-key violation (callers turn it into their own sentence).
pub(crate) fn is_unique_violation(error: &DbErr) -> bool {
    matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// Whether `error` is a foreign-key violation (a referenced row is gone).
pub(crate) fn is_foreign_key_violation(error: &DbErr) -> bool {
    matches!(
        error.sql_err(),
        Some(SqlErr::ForeignKeyConstraintViolation(_))
    )
}

fn is_unavailable(error: &DbErr) -> bool {
    match error {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(cause)) | DbErr::Query(RuntimeErr::SqlxError(cause)) => {
            sqlx_unavailable(cause)
        }
        _ => false,
    }
}

fn sqlx_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::BeginFailed => true,
        sqlx::Error::Database(database) => database.code().is_some_and(|code| {
            // Postgres: connection_exception (08…), admin/crash shutdown and cannot_connect_now
            // (57P01‥03), too_many_connections (53300). SQLite: BUSY (5) and LOCKED (6), with
            // their extended codes (low byte).
            code.starts_with("08")
                || matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "53300")
                || code
                    .parse::<i32>()
                    .is_ok_and(|sqlite| matches!(sqlite & 0xff, 5 | 6))
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use sea_orm::ConnAcquireErr;

    use super::*;

    #[test]
    fn connection_problems_are_unavailable() {
        for error in [
            DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
            DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
            DbErr::Conn(RuntimeErr::Internal("refused".to_owned())),
            DbErr::Query(RuntimeErr::SqlxError(Arc::new(sqlx::Error::PoolClosed))),
            DbErr::Exec(RuntimeErr::SqlxError(Arc::new(sqlx::Error::Io(
                std::io::Error::from(std::io::ErrorKind::ConnectionReset),
            )))),
        ] {
            assert!(
                matches!(store_error(error.clone()), StoreError::Unavailable(_)),
                "{error:?}"
            );
        }
    }

    #[test]
    fn other_errors_are_internal_and_keep_their_cause() {
        let error = store_error(DbErr::Custom("the cause".to_owned()));
        assert!(matches!(&error, StoreError::Internal(cause) if cause.contains("the cause")));
        assert_eq!(error.to_string(), "storage failed");
    }
}
