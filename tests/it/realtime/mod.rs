//! Realtime: STOMP over WebSocket, SockJS and plain TCP against the real server on port 0, with
//! real clients (tokio-tungstenite, awc, a tokio TCP stream) speaking STOMP.

pub mod client;
mod connect;
mod echo;
mod failover;
mod heart_beat;
mod messaging;
mod metrics;
mod runtime;
mod security;
mod slow;
mod sockjs;
pub mod sockjs_client;
mod sockjs_conformance;
mod tcp;

use kwanje::auth::Role;

use crate::support::Server;
use client::Stomp;

/// Opens `/ws` with `v12.stomp` and CONNECTs as `sub` in `role` (a client also names itself).
pub async fn session(s: &Server, sub: &str, role: Role) -> Stomp {
    let client = (role == Role::Client).then_some(sub);
    let token = s.token(sub, role, client);
    let mut stomp = Stomp::open(&s.base, &["v12.stomp"]).await;
    stomp.connect(&token, "1.2").await;
    stomp
}

/// Connects to the server's plain TCP STOMP port and CONNECTs as `sub` in `role`.
pub async fn tcp_session(s: &Server, sub: &str, role: Role) -> Stomp {
    let client = (role == Role::Client).then_some(sub);
    let token = s.token(sub, role, client);
    let mut stomp = Stomp::open_tcp(s.stomp_tcp.expect("the server listens for STOMP over TCP")).await;
    stomp.connect(&token, "1.2").await;
    stomp
}
