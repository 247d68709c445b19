//! SockJS 0.3 at `/sockjs`, with a STOMP session inside each SockJS session: what a browser
//! console built on `new SockJS('/sockjs')` and a STOMP client needs when WebSockets do not get
//! through.
//!
//! Transports: `websocket` (SockJS frames over a WebSocket: [`websocket`], on `ws.rs`'s socket
//! actor), `xhr_streaming`, `eventsource` and `xhr` (polling), with `xhr_send` carrying the
//! client's messages for the HTTP ones; `info`, the greeting, CORS preflights, and the raw `GET /sockjs/websocket` (plain
//! STOMP over WebSocket, as on `/ws`). Not served: `iframe.html` and the iframe, htmlfile and
//! jsonp transports, which only browsers without CORS XHR need; clients fall back past them.
//!
//! Pure cores: [`frame`] (frames, JSON quoting, how each transport carries them), [`inbound`]
//! (what clients send), [`ids`] (session URL ids), [`session`] (one session's state over HTTP),
//! [`settings`]. Actors and edges: [`actor`] (one session: the core and a STOMP
//! [`Driver`](super::driver::Driver)), [`registry`] (live sessions by id), [`body`] (a receiving
//! request's response body), [`websocket`] (the WebSocket transport's framing), [`cors`] and
//! [`endpoints`] (the HTTP handlers).

pub mod actor;
pub mod body;
pub mod cors;
pub mod endpoints;
pub mod frame;
pub mod ids;
pub mod inbound;
pub mod registry;
pub mod session;
pub mod settings;
pub mod websocket;

use actix::prelude::*;
use actix_web::web;

pub use registry::Registry;
pub use settings::Settings;

use super::ws;
use crate::config::Config;

/// What every worker's SockJS endpoints share: the one session registry and the settings.
#[derive(Debug)]
pub struct SockJs {
    pub sessions: Addr<Registry>,
    pub settings: Settings,
}

impl SockJs {
    /// Starts the registry (call once per server, from inside the actix system).
    pub fn start(config: &Config) -> SockJs {
        SockJs {
            sessions: Registry::default().start(),
            settings: Settings::from_config(config),
        }
    }
}

/// Registers every `/sockjs` route, with `sockjs` (one for all workers).
pub fn routes(cfg: &mut web::ServiceConfig, sockjs: &web::Data<SockJs>) {
    let session_route = |transport: &str| format!("/sockjs/{{server}}/{{session}}/{transport}");
    cfg.app_data(sockjs.clone())
        .service(web::resource(["/sockjs", "/sockjs/"]).route(web::get().to(endpoints::greeting)))
        .service(
            web::resource("/sockjs/info")
                .route(web::get().to(endpoints::info))
                .route(web::method(actix_web::http::Method::OPTIONS).to(endpoints::info_preflight)),
        )
        .service(web::resource("/sockjs/websocket").route(web::get().to(ws::stomp)))
        .service(web::resource(session_route("websocket")).route(web::get().to(endpoints::websocket)))
        .service(
            web::resource(session_route("xhr"))
                .route(web::post().to(endpoints::xhr))
                .route(web::method(actix_web::http::Method::OPTIONS).to(endpoints::xhr_preflight)),
        )
        .service(
            web::resource(session_route("xhr_streaming"))
                .route(web::post().to(endpoints::xhr_streaming))
                .route(web::method(actix_web::http::Method::OPTIONS).to(endpoints::xhr_preflight)),
        )
        .service(
            web::resource(session_route("xhr_send"))
                .route(web::post().to(endpoints::xhr_send))
                .route(web::method(actix_web::http::Method::OPTIONS).to(endpoints::xhr_preflight)),
        )
        .service(web::resource(session_route("eventsource")).route(web::get().to(endpoints::eventsource)));
}
