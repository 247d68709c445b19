//! Payments the kiosks took for parking sessions; one per `Idempotency-Key`, ever.

use diesel::prelude::*;

use crate::store::schema::parking_payments;
use crate::store::DbConnection;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = parking_payments)]
pub struct ParkingPayment {
    pub id: i64,
    pub session_id: i64,
    pub amount: i64,
    pub method: String,
    pub reference: Option<String>,
    pub idempotency_key: String,
    pub principal: String,
    pub at_ms: i64,
}

/// Inserts the payment, skipping it when its id is stored already (a retried batch).
pub fn insert(conn: &mut DbConnection, row: &ParkingPayment) -> QueryResult<()> {
    let insert = diesel::insert_into(parking_payments::table).values(row);
    match conn {
        DbConnection::Sqlite(c) => insert.on_conflict(parking_payments::id).do_nothing().execute(c),
        DbConnection::Pg(c) => insert.on_conflict(parking_payments::id).do_nothing().execute(c),
    }
    .map(|_| ())
}

/// The payments of these sessions, oldest first.
pub fn of_sessions(conn: &mut DbConnection, sessions: &[i64]) -> QueryResult<Vec<ParkingPayment>> {
    parking_payments::table
        .filter(parking_payments::session_id.eq_any(sessions))
        .order(parking_payments::id)
        .select(ParkingPayment::as_select())
        .load(conn)
}

pub fn by_key(conn: &mut DbConnection, key: &str) -> QueryResult<Option<ParkingPayment>> {
    parking_payments::table
        .filter(parking_payments::idempotency_key.eq(key))
        .select(ParkingPayment::as_select())
        .first(conn)
        .optional()
}
