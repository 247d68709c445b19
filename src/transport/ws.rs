//! WebSocket sessions: `GET /ws` (STOMP) and, in conformance mode only, `GET /ws-echo`.
//!
//! The only file that imports actix-web-actors (deprecated in 4.3.1 in favour of
//! `actix-ws`; DESIGN.md chose it, so its items are allowed here and nowhere else).
//!
//! [`StompSocket`] is a thin actor around one [`Session`] (the pure protocol core): it feeds the
//! core the bytes of every text, binary or continuation message (STOMP frames may be split over
//! WebSocket messages and several may share one; the core's decoder does not care where the
//! pieces begin), arms one timer at [`Session::next_deadline`], hands broker deliveries to
//! [`Session::deliver`], and carries out the actions the core returns, in order: writes,
//! broker (un)subscriptions, publications (`/topic/ops/...` to the broker with a `sender`
//! header, `/app/...` to [`super::routes`]), and the close. It registers with the broker once
//! the session is authenticated and deregisters in `stopped`, so every way a session ends
//! (DISCONNECT, ERROR, a dropped socket, a close frame) is noticed at once.
//!
//! Slow consumers: the socket counts the bytes it has queued that the connection has not taken
//! ([`Meter`]); past the configured limit the session is sent an ERROR and closed. The broker
//! separately evicts a session whose mailbox is full. Either way nothing waits and memory stays
//! bounded.
//!
//! WebSocket rules: a ping is answered with a pong carrying its payload; a close frame is
//! answered with a close frame carrying its code, then the connection ends; a protocol error
//! closes with 1002, invalid UTF-8 with 1007, an oversized frame with 1009.

#![allow(deprecated)]

use std::sync::Arc;

use actix::prelude::*;
use actix_http::ws::{Codec, Item};
use actix_web::{web, HttpRequest, HttpResponse};
use actix_web_actors::ws::{self, CloseCode, CloseReason, Message, ProtocolError as WsError, WebsocketContext};
use bytes::{Bytes, BytesMut};
use bytestring::ByteString;

use super::gate::StompGate;
use super::meter::Meter;
use super::reassembly::{Assembled, Fragment, Reassembler, ReassemblyError};
use super::relay::COMMAND_QUEUE;
use super::routes;
use crate::auth::{Principal, Role};
use crate::broker::acl::{self, Destination};
use crate::broker::messages::{Deliver, Deregister, Evict, Outlet, Publish, Register, Subscribe, Unsubscribe};
use crate::broker::{Broker, SessionKey};
use crate::command::service::ClientOnline;
use crate::config::Config;
use crate::http::AppState;
use crate::stomp::codec::MAX_FRAME_BYTES;
use crate::stomp::{Action, HeartBeat, Phase, ProtocolError, Session, SessionConfig};
use crate::supervision::LazyTimer;
use crate::time::{Clock, Millis};

/// The STOMP subprotocols, preferred first (the client's order decides among these).
pub const STOMP_SUBPROTOCOLS: [&str; 3] = ["v12.stomp", "v11.stomp", "v10.stomp"];
/// Largest WebSocket frame a STOMP client may send: room for a maximal STOMP frame and more.
pub const MAX_WS_FRAME_BYTES: usize = 2 * MAX_FRAME_BYTES;
/// Deliveries that may wait in a session's mailbox before the broker evicts it.
pub const SESSION_MAILBOX_CAPACITY: usize = 1_024;
/// Largest message the conformance echo takes (Autobahn's case 9 sends 16 MiB).
pub const MAX_ECHO_MESSAGE_BYTES: usize = 16 * 1024 * 1024;
/// Inbound buffer capacity a session keeps between messages; an idle session keeps none above it.
const KEEP_INBOUND_CAPACITY: usize = 4 * 1024;
/// The CONNECTED `server` header.
pub const SERVER_NAME: &str = concat!("kwanje/", env!("CARGO_PKG_VERSION"));

/// Per-server settings of STOMP sessions (from `Config`).
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub heart_beat: HeartBeat,
    /// Bytes queued for a client past which it is a slow consumer.
    pub outbound_limit: usize,
}

impl Settings {
    pub fn from_config(config: &Config) -> Self {
        let beat = config.stomp_heart_beat_ms;
        Settings {
            heart_beat: HeartBeat {
                send_ms: beat,
                receive_ms: beat,
            },
            outbound_limit: config.ws_outbound_limit_bytes,
        }
    }
}

