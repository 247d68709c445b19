//! Registered devices and their last recorded state.

use diesel::prelude::*;

use crate::store::schema::devices;
use crate::store::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = devices)]
pub struct Device {
    pub id: String,
    pub kind: String,
    pub client_id: String,
    pub site: Option<String>,
    pub zone: Option<String>,
    pub lane: Option<String>,
    pub standby_id: Option<String>,
    pub heartbeat_interval_ms: i64,
    pub miss_tolerance: i32,
    pub auto_failover: bool,
    pub state: String,
    pub state_since_ms: i64,
    pub last_seen_ms: Option<i64>,
    pub restarts: i32,
    pub active: bool,
    pub created_ms: i64,
}

impl Device {
    /// The row of a device just registered: state `unknown` since `now_ms`, never seen, no
    /// restarts, active, no site/zone/lane/standby, no automatic failover.
    pub fn registered(id: &str, kind: &str, client_id: &str, interval_ms: i64, tolerance: i32, now_ms: i64) -> Device {
        Device {
            id: id.to_owned(),
            kind: kind.to_owned(),
            client_id: client_id.to_owned(),
            site: None,
            zone: None,
            lane: None,
            standby_id: None,
            heartbeat_interval_ms: interval_ms,
            miss_tolerance: tolerance,
            auto_failover: false,
            state: "unknown".to_owned(),
            state_since_ms: now_ms,
            last_seen_ms: None,
            restarts: 0,
            active: true,
            created_ms: now_ms,
        }
    }
}

pub fn insert(conn: &mut DbConnection, device: &Device) -> QueryResult<()> {
    diesel::insert_into(devices::table)
        .values(device)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<Device>> {
    devices::table
        .find(id)
        .select(Device::as_select())
        .first(conn)
        .optional()
}

pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<Device>> {
    devices::table.select(Device::as_select()).order(devices::id).load(conn)
}

/// A device's stored state as one change leaves it (what [`set_states_pg`] writes).
#[derive(Debug, Clone, Copy)]
pub struct StateRow<'a> {
    pub id: &'a str,
    pub state: &'a str,
    pub since_ms: i64,
    pub last_seen_ms: Option<i64>,
}

/// Each row's device to its `state`, since `since_ms`, last seen `last_seen_ms`: one
/// statement for the chunk (at most one row a device).
pub fn set_states_pg(conn: &mut diesel::PgConnection, rows: &[StateRow<'_>]) -> QueryResult<()> {
    use diesel::sql_types::{Array, BigInt, Nullable, Text};
    let ids: Vec<&str> = rows.iter().map(|r| r.id).collect();
    let states: Vec<&str> = rows.iter().map(|r| r.state).collect();
    let since: Vec<i64> = rows.iter().map(|r| r.since_ms).collect();
    let seen: Vec<Option<i64>> = rows.iter().map(|r| r.last_seen_ms).collect();
    diesel::sql_query(
        "UPDATE devices SET state = v.state, state_since_ms = v.since, last_seen_ms = v.seen \
         FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS v(id, state, since, seen) \
         WHERE devices.id = v.id",
    )
    .bind::<Array<Text>, _>(ids)
    .bind::<Array<Text>, _>(states)
    .bind::<Array<BigInt>, _>(since)
    .bind::<Array<Nullable<BigInt>>, _>(seen)
    .execute(conn)
    .map(|_| ())
}

/// Records a state change (and when the device was last seen, as of that change).
pub fn set_state(
    conn: &mut DbConnection,
    id: &str,
    state: &str,
    since_ms: i64,
    last_seen_ms: Option<i64>,
) -> QueryResult<()> {
    diesel::update(devices::table.find(id))
        .set((
            devices::state.eq(state),
            devices::state_since_ms.eq(since_ms),
            devices::last_seen_ms.eq(last_seen_ms),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn set_restarts(conn: &mut DbConnection, id: &str, restarts: i32) -> QueryResult<()> {
    diesel::update(devices::table.find(id))
        .set(devices::restarts.eq(restarts))
        .execute(conn)
        .map(|_| ())
}

pub fn set_active(conn: &mut DbConnection, id: &str, active: bool) -> QueryResult<()> {
    diesel::update(devices::table.find(id))
        .set(devices::active.eq(active))
        .execute(conn)
        .map(|_| ())
}
