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

/// [`insert`] for many; PostgreSQL gets one multi-row insert per chunk.
pub fn insert_all<'a>(conn: &mut DbConnection, entries: impl IntoIterator<Item = &'a AuditEntry>) -> QueryResult<()> {
    match conn {
        DbConnection::Pg(c) => {
            let entries: Vec<&AuditEntry> = entries.into_iter().collect();
            for chunk in entries.chunks(crate::store::ROWS_PER_INSERT) {
                diesel::insert_into(audit_log::table)
                    .values(chunk.iter().map(|e| (*e).clone()).collect::<Vec<_>>())
                    .on_conflict(audit_log::id)
                    .do_nothing()
                    .execute(c)?;
            }
            Ok(())
        }
        DbConnection::Sqlite(_) => entries.into_iter().try_for_each(|entry| insert(conn, entry)),
    }
}

/// Entries about `target`, oldest first.
pub fn for_target(conn: &mut DbConnection, target: &str) -> QueryResult<Vec<AuditEntry>> {
    audit_log::table
        .filter(audit_log::target.eq(target))
        .order(audit_log::id)
        .select(AuditEntry::as_select())
        .load(conn)
}

diesel::define_sql_function! {
    /// `substr(text, start, count)`, in characters on both SQLite and PostgreSQL.
    fn substr(text: diesel::sql_types::Text, start: diesel::sql_types::Integer, count: diesel::sql_types::Integer) -> diesel::sql_types::Text;
}

/// How one text field of an entry must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    /// The whole field, case-sensitively.
    Exact(String),
    /// The field starts with this (case-sensitive on both backends: compared as a substring,
    /// never with `LIKE`, which SQLite folds to lower case).
    Prefix(String),
}

/// What a page of the audit log is narrowed to; each field given must match.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub principal: Option<Match>,
    pub action: Option<Match>,
    pub target: Option<Match>,
    /// Entries at or after this time (ms since the epoch).
    pub since_ms: Option<i64>,
    /// Entries before this time (ms since the epoch).
    pub until_ms: Option<i64>,
}

/// A page of the audit log, newest first: at most `limit` entries matching `filter`, older than
/// the id `before` when given (the previous page's cursor).
pub fn page(conn: &mut DbConnection, filter: &Filter, before: Option<i64>, limit: i64) -> QueryResult<Vec<AuditEntry>> {
    let mut query = audit_log::table.into_boxed();
    macro_rules! matching {
        ($column:expr, $wanted:expr) => {
            match $wanted {
                Some(Match::Exact(t)) => query = query.filter($column.eq(t.clone())),
                Some(Match::Prefix(t)) => {
                    let chars = i32::try_from(t.chars().count()).unwrap_or(i32::MAX);
                    query = query.filter(substr($column, 1, chars).eq(t.clone()));
                }
                None => {}
            }
        };
    }
    matching!(audit_log::principal, &filter.principal);
    matching!(audit_log::action, &filter.action);
    matching!(audit_log::target, &filter.target);
    if let Some(since) = filter.since_ms {
        query = query.filter(audit_log::at_ms.ge(since));
    }
    if let Some(until) = filter.until_ms {
        query = query.filter(audit_log::at_ms.lt(until));
    }
    if let Some(before) = before {
        query = query.filter(audit_log::id.lt(before));
    }
    query
        .order(audit_log::id.desc())
        .limit(limit)
        .select(AuditEntry::as_select())
        .load(conn)
}
