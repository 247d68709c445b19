//! Liveness and readiness.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::AppState;

/// The answer of `/healthz` and `/readyz`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` (serving) or `ready` (the store answers).
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Liveness.
///
/// 200 while the process serves.
///
/// **Role:** none; no token needed.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "health",
    responses((status = 200, description = "serving", body = Health))
)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// Readiness.
///
/// 200 when the store answers (and, in cluster mode, the node is connected to NATS), 503 when
/// it does not.
///
/// **Role:** none; no token needed.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "health",
    responses(
        (status = 200, description = "the store answers", body = Health),
        (status = 503, description = "the store is unavailable, or (cluster mode) NATS is")
    )
)]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.store.ping().await?;
    if let Some(node) = &state.cluster {
        if !node.connected() {
            return Err(ApiError::Unavailable(
                "this cluster node has no connection to NATS".into(),
            ));
        }
    }
    Ok(HttpResponse::Ok().json(Health { status: "ready" }))
}
