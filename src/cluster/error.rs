//! What can go wrong starting or running a cluster node.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ClusterError {
    #[error(
        "cluster mode (KWANJE_NATS_URL) needs a PostgreSQL DATABASE_URL (postgres://...); SQLite is one node's store"
    )]
    NeedsPostgres,
    #[error("invalid cluster setting: {0}")]
    Setting(String),
    #[error("node id {node_id} is already registered in cluster {cluster} (another node runs with KWANJE_NODE_ID={node_id}); each node needs its own KWANJE_NODE_ID")]
    DuplicateNode { cluster: String, node_id: u16 },
    #[error("cannot connect to NATS at {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("NATS JetStream: {0}")]
    Nats(String),
}
