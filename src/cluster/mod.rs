//! Cluster mode (DESIGN.md, "Scale beyond one machine"): several nodes share the partitions
//! through leases in a NATS JetStream KV bucket, PostgreSQL being the one store.
//!
//! - [`settings`]: `KWANJE_NATS_URL` and the rest, checked at start (pure).
//! - [`plan`]: which partitions to acquire, renew and release given the live nodes and the
//!   owners (pure): an even spread, with orderly hand-over to a joining node.
//! - [`table`]: the leases held, as the [`crate::ownership::OwnerCheck`] the supervisors ask.
//! - [`kv`]: the NATS connection and the two KV buckets (leases, node registrations).
//! - [`leaser`]: the task that runs a plan each renewal period and reports gains and losses.
//! - [`node`]: the handle the wiring holds; [`shared`]: what the task writes and it reads.
//! - [`bus`]: publications fanned out to every node through NATS; [`wire`]: their form on
//!   the wire (pure).
//! - [`forward`]: a client's heartbeats and acks sent to the owner of its partition;
//!   [`forward_wire`]: their form on the wire (pure).
//! - [`view`]: the `GET /api/v1/cluster` document (pure).
//! - [`takeover`]: the `node_takeover` alert for partitions taken from another node (pure).
//!
//! Without `KWANJE_NATS_URL` none of this runs: a node owns every partition with token 0.

pub mod bus;
pub mod error;
pub mod forward;
pub mod forward_wire;
pub mod kv;
pub mod leaser;
pub mod node;
pub mod plan;
pub mod settings;
pub mod shared;
pub mod table;
pub mod takeover;
pub mod view;
pub mod wire;

pub use error::ClusterError;
pub use leaser::Change;
pub use node::ClusterNode;
pub use settings::ClusterSettings;
pub use view::ClusterView;
