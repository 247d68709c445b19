//! The history of device state changes.

use diesel::prelude::*;

use crate::store::schema::device_transitions;
use crate::store::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = device_transitions)]
pub struct Transition {
    pub id: i64,
    pub device_id: String,
    pub from_state: String,
    pub to_state: String,
    pub reason: String,
    pub at_ms: i64,
}

/// A device's new state with the transition that led to it: what a device actor stores.
#[derive(Debug, Clone)]
pub struct StateChange {
    pub transition: Transition,
    pub last_seen_ms: Option<i64>,
}

/// Stores `changes` in order: every transition, and each device's state as its last change
/// left it. PostgreSQL gets one `UPDATE .. FROM unnest(..)` and one multi-row insert per chunk
/// (a zone losing power is thousands of changes in one batch); SQLite, in-process, a statement
/// each. Re-runnable.
pub fn record_all<'a>(conn: &mut DbConnection, changes: impl IntoIterator<Item = &'a StateChange>) -> QueryResult<()> {
    let changes: Vec<&StateChange> = changes.into_iter().collect();
    match conn {
        DbConnection::Pg(c) => {
            let states = crate::store::latest_by(changes.iter().copied(), |ch| ch.transition.device_id.clone());
            for chunk in states.chunks(crate::store::ROWS_PER_INSERT) {
                let rows: Vec<super::devices::StateRow<'_>> = chunk
                    .iter()
                    .map(|ch| super::devices::StateRow {
                        id: &ch.transition.device_id,
                        state: &ch.transition.to_state,
                        since_ms: ch.transition.at_ms,
                        last_seen_ms: ch.last_seen_ms,
                    })
                    .collect();
                super::devices::set_states_pg(c, &rows)?;
            }
            for chunk in changes.chunks(crate::store::ROWS_PER_INSERT) {
                diesel::insert_into(device_transitions::table)
                    .values(chunk.iter().map(|ch| ch.transition.clone()).collect::<Vec<_>>())
                    .on_conflict(device_transitions::id)
                    .do_nothing()
                    .execute(c)?;
            }
            Ok(())
        }
        DbConnection::Sqlite(_) => changes.into_iter().try_for_each(|ch| {
            let t = &ch.transition;
            super::devices::set_state(conn, &t.device_id, &t.to_state, t.at_ms, ch.last_seen_ms)?;
            insert(conn, t)
        }),
    }
}

/// Inserts `row`, skipping it when its id is stored already (a retried batch).
pub fn insert(conn: &mut DbConnection, row: &Transition) -> QueryResult<()> {
    let insert = diesel::insert_into(device_transitions::table).values(row);
    match conn {
        DbConnection::Sqlite(c) => insert.on_conflict(device_transitions::id).do_nothing().execute(c),
        DbConnection::Pg(c) => insert.on_conflict(device_transitions::id).do_nothing().execute(c),
    }
    .map(|_| ())
}

/// The newest `limit` transitions of one device, newest first.
pub fn recent(conn: &mut DbConnection, device_id: &str, limit: i64) -> QueryResult<Vec<Transition>> {
    device_transitions::table
        .filter(device_transitions::device_id.eq(device_id))
        .order(device_transitions::id.desc())
        .limit(limit)
        .select(Transition::as_select())
        .load(conn)
}

/// A page of one device's transitions, newest first: at most `limit`, older than the id
/// `before` when given (the previous page's cursor).
pub fn page(conn: &mut DbConnection, device_id: &str, before: Option<i64>, limit: i64) -> QueryResult<Vec<Transition>> {
    let mut query = device_transitions::table
        .filter(device_transitions::device_id.eq(device_id))
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(device_transitions::id.lt(before));
    }
    query
        .order(device_transitions::id.desc())
        .limit(limit)
        .select(Transition::as_select())
        .load(conn)
}
