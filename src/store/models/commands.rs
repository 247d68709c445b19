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

/// Records a command's new state.
pub fn update_state(
    conn: &mut DbConnection,
    id: i64,
    state: &str,
    detail: Option<&str>,
    at_ms: i64,
) -> QueryResult<()> {
    diesel::update(commands::table.find(id))
        .set((
            commands::state.eq(state),
            commands::detail.eq(detail),
            commands::updated_ms.eq(at_ms),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The command issued under an idempotency key, whatever its state.
pub fn by_key(conn: &mut DbConnection, key: &str) -> QueryResult<Option<Command>> {
    commands::table
        .filter(commands::idempotency_key.eq(key))
        .select(Command::as_select())
        .first(conn)
        .optional()
}

/// Commands not in a final state: what the command book starts from.
pub fn open(conn: &mut DbConnection) -> QueryResult<Vec<Command>> {
    commands::table
        .filter(commands::state.eq_any(["pending", "delivered"]))
        .order(commands::id)
        .select(Command::as_select())
        .load(conn)
}
