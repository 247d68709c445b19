//! The document `GET /api/v1/cluster` answers: the nodes, which partitions each owns, and every
//! partition's owner and fencing token. Built from facts; pure.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::kv::{LeaseRow, NodeRecord};
use crate::ownership::Partitions;

/// One node of the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct NodeView {
    /// Its `KWANJE_NODE_ID`.
    pub id: u16,
    /// The HTTP address it serves.
    #[schema(example = "127.0.0.1:8080")]
    pub addr: String,
    /// Registered and renewing now.
    pub alive: bool,
    /// The partitions it owns.
    pub partitions: Vec<u16>,
}

/// One partition and its lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PartitionView {
    pub id: u16,
    /// The owning node's id; null while no node holds its lease.
    pub owner: Option<u16>,
    /// The lease's fencing token (0 on a single node); null while unowned.
    pub token: Option<u64>,
}

/// The cluster as the answering node sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ClusterView {
    /// `KWANJE_CLUSTER`.
    #[schema(example = "kwanje")]
    pub cluster: String,
    /// The answering node.
    pub node_id: u16,
    pub nodes: Vec<NodeView>,
    pub partitions: Vec<PartitionView>,
}

/// The view from the live nodes and the leases (owner and token per partition).
pub fn build(
    cluster: &str,
    me: u16,
    partitions: Partitions,
    nodes: &BTreeMap<u16, NodeRecord>,
    leases: &BTreeMap<crate::ownership::Partition, LeaseRow>,
    tokens: &BTreeMap<crate::ownership::Partition, u64>,
) -> ClusterView {
    let mut owned: BTreeMap<u16, Vec<u16>> = nodes.keys().map(|&id| (id, Vec::new())).collect();
    let partitions: Vec<PartitionView> = partitions
        .all()
        .map(|p| {
            let lease = leases.get(&p);
            if let Some(l) = lease {
                owned.entry(l.owner).or_default().push(p.0);
            }
            PartitionView {
                id: p.0,
                owner: lease.map(|l| l.owner),
                // The fencing token is the revision a lease was acquired at: the owner knows it,
                // the bucket shows the latest renewal's.
                token: lease.map(|l| tokens.get(&p).copied().unwrap_or(l.revision)),
            }
        })
        .collect();
    let nodes = owned
        .into_iter()
        .map(|(id, partitions)| NodeView {
            id,
            addr: nodes.get(&id).map(|r| r.addr.clone()).unwrap_or_default(),
            alive: nodes.contains_key(&id),
            partitions,
        })
        .collect();
    ClusterView {
        cluster: cluster.to_owned(),
        node_id: me,
        nodes,
        partitions,
    }
}

/// A single node: it owns every partition with token 0.
pub fn single_node(cluster: &str, me: u16, addr: &str, partitions: Partitions) -> ClusterView {
    let nodes = BTreeMap::from([(
        me,
        NodeRecord {
            addr: addr.to_owned(),
            started_ms: 0,
        },
    )]);
    let leases = partitions
        .all()
        .map(|p| (p, LeaseRow { owner: me, revision: 0 }))
        .collect();
    build(cluster, me, partitions, &nodes, &leases, &BTreeMap::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ownership::Partition;

    #[test]
    fn a_single_node_owns_everything_with_token_zero() {
        let v = single_node("kwanje", 3, "127.0.0.1:1", Partitions::new(4).unwrap());
        assert_eq!(v.nodes.len(), 1);
        assert_eq!(v.nodes[0].partitions, vec![0, 1, 2, 3]);
        assert!(v.nodes[0].alive);
        assert!(v.partitions.iter().all(|p| p.owner == Some(3) && p.token == Some(0)));
    }

    #[test]
    fn an_unowned_partition_shows_null_and_a_dead_owner_shows_not_alive() {
        let nodes = BTreeMap::from([(
            0,
            NodeRecord {
                addr: "a".into(),
                started_ms: 1,
            },
        )]);
        let leases = BTreeMap::from([
            (Partition(0), LeaseRow { owner: 0, revision: 9 }),
            (Partition(1), LeaseRow { owner: 5, revision: 4 }),
        ]);
        let tokens = BTreeMap::from([(Partition(0), 7)]);
        let v = build("c", 0, Partitions::new(3).unwrap(), &nodes, &leases, &tokens);
        assert_eq!(
            v.partitions[0],
            PartitionView {
                id: 0,
                owner: Some(0),
                token: Some(7)
            }
        );
        assert_eq!(v.partitions[1].token, Some(4));
        assert_eq!(
            v.partitions[2],
            PartitionView {
                id: 2,
                owner: None,
                token: None
            }
        );
        assert_eq!(
            v.nodes[1],
            NodeView {
                id: 5,
                addr: String::new(),
                alive: false,
                partitions: vec![1]
            }
        );
    }
}
