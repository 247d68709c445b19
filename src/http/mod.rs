//! The HTTP edge: routes under `/api/v1/{domain}`, the auth extractor, problem+json errors,
//! `/healthz` and `/readyz`. Handlers parse and check the request, call one service, and shape
//! the answer; they decide nothing else.

pub mod alerts;
pub mod clients;
pub mod commands;
pub mod devices;
pub mod dispatch;
pub mod error;
pub mod extract;
pub mod health;
pub mod metrics;
pub mod page;
pub mod taxis;
pub mod tokens;

use std::sync::Arc;

use actix::Addr;
use actix_web::web;

use crate::alert::AlertService;
use crate::auth::Keys;
use crate::broker::Broker;
use crate::command::CommandService;
use crate::config::Config;
use crate::device::Devices;
use crate::ids::IdGen;
use crate::store::Store;
use crate::taxi::Taxis;
use crate::time::Clock;
use error::ApiError;

/// Largest JSON body accepted.
pub const MAX_JSON_BYTES: usize = 64 * 1024;

/// What every handler can reach.
#[derive(Debug)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub keys: Arc<Keys>,
    pub devices: Devices,
    pub taxis: Taxis,
    pub alerts: Addr<AlertService>,
    /// Realtime fan-out and presence.
    pub broker: Addr<Broker>,
    pub commands: Addr<CommandService>,
    pub ids: Arc<IdGen>,
    pub clock: Arc<dyn Clock>,
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
    .route("/healthz", web::get().to(health::healthz))
    .route("/readyz", web::get().to(health::readyz))
    .route("/metrics", web::get().to(metrics::metrics))
    .service(
        web::scope("/api/v1")
            .route("/auth/token", web::post().to(tokens::issue))
            .route("/clients", web::post().to(clients::create))
            .route("/clients", web::get().to(clients::list))
            .route("/devices", web::post().to(devices::create))
            .route("/devices", web::get().to(devices::list))
            .route("/devices/{id}", web::get().to(devices::show))
            .route("/devices/{id}/heartbeat", web::post().to(devices::heartbeat))
            .route("/devices/{id}/faults/crash", web::post().to(devices::crash))
            .route("/devices/{id}/commands", web::post().to(commands::issue))
            .route("/commands", web::get().to(commands::list))
            .route("/commands/{id}", web::get().to(commands::show))
            .route("/alerts", web::get().to(alerts::list))
            .route("/alerts/{id}", web::get().to(alerts::show))
            .route("/alerts/{id}/ack", web::post().to(alerts::acknowledge))
            .route("/alerts/{id}/resolve", web::post().to(alerts::resolve))
            .route("/taxis", web::post().to(taxis::create))
            .route("/taxis/arrivals", web::post().to(taxis::arrival))
            .route("/taxis/{plate}", web::get().to(taxis::show))
            .route("/taxis/{plate}/heartbeat", web::post().to(taxis::heartbeat))
            .route("/taxis/{plate}/service-region", web::put().to(taxis::service_region))
            .route("/taxis/{plate}/blacklist", web::post().to(taxis::blacklist))
            .route("/taxis/{plate}/blacklist", web::delete().to(taxis::unblacklist))
            .route("/taxis/{plate}/faults/crash", web::post().to(taxis::crash))
            .route("/terminals/{terminal}/dispatch", web::put().to(dispatch::configure))
            .route("/terminals/{terminal}/faults/crash", web::post().to(dispatch::crash))
            .route("/queues", web::get().to(dispatch::queues))
            .route("/dispatch/requests", web::post().to(dispatch::request))
            .route("/dispatch/stats", web::get().to(dispatch::stats))
            .route("/dispatch/{id}/pickup", web::post().to(dispatch::pickup))
            .route("/dispatch/{id}/no-show", web::post().to(dispatch::no_show))
            .route("/dispatch/{id}/complete", web::post().to(dispatch::complete)),
    )
    .default_service(web::to(not_found));
}

async fn not_found(req: actix_web::HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NotFound(format!(
        "no such endpoint: {} {}",
        req.method(),
        req.path()
    )))
}
