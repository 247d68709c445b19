//! One STOMP session, whatever carries it: the glue between the pure protocol core
//! ([`Session`]) and the runtime, shared by every transport (WebSocket, plain TCP, SockJS).
//!
//! A transport's actor owns a [`Driver`] and hands it what arrives (bytes, broker deliveries,
//! evictions, its timer firing) together with a [`Link`]: the transport's side of the
//! connection (write a frame, close, count the backlog, give the broker an [`Outlet`], arm the
//! one deadline timer). The driver feeds the core, then carries out the actions the core
//! returns, in order: writes, broker (un)subscriptions, publications (`/topic/ops/...` to the
//! broker with a `sender` header, `/app/...` to [`super::routes`](mod@super::routes)) and the close. It registers
//! with the broker once the session is authenticated and deregisters when the transport says
//! the connection is gone ([`Driver::stopped`]), so every way a session ends is noticed at once.
//!
//! Slow consumers: after each delivery the driver asks the link how many bytes wait for the
//! peer; past the configured limit the session is sent an ERROR and closed. The broker
//! separately evicts a session whose mailbox is full ([`Driver::evicted`]).
//!
//! It must not know the transport: framing, buffering and socket rules stay in the transports.

use std::net::IpAddr;
use std::sync::Arc;

use actix::Addr;
use bytes::{Bytes, BytesMut};

use super::cert_gate::CertifiedGate;
use super::connect_guard::ThrottledGate;
use super::gate::StompGate;
use super::relay::COMMAND_QUEUE;
use super::routes;
use crate::auth::client_cert::ClientCertMode;
use crate::auth::{revocation, Principal, Role};
use crate::broker::acl::{self, SendTarget};
use crate::broker::messages::{Deliver, Deregister, Eviction, Outlet, Publish, Register, Subscribe, Unsubscribe};
use crate::broker::{Broker, Bus, Published, SessionKey};
use crate::command::messages::ClientOnline;
use crate::config::Config;
use crate::ids::IdGen;
use crate::limit::{Limits, Slot};
use crate::ownership::Inbound;
use crate::state::AppState;
use crate::stomp::{Action, HeartBeat, Phase, ProtocolError, Session, SessionConfig, StompTally, Transport};
use crate::time::{Clock, Millis};
use crate::tls::CertifiedClient;

/// Deliveries that may wait in a session's mailbox before the broker evicts it.
pub const SESSION_MAILBOX_CAPACITY: usize = 1_024;
/// The CONNECTED `server` header.
pub const SERVER_NAME: &str = concat!("kwanje/", env!("CARGO_PKG_VERSION"));

/// Per-server settings of STOMP sessions (from `Config`).
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub heart_beat: HeartBeat,
    /// The lowest heart-beat interval a client may ask for.
    pub heart_beat_floor_ms: u64,
    /// Bytes queued for a client past which it is a slow consumer.
    pub outbound_limit: usize,
    /// What a verified client certificate is worth at CONNECT.
    pub client_cert: ClientCertMode,
}

impl Settings {
    pub fn from_config(config: &Config) -> Self {
        let beat = config.stomp_heart_beat_ms;
        Settings {
            heart_beat: HeartBeat {
                send_ms: beat,
                receive_ms: beat,
            },
            heart_beat_floor_ms: config.stomp_heart_beat_min_ms,
            outbound_limit: config.ws_outbound_limit_bytes,
            // Checked at start; a bad value never gets this far.
            client_cert: config.client_cert_mode().unwrap_or(ClientCertMode::Off),
        }
    }
}

/// What every session of a server shares: made once at start, behind one `Arc`, so a session
/// holds one pointer instead of a clone of each address (each clone of an actor address is an
/// allocation, and an idle session's memory is the figure to keep small).
pub struct Shared {
    broker: Addr<Broker>,
    bus: Arc<dyn Bus>,
    services: routes::Services,
    clock: Arc<dyn Clock>,
    ids: Arc<IdGen>,
    gate: StompGate,
    settings: Settings,
    limits: Limits,
    tally: Arc<StompTally>,
}

impl Shared {
    pub fn new(state: &AppState) -> Self {
        Shared {
            broker: state.broker.clone(),
            bus: state.bus.clone(),
            services: routes::Services::of(state),
            clock: state.clock.clone(),
            ids: state.ids.clone(),
            gate: StompGate::new(state.keys.clone()).with_revocations(state.accounts.revocations()),
            settings: Settings::from_config(&state.config),
            limits: state.limits.clone(),
            tally: state.stomp.clone(),
        }
    }

