//! The broker actor: the one owner of the subscription [`Table`] and of [`Presence`] (with the
//! one timer that ends HTTP clients' presence leases), and the fan-out of published messages
//! to sessions.
//!
//! Fan-out never waits: a message is wrapped once in an `Arc<SharedMessage>` (which encodes its
//! tail once per escaping flavour, on first use) and `try_send` hands it to each subscriber's
//! bounded mailbox. A session whose mailbox is full is a slow consumer: it is dropped from the
//! table at once and sent an [`Evict`] (it answers with an ERROR frame and closes), so it never
//! slows the others or makes the broker hold messages for it. A session whose mailbox is gone
//! is dropped silently. Sessions also police their own socket backlog (transport); this is the
//! second line, for a session whose actor cannot keep up at all.
//!
//! It must not decide who may subscribe (the gate did, with [`super::acl`]) nor format service
//! events (the transport's relay does); it only routes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use actix::dev::SendError;
use actix::prelude::*;

use super::messages::{
    BrokerStats, ClientBeat, ClientsWithSessions, Deliver, Deregister, Evict, Eviction, GetBrokerStats, OnlineClients,
    Outlet, PresenceChanged, Publish, PublishBatch, PublishToUser, Register, RevokeSessions, Subscribe, Unsubscribe,
};
use super::presence::{presence_json, Presence, PresenceChange};
use super::table::{SessionKey, Subscriber, Table};
use crate::listen::Listen;
use crate::stomp::SharedMessage;
use crate::time::{Clock, Millis};

/// Where presence changes are published.
pub const PRESENCE_TOPIC: &str = "/topic/presence";
/// The content type of every JSON message the server publishes.
pub const JSON: &str = "application/json";

struct Route {
    outlet: Outlet,
    client: Option<String>,
}

/// Why a delivery failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    Full,
    Gone,
}

pub struct Broker {
    table: Table,
    routes: HashMap<SessionKey, Route>,
    presence: Presence,
    listeners: Vec<Recipient<PresenceChanged>>,
    /// The timer that ends HTTP presence leases, and when it fires.
    sweep: Option<(Millis, SpawnHandle)>,
    clock: Arc<dyn Clock>,
    /// Reused between fan-outs.
    failed: Vec<(SessionKey, Failure)>,
    stats: BrokerStats,
}

