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
    /// When an admin took it out of service (its history stays); `None` while registered.
    pub decommissioned_ms: Option<i64>,
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
            decommissioned_ms: None,
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

/// [`find`], with the row locked until the transaction ends on PostgreSQL (SQLite has one
/// writer: its transactions never overlap).
pub fn find_for_update(conn: &mut DbConnection, id: &str) -> QueryResult<Option<Device>> {
    match conn {
        DbConnection::Pg(c) => devices::table
            .find(id)
            .select(Device::as_select())
            .for_update()
            .first(c)
            .optional(),
        DbConnection::Sqlite(c) => devices::table.find(id).select(Device::as_select()).first(c).optional(),
    }
}

/// Every device in service (not decommissioned), by id.
pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<Device>> {
    devices::table
        .filter(devices::decommissioned_ms.is_null())
        .select(Device::as_select())
        .order(devices::id)
        .load(conn)
}

/// What an edit changes in a device's row: its registered configuration (not its kind, not
/// its state).
#[derive(Debug, Clone, PartialEq, Eq, AsChangeset)]
#[diesel(table_name = devices, treat_none_as_null = true)]
pub struct SpecChange {
    pub client_id: String,
    pub site: Option<String>,
    pub zone: Option<String>,
    pub lane: Option<String>,
    pub standby_id: Option<String>,
    pub heartbeat_interval_ms: i64,
    pub miss_tolerance: i32,
    pub auto_failover: bool,
}

/// Edits the configuration of device `id` while it is in service; false when there is none.
pub fn set_spec(conn: &mut DbConnection, id: &str, change: &SpecChange) -> QueryResult<bool> {
    diesel::update(devices::table.find(id).filter(devices::decommissioned_ms.is_null()))
        .set(change)
        .execute(conn)
        .map(|n| n > 0)
}

/// Takes device `id` out of service at `at_ms`; false when it was not in service.
pub fn decommission(conn: &mut DbConnection, id: &str, at_ms: i64) -> QueryResult<bool> {
    diesel::update(devices::table.find(id).filter(devices::decommissioned_ms.is_null()))
        .set(devices::decommissioned_ms.eq(Some(at_ms)))
        .execute(conn)
        .map(|n| n > 0)
}

/// Registers `device` in place of a decommissioned row of the same id (its history stays);
/// false when no decommissioned row has that id.
pub fn revive(conn: &mut DbConnection, device: &Device) -> QueryResult<bool> {
    diesel::update(
        devices::table
            .find(&device.id)
            .filter(devices::decommissioned_ms.is_not_null()),
    )
    .set((
        devices::kind.eq(&device.kind),
        devices::state.eq(&device.state),
        devices::state_since_ms.eq(device.state_since_ms),
        devices::last_seen_ms.eq(device.last_seen_ms),
        devices::restarts.eq(device.restarts),
        devices::active.eq(device.active),
        devices::created_ms.eq(device.created_ms),
        devices::decommissioned_ms.eq(None::<i64>),
        SpecChange::of(device),
    ))
    .execute(conn)
    .map(|n| n > 0)
}

/// The devices in service that name `id` as their standby.
pub fn standing_in_for(conn: &mut DbConnection, id: &str) -> QueryResult<Vec<String>> {
    devices::table
        .filter(devices::standby_id.eq(id))
        .filter(devices::id.ne(id))
        .filter(devices::decommissioned_ms.is_null())
        .select(devices::id)
        .order(devices::id)
        .load(conn)
}

/// How many devices in service `client_id` hosts.
pub fn count_hosted(conn: &mut DbConnection, client_id: &str) -> QueryResult<i64> {
    devices::table
        .filter(devices::client_id.eq(client_id))
        .filter(devices::decommissioned_ms.is_null())
        .count()
        .get_result(conn)
}

impl SpecChange {
    pub fn of(device: &Device) -> SpecChange {
        SpecChange {
            client_id: device.client_id.clone(),
            site: device.site.clone(),
            zone: device.zone.clone(),
            lane: device.lane.clone(),
            standby_id: device.standby_id.clone(),
            heartbeat_interval_ms: device.heartbeat_interval_ms,
            miss_tolerance: device.miss_tolerance,
            auto_failover: device.auto_failover,
        }
    }
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
