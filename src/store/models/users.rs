//! Operator accounts (`users`).

use diesel::prelude::*;

use crate::store::schema::users;
use crate::store::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct User {
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub created_ms: i64,
    /// A disabled user cannot log in and every token it holds is refused.
    pub disabled: bool,
}

pub fn find(conn: &mut DbConnection, username: &str) -> QueryResult<Option<User>> {
    users::table
        .find(username)
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}

pub fn insert(conn: &mut DbConnection, user: &User) -> QueryResult<()> {
    diesel::insert_into(users::table).values(user).execute(conn).map(|_| ())
}

/// Every user, by username.
pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<User>> {
    users::table
        .order(users::username.asc())
        .select(User::as_select())
        .load(conn)
}

/// The usernames of disabled users.
pub fn disabled(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
    users::table
        .filter(users::disabled.eq(true))
        .select(users::username)
        .load(conn)
}

/// Enabled users with `role`, their rows locked until the transaction ends on PostgreSQL
/// (`FOR UPDATE`; SQLite has one writer at a time anyway).
pub fn enabled_with_role_locked(conn: &mut DbConnection, role: &str) -> QueryResult<i64> {
    let query = users::table
        .filter(users::role.eq(role))
        .filter(users::disabled.eq(false))
        .select(users::username);
    let names: Vec<String> = match conn {
        DbConnection::Pg(c) => query.for_update().load(c)?,
        DbConnection::Sqlite(c) => query.load(c)?,
    };
    Ok(names.len() as i64)
}

/// Enabled users with `role`.
pub fn enabled_with_role(conn: &mut DbConnection, role: &str) -> QueryResult<i64> {
    users::table
        .filter(users::role.eq(role))
        .filter(users::disabled.eq(false))
        .count()
        .get_result(conn)
}

/// Sets the role and the disabled mark of `username`; true when the user exists.
pub fn set_role_and_disabled(conn: &mut DbConnection, username: &str, role: &str, disabled: bool) -> QueryResult<bool> {
    diesel::update(users::table.find(username))
        .set((users::role.eq(role), users::disabled.eq(disabled)))
        .execute(conn)
        .map(|n| n > 0)
}

/// Replaces the password hash of `username`; true when the user exists.
pub fn set_password_hash(conn: &mut DbConnection, username: &str, hash: &str) -> QueryResult<bool> {
    diesel::update(users::table.find(username))
        .set(users::password_hash.eq(hash))
        .execute(conn)
        .map(|n| n > 0)
}
