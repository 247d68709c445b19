//! The zones with their own tariff, as set through `PUT /api/v1/parking/tariffs/{zone}`.

use diesel::prelude::*;

use crate::store::schema::parking_tariffs;
use crate::store::DbConnection;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = parking_tariffs, treat_none_as_null = true)]
pub struct ParkingTariff {
    pub zone: String,
    pub free_minutes: i32,
    pub period_minutes: i32,
    pub rate_per_period: i64,
    pub daily_cap: Option<i64>,
    pub utc_offset_minutes: i32,
    pub updated_ms: i64,
}

/// Sets the zone's tariff: an update, or an insert when the zone has none yet.
pub fn upsert(conn: &mut DbConnection, row: &ParkingTariff) -> QueryResult<()> {
    let target = parking_tariffs::table.filter(parking_tariffs::zone.eq(&row.zone));
    let updated = match conn {
        DbConnection::Sqlite(c) => diesel::update(target).set(row).execute(c)?,
        DbConnection::Pg(c) => diesel::update(target).set(row).execute(c)?,
    };
    if updated == 0 {
        let insert = diesel::insert_into(parking_tariffs::table).values(row);
        match conn {
            DbConnection::Sqlite(c) => insert.execute(c)?,
            DbConnection::Pg(c) => insert.execute(c)?,
        };
    }
    Ok(())
}

pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<ParkingTariff>> {
    parking_tariffs::table
        .select(ParkingTariff::as_select())
        .order(parking_tariffs::zone)
        .load(conn)
}
