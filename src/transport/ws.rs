//! WebSocket sessions: `GET /ws` (STOMP), the SockJS WebSocket transport
//! (`GET /sockjs/{server}/{session}/websocket`, STOMP inside SockJS frames) and, in conformance
//! mode only, `GET /ws-echo`.
//!
//! The only file that imports actix-web-actors (deprecated in 4.3.1 in favour of
//! `actix-ws`; DESIGN.md chose it, so its items are allowed here and nowhere else).
//!
//! [`StompSocket`] is a thin actor around one [`Driver`] (the transport-neutral session glue):
//! it hands the driver what every text, binary or continuation message carries, broker
//! deliveries and evictions, and its timer firing; its [`Link`] writes frames as WebSocket
//! messages, counts the backlog with a [`Meter`] and closes with a close frame. It ends in
//! `stopped`, however the connection ended (DISCONNECT, ERROR, a dropped socket, a close frame),
//! and the driver leaves the broker there.
//!
//! How frames ride on messages is its [`Framing`]: [`Plain`] on `/ws` (a frame per message, text
//! when it is UTF-8; inbound, the bytes of every piece go straight to the driver, since STOMP
//! frames may be split over messages and several may share one), and the SockJS WebSocket's
//! own framing, which lives with the rest of SockJS
//! ([`SockJsFraming`](super::sockjs::websocket::SockJsFraming)) and upgrades through [`upgrade`].
//!
//! WebSocket rules: a ping is answered with a pong carrying its payload; a close frame is
//! answered with a close frame carrying its code, then the connection ends; a protocol error
//! closes with 1002, invalid UTF-8 with 1007, an oversized frame with 1009.

#![allow(deprecated)]

use std::time::Duration;

use std::sync::Arc;

use actix::prelude::*;
use actix_http::ws::{Codec, Item};
use actix_web::{web, HttpRequest, HttpResponse};
use actix_web_actors::ws::{self, CloseCode, CloseReason, Message, ProtocolError as WsError, WebsocketContext};
use bytes::Bytes;
use bytestring::ByteString;

use super::carried::Carried;
use super::driver::{Driver, Link, Shared, SESSION_MAILBOX_CAPACITY};
use super::meter::Meter;
use super::reassembly::{Assembled, Fragment, Reassembler, ReassemblyError};
use crate::broker::messages::{Deliver, Evict, Outlet};
use crate::stomp::codec::MAX_FRAME_BYTES;
use crate::stomp::Transport;
use crate::supervision::LazyTimer;
use crate::time::Millis;
use crate::tls::CertifiedClient;

/// The STOMP subprotocols, preferred first (the client's order decides among these).
pub const STOMP_SUBPROTOCOLS: [&str; 3] = ["v12.stomp", "v11.stomp", "v10.stomp"];
/// Largest WebSocket frame a STOMP client may send: room for a maximal STOMP frame and more.
pub const MAX_WS_FRAME_BYTES: usize = 2 * MAX_FRAME_BYTES;
/// Largest message the conformance echo takes (Autobahn's case 9 sends 16 MiB).
pub const MAX_ECHO_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// `GET /ws` (and SockJS's raw `GET /sockjs/websocket`): upgrades to a STOMP session.
pub async fn stomp(
    req: HttpRequest,
    payload: web::Payload,
    shared: web::Data<Shared>,
) -> Result<HttpResponse, actix_web::Error> {
    let codec = Codec::new().max_size(MAX_WS_FRAME_BYTES);
    let carried = stomp_driver(&req, shared.into_inner(), Plain::TRANSPORT);
    upgrade(&req, payload, carried, Plain, codec)
}

/// A STOMP session for the connection `req` opened, over `transport`.
pub fn stomp_driver(req: &HttpRequest, shared: Arc<Shared>, transport: Transport) -> Carried {
    let driver = Driver::new(shared, transport)
        .with_peer(req.peer_addr().map(|a| a.ip()))
        .with_certificate(req.conn_data::<CertifiedClient>().cloned());
    Carried::Stomp(Box::new(driver))
}

