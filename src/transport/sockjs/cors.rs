//! The headers SockJS asks of every HTTP answer: CORS (browsers reach `/sockjs` from pages
//! served elsewhere) and caching (never for session traffic, a year for preflight answers).
//!
//! The request's `Origin` is echoed with `Access-Control-Allow-Credentials: true`, as SockJS
//! clients send their XHRs with credentials (`null` too, a page opened from a file, as the
//! SockJS test suite asks); `*` when there is none. That is safe here because nothing under `/sockjs` trusts cookies: the
//! STOMP session inside authenticates with the JWT in its CONNECT frame.

use std::time::{Duration, SystemTime};

use actix_web::http::header::{self, HeaderValue, HttpDate};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};

/// How long browsers may keep a preflight answer.
pub const PREFLIGHT_MAX_AGE_SECS: u64 = 31_536_000;
/// Session traffic must never come from a cache (iOS 6 even cached POSTs), nor be rewritten by
/// a proxy on the way (`no-transform`).
pub const NO_CACHE: &str = "no-store, no-cache, no-transform, must-revalidate, max-age=0";

/// Adds the CORS headers for `req` to an answer.
pub fn allow(req: &HttpRequest, res: &mut HttpResponseBuilder) {
    match req.headers().get(header::ORIGIN) {
        Some(origin) => {
            res.insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone()));
            res.insert_header((header::ACCESS_CONTROL_ALLOW_CREDENTIALS, "true"));
        }
        None => {
            res.insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"));
        }
    }
    res.insert_header((header::VARY, "Origin"));
    if let Some(asked) = req
        .headers()
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .filter(|h| !h.is_empty())
    {
        res.insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone()));
    }
}

/// Forbids caching an answer.
pub fn no_cache(res: &mut HttpResponseBuilder) {
    res.insert_header((header::CACHE_CONTROL, NO_CACHE));
}

/// The answer to a CORS preflight (`OPTIONS`) for a resource allowing `methods`.
pub fn preflight(req: &HttpRequest, methods: &'static str) -> HttpResponse {
    let mut res = HttpResponse::NoContent();
    let year = Duration::from_secs(PREFLIGHT_MAX_AGE_SECS);
    res.insert_header((
        header::CACHE_CONTROL,
        format!("public, max-age={PREFLIGHT_MAX_AGE_SECS}"),
    ));
    res.insert_header((header::EXPIRES, HttpDate::from(SystemTime::now() + year)));
    res.insert_header((
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from(PREFLIGHT_MAX_AGE_SECS),
    ));
    res.insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, methods));
    allow(req, &mut res);
    res.finish()
}
