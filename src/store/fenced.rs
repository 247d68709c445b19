//! Writes made for a partition, checked against its fence in their own transaction
//! ([`models::fences`](super::models::fences) says how the fence works), and the steps a node
//! takes on the fences themselves: making their rows at start and recording a new lease's token.
//!
//! The batching [`writer`](super::writer) checks the fences of a whole batch the same way;
//! these are for the writes that are not batched (a command stored as it is issued, a device's
//! active side after a failover).

use std::future::Future;

use diesel::connection::Connection;
use diesel::QueryResult;

use super::models::fences;
use super::{run_blocking, DbConnection, Store, StoreError};
use crate::ownership::Fence;

/// How a fenced transaction ended when it did not commit.
enum Aborted {
    Query(diesel::result::Error),
    Fenced(StoreError),
}

impl From<diesel::result::Error> for Aborted {
    fn from(e: diesel::result::Error) -> Self {
        Aborted::Query(e)
    }
}

impl Store {
    /// Runs `f` in one transaction on the writer, on the blocking pool, unless a newer token
    /// than `fence`'s is recorded for its partition: then nothing is written and the answer is
    /// [`StoreError::Fenced`].
    pub fn write_fenced<T, F>(&self, fence: Fence, f: F) -> impl Future<Output = Result<T, StoreError>> + 'static
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> QueryResult<T> + Send + 'static,
    {
        let store = self.clone();
        run_blocking(move || store.write_fenced_blocking(fence, f))
    }

    /// [`Store::write_fenced`] for code that is already off the arbiter threads.
    pub fn write_fenced_blocking<T>(
        &self,
        fence: Fence,
        f: impl FnOnce(&mut DbConnection) -> QueryResult<T>,
    ) -> Result<T, StoreError> {
        let mut conn = self.writer_connection()?;
        let conn: &mut DbConnection = &mut conn;
        conn.transaction(|c| {
            if let Some((held, recorded)) = fences::superseded(c, &[fence])?.first() {
                return Err(Aborted::Fenced(StoreError::Fenced {
                    partition: held.partition.0,
                    held: held.token,
                    recorded: *recorded,
                }));
            }
            Ok(f(c)?)
        })
        .map_err(|e| match e {
            Aborted::Query(e) => StoreError::from(e),
            Aborted::Fenced(e) => e,
        })
    }

    /// Makes the fence rows of partitions `0..count` that are missing (token 0), so that every
    /// fenced write finds a row to lock. Run at start.
    pub fn ensure_fences(&self, count: u16, node_id: u16, at_ms: i64) -> Result<(), StoreError> {
        self.write_blocking(|c| fences::ensure(c, count, i32::from(node_id), at_ms))
    }

    /// Records the token of a lease this node has just acquired, before it acts for the
    /// partition. `Ok(false)`: a newer token is recorded already, so the lease is stale and the
    /// node must not act for the partition.
    pub fn advance_fence(
        &self,
        fence: Fence,
        node_id: u16,
        at_ms: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + 'static {
        self.write(move |c| fences::advance(c, fence, i32::from(node_id), at_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ownership::Partition;

    fn store() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&format!("sqlite://{}", dir.path().join("f.db").display())).unwrap();
        store.migrate().unwrap();
        (store, dir)
    }

    fn fence(token: u64) -> Fence {
        Fence {
            partition: Partition(9),
            token,
        }
    }

    #[actix_web::test]
    async fn a_write_under_a_superseded_fence_changes_nothing_and_says_why() {
        let (store, _dir) = store();
        store.ensure_fences(16, 0, 0).unwrap();
        assert!(
            store.write_fenced(fence(0), |_| Ok(())).await.is_ok(),
            "token 0 on a fresh store"
        );
        assert!(store.advance_fence(fence(7), 1, 5).await.unwrap());
        assert!(
            !store.advance_fence(fence(6), 2, 6).await.unwrap(),
            "an older lease is stale"
        );
        let written = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let w = written.clone();
        let refused = store
            .write_fenced(fence(6), move |_| {
                w.store(true, std::sync::atomic::Ordering::SeqCst);
                Ok(())
            })
            .await
            .expect_err("refused");
        assert!(
            matches!(
                refused,
                StoreError::Fenced {
                    partition: 9,
                    held: 6,
                    recorded: 7
                }
            ),
            "{refused:?}"
        );
        assert!(
            !written.load(std::sync::atomic::Ordering::SeqCst),
            "the write never ran"
        );
        assert!(
            store.write_fenced(fence(7), |_| Ok(())).await.is_ok(),
            "the owner writes"
        );
        let other = Fence {
            partition: Partition(3),
            token: 0,
        };
        assert!(
            store.write_fenced(other, |_| Ok(())).await.is_ok(),
            "other partitions are not held up"
        );
    }
}