/// Upgrades `req` to a WebSocket carrying `carried` (a STOMP session, or a SockJS test
/// service), its frames riding on messages as `framing` says, with `codec`'s limits.
pub fn upgrade<F: Framing>(
    req: &HttpRequest,
    payload: web::Payload,
    carried: Carried,
    framing: F,
    codec: Codec,
) -> Result<HttpResponse, actix_web::Error> {
    let mut response = ws::handshake_with_protocols(req, &STOMP_SUBPROTOCOLS)?;
    let meter = Meter::default();
    // The access log leaves WebSocket paths out (it would hold its state for the session's
    // whole life).
    log::info!(
        "stomp websocket accepted session={} path={} peer={}",
        carried.key(),
        req.path(),
        req.peer_addr().map_or_else(|| "-".to_owned(), |a| a.to_string())
    );
    let socket = StompSocket {
        carried,
        meter: meter.clone(),
        timer: LazyTimer::default(),
        framing,
    };
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

/// Feeds one continuation piece to `reassembler`: the whole message once its last piece came,
/// or the close code for a piece that breaks the rules.
pub fn reassemble(reassembler: &mut Reassembler, item: Item) -> Result<Option<Assembled>, CloseCode> {
    let fragment = match item {
        Item::FirstText(data) => Fragment::First { text: true, data },
        Item::FirstBinary(data) => Fragment::First { text: false, data },
        Item::Continue(data) => Fragment::Continue(data),
        Item::Last(data) => Fragment::Last(data),
    };
    reassembler.push(fragment).map_err(|err| match err {
        ReassemblyError::InvalidUtf8 => CloseCode::Invalid,
        ReassemblyError::TooLarge { .. } => CloseCode::Size,
        ReassemblyError::NotStarted | ReassemblyError::AlreadyStarted => CloseCode::Protocol,
    })
}

/// Answers a peer's close frame: the same code (RFC 6455 §5.5.1), then the end.
fn answer_close<A>(reason: Option<CloseReason>, ctx: &mut WebsocketContext<A>)
where
    A: Actor<Context = WebsocketContext<A>>,
{
    ctx.close(reason.map(|r| CloseReason::from(r.code)));
    ctx.stop();
}

/// A WebSocket message going out.
pub enum Outbound {
    Text(ByteString),
    Binary(Bytes),
}

/// A WebSocket message (or a piece of one) coming in.
pub enum Piece {
    Whole(Bytes),
    Fragment(Item),
}

/// What a piece carries for the driver.
pub enum Unwrapped {
    /// STOMP bytes, any part of a frame or several.
    Bytes(Bytes),
    /// Whole messages of the framing, each fed to the driver in turn.
    Messages(Vec<String>),
    /// Nothing yet (a fragment of a message that is not complete).
    Nothing,
}

/// How STOMP frames ride on WebSocket messages.
pub trait Framing: Unpin + 'static {
    /// What the session is counted under in `/metrics`.
    const TRANSPORT: Transport;

    /// Sent first, when the socket opens.
    fn opening(&self) -> Option<&'static str> {
        None
    }

    /// How often a heartbeat text goes out while the socket is open, and the text.
    fn heartbeat(&self) -> Option<(Duration, &'static str)> {
        None
    }

    /// One STOMP frame as a WebSocket message (`text`: the frame is UTF-8).
    fn outbound(&self, frame: Bytes, text: bool) -> Outbound;

    /// Sent before the close frame when the server sends the peer away (see
    /// [`Link::go_away`]).
    fn going_away(&self) -> Option<String> {
        None
    }

    /// Sent before the close frame when the session ends (`normal`: after a DISCONNECT).
    fn closing(&self, _normal: bool) -> Option<String> {
        None
    }

    /// One inbound message or piece; an error closes the socket with that code.
    fn inbound(&mut self, piece: Piece) -> Result<Unwrapped, CloseCode>;
}

/// `/ws`: a frame per message, pieces straight to the driver.
pub struct Plain;

impl Framing for Plain {
    const TRANSPORT: Transport = Transport::WebSocket;

    fn outbound(&self, frame: Bytes, text: bool) -> Outbound {
        match text.then(|| ByteString::try_from(frame.clone()).ok()).flatten() {
            Some(text) => Outbound::Text(text),
            None => Outbound::Binary(frame),
        }
    }

    fn inbound(&mut self, piece: Piece) -> Result<Unwrapped, CloseCode> {
        Ok(Unwrapped::Bytes(match piece {
            Piece::Whole(data)
            | Piece::Fragment(
                Item::FirstText(data) | Item::FirstBinary(data) | Item::Continue(data) | Item::Last(data),
            ) => data,
        }))
    }
}

/// One STOMP session (or SockJS test service) over one WebSocket.
pub struct StompSocket<F: Framing> {
    carried: Carried,
    meter: Meter,
    timer: LazyTimer,
    framing: F,
}

/// The WebSocket side of a session, for the time of one input.
struct WsLink<'a, F: Framing> {
    ctx: &'a mut WebsocketContext<StompSocket<F>>,
    meter: &'a Meter,
    timer: &'a mut LazyTimer,
    framing: &'a F,
}

impl<F: Framing> StompSocket<F> {
    /// What the socket carries and a link over `ctx`.
    fn split<'a>(&'a mut self, ctx: &'a mut WebsocketContext<Self>) -> (&'a mut Carried, WsLink<'a, F>) {
        let link = WsLink {
            ctx,
            meter: &self.meter,
            timer: &mut self.timer,
            framing: &self.framing,
        };
        (&mut self.carried, link)
    }
}

impl<F: Framing> WsLink<'_, F> {
    fn text(&mut self, text: impl Into<ByteString>) {
        let text = text.into();
        self.meter.wrote(text.len());
        self.ctx.text(text);
    }
}

