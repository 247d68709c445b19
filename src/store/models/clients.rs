//! Gate PCs and kiosks.

use diesel::prelude::*;

use crate::store::schema::clients;
use crate::store::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = clients)]
pub struct Client {
    pub id: String,
    pub name: String,
    pub site: Option<String>,
    pub created_ms: i64,
}

pub fn insert(conn: &mut DbConnection, client: &Client) -> QueryResult<()> {
    diesel::insert_into(clients::table)
        .values(client)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<Client>> {
    clients::table
        .find(id)
        .select(Client::as_select())
        .first(conn)
        .optional()
}

/// Clients with ids after `after`, in id order.
pub fn page(conn: &mut DbConnection, after: Option<&str>, limit: i64) -> QueryResult<Vec<Client>> {
    let mut q = clients::table
        .select(Client::as_select())
        .order(clients::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(clients::id.gt(after.to_owned()));
    }
    q.load(conn)
}
