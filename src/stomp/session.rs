//! The per-connection STOMP protocol state machine.
//!
//! Owns the protocol: handshake (version and heart-beat negotiation, authentication through a
//! [`Gate`]), subscriptions, acks, transactions, receipts, timers, and ERROR-then-close on every
//! violation. It must not do I/O, read a clock or know the broker: every input carries `now`, and
//! every effect is an [`Action`] pushed onto a caller-owned `Vec` (so an actor can reuse one
//! buffer), carried out in order.
//!
//! The transport feeds it bytes ([`Session::on_bytes`], which also keeps the decoder's version in
//! step with the handshake) or decoded items ([`Session::on_inbound`]), calls [`Session::on_tick`]
//! at [`Session::next_deadline`], and hands broker deliveries to [`Session::deliver`].
//!
//! Error policy: a [`ProtocolError`] becomes one ERROR frame (`message` = its text, body = its
//! detail, `receipt-id` when the offending frame asked for a receipt), the session's subscriptions
//! are released (`Unsubscribe` actions), open transactions are aborted, and `Close` follows. The
//! broker never sees the offending frame. After that every input is ignored.

use std::fmt;

use bytes::{Bytes, BytesMut};
use log::{debug, info};

use super::action::{Action, Delivery};
use super::client::{self, AckMode, AckTarget, ClientFrame, Connect};
use super::codec::{encode, Decoder, Inbound};
use super::config::SessionConfig;
use super::error::{CodecError, ProtocolError};
use super::escape::Escaping;
use super::frame::{Command, Frame, Version};
use super::gate::{Denied, Gate};
use super::heartbeat::{answer, negotiate, HeartBeat, Liveness, Negotiated};
use super::message::{MessageId, SharedMessage};
use super::subscription::Subscriptions;
use super::tally::Counted;
use super::transaction::{Transactions, TxOp};
use crate::time::Millis;

/// What the server sends as a heart-beat.
const HEART_BEAT_EOL: &[u8] = b"\n";

/// Where the session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    AwaitingConnect,
    Connected,
    /// DISCONNECT handled and `Close` pushed; a further frame is a violation.
    Disconnected,
    Closed,
}

/// One client connection's protocol state. `P` is the gate's principal, `T` its
/// [`Target`](Gate::Target) (where a permitted SEND goes).
pub struct Session<P, T = ()> {
    config: SessionConfig,
    decoder: Decoder,
    phase: Phase,
    connect_deadline: Millis,
    /// 1.0 (no escaping) until CONNECTED is sent.
    version: Version,
    principal: Option<P>,
    expires: Option<Millis>,
    liveness: Liveness,
    subscriptions: Subscriptions,
    transactions: Transactions<T>,
    next_seq: u64,
}

impl<P: fmt::Debug, T> fmt::Debug for Session<P, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.config.session_id)
            .field("phase", &self.phase)
            .field("version", &self.version)
            .field("principal", &self.principal)
            .field("subscriptions", &self.subscriptions.len())
            .field("unacked", &self.subscriptions.unacked())
            .field("transactions", &self.transactions.len())
            .finish()
    }
}