/// `GET /ws`: upgrades to a STOMP session.
pub async fn stomp(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    let settings = Settings::from_config(&state.config);
    let mut response = ws::handshake_with_protocols(&req, &STOMP_SUBPROTOCOLS)?;
    let now = state.clock.now();
    let key = SessionKey(state.ids.next(now).unsigned_abs());
    let mut config = SessionConfig::new(key.to_string(), SERVER_NAME);
    config.heart_beat = settings.heart_beat;
    let meter = Meter::default();
    let socket = StompSocket {
        key,
        session: Session::new(config, now),
        gate: StompGate::new(state.keys.clone()),
        broker: state.broker.clone(),
        services: routes::Services {
            devices: state.devices.clone(),
            commands: state.commands.clone(),
            taxis: state.taxis.clone(),
        },
        clock: state.clock.clone(),
        meter: meter.clone(),
        outbound_limit: settings.outbound_limit,
        inbound: BytesMut::new(),
        actions: Vec::new(),
        registered: false,
        closing: false,
        timer: LazyTimer::default(),
    };
    let codec = Codec::new().max_size(MAX_WS_FRAME_BYTES);
    let stream = WebsocketContext::with_codec(socket, payload, codec);
    Ok(response.streaming(meter.wrap(stream)))
}

/// `GET /ws-echo` (conformance mode only): echoes every message, for the Autobahn suite.
pub async fn echo(req: HttpRequest, payload: web::Payload) -> Result<HttpResponse, actix_web::Error> {
    let mut response = ws::handshake(&req)?;
    let codec = Codec::new().max_size(MAX_ECHO_MESSAGE_BYTES);
    let socket = EchoSocket {
        reassembler: Reassembler::new(MAX_ECHO_MESSAGE_BYTES),
    };
    Ok(response.streaming(WebsocketContext::with_codec(socket, payload, codec)))
}

/// The close code for a WebSocket-level error from the peer.
fn close_code(err: &WsError) -> CloseCode {
    match err {
        WsError::Overflow => CloseCode::Size,
        // The codec reports a text message that is not UTF-8 as an I/O error.
        WsError::Io(io) if io.to_string().to_ascii_lowercase().contains("utf-8") => CloseCode::Invalid,
        _ => CloseCode::Protocol,
    }
}

/// Answers a peer's close frame: the same code (RFC 6455 §5.5.1), then the end.
fn answer_close<A>(reason: Option<CloseReason>, ctx: &mut WebsocketContext<A>)
where
    A: Actor<Context = WebsocketContext<A>>,
{
    ctx.close(reason.map(|r| CloseReason::from(r.code)));
    ctx.stop();
}

/// One STOMP session over one WebSocket.
pub struct StompSocket {
    key: SessionKey,
    session: Session<Principal>,
    gate: StompGate,
    broker: Addr<Broker>,
    services: routes::Services,
    clock: Arc<dyn Clock>,
    meter: Meter,
    outbound_limit: usize,
    /// Bytes received and not yet decoded (a partial frame).
    inbound: BytesMut,
    /// What the session asked for, reused between inputs.
    actions: Vec<Action>,
    registered: bool,
    closing: bool,
    timer: LazyTimer,
}

impl StompSocket {
    /// The gate PC or kiosk this session speaks for, when its principal is a client.
    fn client_id(&self) -> Option<String> {
        let who = self.session.principal()?;
        (who.role == Role::Client).then(|| acl::user_of(who).to_owned())
    }

    fn on_data(&mut self, data: &[u8], ctx: &mut WebsocketContext<Self>) {
        let now = self.clock.now();
        self.inbound.extend_from_slice(data);
        self.session
            .on_bytes(&mut self.inbound, now, &self.gate, &mut self.actions);
        if self.inbound.is_empty() && self.inbound.capacity() > KEEP_INBOUND_CAPACITY {
            self.inbound = BytesMut::new();
        }
        self.register(ctx);
        self.carry_out(ctx, now);
        self.reschedule(ctx, now);
    }

    /// Registers with the broker once the session is authenticated, before any of its
    /// subscriptions reach the broker (the same mailbox keeps them in order).
    fn register(&mut self, ctx: &mut WebsocketContext<Self>) {
        if self.registered {
            return;
        }
        let Some(principal) = self.session.principal() else {
            return;
        };
        let address = ctx.address();
        self.broker.do_send(Register {
            session: self.key,
            user: acl::user_of(principal).to_owned(),
            client: principal.client.clone().filter(|_| principal.role == Role::Client),
            outlet: Outlet {
                deliver: address.clone().recipient(),
                evict: address.recipient(),
            },
        });
        self.registered = true;
    }

