//! The audit log of operator actions: who did what to which subject, and when.

use diesel::prelude::*;

use crate::store::schema::audit_log;
use crate::store::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_log)]
pub struct AuditEntry {
    pub id: i64,
    pub at_ms: i64,
    pub principal: String,
    pub action: String,
    pub target: String,
    pub detail: Option<String>,
}

/// Inserts `entry`, skipping it when its id is stored already (a retried batch).
pub fn insert(conn: &mut DbConnection, entry: &AuditEntry) -> QueryResult<()> {
    let insert = diesel::insert_into(audit_log::table).values(entry);
    match conn {
        DbConnection::Sqlite(c) => insert.on_conflict(audit_log::id).do_nothing().execute(c),
        DbConnection::Pg(c) => insert.on_conflict(audit_log::id).do_nothing().execute(c),
    }
    .map(|_| ())
}

/// Entries about `target`, oldest first.
pub fn for_target(conn: &mut DbConnection, target: &str) -> QueryResult<Vec<AuditEntry>> {
    audit_log::table
        .filter(audit_log::target.eq(target))
        .order(audit_log::id)
        .select(AuditEntry::as_select())
        .load(conn)
}
