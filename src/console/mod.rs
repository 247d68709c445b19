//! The operator console (DESIGN.md's `console` part): the built single-page app of
//! `console/dist/`, embedded in the binary and served at `/`.
//!
//! - [`assets`] holds the embedded files and decides what a path names (pure);
//! - [`headers`] decides the headers an answer carries: cache policy and the
//!   Content-Security-Policy (pure);
//! - this file registers the routes and shapes the answers.
//!
//! The console talks only to the public API and STOMP destinations; nothing here is an API.
//! Paths the console does not serve fall through to the HTTP edge's problem+json 404.

pub mod assets;
pub mod headers;

use actix_web::http::header;
use actix_web::{middleware, web, HttpRequest, HttpResponse};

use crate::http::error::ApiError;
use crate::http::AppState;
use assets::{Asset, Resolved};
use headers::CachePolicy;

/// Registers the console's routes: the index at `/` and at each view's URL, and the built files.
/// Each is compressed (gzip) when the browser asks for it.
pub fn routes(cfg: &mut web::ServiceConfig) {
    for path in assets::VIEW_ROUTES.iter().chain(assets::FILE_ROUTES) {
        cfg.service(
            web::resource(*path)
                .wrap(middleware::Compress::default())
                .route(web::get().to(serve))
                .default_service(web::to(get_only)),
        );
    }
}

/// Another method on a console path: 405 with `Allow: GET`, as problem+json like the API's.
async fn get_only(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed {
        detail: format!("{} {} is not served; this path takes GET", req.method(), req.path()),
        allow: "GET".into(),
    })
}

/// Answers a console path: the index (with the airport's time zone), a built file, or 404.
async fn serve(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let csp = headers::content_security_policy(req.connection_info().host());
    let (asset, body) = match assets::resolve(req.path()) {
        Resolved::Index => {
            let index = assets::file("index.html").ok_or_else(|| missing(&req))?;
            let html = assets::render_index(&index.data, &state.config.time_zone);
            (index, html.into_bytes())
        }
        Resolved::File(name) => {
            let file = assets::file(&name).ok_or_else(|| missing(&req))?;
            let data = file.data.to_vec();
            (file, data)
        }
        Resolved::NotConsole => return Err(missing(&req)),
    };
    Ok(respond(&asset, body, &csp))
}

fn respond(asset: &Asset, body: Vec<u8>, csp: &str) -> HttpResponse {
    let cache = CachePolicy::of(&asset.name);
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, asset.content_type.clone()))
        .insert_header((header::CACHE_CONTROL, cache.header_value()))
        .insert_header((header::CONTENT_SECURITY_POLICY, csp.to_owned()))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .body(body)
}

fn missing(req: &HttpRequest) -> ApiError {
    ApiError::NotFound(format!("no such endpoint: {} {}", req.method(), req.path()))
}
