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
    /// When an admin took it out of service (its history stays); `None` while registered.
    pub decommissioned_ms: Option<i64>,
}

pub fn insert(conn: &mut DbConnection, client: &Client) -> QueryResult<()> {
    diesel::insert_into(clients::table)
        .values(client)
        .execute(conn)
        .map(|_| ())
}

/// Client `id` while it is in service (not decommissioned).
pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<Client>> {
    clients::table
        .find(id)
        .filter(clients::decommissioned_ms.is_null())
        .select(Client::as_select())
        .first(conn)
        .optional()
}

/// Registers `client` in place of a decommissioned row of the same id (its history stays);
/// false when no decommissioned row has that id.
pub fn revive(conn: &mut DbConnection, client: &Client) -> QueryResult<bool> {
    diesel::update(
        clients::table
            .find(&client.id)
            .filter(clients::decommissioned_ms.is_not_null()),
    )
    .set((
        clients::name.eq(&client.name),
        clients::site.eq(&client.site),
        clients::created_ms.eq(client.created_ms),
        clients::decommissioned_ms.eq(None::<i64>),
    ))
    .execute(conn)
    .map(|n| n > 0)
}

/// Sets the name and site of client `id` while in service; false when there is none.
pub fn set_details(conn: &mut DbConnection, id: &str, name: &str, site: Option<&str>) -> QueryResult<bool> {
    diesel::update(clients::table.find(id).filter(clients::decommissioned_ms.is_null()))
        .set((clients::name.eq(name), clients::site.eq(site)))
        .execute(conn)
        .map(|n| n > 0)
}

/// Takes client `id` out of service at `at_ms`; false when it was not in service.
pub fn decommission(conn: &mut DbConnection, id: &str, at_ms: i64) -> QueryResult<bool> {
    diesel::update(clients::table.find(id).filter(clients::decommissioned_ms.is_null()))
        .set(clients::decommissioned_ms.eq(Some(at_ms)))
        .execute(conn)
        .map(|n| n > 0)
}

/// Clients with ids after `after`, in id order.
pub fn page(conn: &mut DbConnection, after: Option<&str>, limit: i64) -> QueryResult<Vec<Client>> {
    let mut q = clients::table
        .filter(clients::decommissioned_ms.is_null())
        .select(Client::as_select())
        .order(clients::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(clients::id.gt(after.to_owned()));
    }
    q.load(conn)
}

/// Every client in service, by id.
pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<Client>> {
    clients::table
        .filter(clients::decommissioned_ms.is_null())
        .select(Client::as_select())
        .order(clients::id)
        .load(conn)
}
