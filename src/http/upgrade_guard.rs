//! An address that failed too many STOMP CONNECTs (the CONNECT throttle in
//! [`Limits::connects`](crate::limit::Limits)) cannot open new realtime sessions while it waits:
//! a WebSocket upgrade at `/ws` or a SockJS request (`/sockjs/...`: session creation, the
//! WebSocket transport, info) is answered 429 problem+json with `Retry-After` and
//! `Connection: close`, so each retry costs the attacker a new TCP handshake and the server no
//! session, no actor and no token check.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::ConnectionType;
use actix_web::middleware::Next;
use actix_web::{web, ResponseError};

use super::error::ApiError;
use super::origin_guard::is_realtime;
use super::AppState;

/// Refuses a realtime request from an address the CONNECT throttle makes wait.
pub async fn check<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    if is_realtime(req.path()) {
        let peer = req.peer_addr().map(|a| a.ip());
        if let (Some(addr), Some(state)) = (peer, req.app_data::<web::Data<AppState>>()) {
            let connects = &state.limits.connects;
            let wait = connects.wait_secs(addr, state.clock.now());
            if wait > 0 {
                let refused = connects.note_refused_request();
                if refused.is_power_of_two() {
                    log::warn!(
                        "realtime request throttled addr={addr} path={} retry_after_s={wait} refused_total={refused}",
                        req.path()
                    );
                }
                let mut refusal = ApiError::TooManyRequests {
                    detail: format!("too many failed CONNECTs from {addr}: retry after {wait} s"),
                    retry_after_secs: wait,
                }
                .error_response();
                refusal.head_mut().set_connection_type(ConnectionType::Close);
                return Ok(req.into_response(refusal).map_into_right_body());
            }
        }
    }
    next.call(req).await.map(ServiceResponse::map_into_left_body)
}
