//! Transports: how realtime clients reach a STOMP session.
//!
//! - [`driver`]: one STOMP session whatever carries it (the glue between the protocol core and
//!   the runtime), shared by the transports;
//! - [`ws`]: the WebSocket session actor at `GET /ws` (and the conformance echo); the only file
//!   that imports actix-web-actors;
//! - [`tcp`]: plain TCP STOMP (`KWANJE_STOMP_TCP`): the listener and its session actor;
//! - [`gate`]: the STOMP [`Gate`](crate::stomp::Gate): tokens and the destination ACL;
//! - [`routes`]: what SENDs to `/app/...` do (heartbeats into the device actors, ...);
//! - [`meter`]: the outbound backlog count behind the slow-consumer policy;
//! - [`reassembly`] (pure): fragmented WebSocket messages, for the echo;
//! - [`payloads`] (pure) and [`relay`]: service events as JSON messages, published through the
//!   broker;
//! - [`error`]: [`error::RouteError`], a SEND the server refuses.
//!
//! Sits at the top with `http`: it may use the services, the broker, `stomp` and `auth`;
//! nothing imports it but the wiring.

pub mod driver;
pub mod error;
pub mod gate;
pub mod meter;
pub mod payloads;
pub mod reassembly;
pub mod relay;
pub mod routes;
pub mod tcp;
pub mod ws;

use actix_web::web;

/// Registers `GET /ws`, and `GET /ws-echo` when `conformance` is on.
pub fn routes(cfg: &mut web::ServiceConfig, conformance: bool) {
    cfg.route("/ws", web::get().to(ws::stomp));
    if conformance {
        cfg.route("/ws-echo", web::get().to(ws::echo));
    }
}
