//! Revoked tokens (`token_revocations`): every token of a subject issued before a moment is
//! refused ([`crate::auth::Revocations`]). A subject's moment only moves forward.

use diesel::prelude::*;

use crate::store::schema::token_revocations as revocations;
use crate::store::DbConnection;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = revocations)]
pub struct RevocationRow {
    pub subject: String,
    pub before_ms: i64,
    /// What a refused caller is told.
    pub reason: String,
}

/// Records that `subject`'s tokens issued before `before_ms` are revoked (`reason`), unless a
/// later moment is recorded already.
pub fn revoke(conn: &mut DbConnection, subject: &str, before_ms: i64, reason: &str) -> QueryResult<()> {
    conn.transaction(|conn| {
        let known: Option<i64> = revocations::table
            .find(subject)
            .select(revocations::before_ms)
            .first(conn)
            .optional()?;
        match known {
            None => diesel::insert_into(revocations::table)
                .values(RevocationRow {
                    subject: subject.to_owned(),
                    before_ms,
                    reason: reason.to_owned(),
                })
                .execute(conn)
                .map(|_| ()),
            Some(known) if known < before_ms => diesel::update(revocations::table.find(subject))
                .set((revocations::before_ms.eq(before_ms), revocations::reason.eq(reason)))
                .execute(conn)
                .map(|_| ()),
            Some(_) => Ok(()),
        }
    })
}

/// Every revocation.
pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<RevocationRow>> {
    revocations::table.select(RevocationRow::as_select()).load(conn)
}
