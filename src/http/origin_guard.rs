//! The middleware that applies [`AllowedOrigins`] to the realtime paths (`/ws`, `/sockjs/...`):
//! a browser page from an origin not allowed gets 403 problem+json before any session exists.
//! Other paths are not browsers' business across origins (the API sends no CORS headers, so a
//! foreign page cannot read its answers) and pass untouched.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, ResponseError};

use super::error::ApiError;
use super::origin_policy::AllowedOrigins;

/// Whether `path` opens or carries a realtime session.
pub fn is_realtime(path: &str) -> bool {
    path == "/ws" || path.starts_with("/ws/") || path == "/sockjs" || path.starts_with("/sockjs/")
}

/// Refuses a realtime request from an origin the policy does not allow.
pub async fn check<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    if is_realtime(req.path()) {
        if let Some(policy) = req.app_data::<web::Data<AllowedOrigins>>() {
            let origin = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok());
            let host = req.headers().get(header::HOST).and_then(|v| v.to_str().ok());
            if !policy.allows(origin, host) {
                log::warn!(
                    "origin refused path={} origin={:?} peer={:?}",
                    req.path(),
                    origin.unwrap_or(""),
                    req.peer_addr()
                );
                let refusal = ApiError::Forbidden(format!(
                    "origin {} may not open realtime sessions (KWANJE_ALLOWED_ORIGINS)",
                    origin.unwrap_or("")
                ))
                .error_response();
                return Ok(req.into_response(refusal).map_into_right_body());
            }
        }
    }
    next.call(req).await.map(ServiceResponse::map_into_left_body)
}

#[cfg(test)]
mod tests {
    use super::is_realtime;

    #[test]
    fn only_the_realtime_paths_are_checked() {
        for p in ["/ws", "/sockjs", "/sockjs/info", "/sockjs/1/abc/xhr_streaming"] {
            assert!(is_realtime(p), "{p}");
        }
        for p in ["/", "/api/v1/devices", "/wsx", "/sockjsx", "/metrics"] {
            assert!(!is_realtime(p), "{p}");
        }
    }
}
