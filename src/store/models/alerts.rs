//! Alerts: one row per alert, updated in place through its lifecycle (`version` counts changes).

use diesel::prelude::*;

use crate::store::schema::alerts;
use crate::store::DbConnection;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = alerts, treat_none_as_null = true)]
pub struct Alert {
    pub id: i64,
    pub subject_type: String,
    pub subject_id: String,
    pub kind: String,
    pub severity: String,
    pub state: String,
    pub count: i32,
    pub detail: Option<String>,
    pub opened_ms: i64,
    pub updated_ms: i64,
    pub acked_by: Option<String>,
    pub acked_ms: Option<i64>,
    pub ack_note: Option<String>,
    pub resolved_by: Option<String>,
    pub resolved_ms: Option<i64>,
    pub suppressed_by: Option<i64>,
    pub version: i32,
    /// When it was last notified (raised, changed or re-notified).
    pub notified_ms: Option<i64>,
}

/// Writes the alert as it is now: inserts it the first time, updates it after.
pub fn save(conn: &mut DbConnection, alert: &Alert) -> QueryResult<()> {
    let updated = diesel::update(alerts::table.find(alert.id)).set(alert).execute(conn)?;
    if updated == 0 {
        diesel::insert_into(alerts::table).values(alert).execute(conn)?;
    }
    Ok(())
}

/// [`save`] for many: each alert's latest form at the place of its first (so an alert resolved
/// in the batch is stored resolved before a new open one of the same subject, as the one-open
/// index needs). PostgreSQL gets one multi-row `INSERT .. ON CONFLICT DO UPDATE` per chunk: an
/// alert storm is thousands of rows, and a round trip each was most of its time.
pub fn save_all<'a>(conn: &mut DbConnection, rows: impl IntoIterator<Item = &'a Alert>) -> QueryResult<()> {
    let rows = crate::store::latest_by(rows, |a| a.id);
    match conn {
        DbConnection::Pg(c) => {
            use alerts::dsl as a;
            use diesel::upsert::excluded;
            for chunk in rows.chunks(crate::store::ROWS_PER_INSERT) {
                diesel::insert_into(alerts::table)
                    .values(chunk.iter().map(|r| (*r).clone()).collect::<Vec<_>>())
                    .on_conflict(a::id)
                    .do_update()
                    .set((
                        (
                            a::subject_type.eq(excluded(a::subject_type)),
                            a::subject_id.eq(excluded(a::subject_id)),
                            a::kind.eq(excluded(a::kind)),
                            a::severity.eq(excluded(a::severity)),
                            a::state.eq(excluded(a::state)),
                            a::count.eq(excluded(a::count)),
                            a::detail.eq(excluded(a::detail)),
                            a::opened_ms.eq(excluded(a::opened_ms)),
                            a::updated_ms.eq(excluded(a::updated_ms)),
                        ),
                        (
                            a::acked_by.eq(excluded(a::acked_by)),
                            a::acked_ms.eq(excluded(a::acked_ms)),
                            a::ack_note.eq(excluded(a::ack_note)),
                            a::resolved_by.eq(excluded(a::resolved_by)),
                            a::resolved_ms.eq(excluded(a::resolved_ms)),
                            a::suppressed_by.eq(excluded(a::suppressed_by)),
                            a::version.eq(excluded(a::version)),
                            a::notified_ms.eq(excluded(a::notified_ms)),
                        ),
                    ))
                    .execute(c)?;
            }
            Ok(())
        }
        DbConnection::Sqlite(_) => rows.into_iter().try_for_each(|row| save(conn, row)),
    }
}

pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<Alert>> {
    alerts::table.find(id).select(Alert::as_select()).first(conn).optional()
}

/// Every alert that is not resolved: what the alert book starts from.
pub fn unresolved(conn: &mut DbConnection) -> QueryResult<Vec<Alert>> {
    alerts::table
        .filter(alerts::state.ne("resolved"))
        .order(alerts::id)
        .select(Alert::as_select())
        .load(conn)
}

/// Filters for [`page`].
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub state: Option<String>,
    pub subject_id: Option<String>,
    pub kind: Option<String>,
}

/// Alerts newest first, with ids below `before` (the cursor).
pub fn page(conn: &mut DbConnection, filter: &Filter, before: Option<i64>, limit: i64) -> QueryResult<Vec<Alert>> {
    let mut q = alerts::table
        .select(Alert::as_select())
        .order(alerts::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(state) = &filter.state {
        q = q.filter(alerts::state.eq(state.clone()));
    }
    if let Some(subject) = &filter.subject_id {
        q = q.filter(alerts::subject_id.eq(subject.clone()));
    }
    if let Some(kind) = &filter.kind {
        q = q.filter(alerts::kind.eq(kind.clone()));
    }
    if let Some(before) = before {
        q = q.filter(alerts::id.lt(before));
    }
    q.load(conn)
}
