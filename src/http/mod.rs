//! The HTTP edge: routes under `/api/v1/{domain}`, the auth extractor, problem+json errors,
//! `/healthz` and `/readyz`, and the OpenAPI document of it all ([`openapi`]). Handlers parse and
//! check the request, call one service, and shape the answer; they decide nothing else.

pub mod alerts;
pub mod audit;
pub mod client_edits;
pub mod client_heartbeats;
pub mod clients;
pub mod cluster;
pub mod commands;
pub mod conn_guard;
pub mod device_edits;
pub mod devices;
pub mod dispatch;
pub mod dispatch_metrics;
pub mod error;
pub mod extract;
pub mod field_tokens;
pub mod health;
pub mod login_guard;
pub mod metrics;
pub mod nullable;
pub mod number;
pub mod openapi;
pub mod origin_guard;
pub mod origin_policy;
pub mod page;
pub mod parking_areas;
pub mod parking_errors;
pub mod parking_kiosks;
pub mod parking_occupancy;
pub mod parking_sessions;
pub mod parking_tariffs;
pub mod passenger_requests;
pub mod process_metrics;
pub mod provision;
pub mod receivers;
pub mod request_metrics;
pub mod taxi_edits;
pub mod taxis;
pub mod to_owner;
pub mod tokens;
pub mod transitions;
pub mod upgrade_guard;
pub mod users;

use std::sync::OnceLock;

use actix_web::dev::ResourceDef;
use actix_web::web;

/// What every handler can reach (it lives in [`crate::state`], which the transports share).
pub use crate::state::AppState;
use error::ApiError;

/// Largest JSON body accepted.
pub const MAX_JSON_BYTES: usize = 64 * 1024;

/// Every route, in one table: it expands to the registrations (`register`) and to [`ROUTES`],
/// the list that the OpenAPI document is tested against. Add a route here, with its handler's
/// `#[utoipa::path]` and an entry in [`openapi::ApiDoc`], or that test fails.
macro_rules! route_table {
    ($($method:ident $path:literal => $handler:path;)+) => {
        /// Every `(method, path)` the server routes, as the OpenAPI document spells them.
        pub const ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),+];

        fn register(cfg: &mut web::ServiceConfig) {
            $(cfg.route($path, web::$method().to($handler));)+
        }
    };
}

route_table! {
    get "/healthz" => health::healthz;
    get "/readyz" => health::readyz;
    get "/metrics" => metrics::metrics;
    get "/api/v1/openapi.json" => openapi::document;
    post "/api/v1/auth/token" => tokens::issue;
    post "/api/v1/clients" => clients::create;
    get "/api/v1/clients" => clients::list;
    patch "/api/v1/clients/{id}" => client_edits::update;
    delete "/api/v1/clients/{id}" => client_edits::decommission;
    post "/api/v1/clients/{id}/token" => field_tokens::client;
    post "/api/v1/clients/{id}/heartbeats" => client_heartbeats::batch;
    post "/api/v1/devices" => devices::create;
    get "/api/v1/devices" => devices::list;
    get "/api/v1/devices/{id}" => devices::show;
    patch "/api/v1/devices/{id}" => device_edits::update;
    delete "/api/v1/devices/{id}" => device_edits::decommission;
    get "/api/v1/devices/{id}/transitions" => transitions::list;
    post "/api/v1/devices/{id}/heartbeat" => devices::heartbeat;
    post "/api/v1/devices/{id}/faults/crash" => devices::crash;
    post "/api/v1/devices/{id}/commands" => commands::issue;
    get "/api/v1/commands" => commands::list;
    get "/api/v1/commands/{id}" => commands::show;
    get "/api/v1/alerts" => alerts::list;
    get "/api/v1/alerts/{id}" => alerts::show;
    post "/api/v1/alerts/{id}/ack" => alerts::acknowledge;
    post "/api/v1/alerts/{id}/resolve" => alerts::resolve;
    post "/api/v1/taxis" => taxis::create;
    post "/api/v1/taxis/arrivals" => taxis::arrival;
    get "/api/v1/taxis/{plate}" => taxis::show;
    patch "/api/v1/taxis/{plate}" => taxi_edits::update;
    delete "/api/v1/taxis/{plate}" => taxi_edits::decommission;
    post "/api/v1/taxis/{plate}/heartbeat" => taxis::heartbeat;
    put "/api/v1/taxis/{plate}/service-region" => taxis::service_region;
    post "/api/v1/taxis/{plate}/blacklist" => taxis::blacklist;
    delete "/api/v1/taxis/{plate}/blacklist" => taxis::unblacklist;
    post "/api/v1/taxis/{plate}/restart" => taxis::restart;
    post "/api/v1/taxis/{plate}/token" => field_tokens::driver;
    post "/api/v1/taxis/{plate}/faults/crash" => taxis::crash;
    put "/api/v1/terminals/{terminal}/dispatch" => dispatch::configure;
    post "/api/v1/terminals/{terminal}/restart" => dispatch::restart;
    post "/api/v1/terminals/{terminal}/faults/crash" => dispatch::crash;
    get "/api/v1/queues" => dispatch::queues;
    post "/api/v1/dispatch/requests" => passenger_requests::request;
    get "/api/v1/dispatch/stats" => dispatch::stats;
    post "/api/v1/dispatch/{id}/pickup" => passenger_requests::pickup;
    post "/api/v1/dispatch/{id}/no-show" => passenger_requests::no_show;
    post "/api/v1/dispatch/{id}/complete" => passenger_requests::complete;
    get "/api/v1/cluster" => cluster::show;
    post "/api/v1/parking/areas" => parking_areas::create;
    get "/api/v1/parking/areas" => parking_areas::list;
    post "/api/v1/parking/occupancy" => parking_occupancy::report;
    get "/api/v1/parking/occupancy" => parking_occupancy::show;
    post "/api/v1/parking/lpr" => parking_sessions::lane_reading;
    get "/api/v1/parking/sessions" => parking_sessions::find;
    get "/api/v1/parking/sessions/{id}" => parking_sessions::show;
    post "/api/v1/parking/sessions/{id}/payments" => parking_sessions::pay;
    post "/api/v1/parking/sessions/{id}/lost-ticket" => parking_sessions::lost_ticket;
    get "/api/v1/parking/kiosks/nearest" => parking_kiosks::nearest;
    get "/api/v1/parking/tariffs" => parking_tariffs::list;
    put "/api/v1/parking/tariffs/{zone}" => parking_tariffs::set;
    get "/api/v1/audit" => audit::list;
    post "/api/v1/provision" => provision::provision;
    post "/api/v1/receivers" => receivers::create;
    get "/api/v1/receivers" => receivers::list;
    delete "/api/v1/receivers/{id}" => receivers::delete;
    get "/api/v1/provision" => provision::export;
    post "/api/v1/users" => users::create;
    get "/api/v1/users" => users::list;
    patch "/api/v1/users/{username}" => users::update;
    post "/api/v1/users/me/password" => users::change_password;
    delete "/api/v1/clients/{id}/token" => field_tokens::revoke_client;
    delete "/api/v1/taxis/{plate}/token" => field_tokens::revoke_driver;
}

