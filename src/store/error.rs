//! The store's error type.
//!
//! Policy: repository functions return diesel's `QueryResult`; [`super::Store`] turns what
//! reaches it into a [`StoreError`] that says what the caller can do about it: `Unavailable`
//! (the database cannot be reached: retry later, HTTP 503), `NotFound`, `Conflict` (a unique key
//! exists: HTTP 409), or `Query` (a bug or a broken database: HTTP 500, logged).

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
}

impl From<DieselError> for StoreError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::NotFound => StoreError::NotFound,
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                StoreError::Conflict(info.message().to_owned())
            }
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                StoreError::Unavailable(info.message().to_owned())
            }
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