    /// Carries out the session's actions in order. A publication the server refuses aborts the
    /// session: what the frames after it asked for is dropped, and the abort's ERROR and close
    /// are carried out instead.
    fn carry_out(&mut self, ctx: &mut WebsocketContext<Self>, now: Millis) {
        let mut actions = std::mem::take(&mut self.actions);
        let mut refused = None;
        for action in actions.drain(..) {
            if refused.is_some() {
                continue;
            }
            match action {
                Action::Send { bytes, text } => self.write(bytes, text, ctx),
                Action::Subscribe { id, destination } => {
                    let commands_queue = destination == COMMAND_QUEUE;
                    self.broker.do_send(Subscribe {
                        session: self.key,
                        id,
                        destination,
                    });
                    // Commands waiting for this client go out once it listens for them, not at
                    // CONNECT: the subscription is in the broker's mailbox ahead of them.
                    if let (true, Some(client)) = (commands_queue, self.client_id()) {
                        self.services.commands.do_send(ClientOnline { client_id: client });
                    }
                }
                Action::Unsubscribe { id, .. } => {
                    if self.registered {
                        self.broker.do_send(Unsubscribe { session: self.key, id });
                    }
                }
                Action::Publish {
                    destination,
                    headers,
                    body,
                } => {
                    if let Err(err) = self.publish(destination, headers, body) {
                        refused = Some(err);
                    }
                }
                Action::Close => self.close(ctx),
            }
        }
        self.actions = actions;
        if let Some(err) = refused {
            self.session.abort(err, now, &mut self.actions);
            self.carry_out(ctx, now);
        }
    }

