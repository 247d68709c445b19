//! WebSocket sessions: `GET /ws` (STOMP) and, in conformance mode only, `GET /ws-echo`.
//!
//! The only file that imports actix-web-actors (deprecated in 4.3.1 in favour of
//! `actix-ws`; DESIGN.md chose it, so its items are allowed here and nowhere else).
//!
//! [`StompSocket`] is a thin actor around one [`Driver`] (the transport-neutral session glue):
//! it hands the driver the bytes of every text, binary or continuation message (STOMP frames may
//! be split over WebSocket messages and several may share one; the core's decoder does not care
//! where the pieces begin), broker deliveries and evictions, and its timer firing; its [`Link`]
//! writes frames as WebSocket messages (text when they are UTF-8), counts the backlog with a
//! [`Meter`] and closes with a close frame. It ends in `stopped`, however the connection ended
//! (DISCONNECT, ERROR, a dropped socket, a close frame), and the driver leaves the broker there.
//!
//! WebSocket rules: a ping is answered with a pong carrying its payload; a close frame is
//! answered with a close frame carrying its code, then the connection ends; a protocol error
//! closes with 1002, invalid UTF-8 with 1007, an oversized frame with 1009.

#![allow(deprecated)]

use actix::prelude::*;
use actix_http::ws::{Codec, Item};
use actix_web::{web, HttpRequest, HttpResponse};
use actix_web_actors::ws::{self, CloseCode, CloseReason, Message, ProtocolError as WsError, WebsocketContext};
use bytes::Bytes;
use bytestring::ByteString;

use super::driver::{Driver, Link, Shared, SESSION_MAILBOX_CAPACITY};
use super::meter::Meter;
use super::reassembly::{Assembled, Fragment, Reassembler, ReassemblyError};
use crate::broker::messages::{Deliver, Evict, Outlet};
use crate::stomp::codec::MAX_FRAME_BYTES;
use crate::supervision::LazyTimer;
use crate::time::Millis;

/// The STOMP subprotocols, preferred first (the client's order decides among these).
pub const STOMP_SUBPROTOCOLS: [&str; 3] = ["v12.stomp", "v11.stomp", "v10.stomp"];
/// Largest WebSocket frame a STOMP client may send: room for a maximal STOMP frame and more.
pub const MAX_WS_FRAME_BYTES: usize = 2 * MAX_FRAME_BYTES;
/// Largest message the conformance echo takes (Autobahn's case 9 sends 16 MiB).
pub const MAX_ECHO_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// `GET /ws`: upgrades to a STOMP session.
pub async fn stomp(
    req: HttpRequest,
    payload: web::Payload,
    shared: web::Data<Shared>,
) -> Result<HttpResponse, actix_web::Error> {
    let mut response = ws::handshake_with_protocols(&req, &STOMP_SUBPROTOCOLS)?;
    let meter = Meter::default();
    let driver = Driver::new(shared.into_inner());
    // The access log leaves `/ws` out (it would hold its state for the session's whole life).
    log::info!(
        "stomp websocket accepted session={} peer={}",
        driver.key(),
        req.peer_addr().map_or_else(|| "-".to_owned(), |a| a.to_string())
    );
    let socket = StompSocket {
        driver,
        meter: meter.clone(),
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
    driver: Driver,
    meter: Meter,
    timer: LazyTimer,
}

/// The WebSocket side of a session, for the time of one input.
struct WsLink<'a> {
    ctx: &'a mut WebsocketContext<StompSocket>,
    meter: &'a Meter,
    timer: &'a mut LazyTimer,
}

impl StompSocket {
    /// The driver and a link over `ctx`.
    fn split<'a>(&'a mut self, ctx: &'a mut WebsocketContext<Self>) -> (&'a mut Driver, WsLink<'a>) {
        let link = WsLink {
            ctx,
            meter: &self.meter,
            timer: &mut self.timer,
        };
        (&mut self.driver, link)
    }
}

impl Link for WsLink<'_> {
    fn write(&mut self, bytes: Bytes, text: bool) {
        self.meter.wrote(bytes.len());
        match text.then(|| ByteString::try_from(bytes.clone()).ok()).flatten() {
            Some(text) => self.ctx.text(text),
            None => self.ctx.binary(bytes),
        }
    }

    fn pending(&self) -> usize {
        self.meter.pending()
    }

    fn close(&mut self, normal: bool) {
        let code = if normal { CloseCode::Normal } else { CloseCode::Policy };
        self.ctx.close(Some(code.into()));
        self.ctx.stop();
    }

    fn outlet(&mut self) -> Outlet {
        let address = self.ctx.address();
        Outlet {
            deliver: address.clone().recipient(),
            evict: address.recipient(),
        }
    }

    fn arm(&mut self, due: Option<Millis>, now: Millis) {
        self.timer.arm::<StompSocket>(self.ctx, due, now, |act, ctx| {
            act.timer.fired();
            let (driver, mut link) = act.split(ctx);
            driver.tick(&mut link);
        });
    }
}

impl Actor for StompSocket {
    type Context = WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(SESSION_MAILBOX_CAPACITY);
        let (driver, mut link) = self.split(ctx);
        driver.started(&mut link);
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        self.driver.stopped();
    }
}

impl StompSocket {
    fn data(&mut self, data: &[u8], ctx: &mut WebsocketContext<Self>) {
        let (driver, mut link) = self.split(ctx);
        driver.data(data, &mut link);
    }
}

impl StreamHandler<Result<Message, WsError>> for StompSocket {
    fn handle(&mut self, msg: Result<Message, WsError>, ctx: &mut Self::Context) {
        match msg {
            Ok(Message::Text(text)) => self.data(text.as_bytes(), ctx),
            Ok(Message::Binary(data)) => self.data(&data, ctx),
            Ok(Message::Continuation(
                Item::FirstText(data) | Item::FirstBinary(data) | Item::Continue(data) | Item::Last(data),
            )) => self.data(&data, ctx),
            Ok(Message::Ping(payload)) => {
                self.driver.alive();
                self.meter.wrote(payload.len());
                ctx.pong(&payload);
            }
            Ok(Message::Pong(_)) => self.driver.alive(),
            Ok(Message::Close(reason)) => {
                log::debug!(
                    "stomp socket close received session={} reason={reason:?}",
                    self.driver.key()
                );
                self.driver.closing();
                answer_close(reason, ctx);
            }
            Ok(Message::Nop) => {}
            Err(err) => {
                log::info!("stomp socket protocol error session={} error={err}", self.driver.key());
                self.driver.closing();
                ctx.close(Some(close_code(&err).into()));
                ctx.stop();
            }
        }
    }
}

impl Handler<Deliver> for StompSocket {
    type Result = ();
    fn handle(&mut self, msg: Deliver, ctx: &mut Self::Context) {
        let (driver, mut link) = self.split(ctx);
        driver.deliver(&msg, &mut link);
    }
}

impl Handler<Evict> for StompSocket {
    type Result = ();
    fn handle(&mut self, msg: Evict, ctx: &mut Self::Context) {
        let (driver, mut link) = self.split(ctx);
        driver.evicted(msg.reason, &mut link);
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
