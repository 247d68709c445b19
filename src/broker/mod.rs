//! The broker: destinations, subscriptions, fan-out, user destinations, presence, and the
//! destination ACL.
//!
//! - [`table`] (pure): who is subscribed to what; user destinations resolved per principal;
//! - [`acl`] (pure): the destination grammar and who may SUBSCRIBE or SEND where;
//! - [`presence`] (pure): which clients have a session open;
//! - [`actor`]: the broker actor, owner of the table and presence, and the fan-out;
//! - [`bus`]: the one way to publish, in front of the broker ([`bus::LocalBus`] on one node;
//!   a cluster's bus reaches the other nodes too);
//! - [`messages`]: what it is sent and what it sends.
//!
//! Depends on `stomp` (the shared message encoding), `auth` (principals, for the ACL) and
//! `time`; sessions reach it by message and it reaches them by `Recipient`, so it knows no
//! transport. Services' events come in through the transport's relay, so it knows no service.

pub mod acl;
pub mod actor;
pub mod bus;
pub mod messages;
pub mod presence;
pub mod table;

pub use actor::Broker;
pub use bus::{Bus, LocalBus, Published};
pub use table::SessionKey;
