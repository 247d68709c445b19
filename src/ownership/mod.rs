//! Who acts for what: the owner check every supervisor consults before it starts or restarts a
//! child, and the fencing token every store write of a partition carries.
//!
//! - [`partition`]: the fixed partitions devices (by the gate PC or kiosk that hosts them) and
//!   taxis (by terminal) are hashed into (pure).
//! - [`check`]: the [`OwnerCheck`] seam and its single-node implementation, [`SingleNode`],
//!   which owns every partition with fencing token 0.
//!
//! A node in a cluster implements [`OwnerCheck`] from its leases (DESIGN.md, "Scale beyond one
//! machine"); the services only ever ask the question. Depends on nothing in the crate.

pub mod check;
pub mod partition;

pub use check::{Fence, OwnerCheck, SingleNode};
pub use partition::{Partition, Partitions};

use std::sync::Arc;

/// What a node knows about ownership: how keys fall into partitions, and whether it owns one.
#[derive(Debug, Clone)]
pub struct Ownership {
    pub partitions: Partitions,
    pub check: Arc<dyn OwnerCheck>,
}

impl Ownership {
    /// One node that owns everything (token 0): the behaviour without a cluster.
    pub fn single_node(partitions: Partitions) -> Ownership {
        Ownership {
            partitions,
            check: Arc::new(SingleNode),
        }
    }

    /// The fence this node holds for the partition `key` falls in, if it owns it.
    pub fn fence_for(&self, key: &str) -> Option<Fence> {
        self.check.fence(self.partitions.of(key))
    }
}

impl Default for Ownership {
    fn default() -> Self {
        Ownership::single_node(Partitions::DEFAULT)
    }
}
