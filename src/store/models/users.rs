//! Operator accounts.

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