    /// Connections per address and sessions per principal.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The server's clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").field("settings", &self.settings).finish()
    }
}

/// The transport's side of one session's connection.
pub trait Link {
    /// Queues one encoded frame for the peer (`text`: it is UTF-8, for transports that care).
    fn write(&mut self, bytes: Bytes, text: bool);
    /// Bytes queued for the peer that it has not taken yet.
    fn pending(&self) -> usize;
    /// Ends the connection after what was written; `normal` after a DISCONNECT, otherwise the
    /// session ended on an error.
    fn close(&mut self, normal: bool);
    /// How the broker reaches this session's actor.
    fn outlet(&mut self) -> Outlet;
    /// Arms the session's one timer for `due` (none: disarm); when it fires the transport calls
    /// [`Driver::tick`].
    fn arm(&mut self, due: Option<Millis>, now: Millis);
    /// Ends the connection as the server's own choice (SockJS's `c[3000,"Go away!"]`; the
    /// SockJS test suite's `close` service). A plain normal close where there is no such frame.
    fn go_away(&mut self) {
        self.close(true);
    }
}

/// The runtime side of one STOMP session.
pub struct Driver {
    key: SessionKey,
    session: Session<Principal, SendTarget>,
    shared: Arc<Shared>,
    /// Bytes received and not yet decoded (a partial frame); no allocation while empty.
    inbound: BytesMut,
    /// What the session asked for, reused between inputs.
    actions: Vec<Action<SendTarget>>,
    registered: bool,
    closing: bool,
    /// This session's place in its principal's limit, once connected.
    slot: Option<Slot<String>>,
    /// The CONNECT was refused for the principal's session limit: never register.
    over_limit: bool,
    /// The client's address, when the transport knows it: its failed CONNECTs are throttled.
    peer: Option<IpAddr>,
    /// The client the connection's verified TLS certificate names, if any.
    certified: Option<Box<str>>,
    /// What carries this session, for the count of sessions by transport.
    transport: Transport,
}

impl Driver {
    /// A new session for a connection over `transport` that just opened.
    pub fn new(shared: Arc<Shared>, transport: Transport) -> Self {
        let now = shared.clock.now();
        let key = SessionKey(shared.ids.next(now).unsigned_abs());
        let mut config = SessionConfig::new(key.to_string(), SERVER_NAME);
        config.tally = Some(shared.tally.clone());
        config.heart_beat = shared.settings.heart_beat;
        config.heart_beat_floor_ms = shared.settings.heart_beat_floor_ms;
        Driver {
            key,
            session: Session::new(config, now),
            shared,
            inbound: BytesMut::new(),
            actions: Vec::new(),
            registered: false,
            closing: false,
            slot: None,
            over_limit: false,
            peer: None,
            certified: None,
            transport,
        }
    }

    /// This session's client address: its CONNECT is throttled with the address's failures.
    pub fn with_peer(mut self, peer: Option<IpAddr>) -> Self {
        self.peer = peer;
        self
    }

    /// The client the connection's verified certificate names (mutual TLS): its CONNECT may
    /// use it as `KWANJE_TLS_CLIENT_CERT` says.
    pub fn with_certificate(mut self, client: Option<CertifiedClient>) -> Self {
        self.certified = client.map(|client| client.0.into_boxed_str());
        self
    }

    pub fn key(&self) -> SessionKey {
        self.key
    }

    /// The transport is open: arm the first deadline (the CONNECT window).
    pub fn started(&mut self, link: &mut impl Link) {
        let now = self.shared.clock.now();
        self.reschedule(link, now);
        log::debug!("stomp session opened session={}", self.key);
    }

    /// Bytes from the peer: any number of frames, or pieces of one.
    pub fn data(&mut self, data: &[u8], link: &mut impl Link) {
        let now = self.shared.clock.now();
        self.inbound.extend_from_slice(data);
        let certified = CertifiedGate {
            inner: &self.shared.gate,
            cert: self.certified.as_deref(),
            mode: self.shared.settings.client_cert,
        };
        match self.peer.filter(|_| self.session.principal().is_none()) {
            Some(addr) => {
                let gate = ThrottledGate {
                    inner: &certified,
                    throttle: &self.shared.limits.connects,
                    addr,
                };
                self.session.on_bytes(&mut self.inbound, now, &gate, &mut self.actions);
            }
            None => self
                .session
                .on_bytes(&mut self.inbound, now, &certified, &mut self.actions),
        }
        // Most inputs are whole frames: keep no buffer between them (thousands of idle
        // sessions would each hold one).
        if self.inbound.is_empty() {
            self.inbound = BytesMut::new();
        }
        self.register(link, now);
        self.carry_out(link, now);
        self.reschedule(link, now);
    }