impl Broker {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Broker {
            table: Table::default(),
            routes: HashMap::new(),
            presence: Presence::default(),
            listeners: Vec::new(),
            sweep: None,
            clock,
            failed: Vec::new(),
            stats: BrokerStats::default(),
        }
    }

    /// Clients stay online `grace` after their last session closed (see [`Presence`]).
    pub fn with_disconnect_grace(mut self, grace: Duration) -> Self {
        self.presence = Presence::with_grace(grace);
        self
    }

    /// Delivers `message` to each subscriber; notes failures in `self.failed`.
    fn fan_out<'a>(
        routes: &HashMap<SessionKey, Route>,
        subscribers: impl Iterator<Item = &'a Subscriber>,
        messages: &Arc<[Arc<SharedMessage>]>,
        failed: &mut Vec<(SessionKey, Failure)>,
    ) -> u64 {
        let mut delivered = 0;
        for subscriber in subscribers {
            let Some(route) = routes.get(&subscriber.session) else {
                continue;
            };
            let deliver = Deliver {
                subscription: subscriber.subscription.clone(),
                messages: messages.clone(),
            };
            match route.outlet.deliver.try_send(deliver) {
                Ok(()) => delivered += messages.len() as u64,
                Err(SendError::Full(_)) => failed.push((subscriber.session, Failure::Full)),
                Err(SendError::Closed(_)) => failed.push((subscriber.session, Failure::Gone)),
            }
        }
        delivered
    }

    fn publish_to(&mut self, user: Option<&str>, message: SharedMessage) -> usize {
        self.publish_all(user, vec![Arc::new(message)])
    }

    /// Fans `messages` (all to one destination) out to every subscriber in one delivery each;
    /// returns how many sessions it closed (slow or gone), each maybe a client's last.
    fn publish_all(&mut self, user: Option<&str>, messages: Vec<Arc<SharedMessage>>) -> usize {
        let Some(first) = messages.first() else { return 0 };
        self.stats.published += messages.len() as u64;
        let destination = first.destination().to_owned();
        let messages: Arc<[Arc<SharedMessage>]> = messages.into();
        let delivered = match user {
            None => Self::fan_out(
                &self.routes,
                self.table.subscribers(&destination),
                &messages,
                &mut self.failed,
            ),
            Some(user) => Self::fan_out(
                &self.routes,
                self.table.user_subscribers(user, &destination),
                &messages,
                &mut self.failed,
            ),
        };
        self.stats.delivered += delivered;
        let failed = std::mem::take(&mut self.failed);
        let mut closed = 0;
        for &(session, failure) in &failed {
            if !self.table.is_open(session) {
                continue;
            }
            match failure {
                Failure::Full => {
                    log::warn!("broker slow consumer session={session} action=evict");
                    if let Some(route) = self.routes.get(&session) {
                        route.outlet.evict.do_send(Evict {
                            cause: Eviction::MailboxFull,
                        });
                    }
                    self.stats.evicted += 1;
                }
                Failure::Gone => log::debug!("broker session gone session={session}"),
            }
            self.close(session);
            closed += 1;
        }
        self.failed = failed;
        self.failed.clear();
        closed
    }

    fn close(&mut self, session: SessionKey) {
        let closed = self.table.close(session);
        let route = self.routes.remove(&session);
        if let Some(closed) = &closed {
            log::debug!(
                "broker session closed session={session} user={} subscriptions={}",
                closed.user,
                closed.subscriptions
            );
        }
        let change = route
            .and_then(|route| route.client)
            .and_then(|client| self.presence.session_closed(&client, self.clock.now()));
        if let Some(change) = change {
            self.presence_changed(change);
        }
    }

    fn presence_changed(&mut self, change: PresenceChange) {
        let at = self.clock.now();
        let (client, online) = match change {
            PresenceChange::Online(client) => (client, true),
            PresenceChange::Offline(client) => (client, false),
        };
        log::info!("presence client={client} online={online}");
        let body = presence_json(&client, online, at);
        self.publish_to(
            None,
            SharedMessage::new(PRESENCE_TOPIC, vec![("content-type".to_owned(), JSON.to_owned())], body),
        );
        for listener in &self.listeners {
            listener.do_send(PresenceChanged {
                client: client.clone(),
                online,
                at,
            });
        }
    }

    /// Ends the leases that ran out, then sets the timer for the next one.
    fn sweep(&mut self, ctx: &mut Context<Self>) {
        self.sweep = None;
        for change in self.presence.expire(self.clock.now()) {
            self.presence_changed(change);
        }
        self.schedule_sweep(ctx);
    }

    /// Makes sure the timer fires at the earliest lease's end (one timer for every client).
    fn schedule_sweep(&mut self, ctx: &mut Context<Self>) {
        let Some(next) = self.presence.next_expiry() else {
            return;
        };
        if let Some((at, handle)) = self.sweep {
            if at <= next {
                return;
            }
            ctx.cancel_future(handle);
        }
        let wait = next.since(self.clock.now());
        let handle = ctx.run_later(wait, |broker, ctx| broker.sweep(ctx));
        self.sweep = Some((next, handle));
    }
}

impl Actor for Broker {
    type Context = Context<Self>;

    fn started(&mut self, _: &mut Context<Self>) {
        log::info!("broker started");
    }
}

impl Handler<Register> for Broker {
    type Result = ();
    fn handle(&mut self, msg: Register, _: &mut Context<Self>) {
        if self.table.is_open(msg.session) {
            return;
        }
        self.table.open(msg.session, &msg.user);
        let change = msg
            .client
            .as_deref()
            .and_then(|client| self.presence.session_opened(client));
        self.routes.insert(
            msg.session,
            Route {
                outlet: msg.outlet,
                client: msg.client,
            },
        );
        if let Some(change) = change {
            self.presence_changed(change);
        }
    }
}

impl Handler<Subscribe> for Broker {
    type Result = ();
    fn handle(&mut self, msg: Subscribe, _: &mut Context<Self>) {
        if let Err(err) = self.table.subscribe(msg.session, Arc::from(msg.id), &msg.destination) {
            // The session core refuses duplicate ids, and an unknown session was evicted: both
            // are races, never a client's doing.
            log::debug!("broker subscribe ignored session={} error={err}", msg.session);
        }
    }
}