    /// A SEND that took effect: an operators' broadcast goes to the broker with its sender, an
    /// application destination to its route.
    fn publish(
        &mut self,
        destination: String,
        mut headers: Vec<(String, String)>,
        body: Bytes,
    ) -> Result<(), ProtocolError> {
        let Some(principal) = self.session.principal() else {
            return Ok(());
        };
        if let Ok(Destination::Ops { .. }) = Destination::parse(&destination) {
            headers.push(("sender".to_owned(), principal.name.clone()));
            self.broker.do_send(Publish {
                destination,
                headers,
                body,
            });
            return Ok(());
        }
        match routes::route(&self.services, principal, &destination, &body) {
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

    fn write(&mut self, bytes: Bytes, text: bool, ctx: &mut WebsocketContext<Self>) {
        self.meter.wrote(bytes.len());
        match text.then(|| ByteString::try_from(bytes.clone()).ok()).flatten() {
            Some(text) => ctx.text(text),
            None => ctx.binary(bytes),
        }
    }

    fn close(&mut self, ctx: &mut WebsocketContext<Self>) {
        if self.closing {
            return;
        }
        self.closing = true;
        let code = match self.session.phase() {
            Phase::Disconnected => CloseCode::Normal,
            _ => CloseCode::Policy,
        };
        ctx.close(Some(code.into()));
        ctx.stop();
    }

    /// Arms the timer for the session's next deadline unless an earlier one is armed. A timer
    /// that fires before a deadline that moved later finds nothing due and re-arms.
    fn reschedule(&mut self, ctx: &mut WebsocketContext<Self>, now: Millis) {
        if self.closing {
            return;
        }
        let due = self.session.next_deadline();
        self.timer.arm::<Self>(ctx, due, now, |act, ctx| {
            act.timer.fired();
            let now = act.clock.now();
            act.session.on_tick(now, &mut act.actions);
            act.carry_out(ctx, now);
            act.reschedule(ctx, now);
        });
    }

    fn slow_consumer(&mut self, detail: String, ctx: &mut WebsocketContext<Self>) {
        if self.session.is_closed() {
            return;
        }
        log::warn!("stomp slow consumer session={} detail={detail:?}", self.key);
        let now = self.clock.now();
        self.session
            .abort(ProtocolError::SlowConsumer { detail }, now, &mut self.actions);
        self.carry_out(ctx, now);
    }
}

impl Actor for StompSocket {
    type Context = WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(SESSION_MAILBOX_CAPACITY);
        let now = self.clock.now();
        self.reschedule(ctx, now);
        log::debug!("stomp socket opened session={}", self.key);
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        self.session.on_transport_closed(&mut self.actions);
        self.actions.clear();
        if self.registered {
            self.broker.do_send(Deregister { session: self.key });
        }
        let who = self.session.principal().map_or("-", |p| p.name.as_str());
        log::info!("stomp session ended session={} principal={who}", self.key);
    }
}

impl StreamHandler<Result<Message, WsError>> for StompSocket {
    fn handle(&mut self, msg: Result<Message, WsError>, ctx: &mut Self::Context) {
        match msg {
            Ok(Message::Text(text)) => self.on_data(text.as_bytes(), ctx),
            Ok(Message::Binary(data)) => self.on_data(&data, ctx),
            Ok(Message::Continuation(
                Item::FirstText(data) | Item::FirstBinary(data) | Item::Continue(data) | Item::Last(data),
            )) => self.on_data(&data, ctx),
            Ok(Message::Ping(payload)) => {
                self.session.on_data_received(self.clock.now());
                self.meter.wrote(payload.len());
                ctx.pong(&payload);
            }
            Ok(Message::Pong(_)) => self.session.on_data_received(self.clock.now()),
            Ok(Message::Close(reason)) => {
                log::debug!("stomp socket close received session={} reason={reason:?}", self.key);
                self.closing = true;
                answer_close(reason, ctx);
            }
            Ok(Message::Nop) => {}
            Err(err) => {
                log::info!("stomp socket protocol error session={} error={err}", self.key);
                self.closing = true;
                ctx.close(Some(close_code(&err).into()));
                ctx.stop();
            }
        }
    }
}

impl Handler<Deliver> for StompSocket {
    type Result = ();
    fn handle(&mut self, msg: Deliver, ctx: &mut Self::Context) {
        let now = self.clock.now();
        for message in msg.messages.iter() {
            self.session.deliver(&msg.subscription, message, now, &mut self.actions);
        }
        self.carry_out(ctx, now);
        let pending = self.meter.pending();
        if pending > self.outbound_limit {
            let limit = self.outbound_limit;
            self.slow_consumer(
                format!("{pending} bytes wait to be written to this session; the limit is {limit}"),
                ctx,
            );
        }
    }
}

impl Handler<Evict> for StompSocket {
    type Result = ();
    fn handle(&mut self, msg: Evict, ctx: &mut Self::Context) {
        let detail = format!(
            "{} messages wait for this session ({})",
            SESSION_MAILBOX_CAPACITY, msg.reason
        );
        self.slow_consumer(detail, ctx);
    }
}

/// The conformance echo: every complete message back as it came.
pub struct EchoSocket {
    reassembler: Reassembler,
}

impl Actor for EchoSocket {
    type Context = WebsocketContext<Self>;
}

impl EchoSocket {
    fn fragment(&mut self, item: Item, ctx: &mut WebsocketContext<Self>) {
        let fragment = match item {
            Item::FirstText(data) => Fragment::First { text: true, data },
            Item::FirstBinary(data) => Fragment::First { text: false, data },
            Item::Continue(data) => Fragment::Continue(data),
            Item::Last(data) => Fragment::Last(data),
        };
        match self.reassembler.push(fragment) {
            Ok(None) => {}
            Ok(Some(Assembled::Binary(data))) => ctx.binary(data),
            Ok(Some(Assembled::Text(data))) => match ByteString::try_from(data) {
                Ok(text) => ctx.text(text),
                Err(_) => self.fail(CloseCode::Invalid, ctx),
            },
            Err(ReassemblyError::InvalidUtf8) => self.fail(CloseCode::Invalid, ctx),
            Err(ReassemblyError::TooLarge { .. }) => self.fail(CloseCode::Size, ctx),
            Err(ReassemblyError::NotStarted | ReassemblyError::AlreadyStarted) => self.fail(CloseCode::Protocol, ctx),
        }
    }

    fn fail(&mut self, code: CloseCode, ctx: &mut WebsocketContext<Self>) {
        ctx.close(Some(code.into()));
        ctx.stop();
    }
}

impl StreamHandler<Result<Message, WsError>> for EchoSocket {
    fn handle(&mut self, msg: Result<Message, WsError>, ctx: &mut Self::Context) {
        match msg {
            Ok(Message::Text(text)) => ctx.text(text),
            Ok(Message::Binary(data)) => ctx.binary(data),
            Ok(Message::Continuation(item)) => self.fragment(item, ctx),
            Ok(Message::Ping(payload)) => ctx.pong(&payload),
            Ok(Message::Pong(_) | Message::Nop) => {}
            Ok(Message::Close(reason)) => answer_close(reason, ctx),
            Err(err) => self.fail(close_code(&err), ctx),
        }
    }
}