    /// The peer showed it is alive without sending STOMP bytes (a WebSocket ping or pong).
    pub fn alive(&mut self) {
        self.session.on_data_received(self.shared.clock.now());
    }

    /// The timer armed through [`Link::arm`] fired.
    pub fn tick(&mut self, link: &mut impl Link) {
        let now = self.shared.clock.now();
        self.session.on_tick(now, &mut self.actions);
        self.carry_out(link, now);
        self.reschedule(link, now);
    }

    /// Messages from the broker for one of this session's subscriptions.
    pub fn deliver(&mut self, msg: &Deliver, link: &mut impl Link) {
        let now = self.shared.clock.now();
        for message in msg.messages.iter() {
            self.session.deliver(&msg.subscription, message, now, &mut self.actions);
        }
        self.carry_out(link, now);
        let pending = link.pending();
        let limit = self.shared.settings.outbound_limit;
        if pending > limit {
            self.slow_consumer(
                format!("{pending} bytes wait to be written to this session; the limit is {limit}"),
                link,
            );
        }
    }

    /// The broker told this session to close: its mailbox was full (it was dropped), or its
    /// principal's tokens were revoked (it closes if its own token is one of them).
    pub fn evicted(&mut self, cause: Eviction, link: &mut impl Link) {
        match cause {
            Eviction::MailboxFull => {
                let detail = format!("{SESSION_MAILBOX_CAPACITY} messages wait for this session (mailbox full)");
                self.slow_consumer(detail, link);
            }
            Eviction::Revoked { subject, before, why } => {
                let revoked = self
                    .session
                    .principal()
                    .is_some_and(|who| revocation::closes(who, &subject, before));
                if !revoked || self.session.is_closed() {
                    return;
                }
                log::warn!(
                    "stomp session revoked session={} subject={subject} why={why:?}",
                    self.key
                );
                let now = self.shared.clock.now();
                self.session
                    .abort(ProtocolError::Revoked { detail: why }, now, &mut self.actions);
                self.carry_out(link, now);
            }
        }
    }

    /// The transport is closing on its own (a close frame, a socket error): no more writes.
    pub fn closing(&mut self) {
        self.closing = true;
    }

    /// The connection is gone, however it went: leave the broker.
    pub fn stopped(&mut self) {
        self.session.on_transport_closed(&mut self.actions);
        self.actions.clear();
        if self.registered {
            self.shared.broker.do_send(Deregister { session: self.key });
        }
        if self.slot.take().is_some() {
            self.shared.tally.closed(self.transport);
        }
        let who = self.session.principal().map_or("-", |p| p.name.as_str());
        log::info!("stomp session ended session={} principal={who}", self.key);
    }

    /// The gate PC or kiosk this session speaks for, when its principal is a client.
    fn client_id(&self) -> Option<String> {
        let who = self.session.principal()?;
        (who.role == Role::Client).then(|| acl::user_of(who).to_owned())
    }

    /// Registers with the broker once the session is authenticated, before any of its
    /// subscriptions reach the broker (the same mailbox keeps them in order).
    ///
    /// A principal already holding its limit of sessions is refused instead: what the CONNECT
    /// (and anything after it in the same read) asked for is dropped, CONNECTED included, and
    /// the session answers ERROR and closes.
    fn register(&mut self, link: &mut impl Link, now: Millis) {
        if self.registered || self.over_limit {
            return;
        }
        let Some(principal) = self.session.principal() else {
            return;
        };
        let user = acl::user_of(principal).to_owned();
        match self.shared.limits.sessions.take(user) {
            Ok(slot) => {
                self.slot = Some(slot);
                self.shared.tally.opened(self.transport);
            }
            Err(over) => {
                self.over_limit = true;
                let principal = acl::user_of(principal).to_owned();
                let refused = self.shared.limits.sessions.stats().refused;
                if refused.is_power_of_two() {
                    log::warn!(
                        "stomp session refused session={} principal={principal} held={} limit={} refused_total={refused}",
                        self.key,
                        over.held,
                        over.limit
                    );
                }
                self.actions.clear();
                let err = ProtocolError::TooManySessions {
                    principal,
                    held: over.held,
                    limit: over.limit,
                };
                self.session.abort(err, now, &mut self.actions);
                return;
            }
        }
        let Some(principal) = self.session.principal() else {
            return;
        };
        self.shared.broker.do_send(Register {
            session: self.key,
            user: acl::user_of(principal).to_owned(),
            client: principal.client.clone().filter(|_| principal.role == Role::Client),
            outlet: link.outlet(),
        });
        self.registered = true;
        // A revocation made after the CONNECT was checked, whose notice reached the broker
        // before this registration, told nobody: checked again now that the broker knows the
        // session (a revocation after this check reaches the broker after the registration).
        if let Err(err) = self.shared.gate.still_valid(principal) {
            log::warn!("stomp session revoked at registration session={} why={err}", self.key);
            self.actions.clear();
            self.session.abort(
                ProtocolError::Revoked {
                    detail: err.to_string(),
                },
                now,
                &mut self.actions,
            );
        }
    }

