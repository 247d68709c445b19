//! The SockJS WebSocket transport (`GET /sockjs/{server}/{session}/websocket`): a STOMP session
//! inside SockJS frames, on the same WebSocket session actor as `/ws` ([`ws::upgrade`]), with
//! [`SockJsFraming`] as how its frames ride on messages: `o` on open, each frame as `a["..."]`,
//! `h` every heartbeat period, a `c[code,"reason"]` before the close; inbound, each whole
//! message is a JSON array of strings or one string, and broken JSON closes the socket.

use std::time::Duration;

use actix_http::ws::{CloseCode, Codec};
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use bytestring::ByteString;

use super::frame::{self, Close};
use super::inbound::decode_ws;
use super::settings::Settings;
use crate::stomp::codec::MAX_FRAME_BYTES;
use crate::stomp::Transport;
use crate::transport::carried::Carried;
use crate::transport::reassembly::{Assembled, Reassembler};
use crate::transport::ws::{self, Framing, Outbound, Piece, Unwrapped};

/// Largest SockJS WebSocket message: a maximal STOMP frame JSON-quoted (newlines and NULs grow
/// when escaped), with room to spare.
pub const MAX_SOCKJS_WS_MESSAGE_BYTES: usize = 4 * MAX_FRAME_BYTES;

/// Upgrades to `carried` (a STOMP session, or a test service) inside SockJS frames (session
/// ids checked by the caller).
pub fn upgrade(
    req: &HttpRequest,
    payload: web::Payload,
    settings: Settings,
    carried: Carried,
) -> Result<HttpResponse, actix_web::Error> {
    let framing = SockJsFraming::new(settings.heartbeat);
    let codec = Codec::new().max_size(MAX_SOCKJS_WS_MESSAGE_BYTES);
    ws::upgrade(req, payload, carried, framing, codec)
}

/// The SockJS WebSocket transport's framing.
pub struct SockJsFraming {
    heartbeat: Duration,
    reassembler: Reassembler,
}

impl SockJsFraming {
    pub fn new(heartbeat: Duration) -> Self {
        SockJsFraming {
            heartbeat,
            reassembler: Reassembler::new(MAX_SOCKJS_WS_MESSAGE_BYTES),
        }
    }
}

impl Framing for SockJsFraming {
    const TRANSPORT: Transport = Transport::SockJs;

    fn opening(&self) -> Option<&'static str> {
        Some(frame::OPEN)
    }

    fn heartbeat(&self) -> Option<(Duration, &'static str)> {
        Some((self.heartbeat, frame::HEARTBEAT))
    }

    fn outbound(&self, frame: Bytes, text: bool) -> Outbound {
        if !text {
            // SockJS carries strings only; STOMP bodies here are JSON, so this is a client's
            // binary SEND relayed on /topic/ops.
            log::warn!("sockjs frame is not UTF-8; sent with replacement characters");
        }
        let message = String::from_utf8_lossy(&frame);
        Outbound::Text(ByteString::from(frame::messages([message.as_ref()])))
    }

    fn going_away(&self) -> Option<String> {
        Some(Close::GO_AWAY.frame())
    }

    fn closing(&self, normal: bool) -> Option<String> {
        Some(if normal { Close::NORMAL } else { Close::POLICY }.frame())
    }

    fn inbound(&mut self, piece: Piece) -> Result<Unwrapped, CloseCode> {
        let message = match piece {
            Piece::Whole(data) => data,
            Piece::Fragment(item) => match ws::reassemble(&mut self.reassembler, item)? {
                None => return Ok(Unwrapped::Nothing),
                Some(Assembled::Text(data) | Assembled::Binary(data)) => data,
            },
        };
        decode_ws(&message)
            .map(Unwrapped::Messages)
            .map_err(|_| CloseCode::Invalid)
    }
}
