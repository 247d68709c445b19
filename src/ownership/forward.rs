//! The forward seam: what a gate PC sends to a node that does not own its partition, handed on
//! to the node that does.
//!
//! A load balancer may put a gate PC's session on any node, but only the owner of its partition
//! runs its devices and its command book. What such a session sends for them is an
//! [`Inbound`], and the edge gives it to a [`Forward`] instead of applying it. On one node there
//! is none: every partition is this node's. A cluster's forward (DESIGN.md, "Scale beyond one
//! machine") sends it to the owner, which applies it as if the session were its own.

use std::fmt;

use bytes::Bytes;

use super::partition::Partition;

/// What a client's session sent that only the owner of its partition can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// A heartbeat batch (`/app/heartbeat`, or `/app/faults` when `faults`), as sent: the owner
    /// checks and applies it, and it vouches for the client's presence there.
    Beats { client: String, faults: bool, body: Bytes },
    /// The client listens on `/user/queue/commands` now: the owner may deliver its commands.
    Listening { client: String },
    /// The client acknowledged a command (`/app/commands/ack`), its body as sent.
    Ack { client: String, body: Bytes },
    /// The client holds a session on the sending node: online at the owner for `for_ms` (the
    /// sender renews it while the session lasts; a sender that dies stops renewing).
    Present { client: String, for_ms: u64 },
    /// A driver app's ping (`/app/taxi/ping`) for taxi `plate`, whose partition key (its
    /// terminal, or its plate at none, as the sending node read its card) is `key`.
    TaxiPing { key: String, plate: String },
}

impl Inbound {
    /// The key of its partition: the client it is from (a taxi's partition key for a ping).
    pub fn client(&self) -> &str {
        match self {
            Inbound::Beats { client, .. }
            | Inbound::Listening { client }
            | Inbound::Ack { client, .. }
            | Inbound::Present { client, .. } => client,
            Inbound::TaxiPing { key, .. } => key,
        }
    }
}

/// Hands what arrived here to the owner of its partition.
pub trait Forward: Send + Sync + fmt::Debug + 'static {
    /// Sends `message` for `partition` on; never waits. False when it could not (no owner is
    /// known, or the way there is full): the sender's next heartbeat tries again.
    fn forward(&self, partition: Partition, message: Inbound) -> bool;
}
