//! Server settings kept in the database (the JWT signing key, when not configured).

use diesel::prelude::*;

use crate::store::schema::settings;
use crate::store::DbConnection;

pub fn get(conn: &mut DbConnection, key: &str) -> QueryResult<Option<String>> {
    settings::table.find(key).select(settings::value).first(conn).optional()
}

/// Stores `value` under `key` unless a value is there already; returns the value that is.
pub fn get_or_insert(conn: &mut DbConnection, key: &str, value: &str) -> QueryResult<String> {
    if let Some(existing) = get(conn, key)? {
        return Ok(existing);
    }
    diesel::insert_into(settings::table)
        .values((settings::key.eq(key), settings::value.eq(value)))
        .execute(conn)?;
    Ok(value.to_owned())
}
