//! Who acts for what: the owner check every supervisor consults before it starts or restarts a
//! child, and the fencing token every store write of a partition carries.
//!
//! - [`partition`]: the fixed partitions devices (by the gate PC or kiosk that hosts them) and
//!   taxis (by terminal) are hashed into (pure).
//! - [`check`]: the [`OwnerCheck`] seam and its single-node implementation, [`SingleNode`],
//!   which owns every partition with fencing token 0.
//! - [`forward`]: the [`Forward`] seam: what a client sent to a node that does not own its
//!   partition, handed to the one that does (none on a single node).
//!
//! A node in a cluster implements [`OwnerCheck`] from its leases (DESIGN.md, "Scale beyond one
//! machine"); the services only ever ask the question. Depends on nothing in the crate.

pub mod check;
pub mod forward;
pub mod partition;

pub use check::{Fence, OwnerCheck, SingleNode};
pub use forward::{Forward, Inbound};
pub use partition::{Partition, Partitions};

use std::sync::Arc;

/// What a node knows about ownership: how keys fall into partitions, and whether it owns one.
#[derive(Debug, Clone)]
pub struct Ownership {
    pub partitions: Partitions,
    pub check: Arc<dyn OwnerCheck>,
}

/// Where what a client sent goes when this node does not own its partition.
#[derive(Debug, Clone)]
pub struct Elsewhere {
    pub ownership: Ownership,
    pub forward: Arc<dyn Forward>,
}

impl Elsewhere {
    /// The partition of `client` when another node owns it (what the client sent goes there);
    /// `None` when this node does and applies it itself.
    pub fn partition_of(&self, client: &str) -> Option<Partition> {
        let partition = self.ownership.partitions.of(client);
        self.ownership.check.fence(partition).is_none().then_some(partition)
    }

    /// Hands `message` to the owner of `partition` ([`Forward::forward`]).
    pub fn send(&self, partition: Partition, message: Inbound) -> bool {
        self.forward.forward(partition, message)
    }
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
