//! The HTTP side of `/sockjs`: the greeting, `info`, preflights, the receiving transports
//! (`xhr`, `xhr_streaming`, `eventsource`), `xhr_send`, and the WebSocket upgrades handed to
//! `ws.rs`.
//!
//! Errors are [`SockJsError`], answered as SockJS clients expect: 404 with no body for a bad or
//! unknown session, 500 with the protocol's text for a bad `xhr_send` payload, 503 when a
//! session or the registry cannot be reached (the server is stopping).

use actix::prelude::*;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;
use thiserror::Error;

use super::actor::{Incoming, Peer, Receive, SockJsSession};
use super::body::Body;
use super::cors;
use super::frame::Carrier;
use super::ids::SessionId;
use super::inbound::{decode_send, InboundError};
use super::registry::{Claim, Find};
use super::service::{self, Inside};
use super::websocket;
use super::SockJs;
use crate::tls::CertifiedClient;
use crate::transport::carried::Carried;
use crate::transport::driver::Shared;
use crate::transport::ws;

/// `/sockjs/{server}/{session}/...`
type Ids = web::Path<(String, String)>;
/// The one registry and the settings, shared by every worker.
type Sessions = web::Data<SockJs>;
/// What every STOMP session of the server shares.
type Stomp = web::Data<Shared>;

const TEXT_PLAIN: &str = "text/plain; charset=UTF-8";

#[derive(Debug, Error)]
pub enum SockJsError {
    #[error("no such session")]
    NotFound,
    #[error(transparent)]
    Inbound(#[from] InboundError),
    #[error("session unavailable")]
    Unavailable(#[from] MailboxError),
}

impl ResponseError for SockJsError {
    fn status_code(&self) -> StatusCode {
        match self {
            SockJsError::NotFound => StatusCode::NOT_FOUND,
            SockJsError::Inbound(_) => StatusCode::INTERNAL_SERVER_ERROR,
            SockJsError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        match self {
            SockJsError::NotFound => res.finish(),
            SockJsError::Inbound(_) | SockJsError::Unavailable(_) => res
                .insert_header((header::CONTENT_TYPE, TEXT_PLAIN))
                .body(self.to_string()),
        }
    }
}

fn session_id(ids: &Ids) -> Result<SessionId, SockJsError> {
    SessionId::parse(&ids.0, &ids.1).map_err(|_| SockJsError::NotFound)
}

/// A method the transport at this session URL does not take: 405 with `allow`, or 404 when
/// the session URL is not a valid one.
pub async fn wrong_method(ids: Ids, allow: &'static str) -> HttpResponse {
    if session_id(&ids).is_err() {
        return SockJsError::NotFound.error_response();
    }
    HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, allow))
        .finish()
}

/// `GET /sockjs` and `/sockjs/`.
pub async fn greeting() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, TEXT_PLAIN))
        .body("Welcome to SockJS!\n")
}

