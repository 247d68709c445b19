//! Per-terminal dispatch state and settings, and the dispatch records.
//!
//! `dispatch_terminals` keeps each terminal's mode and the dispatcher's serialised snapshot;
//! `dispatch_curb_slots` the bays an operator set, one row per (terminal, scope);
//! `dispatch_records` every dispatch event, append-only. Upserts are written as update-then-
//! insert so that the same statements run on both backends.

use diesel::prelude::*;

use crate::store::schema::{dispatch_curb_slots, dispatch_records, dispatch_terminals};
use crate::store::DbConnection;

/// The curb-slot scope of integrated mode.
pub const SCOPE_ALL: &str = "all";

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = dispatch_terminals)]
pub struct TerminalRow {
    pub terminal: String,
    pub mode: String,
    pub snapshot: Option<String>,
    pub restarts: i32,
    pub updated_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = dispatch_curb_slots)]
pub struct CurbSlotRow {
    pub terminal: String,
    pub scope: String,
    pub slots: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = dispatch_records)]
pub struct DispatchRecord {
    pub id: i64,
    pub terminal: String,
    pub kind: String,
    pub plate: Option<String>,
    pub request_id: Option<i64>,
    pub distance_m: Option<i64>,
    pub detail: String,
    pub at_ms: i64,
}

pub fn terminals(conn: &mut DbConnection) -> QueryResult<Vec<TerminalRow>> {
    dispatch_terminals::table
        .select(TerminalRow::as_select())
        .order(dispatch_terminals::terminal)
        .load(conn)
}

/// Stores a terminal's snapshot (and mode), creating its row on first use.
pub fn save_snapshot(
    conn: &mut DbConnection,
    terminal: &str,
    mode: &str,
    snapshot: &str,
    now_ms: i64,
) -> QueryResult<()> {
    let updated = diesel::update(dispatch_terminals::table.find(terminal))
        .set((
            dispatch_terminals::mode.eq(mode),
            dispatch_terminals::snapshot.eq(Some(snapshot)),
            dispatch_terminals::updated_ms.eq(now_ms),
        ))
        .execute(conn)?;
    if updated == 0 {
        let row = TerminalRow {
            terminal: terminal.to_owned(),
            mode: mode.to_owned(),
            snapshot: Some(snapshot.to_owned()),
            restarts: 0,
            updated_ms: now_ms,
        };
        diesel::insert_into(dispatch_terminals::table)
            .values(&row)
            .execute(conn)?;
    }
    Ok(())
}

pub fn set_terminal_restarts(conn: &mut DbConnection, terminal: &str, restarts: i32) -> QueryResult<()> {
    diesel::update(dispatch_terminals::table.find(terminal))
        .set(dispatch_terminals::restarts.eq(restarts))
        .execute(conn)
        .map(|_| ())
}

/// Replaces a terminal's curb slots of one mode: the `all` row for integrated mode, every
/// region row for regional mode.
pub fn replace_curb_slots(
    conn: &mut DbConnection,
    terminal: &str,
    integrated: bool,
    rows: &[CurbSlotRow],
) -> QueryResult<()> {
    let of_terminal = dispatch_curb_slots::terminal.eq(terminal);
    if integrated {
        diesel::delete(dispatch_curb_slots::table.filter(of_terminal.and(dispatch_curb_slots::scope.eq(SCOPE_ALL))))
            .execute(conn)?;
    } else {
        diesel::delete(dispatch_curb_slots::table.filter(of_terminal.and(dispatch_curb_slots::scope.ne(SCOPE_ALL))))
            .execute(conn)?;
    }
    for row in rows {
        diesel::insert_into(dispatch_curb_slots::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

pub fn curb_slots(conn: &mut DbConnection, terminal: &str) -> QueryResult<Vec<CurbSlotRow>> {
    dispatch_curb_slots::table
        .filter(dispatch_curb_slots::terminal.eq(terminal))
        .select(CurbSlotRow::as_select())
        .order(dispatch_curb_slots::scope)
        .load(conn)
}

/// Inserts records with multi-row statements, chunked because SQLite caps the bound
/// parameters of one statement. Multi-row inserts are per backend: diesel's multi-connection
/// type does not offer them.
///
/// A record whose id is stored already is skipped, so a batch retried after a commit whose
/// acknowledgement was lost (the connection dropped after COMMIT) is not refused as a conflict
/// and dropped record by record. (diesel offers no conflict clause on SQLite's multi-row
/// inserts, so there the ids of a chunk stored already are looked up and left out.)
pub fn insert_records(conn: &mut DbConnection, records: &[DispatchRecord]) -> QueryResult<()> {
    for chunk in records.chunks(RECORDS_PER_INSERT) {
        match conn {
            DbConnection::Sqlite(c) => {
                let ids: Vec<i64> = chunk.iter().map(|r| r.id).collect();
                let stored: Vec<i64> = dispatch_records::table
                    .filter(dispatch_records::id.eq_any(&ids))
                    .select(dispatch_records::id)
                    .load(c)?;
                if stored.is_empty() {
                    diesel::insert_into(dispatch_records::table).values(chunk).execute(c)?;
                } else {
                    let fresh: Vec<&DispatchRecord> = chunk.iter().filter(|r| !stored.contains(&r.id)).collect();
                    if !fresh.is_empty() {
                        diesel::insert_into(dispatch_records::table).values(fresh).execute(c)?;
                    }
                }
            }
            DbConnection::Pg(c) => {
                diesel::insert_into(dispatch_records::table)
                    .values(chunk)
                    .on_conflict(dispatch_records::id)
                    .do_nothing()
                    .execute(c)?;
            }
        };
    }
    Ok(())
}

/// Rows per multi-row insert (8 columns each, well under SQLite's parameter cap).
const RECORDS_PER_INSERT: usize = 500;

/// A terminal's records in the order they happened.
pub fn records(conn: &mut DbConnection, terminal: &str) -> QueryResult<Vec<DispatchRecord>> {
    dispatch_records::table
        .filter(dispatch_records::terminal.eq(terminal))
        .select(DispatchRecord::as_select())
        .order(dispatch_records::id)
        .load(conn)
}
