//! `PATCH` and `DELETE /api/v1/taxis/{plate}`: a taxi's registration corrected and the taxi
//! taken out of service, both while it is at no terminal's lot.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::Caller;
use super::taxis::{path_plate, TaxiOut};
use super::AppState;
use crate::auth::Role;
use crate::taxi::core::model::{Plate, Region, TaxiClass};

/// An edit of a taxi's registration: a field left out stays as it is.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxiPatch {
    /// The region that licensed the taxi. A new one clears the driver's chosen service region.
    #[schema(example = "incheon", pattern = "^[A-Za-z0-9_-]{1,32}$")]
    pub license_region: Option<String>,
    #[schema(value_type = Option<TaxiClass>)]
    pub class: Option<String>,
}

/// A taxi as edited.
#[derive(Debug, Serialize, ToSchema)]
pub struct EditedTaxi {
    #[serde(flatten)]
    pub taxi: TaxiOut,
    /// The fields the edit changed (empty when it changed nothing).
    pub changed: Vec<&'static str>,
}

/// A taxi taken out of service.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecommissionedTaxi {
    pub plate: Plate,
    pub decommissioned_ms: i64,
}

/// In a cluster, the owner of the taxi's partition, when that is another node.
fn owner(state: &AppState, req: &HttpRequest, plate: &Plate) -> Option<Result<String, ApiError>> {
    let key = match state.taxis.registry().taxi(plate) {
        Some(taxi) => taxi.entry.card().partition_key().to_owned(),
        None => plate.to_string(),
    };
    super::to_owner::owner_addr(state, req, &key)
}

/// Edits a taxi's registration.
///
/// Its licence region and class, while it is at no terminal's lot (409 otherwise: its place in
/// line was given by them). A new licence region clears the service region its driver chose.
/// Audited with the fields changed.
///
/// **Role:** admin.
#[utoipa::path(
    patch,
    path = "/api/v1/taxis/{plate}",
    operation_id = "update_taxi",
    tag = "taxis",
    params(("plate" = String, Path, description = "the taxi's plate")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the taxi as edited, with the fields changed", body = EditedTaxi),
        (status = 400, description = "a field the edit does not take (`plate`, a misspelling) or a malformed body"),
        (status = 403, description = "the token is not an admin's"),
        (status = 404, description = "no such taxi"),
        (status = 409, description = "the taxi is at a terminal's lot, or its actor is quarantined"),
        (status = 422, description = "bad region, unknown class"),
        (status = 503, description = "its actor is restarting, or the store is unavailable"),
    )
)]
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    plate: web::Path<String>,
    body: web::Json<TaxiPatch>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Admin)?;
    let plate = path_plate(&plate)?;
    let body = body.into_inner();
    if let Some(addr) = owner(&state, &req, &plate) {
        let bytes = serde_json::to_vec(&body).map_err(|e| ApiError::Internal(e.to_string()))?;
        return super::to_owner::pass(&addr?, &req, web::Bytes::from(bytes)).await;
    }
    let unprocessable = |e: crate::taxi::core::model::ModelError| ApiError::Unprocessable(e.to_string());
    let region = body
        .license_region
        .as_deref()
        .map(Region::parse)
        .transpose()
        .map_err(unprocessable)?;
    let class = body
        .class
        .as_deref()
        .map(str::parse::<TaxiClass>)
        .transpose()
        .map_err(|e| ApiError::Unprocessable(e.to_string()))?;
    let changed = state.taxis.amend(&plate, region, class, &caller.name).await?;
    let detail = state.taxis.taxi(&plate).await?;
    Ok(HttpResponse::Ok().json(EditedTaxi {
        taxi: TaxiOut::of(detail),
        changed,
    }))
}

/// Decommissions a taxi.
///
/// While it is at no terminal's lot (409 otherwise). Its actor is stopped on purpose, every
/// driver token issued for it is revoked (open STOMP sessions get an ERROR saying why), and it
/// leaves the registry; its history (dispatch records, audit) is kept, and registering the
/// plate again brings it back as new. Audited.
///
/// **Role:** admin.
#[utoipa::path(
    delete,
    path = "/api/v1/taxis/{plate}",
    operation_id = "decommission_taxi",
    tag = "taxis",
    params(("plate" = String, Path, description = "the taxi's plate")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "decommissioned", body = DecommissionedTaxi),
        (status = 403, description = "the token is not an admin's"),
        (status = 404, description = "no such taxi in service"),
        (status = 409, description = "the taxi is at a terminal's lot"),
        (status = 503, description = "its actor is restarting, or the store is unavailable"),
    )
)]
pub async fn decommission(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    plate: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Admin)?;
    let plate = path_plate(&plate)?;
    if let Some(addr) = owner(&state, &req, &plate) {
        return super::to_owner::pass(&addr?, &req, web::Bytes::new()).await;
    }
    let why = format!("taxi {plate} was decommissioned by {}", caller.name);
    let at = state.taxis.decommission(&plate, &caller.name, &why).await?;
    let subject = crate::auth::Subject::taxi(plate.as_str());
    state
        .accounts
        .revoked(subject, plate.as_str(), crate::time::Millis(at), why);
    Ok(HttpResponse::Ok().json(DecommissionedTaxi {
        plate,
        decommissioned_ms: at,
    }))
}
