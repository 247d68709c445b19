//! Alert receivers (webhooks) and their deliveries: one row per alert change per receiver,
//! written with the change, marked once the receiver accepted it.

use diesel::prelude::*;

use crate::store::schema::{alert_deliveries, alert_receivers};
use crate::store::DbConnection;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = alert_receivers)]
pub struct Receiver {
    pub id: i64,
    pub name: String,
    pub url: String,
    pub min_severity: Option<String>,
    /// Comma-separated alert kinds; `None` for every kind.
    pub kinds: Option<String>,
    pub created_ms: i64,
    pub last_success_ms: Option<i64>,
    pub last_error: Option<String>,
    pub last_error_ms: Option<i64>,
    /// Failed attempts since the last success.
    pub failures: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = alert_deliveries)]
pub struct Delivery {
    pub id: i64,
    pub receiver_id: i64,
    pub alert_id: i64,
    pub version: i32,
    pub idempotency_key: String,
    /// The partition of the change; `None` for node-wide alerts.
    pub part: Option<i32>,
    pub payload: String,
    pub created_ms: i64,
    pub attempts: i32,
    pub next_attempt_ms: i64,
    pub delivered_ms: Option<i64>,
}

pub fn insert(conn: &mut DbConnection, receiver: &Receiver) -> QueryResult<()> {
    diesel::insert_into(alert_receivers::table)
        .values(receiver)
        .execute(conn)
        .map(|_| ())
}

pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<Receiver>> {
    alert_receivers::table
        .select(Receiver::as_select())
        .order(alert_receivers::id)
        .load(conn)
}

/// Removes receiver `id` and what it was still owed; false when there was none.
pub fn delete(conn: &mut DbConnection, id: i64) -> QueryResult<bool> {
    diesel::delete(alert_deliveries::table.filter(alert_deliveries::receiver_id.eq(id))).execute(conn)?;
    diesel::delete(alert_receivers::table.find(id))
        .execute(conn)
        .map(|n| n > 0)
}

/// Inserts `rows`, skipping ids stored already (a batch retried after a lost acknowledgement);
/// PostgreSQL gets one multi-row insert per chunk, SQLite one statement a row.
pub fn insert_deliveries<'a>(conn: &mut DbConnection, rows: impl IntoIterator<Item = &'a Delivery>) -> QueryResult<()> {
    let rows: Vec<&Delivery> = rows.into_iter().collect();
    match conn {
        DbConnection::Pg(c) => {
            for chunk in rows.chunks(crate::store::ROWS_PER_INSERT) {
                diesel::insert_into(alert_deliveries::table)
                    .values(chunk.iter().map(|r| (*r).clone()).collect::<Vec<_>>())
                    .on_conflict(alert_deliveries::id)
                    .do_nothing()
                    .execute(c)?;
            }
        }
        DbConnection::Sqlite(c) => {
            for row in rows {
                diesel::insert_into(alert_deliveries::table)
                    .values(row)
                    .on_conflict(alert_deliveries::id)
                    .do_nothing()
                    .execute(c)?;
            }
        }
    }
    Ok(())
}

/// The oldest undelivered rows of `receiver_id` among those of `parts` (and of no partition,
/// when `unparted`), in id order.
pub fn pending(
    conn: &mut DbConnection,
    receiver_id: i64,
    parts: &[i32],
    unparted: bool,
    limit: i64,
) -> QueryResult<Vec<Delivery>> {
    let mut query = alert_deliveries::table
        .filter(alert_deliveries::receiver_id.eq(receiver_id))
        .filter(alert_deliveries::delivered_ms.is_null())
        .into_boxed();
    query = if unparted {
        query.filter(
            alert_deliveries::part
                .eq_any(parts.to_vec())
                .or(alert_deliveries::part.is_null()),
        )
    } else {
        query.filter(alert_deliveries::part.eq_any(parts.to_vec()))
    };
    query
        .order(alert_deliveries::id)
        .limit(limit)
        .select(Delivery::as_select())
        .load(conn)
}

/// How many rows each receiver is still owed.
pub fn pending_counts(conn: &mut DbConnection) -> QueryResult<Vec<(i64, i64)>> {
    alert_deliveries::table
        .filter(alert_deliveries::delivered_ms.is_null())
        .group_by(alert_deliveries::receiver_id)
        .select((alert_deliveries::receiver_id, diesel::dsl::count_star()))
        .load(conn)
}

/// Delivery `id` was accepted at `at_ms`: marked, and its receiver healthy.
pub fn delivered(conn: &mut DbConnection, id: i64, receiver_id: i64, at_ms: i64) -> QueryResult<()> {
    diesel::update(alert_deliveries::table.find(id))
        .set(alert_deliveries::delivered_ms.eq(Some(at_ms)))
        .execute(conn)?;
    diesel::update(alert_receivers::table.find(receiver_id))
        .set((
            alert_receivers::last_success_ms.eq(Some(at_ms)),
            alert_receivers::failures.eq(0),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Delivery `id` failed at `at_ms` with `error`: tried again at `retry_at_ms`.
pub fn failed(
    conn: &mut DbConnection,
    id: i64,
    receiver_id: i64,
    error: &str,
    at_ms: i64,
    retry_at_ms: i64,
) -> QueryResult<()> {
    diesel::update(alert_deliveries::table.find(id))
        .set((
            alert_deliveries::attempts.eq(alert_deliveries::attempts + 1),
            alert_deliveries::next_attempt_ms.eq(retry_at_ms),
        ))
        .execute(conn)?;
    diesel::update(alert_receivers::table.find(receiver_id))
        .set((
            alert_receivers::last_error.eq(Some(error)),
            alert_receivers::last_error_ms.eq(Some(at_ms)),
            alert_receivers::failures.eq(alert_receivers::failures + 1),
        ))
        .execute(conn)
        .map(|_| ())
}
