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

/// Stores the latest form of each session in `rows` (the last of an id wins). PostgreSQL gets one
/// multi-row `INSERT .. ON CONFLICT DO UPDATE` per chunk (a round trip per row would hold a lane's
/// rows behind the network); SQLite, in-process, gets [`upsert`] per row. Re-runnable.
pub fn upsert_all<'a>(conn: &mut DbConnection, rows: impl IntoIterator<Item = &'a ParkingSession>) -> QueryResult<()> {
    let latest = crate::store::latest_by(rows, |r| r.id);
    match conn {
        DbConnection::Pg(c) => {
            use diesel::upsert::excluded;
            use parking_sessions::dsl as s;
            for chunk in latest.chunks(crate::store::ROWS_PER_INSERT) {
                diesel::insert_into(parking_sessions::table)
                    .values(chunk.iter().copied().cloned().collect::<Vec<_>>())
                    .on_conflict(s::id)
                    .do_update()
                    .set((
                        s::site.eq(excluded(s::site)),
                        s::zone.eq(excluded(s::zone)),
                        s::entry_lane.eq(excluded(s::entry_lane)),
                        s::plate.eq(excluded(s::plate)),
                        s::ticket.eq(excluded(s::ticket)),
                        s::guess.eq(excluded(s::guess)),
                        s::entered_ms.eq(excluded(s::entered_ms)),
                        s::state.eq(excluded(s::state)),
                        s::paid.eq(excluded(s::paid)),
                        s::paid_at_ms.eq(excluded(s::paid_at_ms)),
                        s::exit_lane.eq(excluded(s::exit_lane)),
                        s::closed_ms.eq(excluded(s::closed_ms)),
                        s::fee.eq(excluded(s::fee)),
                        s::last_at_ms.eq(excluded(s::last_at_ms)),
                    ))
                    .execute(c)?;
            }
            Ok(())
        }
        DbConnection::Sqlite(_) => latest.into_iter().try_for_each(|row| upsert(conn, row)),
    }
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
