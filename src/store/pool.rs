//! Connection pools and per-connection settings for each backend.

use std::str::FromStr;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel::sqlite::SqliteConnection;
use diesel::Connection;

use super::{DbConnection, StoreError};

/// How long a request waits for a connection before the store counts as unavailable (503).
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(2);
/// How long SQLite waits on a lock held by another connection before failing.
pub const SQLITE_BUSY_TIMEOUT_MS: u32 = 5_000;
/// Reader connections on SQLite (the writer is always one).
pub const SQLITE_READERS: u32 = 4;
/// Connections on PostgreSQL, shared by readers and writers.
pub const PG_CONNECTIONS: u32 = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A parsed `DATABASE_URL`: `sqlite://relative.db`, `sqlite:///absolute.db`, `sqlite::memory:`,
/// or `postgres://...` / `postgresql://...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbUrl {
    Sqlite(String),
    Postgres(String),
}

impl FromStr for DbUrl {
    type Err = StoreError;
    fn from_str(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DbUrl::Postgres(url.to_owned()));
        }
        if url == "sqlite::memory:" || url == "sqlite://:memory:" {
            // Every connection of the pools must see the same database.
            let name = format!("kwanje-mem-{}", rand::random::<u64>());
            return Ok(DbUrl::Sqlite(format!("file:{name}?mode=memory&cache=shared")));
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            if !path.is_empty() {
                return Ok(DbUrl::Sqlite(path.to_owned()));
            }
        }
        Err(StoreError::Unavailable(format!(
            "unsupported DATABASE_URL {url:?}: use sqlite://FILE or postgres://..."
        )))
    }
}

pub(super) struct Pools {
    pub backend: Backend,
    pub reader: Pool<ConnectionManager<DbConnection>>,
    pub writer: Pool<ConnectionManager<DbConnection>>,
}

#[derive(Debug)]
struct Settings;

impl CustomizeConnection<DbConnection, diesel::r2d2::Error> for Settings {
    fn on_acquire(&self, conn: &mut DbConnection) -> Result<(), diesel::r2d2::Error> {
        if let DbConnection::Sqlite(c) = conn {
            c.batch_execute(&format!(
                "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; PRAGMA foreign_keys = ON; \
                 PRAGMA synchronous = NORMAL;"
            ))
            .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

fn build(url: &str, size: u32) -> Result<Pool<ConnectionManager<DbConnection>>, StoreError> {
    Pool::builder()
        .max_size(size)
        .min_idle(Some(1))
        .connection_timeout(CONNECTION_TIMEOUT)
        .connection_customizer(Box::new(Settings))
        .build(ConnectionManager::new(url))
        .map_err(|e| StoreError::Unavailable(format!("cannot open the database: {e}")))
}

impl Pools {
    pub fn open(url: &DbUrl) -> Result<Pools, StoreError> {
        match url {
            DbUrl::Sqlite(path) => {
                // WAL is a property of the database file: set it once, before any pool exists.
                let mut first = SqliteConnection::establish(path)
                    .map_err(|e| StoreError::Unavailable(format!("cannot open {path}: {e}")))?;
                first.batch_execute(&format!(
                    "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; PRAGMA journal_mode = WAL;"
                ))?;
                let writer = build(path, 1)?;
                let reader = build(path, SQLITE_READERS)?;
                // An in-memory database lives while one connection is open: the pools keep
                // one idle connection each, so the first one can go now.
                drop(first);
                Ok(Pools {
                    backend: Backend::Sqlite,
                    reader,
                    writer,
                })
            }
            DbUrl::Postgres(url) => {
                let pool = build(url, PG_CONNECTIONS)?;
                Ok(Pools {
                    backend: Backend::Postgres,
                    reader: pool.clone(),
                    writer: pool,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_select_the_backend() {
        assert_eq!(
            "sqlite://kwanje.db".parse::<DbUrl>().unwrap(),
            DbUrl::Sqlite("kwanje.db".into())
        );
        assert_eq!(
            "sqlite:///var/k.db".parse::<DbUrl>().unwrap(),
            DbUrl::Sqlite("/var/k.db".into())
        );
        assert!(matches!(
            "postgres://u@h/db".parse::<DbUrl>().unwrap(),
            DbUrl::Postgres(_)
        ));
        assert!(matches!("sqlite::memory:".parse::<DbUrl>().unwrap(), DbUrl::Sqlite(s) if s.contains("mode=memory")));
        assert!("mysql://x".parse::<DbUrl>().is_err());
        assert!("sqlite://".parse::<DbUrl>().is_err());
    }
}
