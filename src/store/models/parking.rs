//! Parking areas as configured through `POST /api/v1/parking/areas`.

use diesel::prelude::*;

use crate::store::schema::parking_areas;
use crate::store::DbConnection;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = parking_areas)]
pub struct ParkingArea {
    pub id: String,
    pub site: String,
    pub zone: String,
    pub total: i32,
    pub camera_id: String,
    pub created_ms: i64,
}

pub fn insert(conn: &mut DbConnection, area: &ParkingArea) -> QueryResult<()> {
    diesel::insert_into(parking_areas::table)
        .values(area)
        .execute(conn)
        .map(|_| ())
}

pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<ParkingArea>> {
    parking_areas::table
        .select(ParkingArea::as_select())
        .order(parking_areas::id)
        .load(conn)
}
