//! Storage: the connection pools, embedded migrations and the repository functions.
//!
//! Owns every SQL statement in the program; nothing above it builds queries. Backends: SQLite
//! (bundled into the binary, the default: `sqlite://kwanje.db`) and PostgreSQL
//! (`postgres://...`), behind one [`DbConnection`] type.
//!
//! Rules kept here so callers cannot get them wrong:
//! - blocking diesel calls never run on an actix arbiter thread: [`Store::read`] and
//!   [`Store::write`] move them to the blocking pool;
//! - SQLite is put in WAL mode once, before the pools exist; every connection gets
//!   `busy_timeout` and `foreign_keys` ([`pool`]);
//! - writes go through one writer connection on SQLite (a pool of one), so writers queue in the
//!   application instead of failing with `SQLITE_BUSY`;
//! - a write closure runs inside one transaction: a state change and the rows that record it
//!   commit together or not at all.
//!
//! Services that store what they are handed in batches (the alert service, the dispatch
//! journal) own a [`writer::Writer`] and supply only their rows and their after-commit step; the
//! loop (gather, batch, retry through an outage, split, drop a poisoned item) is written once
//! there, on the pure [`write_queue`].
//!
//! Errors: repository functions return `QueryResult`; this module maps them to [`StoreError`].

pub mod backup;
pub mod conn;
pub mod error;
mod fenced;
pub mod models;
pub mod pool;
pub mod schema;
pub mod write_queue;
pub mod writer;

use std::future::Future;
use std::sync::Arc;

use diesel::connection::Connection;
use diesel::r2d2::{ConnectionManager, PooledConnection};
use diesel::QueryResult;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub use conn::DbConnection;
pub use error::StoreError;
pub use pool::{Backend, DbUrl};

/// Rows per multi-row statement: under PostgreSQL's 65,535 bind parameters at 20 columns.
pub const ROWS_PER_INSERT: usize = 1_000;

/// `rows` with one per key: the last form of each, at the place of the first.
pub fn latest_by<'a, T, K: std::hash::Hash + Eq>(
    rows: impl IntoIterator<Item = &'a T>,
    key: impl Fn(&T) -> K,
) -> Vec<&'a T> {
    let mut out: Vec<&T> = Vec::new();
    let mut at = std::collections::HashMap::new();
    for row in rows {
        match at.entry(key(row)) {
            std::collections::hash_map::Entry::Occupied(e) => out[*e.get()] = row,
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(out.len());
                out.push(row);
            }
        }
    }
    out
}

/// Rows a service writes in one batched transaction. Re-runnable, for retries.
pub type WriteFn = Arc<dyn Fn(&mut DbConnection) -> diesel::QueryResult<()> + Send + Sync>;
/// Called once the rows are committed.
pub type Committed = Box<dyn FnOnce() + Send>;

/// The migrations in `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<pool::Pools>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("backend", &self.inner.backend).finish()
    }
}

impl Store {
    /// Opens the pools for `url` (see [`DbUrl`]). Fails when the database cannot be reached.
    pub fn open(url: &str) -> Result<Store, StoreError> {
        let url: DbUrl = url.parse()?;
        Ok(Store {
            inner: Arc::new(pool::Pools::open(&url)?),
        })
    }

    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// Runs the pending migrations; returns the names of those it ran.
    pub fn migrate(&self) -> Result<Vec<String>, StoreError> {
        let mut conn = self.inner.writer.get()?;
        let run = match &mut *conn {
            DbConnection::Sqlite(c) => c.run_pending_migrations(MIGRATIONS).map(names),
            DbConnection::Pg(c) => c.run_pending_migrations(MIGRATIONS).map(names),
        };
        run.map_err(|e| StoreError::Migration(e.to_string()))
    }

    /// Runs `f` on a reader connection on the blocking pool.
    pub fn read<T, F>(&self, f: F) -> impl Future<Output = Result<T, StoreError>> + 'static
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> QueryResult<T> + Send + 'static,
    {
        let store = self.clone();
        run_blocking(move || store.read_blocking(f))
    }

    /// Runs `f` in one transaction on the writer, on the blocking pool.
    pub fn write<T, F>(&self, f: F) -> impl Future<Output = Result<T, StoreError>> + 'static
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> QueryResult<T> + Send + 'static,
    {
        let store = self.clone();
        run_blocking(move || store.write_blocking(f))
    }

    /// [`Store::read`] for code that is already off the arbiter threads (CLI, store actors).
    pub fn read_blocking<T>(&self, f: impl FnOnce(&mut DbConnection) -> QueryResult<T>) -> Result<T, StoreError> {
        let mut conn = self.inner.reader.get()?;
        Ok(f(&mut conn)?)
    }

    /// [`Store::write`] for code that is already off the arbiter threads.
    pub fn write_blocking<T>(&self, f: impl FnOnce(&mut DbConnection) -> QueryResult<T>) -> Result<T, StoreError> {
        let mut conn = self.writer_connection()?;
        let conn: &mut DbConnection = &mut conn;
        Ok(conn.transaction(f)?)
    }

    /// The one writer connection (SQLite's writer pool holds one), for a transaction.
    fn writer_connection(&self) -> Result<PooledConnection<ConnectionManager<DbConnection>>, StoreError> {
        Ok(self.inner.writer.get()?)
    }

    /// True when a trivial query succeeds: `/readyz`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.read(|c| {
            use diesel::RunQueryDsl;
            diesel::sql_query("SELECT 1").execute(c).map(|_| ())
        })
        .await
    }
}

fn names(ran: Vec<diesel::migration::MigrationVersion<'_>>) -> Vec<String> {
    ran.iter().map(|v| v.to_string()).collect()
}

async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        if e.is_panic() {
            // The same closure would panic again: a permanent failure, which batching writers
            // isolate and drop, instead of a pause that would block every write behind it.
            StoreError::Panicked(e.to_string())
        } else {
            StoreError::Unavailable(format!("blocking task failed: {e}"))
        }
    })?
}
