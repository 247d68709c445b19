//! The store's error type.
//!
//! Policy: repository functions return diesel's `QueryResult`; [`super::Store`] turns what
//! reaches it into a [`StoreError`] that says what the caller can do about it: `Unavailable`
//! (the database cannot be reached: retry later, HTTP 503), `NotFound`, `Conflict` (a unique key
//! exists: HTTP 409), `Query` (a bug or a broken database: HTTP 500, logged), or `Panicked` (a
//! write's own code panicked: never retried, since it would panic again), or `Fenced` (the write
//! was made for a partition another node has taken over: never retried, never applied).
//!
//! A database that is there but cannot take writes for now (SQLite: disk full, an I/O error, a
//! read-only or unopenable file; PostgreSQL: a read-only standby after a failover, a server
//! shutting down or starting up) is `Unavailable`: writers keep what they hold and retry, rather
//! than dropping records as if each one were bad.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("query failed: {0}")]
    Query(DieselError),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("a store task panicked: {0}")]
    Panicked(String),
    /// The write was made for a partition under a fencing token older than the one recorded
    /// for it: another node has taken the partition over, and this write must not apply.
    #[error("refused by the fence of partition {partition}: this write holds token {held}, token {recorded} is recorded (another node owns the partition)")]
    Fenced { partition: u16, held: u64, recorded: u64 },
}

impl From<DieselError> for StoreError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::NotFound => StoreError::NotFound,
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                StoreError::Conflict(info.message().to_owned())
            }
            DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection
                | DatabaseErrorKind::ReadOnlyTransaction
                | DatabaseErrorKind::SerializationFailure,
                info,
            ) => StoreError::Unavailable(info.message().to_owned()),
            DieselError::DatabaseError(DatabaseErrorKind::Unknown, ref info)
                if is_connection_message(info.message()) =>
            {
                StoreError::Unavailable(info.message().to_owned())
            }
            other => StoreError::Query(other),
        }
    }
}

impl From<diesel::r2d2::PoolError> for StoreError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        StoreError::Unavailable(e.to_string())
    }
}

/// libpq reports a dropped server as an unknown database error; recognise it by its text.
fn is_connection_message(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "server closed the connection",
        "connection refused",
        "no connection to the server",
        "terminating connection",
        "could not connect",
        "database is locked",
        // SQLite: the file is there but cannot be written for now.
        "database or disk is full",
        "disk i/o error",
        "attempt to write a readonly database",
        "unable to open database file",
        // PostgreSQL: a standby, or a server on its way down or up.
        "read-only transaction",
        "the database system is shutting down",
        "the database system is starting up",
        "the database system is in recovery mode",
        "cannot connect now",
    ]
    .iter()
    .any(|needle| m.contains(needle))
}

impl StoreError {
    /// True when retrying later may succeed.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_that_cannot_take_writes_for_now_is_unavailable_not_broken() {
        for message in [
            "database or disk is full",
            "disk I/O error",
            "attempt to write a readonly database",
            "unable to open database file",
            "cannot execute INSERT in a read-only transaction",
            "FATAL: the database system is shutting down",
            "terminating connection due to administrator command",
            "server closed the connection unexpectedly",
        ] {
            assert!(is_connection_message(message), "{message}");
        }
        for message in ["no such table: alerts", "syntax error", "value too long for type"] {
            assert!(!is_connection_message(message), "{message}");
        }
        assert!(!StoreError::Panicked("boom".into()).is_unavailable());
        for kind in [
            DatabaseErrorKind::ReadOnlyTransaction,
            DatabaseErrorKind::SerializationFailure,
        ] {
            let err = DieselError::DatabaseError(kind, Box::new("standby".to_owned()));
            assert!(StoreError::from(err).is_unavailable());
        }
    }
}
