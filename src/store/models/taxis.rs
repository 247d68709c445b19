//! Registered taxis: plate, licence, class, the driver's chosen service region, the blacklist,
//! the terminal whose lot last read the plate, and the actor's restart count.

use diesel::prelude::*;

use crate::store::schema::taxis;
use crate::store::DbConnection;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = taxis)]
pub struct Taxi {
    pub plate: String,
    pub license_region: String,
    pub class: String,
    pub service_region: Option<String>,
    pub blacklisted: bool,
    pub reason: Option<String>,
    pub terminal: Option<String>,
    pub restarts: i32,
    pub created_ms: i64,
    pub updated_ms: i64,
    /// When an admin took it out of service (its history stays); `None` while registered.
    pub decommissioned_ms: Option<i64>,
}

impl Taxi {
    /// The row of a taxi just registered at `now_ms`: no service region chosen, not
    /// blacklisted, at no terminal, never restarted.
    pub fn registered(plate: &str, license_region: &str, class: &str, now_ms: i64) -> Taxi {
        Taxi {
            plate: plate.to_owned(),
            license_region: license_region.to_owned(),
            class: class.to_owned(),
            service_region: None,
            blacklisted: false,
            reason: None,
            terminal: None,
            restarts: 0,
            created_ms: now_ms,
            updated_ms: now_ms,
            decommissioned_ms: None,
        }
    }
}

/// The part of a taxi's row its actor changes.
#[derive(Debug, Clone, PartialEq, Eq, AsChangeset)]
#[diesel(table_name = taxis, treat_none_as_null = true)]
pub struct TaxiChange {
    pub license_region: String,
    pub class: String,
    pub service_region: Option<String>,
    pub blacklisted: bool,
    pub reason: Option<String>,
    pub terminal: Option<String>,
    pub updated_ms: i64,
}

pub fn insert(conn: &mut DbConnection, taxi: &Taxi) -> QueryResult<()> {
    diesel::insert_into(taxis::table).values(taxi).execute(conn).map(|_| ())
}

/// Taxi `plate` while it is in service (not decommissioned).
pub fn find(conn: &mut DbConnection, plate: &str) -> QueryResult<Option<Taxi>> {
    taxis::table
        .find(plate)
        .filter(taxis::decommissioned_ms.is_null())
        .select(Taxi::as_select())
        .first(conn)
        .optional()
}

/// Every taxi in service, by plate.
pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<Taxi>> {
    taxis::table
        .filter(taxis::decommissioned_ms.is_null())
        .select(Taxi::as_select())
        .order(taxis::plate)
        .load(conn)
}

/// Registers `taxi` in place of a decommissioned row of the same plate (its history stays);
/// false when no decommissioned row has that plate.
pub fn revive(conn: &mut DbConnection, taxi: &Taxi) -> QueryResult<bool> {
    diesel::update(
        taxis::table
            .find(&taxi.plate)
            .filter(taxis::decommissioned_ms.is_not_null()),
    )
    .set((
        taxis::license_region.eq(&taxi.license_region),
        taxis::class.eq(&taxi.class),
        taxis::service_region.eq(None::<String>),
        taxis::blacklisted.eq(false),
        taxis::reason.eq(None::<String>),
        taxis::terminal.eq(None::<String>),
        taxis::restarts.eq(0),
        taxis::created_ms.eq(taxi.created_ms),
        taxis::updated_ms.eq(taxi.updated_ms),
        taxis::decommissioned_ms.eq(None::<i64>),
    ))
    .execute(conn)
    .map(|n| n > 0)
}

/// Takes taxi `plate` out of service at `at_ms`; false when it was not in service.
pub fn decommission(conn: &mut DbConnection, plate: &str, at_ms: i64) -> QueryResult<bool> {
    diesel::update(taxis::table.find(plate).filter(taxis::decommissioned_ms.is_null()))
        .set(taxis::decommissioned_ms.eq(Some(at_ms)))
        .execute(conn)
        .map(|n| n > 0)
}

pub fn update(conn: &mut DbConnection, plate: &str, change: &TaxiChange) -> QueryResult<()> {
    diesel::update(taxis::table.find(plate))
        .set(change)
        .execute(conn)
        .map(|_| ())
}

pub fn set_restarts(conn: &mut DbConnection, plate: &str, restarts: i32) -> QueryResult<()> {
    diesel::update(taxis::table.find(plate))
        .set(taxis::restarts.eq(restarts))
        .execute(conn)
        .map(|_| ())
}
