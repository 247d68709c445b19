//! One connection type over both backends, chosen at run time by the database URL.

use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;

/// A connection to SQLite (the embedded default) or PostgreSQL.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}