impl Handler<Unsubscribe> for Broker {
    type Result = ();
    fn handle(&mut self, msg: Unsubscribe, _: &mut Context<Self>) {
        self.table.unsubscribe(msg.session, &msg.id);
    }
}

impl Handler<Deregister> for Broker {
    type Result = ();
    fn handle(&mut self, msg: Deregister, ctx: &mut Context<Self>) {
        self.close(msg.session);
        // A last session's close leaves a grace lease: its end needs the timer.
        self.schedule_sweep(ctx);
    }
}

impl Handler<Publish> for Broker {
    type Result = ();
    fn handle(&mut self, msg: Publish, ctx: &mut Context<Self>) {
        if self.table.subscribers(&msg.destination).next().is_none() {
            self.stats.published += 1;
            return;
        }
        if self.publish_to(None, SharedMessage::new(msg.destination, msg.headers, msg.body)) > 0 {
            // A dropped slow consumer may have been a client's last session: its grace lease.
            self.schedule_sweep(ctx);
        }
    }
}

impl Handler<PublishBatch> for Broker {
    type Result = ();
    fn handle(&mut self, msg: PublishBatch, ctx: &mut Context<Self>) {
        if self.table.subscribers(&msg.destination).next().is_none() {
            self.stats.published += msg.bodies.len() as u64;
            return;
        }
        let messages = msg
            .bodies
            .into_iter()
            .map(|body| Arc::new(SharedMessage::new(msg.destination.clone(), msg.headers.clone(), body)))
            .collect();
        if self.publish_all(None, messages) > 0 {
            self.schedule_sweep(ctx);
        }
    }
}

impl Handler<PublishToUser> for Broker {
    type Result = ();
    fn handle(&mut self, msg: PublishToUser, ctx: &mut Context<Self>) {
        let message = SharedMessage::new(msg.destination, msg.headers, msg.body);
        if self.publish_to(Some(&msg.user), message) > 0 {
            self.schedule_sweep(ctx);
        }
    }
}

impl Handler<RevokeSessions> for Broker {
    type Result = ();
    fn handle(&mut self, msg: RevokeSessions, _: &mut Context<Self>) {
        let sessions = self.table.sessions_of(&msg.user);
        log::info!(
            "broker revocation subject={} sessions_told={}",
            msg.subject,
            sessions.len()
        );
        for session in sessions {
            if let Some(route) = self.routes.get(&session) {
                route.outlet.evict.do_send(Evict {
                    cause: Eviction::Revoked {
                        subject: msg.subject.clone(),
                        before: msg.before,
                        why: msg.why.clone(),
                    },
                });
            }
        }
    }
}

impl Handler<ClientBeat> for Broker {
    type Result = ();
    fn handle(&mut self, msg: ClientBeat, ctx: &mut Context<Self>) {
        if let Some(change) = self.presence.beat(&msg.client, msg.until) {
            self.presence_changed(change);
        }
        self.schedule_sweep(ctx);
    }
}

impl Handler<OnlineClients> for Broker {
    type Result = MessageResult<OnlineClients>;
    fn handle(&mut self, _: OnlineClients, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.presence.online())
    }
}

impl Handler<ClientsWithSessions> for Broker {
    type Result = MessageResult<ClientsWithSessions>;
    fn handle(&mut self, _: ClientsWithSessions, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.presence.with_sessions())
    }
}

/// Told whenever a client comes online or goes offline.
impl Handler<Listen<PresenceChanged>> for Broker {
    type Result = ();
    fn handle(&mut self, msg: Listen<PresenceChanged>, _: &mut Context<Self>) {
        self.listeners.push(msg.listener);
    }
}

impl Handler<GetBrokerStats> for Broker {
    type Result = BrokerStats;
    fn handle(&mut self, _: GetBrokerStats, _: &mut Context<Self>) -> BrokerStats {
        BrokerStats {
            sessions: self.table.sessions(),
            subscriptions: self.table.subscriptions(),
            ..self.stats
        }
    }
}