impl<P: Clone + fmt::Debug, T: Clone + fmt::Debug> Session<P, T> {
    /// A session for a connection accepted at `now`.
    pub fn new(config: SessionConfig, now: Millis) -> Self {
        Session {
            decoder: Decoder::new(config.limits),
            connect_deadline: now + config.connect_timeout,
            config,
            phase: Phase::AwaitingConnect,
            version: Version::V1_0,
            principal: None,
            expires: None,
            liveness: Liveness::new(Negotiated::NONE, now),
            subscriptions: Subscriptions::default(),
            transactions: Transactions::default(),
            next_seq: 0,
        }
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// True once `Close` was pushed (or the transport reported the connection gone).
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Disconnected | Phase::Closed)
    }

    /// The negotiated version, once connected.
    pub fn version(&self) -> Option<Version> {
        self.principal.is_some().then_some(self.version)
    }

    /// The authenticated principal, once connected.
    pub fn principal(&self) -> Option<&P> {
        self.principal.as_ref()
    }

    pub fn session_id(&self) -> &str {
        &self.config.session_id
    }

    /// How many delivered messages await an ACK or NACK.
    pub fn unacked(&self) -> usize {
        self.subscriptions.unacked()
    }

    /// The negotiated heart-beat intervals (none before CONNECT and in 1.0).
    pub fn heart_beat(&self) -> Negotiated {
        self.liveness.negotiated()
    }

    /// Decodes and handles every complete item in `buf` (the transport appends what it read and
    /// calls this, always with the same buffer), counting the bytes as liveness. Stops at the first
    /// decode error (ERROR + Close) and once the session is closed; incomplete bytes stay in `buf`.
    pub fn on_bytes<G: Gate<Principal = P, Target = T>>(
        &mut self,
        buf: &mut BytesMut,
        now: Millis,
        gate: &G,
        out: &mut Vec<Action<T>>,
    ) {
        if !buf.is_empty() {
            self.on_data_received(now);
        }
        while self.phase != Phase::Closed {
            match self.decoder.decode(buf) {
                Ok(Some(item)) => self.on_inbound(item, now, gate, out),
                Ok(None) => break,
                Err(err) => {
                    self.on_decode_error(err, now, out);
                    break;
                }
            }
        }
    }

    /// Handles one decoded item. A transport with its own decoder must call
    /// `decoder.set_version(v)` when [`Session::version`] becomes `Some(v)`.
    pub fn on_inbound<G: Gate<Principal = P, Target = T>>(
        &mut self,
        item: Inbound,
        now: Millis,
        gate: &G,
        out: &mut Vec<Action<T>>,
    ) {
        self.liveness.received(now);
        if let Some(tally) = &self.config.tally {
            tally.received(match &item {
                Inbound::HeartBeat => Counted::HeartBeat,
                Inbound::Frame(frame) => Counted::Frame(&frame.command),
            });
        }
        match item {
            Inbound::HeartBeat => {}
            Inbound::Frame(frame) => self.on_frame(frame, now, gate, out),
        }
    }

    /// The transport's decoder failed: ERROR + Close.
    pub fn on_decode_error(&mut self, err: CodecError, now: Millis, out: &mut Vec<Action<T>>) {
        if self.phase != Phase::Closed {
            self.fail(ProtocolError::Decode(err), None, now, out);
        }
    }

    /// Any bytes arrived, even part of a frame: the client is alive.
    pub fn on_data_received(&mut self, now: Millis) {
        self.liveness.received(now);
    }

    /// Bytes went out to the client (the session notes its own `Send`s already; a transport that
    /// writes late may report the real time).
    pub fn on_sent(&mut self, now: Millis) {
        self.liveness.sent(now);
    }

    /// The server refuses something the protocol itself allowed: an application payload the
    /// transport could not accept ([`ProtocolError::Rejected`], [`ProtocolError::SendDenied`]),
    /// or a client that reads too slowly ([`ProtocolError::SlowConsumer`]). Same policy as any
    /// violation: ERROR, release, Close. Ignored once the session is closed.
    pub fn abort(&mut self, err: ProtocolError, now: Millis, out: &mut Vec<Action<T>>) {
        if !self.is_closed() {
            self.fail(err, None, now, out);
        }
    }

    /// The connection is gone without a DISCONNECT: abort transactions, release subscriptions
    /// (`Unsubscribe` actions only; no ERROR, no Close).
    pub fn on_transport_closed(&mut self, out: &mut Vec<Action<T>>) {
        if self.phase != Phase::Closed {
            self.release(out);
            self.phase = Phase::Closed;
        }
    }

    /// Timers: CONNECT timeout, token expiry, client silence (ERROR + Close each), and the server's
    /// heart-beat when nothing went out for the outgoing interval.
    pub fn on_tick(&mut self, now: Millis, out: &mut Vec<Action<T>>) {
        match self.phase {
            Phase::AwaitingConnect if now >= self.connect_deadline => {
                let waited = self.config.connect_timeout;
                self.fail(ProtocolError::ConnectTimeout { waited }, None, now, out);
            }
            Phase::Connected => {
                if let Err(err) = self.check_expiry(now) {
                    self.fail(err, None, now, out);
                } else if let Some(silent) = self.liveness.peer_silent(now) {
                    let limit = self.liveness.silence_limit().unwrap_or_default();
                    self.fail(ProtocolError::HeartBeatTimeout { silent, limit }, None, now, out);
                } else if self.liveness.beat_due(now) {
                    out.push(Action::Send {
                        bytes: Bytes::from_static(HEART_BEAT_EOL),
                        text: true,
                    });
                    self.count_sent(Counted::HeartBeat);
                    self.liveness.sent(now);
                }
            }
            _ => {}
        }
    }

    /// When [`Session::on_tick`] should next run; `None` when no timer is armed.
    pub fn next_deadline(&self) -> Option<Millis> {
        match self.phase {
            Phase::AwaitingConnect => Some(self.connect_deadline),
            Phase::Connected => match (self.liveness.next_deadline(), self.expires) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            Phase::Disconnected | Phase::Closed => None,
        }
    }

    /// Delivers a broker message to subscription `subscription` of this session: one MESSAGE with a
    /// fresh `message-id` (and `ack` in 1.2 when the subscription is not `auto`).
    pub fn deliver(
        &mut self,
        subscription: &str,
        message: &SharedMessage,
        now: Millis,
        out: &mut Vec<Action<T>>,
    ) -> Delivery {
        if self.phase != Phase::Connected {
            return Delivery::NotConnected;
        }
        if let Err(err) = self.check_expiry(now) {
            self.fail(err, None, now, out);
            return Delivery::ClosedSession;
        }
        let Some(found) = self.subscriptions.get(subscription) else {
            return Delivery::UnknownSubscription;
        };
        let needs_ack = found.ack != AckMode::Auto;
        if needs_ack && self.subscriptions.unacked() >= self.config.max_unacked {
            let limit = self.config.max_unacked;
            self.fail(ProtocolError::TooManyUnacked { limit }, None, now, out);
            return Delivery::ClosedSession;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let id = MessageId {
            session: &self.config.session_id,
            seq,
        };
        let escaping = Escaping::for_version(self.version);
        let ack_header = needs_ack && self.version == Version::V1_2;
        let bytes = message.encode_for(escaping, subscription, id, ack_header);
        if needs_ack {
            self.subscriptions.record(subscription, seq);
        }
        out.push(Action::Send {
            bytes,
            text: message.is_text(),
        });
        self.count_sent(Counted::Frame(&Command::Message));
        self.liveness.sent(now);
        Delivery::Sent
    }

    fn on_frame<G: Gate<Principal = P, Target = T>>(
        &mut self,
        frame: Frame,
        now: Millis,
        gate: &G,
        out: &mut Vec<Action<T>>,
    ) {
        let receipt = frame.header("receipt").map(str::to_owned);
        let result = match self.phase {
            Phase::Closed => return,
            Phase::Disconnected => Err(ProtocolError::AfterDisconnect {
                command: frame.command.to_string(),
            }),
            Phase::AwaitingConnect => match frame.command {
                Command::Connect | Command::Stomp => match self.connect(&frame, now, gate, out) {
                    Ok(()) => return,
                    Err(err) => Err(err),
                },
                other => Err(ProtocolError::NotConnected {
                    command: other.to_string(),
                }),
            },
            Phase::Connected => match ClientFrame::parse(frame, self.version) {
                Err(err) => Err(err.into()),
                Ok(ClientFrame::Disconnect(disconnect)) => {
                    self.disconnect(disconnect.receipt, now, out);
                    return;
                }
                Ok(parsed) => self.dispatch(parsed, now, gate, out),
            },
        };
        match result {
            Ok(()) => {
                if let Some(receipt) = receipt {
                    self.send_receipt(&receipt, now, out);
                }
            }
            Err(err) => self.fail(err, receipt.as_deref(), now, out),
        }
    }

    fn connect<G: Gate<Principal = P, Target = T>>(
        &mut self,
        frame: &Frame,
        now: Millis,
        gate: &G,
        out: &mut Vec<Action<T>>,
    ) -> Result<(), ProtocolError> {
        let connect = Connect::parse(frame)?;
        let version = connect
            .negotiate_version()
            .ok_or_else(|| ProtocolError::NoCommonVersion {
                offered: connect.accept_version.clone().unwrap_or_default(),
            })?;
        let authenticated = gate
            .authenticate(&connect, now)
            .map_err(|denied| ProtocolError::AuthenticationFailed { reason: denied.reason })?;
        if let Some(at) = authenticated.expires.filter(|&at| now >= at) {
            return Err(ProtocolError::TokenExpired { at });
        }
        let (negotiated, server_beat) = match version {
            Version::V1_0 => (Negotiated::NONE, HeartBeat::NONE),
            _ => {
                let ours = answer(
                    connect.heart_beat,
                    self.config.heart_beat,
                    self.config.heart_beat_floor_ms,
                );
                (negotiate(connect.heart_beat, ours), ours)
            }
        };
        self.version = version;
        self.decoder.set_version(version);
        self.liveness = Liveness::new(negotiated, now);
        self.expires = authenticated.expires;
        self.phase = Phase::Connected;
        info!(
            "stomp connected session={} version={version} principal={:?} heart_beat={negotiated:?}",
            self.config.session_id, authenticated.principal
        );
        self.principal = Some(authenticated.principal);
        let connected = Frame::new(Command::Connected)
            .with_header("version", version.as_str())
            .with_header("heart-beat", server_beat.to_string())
            .with_header("session", self.config.session_id.clone())
            .with_header("server", self.config.server.clone());
        self.emit(&connected, now, out);
        Ok(())
    }

    fn dispatch<G: Gate<Principal = P, Target = T>>(
        &mut self,
        frame: ClientFrame,
        now: Millis,
        gate: &G,
        out: &mut Vec<Action<T>>,
    ) -> Result<(), ProtocolError> {
        // An expired token ends the session whatever the frame.
        self.check_expiry(now)?;
        match frame {
            ClientFrame::Unknown { command } => Err(ProtocolError::UnknownCommand(command)),
            ClientFrame::Connect(_) => Err(ProtocolError::AlreadyConnected),
            // `on_frame` handles DISCONNECT itself: its receipt must precede Close.
            ClientFrame::Disconnect(_) => Ok(()),
            ClientFrame::Send(send) => self.send(send, gate, out),
            ClientFrame::Subscribe(subscribe) => {
                self.authorize(gate, &subscribe.destination)?;
                self.subscriptions
                    .add(&subscribe.id, &subscribe.destination, subscribe.ack)?;
                out.push(Action::Subscribe {
                    id: subscribe.id,
                    destination: subscribe.destination,
                });
                Ok(())
            }
            ClientFrame::Unsubscribe(unsubscribe) => {
                let destination =
                    self.subscriptions
                        .remove(&unsubscribe.id)
                        .ok_or_else(|| ProtocolError::UnknownSubscription {
                            id: unsubscribe.id.clone(),
                        })?;
                out.push(Action::Unsubscribe {
                    id: unsubscribe.id,
                    destination,
                });
                Ok(())
            }
            ClientFrame::Ack(ack) => self.settle(ack.target, ack.transaction, false),
            ClientFrame::Nack(nack) => self.settle(nack.target, nack.transaction, true),
            ClientFrame::Begin(begin) => self.transactions.begin(&begin.transaction),
            ClientFrame::Commit(commit) => {
                for op in self.transactions.commit(&commit.transaction)? {
                    match op {
                        TxOp::Send(send, target) => out.push(publish(send, target)),
                        TxOp::Settle { seq, nack, .. } => self.settle_now(seq, nack),
                    }
                }
                Ok(())
            }
            ClientFrame::Abort(abort) => self.transactions.abort(&abort.transaction),
        }
    }

    fn send<G: Gate<Principal = P, Target = T>>(
        &mut self,
        send: client::Send,
        gate: &G,
        out: &mut Vec<Action<T>>,
    ) -> Result<(), ProtocolError> {
        let target = self.authorize_send(gate, &send.destination)?;
        match send.transaction.clone() {
            Some(transaction) => self.transactions.push(&transaction, TxOp::Send(send, target)),
            None => {
                out.push(publish(send, target));
                Ok(())
            }
        }
    }

    /// Asks the gate whether this session's principal may subscribe to `destination`.
    fn authorize<G: Gate<Principal = P, Target = T>>(&self, gate: &G, destination: &str) -> Result<(), ProtocolError> {
        let verdict = match self.principal.as_ref() {
            None => Err(Denied::new("not authenticated")),
            Some(who) => gate.may_subscribe(who, destination),
        };
        verdict.map_err(|denied| ProtocolError::SubscribeDenied {
            destination: destination.to_owned(),
            reason: denied.reason,
        })
    }

    /// Asks the gate whether this session's principal may send to `destination`, and where to.
    fn authorize_send<G: Gate<Principal = P, Target = T>>(
        &self,
        gate: &G,
        destination: &str,
    ) -> Result<T, ProtocolError> {
        let verdict = match self.principal.as_ref() {
            None => Err(Denied::new("not authenticated")),
            Some(who) => gate.may_send(who, destination),
        };
        verdict.map_err(|denied| ProtocolError::SendDenied {
            destination: destination.to_owned(),
            reason: denied.reason,
        })
    }

    /// An ACK or NACK: validated now, applied now or at COMMIT.
    fn settle(&mut self, target: AckTarget, transaction: Option<String>, nack: bool) -> Result<(), ProtocolError> {
        if let Some(transaction) = &transaction {
            self.transactions.ensure_open(transaction)?;
        }
        let seq = self
            .parse_message_id(&target.message_id)
            .filter(|&seq| self.subscriptions.is_pending(seq, target.subscription.as_deref()))
            .ok_or_else(|| ProtocolError::UnknownAck {
                id: target.message_id.clone(),
            })?;
        match transaction {
            Some(transaction) => self.transactions.push(&transaction, TxOp::Settle { seq, target, nack }),
            None => {
                self.settle_now(seq, nack);
                Ok(())
            }
        }
    }

    /// Messages are not redelivered: ACK and NACK both release them from the unacked window.
    fn settle_now(&mut self, seq: u64, nack: bool) {
        let settled = self.subscriptions.settle(seq);
        debug!(
            "stomp settled session={} seq={seq} nack={nack} count={settled}",
            self.config.session_id
        );
    }

    fn parse_message_id(&self, id: &str) -> Option<u64> {
        let digits = id.strip_prefix(self.config.session_id.as_str())?.strip_prefix('-')?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    }

    fn check_expiry(&self, now: Millis) -> Result<(), ProtocolError> {
        match self.expires {
            Some(at) if now >= at => Err(ProtocolError::TokenExpired { at }),
            _ => Ok(()),
        }
    }

    fn disconnect(&mut self, receipt: Option<String>, now: Millis, out: &mut Vec<Action<T>>) {
        self.release(out);
        if let Some(receipt) = receipt {
            self.send_receipt(&receipt, now, out);
        }
        out.push(Action::Close);
        self.phase = Phase::Disconnected;
        info!("stomp disconnected session={}", self.config.session_id);
    }

    /// ERROR frame, release, Close.
    fn fail(&mut self, err: ProtocolError, receipt: Option<&str>, now: Millis, out: &mut Vec<Action<T>>) {
        let detail = err.detail();
        info!(
            "stomp error session={} message={err} detail={detail:?}",
            self.config.session_id
        );
        let mut frame = Frame::new(Command::Error).with_header("message", err.to_string());
        if let Some(receipt) = receipt {
            frame.push_header("receipt-id", receipt);
        }
        if matches!(err, ProtocolError::NoCommonVersion { .. }) {
            frame.push_header("version", Version::supported_list());
        }
        frame.push_header("content-type", "text/plain");
        frame.body = Bytes::from(detail);
        self.emit(&frame, now, out);
        self.release(out);
        out.push(Action::Close);
        self.phase = Phase::Closed;
    }

    /// Aborts open transactions and releases every subscription.
    fn release(&mut self, out: &mut Vec<Action<T>>) {
        let aborted = self.transactions.abort_all();
        if aborted > 0 {
            debug!(
                "stomp transactions aborted session={} count={aborted}",
                self.config.session_id
            );
        }
        for (id, destination) in self.subscriptions.drain() {
            out.push(Action::Unsubscribe { id, destination });
        }
    }

    fn send_receipt(&mut self, receipt: &str, now: Millis, out: &mut Vec<Action<T>>) {
        let frame = Frame::new(Command::Receipt).with_header("receipt-id", receipt);
        self.emit(&frame, now, out);
    }

    fn emit(&mut self, frame: &Frame, now: Millis, out: &mut Vec<Action<T>>) {
        let mut bytes = BytesMut::new();
        encode(frame, self.version, &mut bytes);
        out.push(Action::Send {
            bytes: bytes.freeze(),
            text: std::str::from_utf8(&frame.body).is_ok(),
        });
        self.count_sent(Counted::Frame(&frame.command));
        self.liveness.sent(now);
    }

    fn count_sent(&self, what: Counted<'_>) {
        if let Some(tally) = &self.config.tally {
            tally.sent(what);
        }
    }
}

fn publish<T>(send: client::Send, target: T) -> Action<T> {
    Action::Publish {
        destination: send.destination,
        headers: send.headers,
        body: send.body,
        target,
    }
}
