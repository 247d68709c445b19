//! Parking sessions, one row per car's stay, written by the parking sessions actor.

use diesel::prelude::*;

use crate::store::schema::parking_sessions;
use crate::store::DbConnection;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = parking_sessions, treat_none_as_null = true)]
pub struct ParkingSession {
    pub id: i64,
    pub site: String,
    pub zone: String,
    pub entry_lane: String,
    pub plate: Option<String>,
    pub ticket: Option<String>,
    pub guess: Option<String>,
    pub entered_ms: i64,
    pub state: String,
    pub paid: i64,
    pub paid_at_ms: Option<i64>,
    pub exit_lane: Option<String>,
    pub closed_ms: Option<i64>,
    pub fee: Option<i64>,
    pub last_at_ms: i64,
}

/// Stores the session's latest form: an update, or an insert when it is new. Re-runnable.
pub fn upsert(conn: &mut DbConnection, row: &ParkingSession) -> QueryResult<()> {
    let target = parking_sessions::table.filter(parking_sessions::id.eq(row.id));
    let updated = match conn {
        DbConnection::Sqlite(c) => diesel::update(target).set(row).execute(c)?,
        DbConnection::Pg(c) => diesel::update(target).set(row).execute(c)?,
    };
    if updated == 0 {
        let insert = diesel::insert_into(parking_sessions::table).values(row);
        match conn {
            DbConnection::Sqlite(c) => insert.execute(c)?,
            DbConnection::Pg(c) => insert.execute(c)?,
        };
    }
    Ok(())
}

/// The sessions still open (`open` or `held`).
pub fn open(conn: &mut DbConnection) -> QueryResult<Vec<ParkingSession>> {
    parking_sessions::table
        .filter(parking_sessions::state.eq_any(["open", "held"]))
        .order(parking_sessions::id)
        .select(ParkingSession::as_select())
        .load(conn)
}

pub fn get(conn: &mut DbConnection, id: i64) -> QueryResult<Option<ParkingSession>> {
    parking_sessions::table
        .find(id)
        .select(ParkingSession::as_select())
        .first(conn)
        .optional()
}

/// The latest sessions of a plate or ticket, newest first.
pub fn by_key(conn: &mut DbConnection, key: &str, limit: i64) -> QueryResult<Vec<ParkingSession>> {
    parking_sessions::table
        .filter(parking_sessions::plate.eq(key).or(parking_sessions::ticket.eq(key)))
        .order(parking_sessions::id.desc())
        .limit(limit)
        .select(ParkingSession::as_select())
        .load(conn)
}
