//! The owner check: "does this node own partition P, and with which fencing token?"
//!
//! Every supervisor asks it before it starts or restarts a child ([`crate::supervision`]), and
//! a store write made for a partition carries the [`Fence`] it was made under, so that in a
//! cluster the database can refuse a write from a node whose lease has passed to another.
//! [`SingleNode`] owns everything with token 0: one node's behaviour is exactly what it was
//! before the seam existed.

use std::fmt;

use super::partition::Partition;

/// The proof of ownership a write carries: the partition and the lease's fencing token (the
/// lease revision in a cluster; 0 on a single node). Tokens only grow for a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fence {
    pub partition: Partition,
    pub token: u64,
}

/// Whether this node acts for a partition now.
pub trait OwnerCheck: Send + Sync + fmt::Debug + 'static {
    /// `Some(fence)` while this node owns `partition`; `None` when another node does (or
    /// nobody does yet). Cheap: asked on every start of a child.
    fn fence(&self, partition: Partition) -> Option<Fence>;
}

/// The single-node owner: every partition is ours, token 0.
#[derive(Debug, Clone, Copy, Default)]
pub struct SingleNode;

impl OwnerCheck for SingleNode {
    fn fence(&self, partition: Partition) -> Option<Fence> {
        Some(Fence { partition, token: 0 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_node_owns_every_partition_with_token_zero() {
        for p in [Partition(0), Partition(17), Partition(u16::MAX)] {
            assert_eq!(SingleNode.fence(p), Some(Fence { partition: p, token: 0 }));
        }
    }
}
