//! The per-address connection limit on the HTTP listener (HTTP, WebSocket, SockJS):
//! every accepted connection takes a place in [`Limits::connections`](crate::limit::Limits)
//! for its client address and holds it until it closes. A connection past the limit is answered
//! 503 problem+json (`Retry-After: 1`, `Connection: close`) to its first request and closed,
//! before any handler or WebSocket upgrade runs.
//!
//! The place is held in the connection's data (actix-web's `on_connect`), which lives as long as
//! the connection and every request still running on it (a WebSocket session included).

use std::net::{IpAddr, SocketAddr};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Extensions, ServiceRequest, ServiceResponse};
use actix_web::http::ConnectionType;
use actix_web::middleware::Next;
use actix_web::ResponseError;

use super::error::ApiError;
use crate::limit::{connection_refusal, log_connection_refused, OverLimit, Quota, Slot};

/// The place a connection holds; dropped with the connection.
#[derive(Debug)]
struct Admitted(#[allow(dead_code)] Slot<IpAddr>);

/// A connection over its address's limit: its first request is refused and it is closed.
#[derive(Debug, Clone, Copy)]
struct Refused {
    addr: IpAddr,
    over: OverLimit,
}

/// Called for every accepted connection: takes its place, or marks it refused.
pub fn admit(quota: &Quota<IpAddr>, peer: Option<SocketAddr>, data: &mut Extensions) {
    let Some(peer) = peer else {
        return;
    };
    match quota.take(peer.ip()) {
        Ok(slot) => {
            data.insert(Admitted(slot));
        }
        Err(over) => {
            log_connection_refused("http", peer.ip(), over, quota.stats().refused);
            data.insert(Refused { addr: peer.ip(), over });
        }
    }
}

/// Answers 503 and closes a connection [`admit`] refused.
pub async fn check<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let refused = req.conn_data::<Refused>().copied();
    if let Some(Refused { addr, over }) = refused {
        let mut refusal = ApiError::Unavailable(connection_refusal(addr, over)).error_response();
        refusal.head_mut().set_connection_type(ConnectionType::Close);
        return Ok(req.into_response(refusal).map_into_right_body());
    }
    next.call(req).await.map(ServiceResponse::map_into_left_body)
}