#[derive(Serialize)]
struct Info {
    websocket: bool,
    cookie_needed: bool,
    origins: [&'static str; 1],
    entropy: u32,
}

/// `GET /sockjs/info`: what the server offers, and a random number for the client.
pub async fn info(req: HttpRequest, sockjs: Sessions) -> HttpResponse {
    let info = Info {
        websocket: sockjs.offer.websocket,
        cookie_needed: sockjs.offer.cookie_needed,
        origins: ["*:*"],
        entropy: rand::random(),
    };
    let mut res = HttpResponse::Ok();
    res.insert_header((header::CONTENT_TYPE, "application/json; charset=UTF-8"));
    cors::no_cache(&mut res);
    cors::allow(&req, &mut res);
    res.json(info)
}

/// `OPTIONS /sockjs/info`.
pub async fn info_preflight(req: HttpRequest) -> HttpResponse {
    cors::preflight(&req, "OPTIONS, GET")
}

/// `OPTIONS` on the xhr transports.
pub async fn xhr_preflight(req: HttpRequest) -> HttpResponse {
    cors::preflight(&req, "OPTIONS, POST")
}

/// `POST .../xhr`.
pub async fn xhr(req: HttpRequest, ids: Ids, sockjs: Sessions, shared: Stomp) -> HttpResponse {
    receive(req, ids, sockjs, shared, Carrier::Polling).await
}

/// `POST .../xhr_streaming`.
pub async fn xhr_streaming(req: HttpRequest, ids: Ids, sockjs: Sessions, shared: Stomp) -> HttpResponse {
    receive(req, ids, sockjs, shared, Carrier::Streaming).await
}

/// `GET .../eventsource`.
pub async fn eventsource(req: HttpRequest, ids: Ids, sockjs: Sessions, shared: Stomp) -> HttpResponse {
    receive(req, ids, sockjs, shared, Carrier::EventSource).await
}

async fn receive(req: HttpRequest, ids: Ids, sockjs: Sessions, shared: Stomp, carrier: Carrier) -> HttpResponse {
    let peer = Peer {
        addr: req.peer_addr().map(|a| a.ip()),
        certified: req.conn_data::<CertifiedClient>().cloned(),
    };
    let body = match attach(&ids, &sockjs, &shared, carrier, peer).await {
        Ok(body) => body,
        Err(err) => return err.error_response(),
    };
    let mut res = HttpResponse::Ok();
    res.insert_header((header::CONTENT_TYPE, carrier.content_type()));
    cors::no_cache(&mut res);
    cors::allow(&req, &mut res);
    if sockjs.offer.cookie_needed {
        let sent = req.headers().get(header::COOKIE).and_then(|v| v.to_str().ok());
        res.insert_header((header::SET_COOKIE, service::jsessionid(sent)));
    }
    if req.version() == actix_web::http::Version::HTTP_10 {
        // HTTP/1.0 has no chunked encoding: the response ends when the connection closes.
        res.force_close();
        let mut res = res.streaming(body);
        res.head_mut().no_chunking(true);
        return res;
    }
    res.streaming(body)
}

/// The session's receiving body, opening the session if it is new. A session that stops
/// between the lookup and the request is replaced once.
async fn attach(ids: &Ids, sockjs: &SockJs, shared: &Stomp, carrier: Carrier, peer: Peer) -> Result<Body, SockJsError> {
    let id = session_id(ids)?;
    let mut tries = 2;
    loop {
        let session = open(&id, sockjs, shared, peer.clone()).await?;
        match session.send(Receive { carrier }).await {
            Ok(body) => return Ok(body),
            Err(err) if tries == 1 => return Err(err.into()),
            Err(_) => tries -= 1,
        }
    }
}

/// The live session `id`, or a new one started here for the client at `peer` (its failed
/// CONNECTs are throttled; its verified certificate, if any, goes with its CONNECT).
async fn open(id: &SessionId, sockjs: &SockJs, shared: &Stomp, peer: Peer) -> Result<Addr<SockJsSession>, SockJsError> {
    let sessions = &sockjs.sessions;
    if let Some(session) = sessions.send(Find { id: id.clone() }).await? {
        return Ok(session);
    }
    let ctx = Context::new();
    let fresh = ctx.address();
    let session = sessions
        .send(Claim {
            id: id.clone(),
            session: fresh.clone(),
        })
        .await?;
    if session == fresh {
        ctx.run(SockJsSession::new(
            id.clone(),
            sockjs.settings,
            shared.clone().into_inner(),
            sessions.clone().recipient(),
            peer,
            sockjs.offer.inside,
        ));
    }
    Ok(session)
}

/// `POST .../xhr_send`: the client's messages, a JSON array of strings.
pub async fn xhr_send(
    req: HttpRequest,
    ids: Ids,
    sockjs: Sessions,
    payload: web::Bytes,
) -> Result<HttpResponse, SockJsError> {
    let id = session_id(&ids)?;
    let session = sockjs.sessions.send(Find { id }).await?.ok_or(SockJsError::NotFound)?;
    let messages = decode_send(&payload)?;
    session
        .send(Incoming { messages })
        .await
        .map_err(|_| SockJsError::NotFound)?
        .map_err(|_| SockJsError::NotFound)?;
    let mut res = HttpResponse::NoContent();
    res.insert_header((header::CONTENT_TYPE, TEXT_PLAIN));
    cors::no_cache(&mut res);
    cors::allow(&req, &mut res);
    Ok(res.finish())
}

/// `GET .../websocket`: the SockJS WebSocket transport.
pub async fn websocket(
    req: HttpRequest,
    ids: Ids,
    payload: web::Payload,
    sockjs: Sessions,
    shared: Stomp,
) -> Result<HttpResponse, actix_web::Error> {
    session_id(&ids)?;
    if !sockjs.offer.websocket {
        return Err(SockJsError::NotFound.into());
    }
    let carried = carried(&req, &sockjs, shared);
    websocket::upgrade(&req, payload, sockjs.settings, carried)
}

/// `GET {base}/websocket` of a test service: the service over a plain WebSocket.
pub async fn raw_websocket(
    req: HttpRequest,
    payload: web::Payload,
    sockjs: Sessions,
    shared: Stomp,
) -> Result<HttpResponse, actix_web::Error> {
    if !sockjs.offer.websocket {
        return Err(SockJsError::NotFound.into());
    }
    let carried = carried(&req, &sockjs, shared);
    let codec = actix_http::ws::Codec::new().max_size(websocket::MAX_SOCKJS_WS_MESSAGE_BYTES);
    ws::upgrade(&req, payload, carried, ws::Plain, codec)
}

/// What a new WebSocket of this service carries.
fn carried(req: &HttpRequest, sockjs: &SockJs, shared: Stomp) -> Carried {
    match sockjs.offer.inside {
        Inside::Stomp => ws::stomp_driver(req, shared.into_inner(), crate::stomp::Transport::SockJs),
        Inside::Echo => Carried::Echo,
        Inside::Close => Carried::Close,
    }
}
