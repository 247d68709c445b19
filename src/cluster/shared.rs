//! What the lease task writes and the node's handle reads: the last round's view, this node's
//! own record, and the counters. Data only.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::kv::{LeaseRow, NodeRecord};
use crate::ownership::Partition;

/// What the last lease round saw, for the view.
#[derive(Debug, Default, Clone)]
pub struct Observed {
    pub nodes: BTreeMap<u16, NodeRecord>,
    pub leases: BTreeMap<Partition, LeaseRow>,
    /// The fencing tokens of the leases this node holds.
    pub tokens: BTreeMap<Partition, u64>,
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct ClusterStats {
    pub acquired: AtomicU64,
    /// Partitions acquired that another node had held (it died or handed them over).
    pub takeovers: AtomicU64,
    pub released: AtomicU64,
    /// Leases lost without releasing them (taken, or lapsed locally).
    pub lost: AtomicU64,
}

/// Shared between the lease task and the handle.
#[derive(Debug)]
pub struct Shared {
    pub record: Mutex<NodeRecord>,
    pub observed: Mutex<Observed>,
    pub stats: ClusterStats,
}

impl Shared {
    pub fn new(record: NodeRecord) -> Shared {
        Shared {
            record: Mutex::new(record),
            observed: Mutex::new(Observed::default()),
            stats: ClusterStats::default(),
        }
    }

    /// This node's record as it should be renewed.
    pub fn record(&self) -> NodeRecord {
        self.record.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The last round's view.
    pub fn observed(&self) -> Observed {
        self.observed.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The owner of `partition` as the last lease round saw it (without copying the view: asked
    /// for every forwarded heartbeat).
    pub fn owner_of(&self, partition: Partition) -> Option<u16> {
        let seen = self.observed.lock().unwrap_or_else(|e| e.into_inner());
        seen.leases.get(&partition).map(|l| l.owner)
    }

    pub fn set_observed(&self, seen: Observed) {
        *self.observed.lock().unwrap_or_else(|e| e.into_inner()) = seen;
    }
}

/// Adds `n` to a counter.
pub fn count(counter: &AtomicU64, n: usize) {
    counter.fetch_add(u64::try_from(n).unwrap_or(u64::MAX), Ordering::Relaxed);
}
