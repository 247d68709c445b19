//! Commands to a device's client: stored, delivered, acknowledged or failed.

use diesel::prelude::*;

use crate::store::schema::commands;
use crate::store::DbConnection;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = commands)]
pub struct Command {
    pub id: i64,
    pub device_id: String,
    pub client_id: String,
    pub kind: String,
    pub state: String,
    pub reason: Option<String>,
    pub detail: Option<String>,
    pub issued_by: String,
    pub idempotency_key: Option<String>,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub expires_ms: i64,
}

pub fn insert(conn: &mut DbConnection, command: &Command) -> QueryResult<()> {
    diesel::insert_into(commands::table)
        .values(command)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<Command>> {
    commands::table
        .find(id)
        .select(Command::as_select())
        .first(conn)
        .optional()
}

/// Filters for [`page`].
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub device_id: Option<String>,
    pub state: Option<String>,
}

/// Commands newest first, with ids below `before` (the cursor).
pub fn page(conn: &mut DbConnection, filter: &Filter, before: Option<i64>, limit: i64) -> QueryResult<Vec<Command>> {
    let mut q = commands::table
        .select(Command::as_select())
        .order(commands::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(device) = &filter.device_id {
        q = q.filter(commands::device_id.eq(device.clone()));
    }
    if let Some(state) = &filter.state {
        q = q.filter(commands::state.eq(state.clone()));
    }
    if let Some(before) = before {
        q = q.filter(commands::id.lt(before));
    }
    q.load(conn)
}