    /// Carries out the session's actions in order. A publication the server refuses aborts the
    /// session: what the frames after it asked for is dropped, and the abort's ERROR and close
    /// are carried out instead.
    fn carry_out(&mut self, link: &mut impl Link, now: Millis) {
        let mut actions = std::mem::take(&mut self.actions);
        let mut refused = None;
        for action in actions.drain(..) {
            if refused.is_some() {
                continue;
            }
            match action {
                Action::Send { bytes, text } => link.write(bytes, text),
                Action::Subscribe { id, destination } => {
                    let commands_queue = destination == COMMAND_QUEUE;
                    self.shared.broker.do_send(Subscribe {
                        session: self.key,
                        id,
                        destination,
                    });
                    // Commands waiting for this client go out once it listens for them, not at
                    // CONNECT: the subscription is in the broker's mailbox ahead of them.
                    // In a cluster, the owner of the client's partition holds its commands.
                    if let (true, Some(client)) = (commands_queue, self.client_id()) {
                        let services = &self.shared.services;
                        match services
                            .elsewhere
                            .as_ref()
                            .and_then(|e| Some((e, e.partition_of(&client)?)))
                        {
                            Some((elsewhere, partition)) => {
                                elsewhere.send(partition, Inbound::Listening { client });
                            }
                            None => services.commands.do_send(ClientOnline { client_id: client }),
                        }
                    }
                }
                Action::Unsubscribe { id, .. } => {
                    if self.registered {
                        self.shared.broker.do_send(Unsubscribe { session: self.key, id });
                    }
                }
                Action::Publish {
                    destination,
                    headers,
                    body,
                    target,
                } => {
                    if let Err(err) = self.publish(target, destination, headers, body) {
                        refused = Some(err);
                    }
                }
                Action::Close => self.close(link),
            }
        }
        self.actions = actions;
        if let Some(err) = refused {
            self.session.abort(err, now, &mut self.actions);
            self.carry_out(link, now);
        }
    }

    /// A SEND that took effect, going where the ACL classified it when it let it through: an
    /// operators' broadcast to the broker with its sender, an application destination to its
    /// route (the destination is not parsed again).
    fn publish(
        &mut self,
        target: SendTarget,
        destination: String,
        mut headers: Vec<(String, String)>,
        body: Bytes,
    ) -> Result<(), ProtocolError> {
        let Some(principal) = self.session.principal() else {
            return Ok(());
        };
        let app = match target {
            SendTarget::Ops => {
                headers.push(("sender".to_owned(), principal.name.clone()));
                self.shared.bus.publish(Published::Topic(Publish {
                    destination,
                    headers,
                    body,
                }));
                return Ok(());
            }
            SendTarget::App(app) => app,
        };
        match routes::route(&self.shared.services, principal, app, &body) {
            Ok(routed) => {
                log::trace!(
                    "stomp send routed session={} destination={destination} result={routed:?}",
                    self.key
                );
                Ok(())
            }
            Err(err) => {
                log::warn!(
                    "stomp send refused session={} destination={destination} error={err}",
                    self.key
                );
                Err(err.into_protocol(&destination))
            }
        }
    }

    fn close(&mut self, link: &mut impl Link) {
        if self.closing {
            return;
        }
        self.closing = true;
        link.close(self.session.phase() == Phase::Disconnected);
    }

    /// Arms the timer for the session's next deadline unless an earlier one is armed. A timer
    /// that fires before a deadline that moved later finds nothing due and re-arms.
    fn reschedule(&mut self, link: &mut impl Link, now: Millis) {
        if self.closing {
            return;
        }
        link.arm(self.session.next_deadline(), now);
    }

    fn slow_consumer(&mut self, detail: String, link: &mut impl Link) {
        if self.session.is_closed() {
            return;
        }
        log::warn!("stomp slow consumer session={} detail={detail:?}", self.key);
        let now = self.shared.clock.now();
        self.session
            .abort(ProtocolError::SlowConsumer { detail }, now, &mut self.actions);
        self.carry_out(link, now);
    }
}
