//! The fencing tokens recorded per partition (`partition_fences`): how the database refuses a
//! write from a node whose lease on a partition has passed to another (issue #12, DESIGN.md
//! "Scale beyond one machine").
//!
//! A node that acquires a partition records the lease's token with [`advance`] before it starts
//! the partition's actors. Every write made for a partition runs [`superseded`] in its own
//! transaction and is refused when a newer token is recorded. On PostgreSQL the rows it reads
//! are locked `FOR SHARE` until that transaction ends, so an `advance` for one of those
//! partitions waits for the write, and every write after it sees the new token: a write is
//! either applied before the takeover or refused after it, never applied late. [`ensure`] makes
//! every partition's row (token 0) at start, so there is always a row to lock.

use diesel::prelude::*;

use crate::ownership::{Fence, Partition};
use crate::store::schema::partition_fences as fences;
use crate::store::DbConnection;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = fences)]
pub struct FenceRow {
    pub partition_id: i32,
    pub token: i64,
    /// The node that recorded the token.
    pub node_id: i32,
    pub updated_ms: i64,
}

/// Makes the rows of partitions `0..count` that do not exist yet, with token 0.
pub fn ensure(conn: &mut DbConnection, count: u16, node_id: i32, at_ms: i64) -> QueryResult<()> {
    for p in 0..count {
        insert_missing(conn, Partition(p), node_id, at_ms)?;
    }
    Ok(())
}

fn insert_missing(conn: &mut DbConnection, partition: Partition, node_id: i32, at_ms: i64) -> QueryResult<()> {
    let row = FenceRow {
        partition_id: i32::from(partition.0),
        token: 0,
        node_id,
        updated_ms: at_ms,
    };
    let insert = diesel::insert_into(fences::table).values(&row);
    match conn {
        DbConnection::Sqlite(c) => insert.on_conflict(fences::partition_id).do_nothing().execute(c),
        DbConnection::Pg(c) => insert.on_conflict(fences::partition_id).do_nothing().execute(c),
    }
    .map(|_| ())
}

/// Records `fence.token` for its partition unless a newer token is recorded already; true when
/// recorded (equal counts as recorded: the same lease recorded twice). False means the lease
/// the caller holds is stale: it must not act for the partition.
pub fn advance(conn: &mut DbConnection, fence: Fence, node_id: i32, at_ms: i64) -> QueryResult<bool> {
    insert_missing(conn, fence.partition, node_id, at_ms)?;
    let token = to_db(fence.token);
    let changed = diesel::update(
        fences::table
            .filter(fences::partition_id.eq(i32::from(fence.partition.0)))
            .filter(fences::token.le(token)),
    )
    .set((
        fences::token.eq(token),
        fences::node_id.eq(node_id),
        fences::updated_ms.eq(at_ms),
    ))
    .execute(conn)?;
    Ok(changed > 0)
}

/// The token recorded for `partition` (0 when none is).
pub fn recorded(conn: &mut DbConnection, partition: Partition) -> QueryResult<u64> {
    let token: Option<i64> = fences::table
        .filter(fences::partition_id.eq(i32::from(partition.0)))
        .select(fences::token)
        .first(conn)
        .optional()?;
    Ok(token.map_or(0, from_db))
}

/// The fences among `held` for which a newer token is recorded, each with that token. Run it in
/// the transaction of the write it guards (see the module's documentation).
pub fn superseded(conn: &mut DbConnection, held: &[Fence]) -> QueryResult<Vec<(Fence, u64)>> {
    if held.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i32> = held.iter().map(|f| i32::from(f.partition.0)).collect();
    let query = fences::table
        .filter(fences::partition_id.eq_any(ids))
        .select((fences::partition_id, fences::token));
    let recorded: Vec<(i32, i64)> = match conn {
        DbConnection::Sqlite(c) => query.load(c)?,
        DbConnection::Pg(c) => query.for_share().load(c)?,
    };
    Ok(held
        .iter()
        .filter_map(|fence| {
            let (_, token) = recorded.iter().find(|(p, _)| *p == i32::from(fence.partition.0))?;
            let token = from_db(*token);
            (token > fence.token).then_some((*fence, token))
        })
        .collect())
}

fn to_db(token: u64) -> i64 {
    i64::try_from(token).unwrap_or(i64::MAX)
}

fn from_db(token: i64) -> u64 {
    u64::try_from(token).unwrap_or(0)
}
