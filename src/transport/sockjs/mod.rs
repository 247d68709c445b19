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
pub mod service;
pub mod session;
pub mod settings;
pub mod websocket;

use actix::prelude::*;
use actix_web::web;

pub use registry::Registry;
pub use service::Offer;
pub use settings::Settings;

use super::ws;
use crate::config::Config;

/// What every worker's endpoints of one SockJS service share: the one session registry, the
/// settings, and what the service carries.
#[derive(Debug)]
pub struct SockJs {
    pub sessions: Addr<Registry>,
    pub settings: Settings,
    pub offer: Offer,
}

impl SockJs {
    /// `/sockjs`'s registry, started (call once per server, from inside the actix system).
    pub fn start(config: &Config) -> SockJs {
        SockJs::serving(Settings::from_config(config), Offer::STOMP)
    }

    /// A service offering `offer` with `settings`, its registry started.
    pub fn serving(settings: Settings, offer: Offer) -> SockJs {
        SockJs {
            sessions: Registry::default().start(),
            settings,
            offer,
        }
    }

    /// The SockJS test suite's four services (conformance mode), by their path segment; their
    /// streaming responses end after 4,096 bytes, as the suite checks.
    pub fn conformance(config: &Config) -> Vec<(&'static str, SockJs)> {
        let settings = Settings {
            stream_limit: service::CONFORMANCE_STREAM_LIMIT,
            ..Settings::from_config(config)
        };
        service::CONFORMANCE
            .iter()
            .map(|(name, offer)| (*name, SockJs::serving(settings, *offer)))
            .collect()
    }
}

/// Registers every `/sockjs` route, with `sockjs` (one for all workers).
pub fn routes(cfg: &mut web::ServiceConfig, sockjs: &web::Data<SockJs>) {
    routes_at(cfg, "/sockjs", sockjs);
}

/// Registers one SockJS service's routes under `base` (no trailing slash), each with
/// `sockjs` as its data (several services may be registered, each with its own).
pub fn routes_at(cfg: &mut web::ServiceConfig, base: &str, sockjs: &web::Data<SockJs>) {
    use actix_web::http::Method;
    let resource = |path: String| web::resource(path).app_data(sockjs.clone());
    // A method a transport does not take is 405 with `Allow` and no body, as SockJS clients
    // expect, or 404 when the session URL itself is invalid.
    let session_route = |transport: &str, allow: &'static str| {
        resource(format!("{base}/{{server}}/{{session}}/{transport}"))
            .default_service(web::to(move |ids| endpoints::wrong_method(ids, allow)))
    };
    let raw_websocket = if sockjs.offer.inside == service::Inside::Stomp {
        web::get().to(ws::stomp)
    } else {
        web::get().to(endpoints::raw_websocket)
    };
    cfg.service(
        web::resource([base.to_owned(), format!("{base}/")])
            .app_data(sockjs.clone())
            .route(web::get().to(endpoints::greeting)),
    )
    .service(
        resource(format!("{base}/info"))
            .route(web::get().to(endpoints::info))
            .route(web::method(Method::OPTIONS).to(endpoints::info_preflight)),
    )
    .service(resource(format!("{base}/websocket")).route(raw_websocket))
    .service(session_route("websocket", "GET").route(web::get().to(endpoints::websocket)))
    .service(
        session_route("xhr", "OPTIONS, POST")
            .route(web::post().to(endpoints::xhr))
            .route(web::method(Method::OPTIONS).to(endpoints::xhr_preflight)),
    )
    .service(
        session_route("xhr_streaming", "OPTIONS, POST")
            .route(web::post().to(endpoints::xhr_streaming))
            .route(web::method(Method::OPTIONS).to(endpoints::xhr_preflight)),
    )
    .service(
        session_route("xhr_send", "OPTIONS, POST")
            .route(web::post().to(endpoints::xhr_send))
            .route(web::method(Method::OPTIONS).to(endpoints::xhr_preflight)),
    )
    .service(session_route("eventsource", "GET").route(web::get().to(endpoints::eventsource)));
}
