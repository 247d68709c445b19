//! Transports: how realtime clients reach a STOMP session.
//!
//! - [`driver`]: one STOMP session whatever carries it (the glue between the protocol core and
//!   the runtime), shared by the transports;
//! - [`carried`]: what a WebSocket or SockJS session carries (STOMP, or a SockJS test service
//!   in conformance mode);
//! - [`ws`]: the WebSocket session actor at `GET /ws` and on the SockJS WebSocket transport (and
//!   the conformance echo); the only file that imports actix-web-actors;
//! - [`sockjs`]: SockJS 0.3 at `/sockjs` (info, xhr-polling, xhr-streaming, eventsource; the
//!   WebSocket transport is `ws`'s), a STOMP session inside each SockJS session;
//! - [`tcp`]: plain TCP STOMP (`KWANJE_STOMP_TCP`): the listener and its session actor;
//! - [`keepalive`]: TCP keep-alive on accepted connections (a silently dead network);
//! - [`connect_guard`]: failed CONNECTs throttled per client address (the login throttle's core);
//! - [`gate`]: the STOMP [`Gate`](crate::stomp::Gate): tokens and the destination ACL;
//! - [`routes`](mod@routes): what SENDs to `/app/...` do (heartbeats into the device actors, ...);
//! - [`meter`]: the outbound backlog count behind the slow-consumer policy;
//! - [`reassembly`] (pure): fragmented WebSocket messages, for the echo;
//! - [`payloads`] (pure) and [`relay`]: service events as JSON messages, published through the
//!   broker;
//! - [`forwarded`]: what another node handed on because this node owns the client's partition;
//! - [`error`]: [`error::RouteError`], a SEND the server refuses.
//!
//! Sits at the top with `http`: it may use the services, the broker, `stomp` and `auth`;
//! nothing imports it but the wiring.

pub mod carried;
pub mod cert_gate;
pub mod connect_guard;
pub mod driver;
pub mod error;
pub mod forwarded;
pub mod gate;
pub mod keepalive;
pub mod meter;
pub mod payloads;
pub mod reassembly;
pub mod relay;
pub mod routes;
pub mod sockjs;
pub mod tcp;
pub mod ws;

use actix_web::web;

/// Where STOMP over WebSocket is served.
pub const STOMP_PATH: &str = "/ws";
/// Paths whose responses live as long as a session (left out of the access log, which would
/// otherwise hold its state per session until the end): `/ws` and SockJS's WebSocket transports.
pub const LONG_LIVED_PATHS: &str = r"^/ws$|^/sockjs(?:-test/[^/]+)?/(?:[^/]+/[^/]+/)?websocket$";

/// Registers `GET /ws`, `/sockjs/...` (with the one SockJS session registry), and when
/// `conformance` is on `GET /ws-echo` and the SockJS test suite's services `tests` under
/// `/sockjs-test/`.
pub fn routes(
    cfg: &mut web::ServiceConfig,
    conformance: bool,
    sockjs: &web::Data<sockjs::SockJs>,
    tests: &[(&'static str, web::Data<sockjs::SockJs>)],
) {
    cfg.route(STOMP_PATH, web::get().to(ws::stomp));
    sockjs::routes(cfg, sockjs);
    if conformance {
        cfg.route("/ws-echo", web::get().to(ws::echo));
        for (name, service) in tests {
            let base = format!("{}/{name}", sockjs::service::CONFORMANCE_PREFIX);
            sockjs::routes_at(cfg, &base, service);
        }
    }
}