/// Registers every route and the error handlers for bodies, paths and queries.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(MAX_JSON_BYTES)
            .error_handler(|err, _| ApiError::BadRequest(format!("malformed JSON body: {err}")).into()),
    )
    .app_data(web::PathConfig::default().error_handler(|err, _| ApiError::NotFound(err.to_string()).into()))
    .app_data(
        web::QueryConfig::default()
            .error_handler(|err, _| ApiError::BadRequest(format!("malformed query: {err}")).into()),
    )
    .configure(register)
    .default_service(web::to(not_found));
}

/// The router's fallback: 405 with `Allow` when another method serves the path, else 404.
async fn not_found(req: actix_web::HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    let allowed = allowed_methods(req.path());
    if !allowed.is_empty() {
        let allow = allowed.join(", ");
        return Err(ApiError::MethodNotAllowed {
            detail: format!("{} {} is not served; this path takes {allow}", req.method(), req.path()),
            allow,
        });
    }
    Err(ApiError::NotFound(format!(
        "no such endpoint: {} {}",
        req.method(),
        req.path()
    )))
}

/// The methods [`ROUTES`] take on `path`, upper case, each once, in table order. As in the
/// OpenAPI document, a path that is itself a route's template (`/api/v1/taxis/arrivals`) takes
/// only that template's methods, not those of a template it also fits (`/api/v1/taxis/{plate}`).
pub fn allowed_methods(path: &str) -> Vec<&'static str> {
    static PATTERNS: OnceLock<Vec<(ResourceDef, &'static str, String)>> = OnceLock::new();
    let patterns = PATTERNS.get_or_init(|| {
        ROUTES
            .iter()
            .map(|&(method, template)| (ResourceDef::new(template), template, method.to_ascii_uppercase()))
            .collect()
    });
    let literal = patterns.iter().any(|(_, template, _)| *template == path);
    let mut allowed: Vec<&'static str> = Vec::new();
    for (pattern, template, method) in patterns {
        let fits = if literal {
            *template == path
        } else {
            pattern.is_match(path)
        };
        if fits && !allowed.contains(&method.as_str()) {
            allowed.push(method.as_str());
        }
    }
    allowed
}

#[cfg(test)]
mod tests {
    use super::allowed_methods;

    #[test]
    fn a_path_lists_the_methods_its_routes_take() {
        assert_eq!(allowed_methods("/api/v1/devices"), ["POST", "GET"]);
        assert_eq!(allowed_methods("/api/v1/devices/cam-1"), ["GET", "PATCH", "DELETE"]);
        assert_eq!(allowed_methods("/api/v1/taxis/12A3456/blacklist"), ["POST", "DELETE"]);
        // A route's own path: its methods only, not those of `/api/v1/taxis/{plate}`.
        assert_eq!(allowed_methods("/api/v1/taxis/arrivals"), ["POST"]);
        assert_eq!(allowed_methods("/api/v1/taxis/12A3456"), ["GET", "PATCH", "DELETE"]);
        assert!(allowed_methods("/api/v1/nothing-here").is_empty());
        assert!(allowed_methods("/api/v1/devices/cam-1/extra").is_empty());
    }
}
