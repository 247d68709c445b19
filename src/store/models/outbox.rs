//! The transactional outbox: messages written with the change that caused them.

use diesel::prelude::*;

use crate::store::schema::outbox;
use crate::store::DbConnection;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    pub id: i64,
    /// Where it is published (`/topic/alerts`).
    pub topic: String,
    /// The ordering key: rows of one subject are published in id order.
    pub subject: String,
    /// The message body (JSON).
    pub payload: String,
    pub created_ms: i64,
    pub delivered_ms: Option<i64>,
}

/// Inserts `row`, skipping it when its id is stored already: a batch retried after a commit
/// whose acknowledgement was lost writes it once.
pub fn insert(conn: &mut DbConnection, row: &OutboxRow) -> QueryResult<()> {
    let insert = diesel::insert_into(outbox::table).values(row);
    match conn {
        DbConnection::Sqlite(c) => insert.on_conflict(outbox::id).do_nothing().execute(c),
        DbConnection::Pg(c) => insert.on_conflict(outbox::id).do_nothing().execute(c),
    }
    .map(|_| ())
}

/// [`insert`] for many; PostgreSQL gets one multi-row insert per chunk.
pub fn insert_all<'a>(conn: &mut DbConnection, rows: impl IntoIterator<Item = &'a OutboxRow>) -> QueryResult<()> {
    match conn {
        DbConnection::Pg(c) => {
            let rows: Vec<&OutboxRow> = rows.into_iter().collect();
            for chunk in rows.chunks(crate::store::ROWS_PER_INSERT) {
                diesel::insert_into(outbox::table)
                    .values(chunk.iter().map(|r| (*r).clone()).collect::<Vec<_>>())
                    .on_conflict(outbox::id)
                    .do_nothing()
                    .execute(c)?;
            }
            Ok(())
        }
        DbConnection::Sqlite(_) => rows.into_iter().try_for_each(|row| insert(conn, row)),
    }
}

/// Rows not yet marked delivered with ids above `after`, oldest first.
pub fn undelivered(conn: &mut DbConnection, after: i64, limit: i64) -> QueryResult<Vec<OutboxRow>> {
    outbox::table
        .filter(outbox::delivered_ms.is_null())
        .filter(outbox::id.gt(after))
        .order(outbox::id)
        .limit(limit)
        .select(OutboxRow::as_select())
        .load(conn)
}

pub fn mark_delivered(conn: &mut DbConnection, ids: &[i64], at_ms: i64) -> QueryResult<usize> {
    diesel::update(outbox::table.filter(outbox::id.eq_any(ids)))
        .set(outbox::delivered_ms.eq(at_ms))
        .execute(conn)
}

pub fn count_undelivered(conn: &mut DbConnection) -> QueryResult<i64> {
    outbox::table
        .filter(outbox::delivered_ms.is_null())
        .count()
        .get_result(conn)
}