impl<F: Framing> Link for WsLink<'_, F> {
    fn write(&mut self, bytes: Bytes, text: bool) {
        match self.framing.outbound(bytes, text) {
            Outbound::Text(text) => self.text(text),
            Outbound::Binary(bytes) => {
                self.meter.wrote(bytes.len());
                self.ctx.binary(bytes);
            }
        }
    }

    fn pending(&self) -> usize {
        self.meter.pending()
    }

    fn close(&mut self, normal: bool) {
        if let Some(text) = self.framing.closing(normal) {
            self.text(text);
        }
        let code = if normal { CloseCode::Normal } else { CloseCode::Policy };
        self.ctx.close(Some(code.into()));
        self.ctx.stop();
    }

    fn go_away(&mut self) {
        if let Some(text) = self.framing.going_away() {
            self.text(text);
        }
        self.ctx.close(Some(CloseReason {
            code: CloseCode::Other(3000),
            description: Some("Go away!".to_owned()),
        }));
        self.ctx.stop();
    }

    fn outlet(&mut self) -> Outlet {
        Outlet::of(self.ctx.address())
    }

    fn arm(&mut self, due: Option<Millis>, now: Millis) {
        self.timer.arm::<StompSocket<F>>(self.ctx, due, now, |act, ctx| {
            act.timer.fired();
            let (driver, mut link) = act.split(ctx);
            driver.tick(&mut link);
        });
    }
}

impl<F: Framing> Actor for StompSocket<F> {
    type Context = WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(SESSION_MAILBOX_CAPACITY);
        if let Some(opening) = self.framing.opening() {
            self.meter.wrote(opening.len());
            ctx.text(opening);
        }
        if let Some((every, text)) = self.framing.heartbeat() {
            ctx.run_interval(every, move |act, ctx| {
                act.meter.wrote(text.len());
                ctx.text(text);
            });
        }
        let (driver, mut link) = self.split(ctx);
        driver.started(&mut link);
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        self.carried.stopped();
    }
}

impl<F: Framing> StompSocket<F> {
    fn data(&mut self, data: &[u8], ctx: &mut WebsocketContext<Self>) {
        let (driver, mut link) = self.split(ctx);
        driver.data(data, &mut link);
    }

    /// Hands the driver what a message or piece carries, as the framing reads it.
    fn inbound(&mut self, piece: Piece, ctx: &mut WebsocketContext<Self>) {
        match self.framing.inbound(piece) {
            Ok(Unwrapped::Bytes(data)) => self.data(&data, ctx),
            Ok(Unwrapped::Messages(messages)) => {
                for message in messages {
                    if ctx.state() != ActorState::Running {
                        break;
                    }
                    self.data(message.as_bytes(), ctx);
                }
            }
            Ok(Unwrapped::Nothing) => {}
            Err(code) => {
                log::info!(
                    "stomp socket framing error session={} code={code:?}",
                    self.carried.key()
                );
                self.carried.closing();
                ctx.close(Some(code.into()));
                ctx.stop();
            }
        }
    }
}

impl<F: Framing> StreamHandler<Result<Message, WsError>> for StompSocket<F> {
    fn handle(&mut self, msg: Result<Message, WsError>, ctx: &mut Self::Context) {
        match msg {
            Ok(Message::Text(text)) => self.inbound(Piece::Whole(text.into_bytes()), ctx),
            Ok(Message::Binary(data)) => self.inbound(Piece::Whole(data), ctx),
            Ok(Message::Continuation(item)) => self.inbound(Piece::Fragment(item), ctx),
            Ok(Message::Ping(payload)) => {
                self.carried.alive();
                self.meter.wrote(payload.len());
                ctx.pong(&payload);
            }
            Ok(Message::Pong(_)) => self.carried.alive(),
            Ok(Message::Close(reason)) => {
                log::debug!(
                    "stomp socket close received session={} reason={reason:?}",
                    self.carried.key()
                );
                self.carried.closing();
                answer_close(reason, ctx);
            }
            Ok(Message::Nop) => {}
            Err(err) => {
                log::info!("stomp socket protocol error session={} error={err}", self.carried.key());
                self.carried.closing();
                ctx.close(Some(close_code(&err).into()));
                ctx.stop();
            }
        }
    }
}

impl<F: Framing> Handler<Deliver> for StompSocket<F> {
    type Result = ();
    fn handle(&mut self, msg: Deliver, ctx: &mut Self::Context) {
        let (driver, mut link) = self.split(ctx);
        driver.deliver(&msg, &mut link);
    }
}

impl<F: Framing> Handler<Evict> for StompSocket<F> {
    type Result = ();
    fn handle(&mut self, msg: Evict, ctx: &mut Self::Context) {
        let (driver, mut link) = self.split(ctx);
        driver.evicted(msg.cause, &mut link);
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
        match reassemble(&mut self.reassembler, item) {
            Ok(None) => {}
            Ok(Some(Assembled::Binary(data))) => ctx.binary(data),
            Ok(Some(Assembled::Text(data))) => match ByteString::try_from(data) {
                Ok(text) => ctx.text(text),
                Err(_) => self.fail(CloseCode::Invalid, ctx),
            },
            Err(code) => self.fail(code, ctx),
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
