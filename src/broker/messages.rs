//! Messages to and from the broker actor, named by direction: requests in (`Register`,
//! `Subscribe`, `Publish`, ...), deliveries and events out (`Deliver`, `Evict`,
//! `PresenceChanged`). Each carries its result type beside it.

use std::sync::Arc;

use actix::prelude::*;
use bytes::Bytes;

use super::table::SessionKey;
use crate::auth::Subject;
use crate::stomp::SharedMessage;
use crate::time::Millis;

/// How the broker reaches one session: deliveries go through a bounded mailbox (`try_send`),
/// the eviction notice through `do_send` (it must get through when the mailbox is full).
#[derive(Clone)]
pub struct Outlet {
    pub deliver: Recipient<Deliver>,
    pub evict: Recipient<Evict>,
}

impl Outlet {
    /// Both ways to the session actor at `address`.
    pub fn of<A>(address: Addr<A>) -> Outlet
    where
        A: Actor + Handler<Deliver> + Handler<Evict>,
        A::Context: actix::dev::ToEnvelope<A, Deliver> + actix::dev::ToEnvelope<A, Evict>,
    {
        Outlet {
            deliver: address.clone().recipient(),
            evict: address.recipient(),
        }
    }
}

impl std::fmt::Debug for Outlet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Outlet")
    }
}

/// A STOMP session authenticated: route to it from now on.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Register {
    pub session: SessionKey,
    /// The name user destinations resolve to ([`super::acl::user_of`]).
    pub user: String,
    /// For a `client` principal (gate PC, kiosk): its id, for presence.
    pub client: Option<String>,
    pub outlet: Outlet,
}

/// File subscription `id` of `session` (already allowed by the ACL).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Subscribe {
    pub session: SessionKey,
    pub id: String,
    pub destination: String,
}

#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Unsubscribe {
    pub session: SessionKey,
    pub id: String,
}

/// The session ended, however it ended: drop its subscriptions, update presence.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Deregister {
    pub session: SessionKey,
}

/// Publish to every subscriber of a topic. `headers` go out as given (e.g. `content-type`,
/// `sender`, the client's own headers).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Publish {
    pub destination: String,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

/// Publish to one principal's user destination (`/user/queue/...`), every session of it.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct PublishToUser {
    pub user: String,
    pub destination: String,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

/// Out, to a session: messages for one of its subscriptions, in order. A batch takes one
/// place in the session's bounded mailbox, so a storm of thousands of messages published
/// together does not look like a slow consumer.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Deliver {
    pub subscription: Arc<str>,
    pub messages: Arc<[Arc<SharedMessage>]>,
}

/// In: several messages to one topic, fanned out together (one [`Deliver`] per subscriber).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct PublishBatch {
    pub destination: String,
    pub headers: Vec<(String, String)>,
    pub bodies: Vec<Bytes>,
}

/// Out, to a session that must close, or may have to ([`Eviction`]).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Evict {
    pub cause: Eviction,
}

/// Why a session is told to close.
#[derive(Debug, Clone)]
pub enum Eviction {
    /// The broker dropped it: its mailbox was full (the session must close).
    MailboxFull,
    /// Tokens of `subject` issued before `before` no longer count: the session closes if its own
    /// token is one of them ([`crate::auth::revocation::closes`]), with `why` in its ERROR frame.
    Revoked {
        subject: Subject,
        before: Millis,
        why: String,
    },
}

/// In: tokens of `subject` issued before `before` were revoked (`why`); the sessions opened
/// for `user` (the principal's user key, [`super::acl::user_of`]) are told, and those whose
/// token is revoked close.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct RevokeSessions {
    pub user: String,
    pub subject: Subject,
    pub before: Millis,
    pub why: String,
}

/// In: an HTTP heartbeat of `client` (a gate PC that may hold no STOMP session) vouches for it
/// until `until` ([`super::presence::Presence::beat`]).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct ClientBeat {
    pub client: String,
    pub until: Millis,
}

/// Which clients are online now: a session open or an HTTP heartbeat's lease running (sorted ids).
#[derive(Debug, Message)]
#[rtype(result = "Vec<String>")]
pub struct OnlineClients;

/// Which clients hold a session on this node now (sorted ids), leases aside.
#[derive(Debug, Message)]
#[rtype(result = "Vec<String>")]
pub struct ClientsWithSessions;

/// Out: a client came online (its first session or HTTP heartbeat) or went offline (its last
/// session ended and its heartbeats' lease ran out).
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct PresenceChanged {
    pub client: String,
    pub online: bool,
    pub at: Millis,
}

/// Counters, for metrics and the benchmark.
#[derive(Debug, Message)]
#[rtype(result = "BrokerStats")]
pub struct GetBrokerStats;

#[derive(Debug, Clone, Copy, Default, MessageResponse)]
pub struct BrokerStats {
    pub sessions: usize,
    pub subscriptions: usize,
    pub published: u64,
    pub delivered: u64,
    pub evicted: u64,
}
