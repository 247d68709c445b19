//! `/api/v1/parking/tariffs`: the tariff of each zone (free minutes, a rate per period, a
//! daily cap), the default for zones without their own.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::Caller;
use super::AppState;
use crate::auth::Role;
use crate::parking::core::tariff::{preset, Tariff};

/// A zone's tariff as answered.
#[derive(Debug, Serialize, ToSchema)]
pub struct ZoneTariff {
    pub zone: String,
    #[serde(flatten)]
    pub tariff: Tariff,
}

/// Every zone with its own tariff, and the default of the rest.
#[derive(Debug, Serialize, ToSchema)]
pub struct TariffList {
    /// The tariff of a zone not listed (`KWANJE_PARKING_DEFAULT_TARIFF`).
    pub default: Tariff,
    /// Zones by name.
    pub zones: Vec<ZoneTariff>,
}

/// A tariff to set: every field, or `{"preset":"short_term"|"long_term"}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum TariffBody {
    Preset {
        /// `short_term` or `long_term`.
        preset: String,
    },
    Fields(Tariff),
}

/// The tariffs.
///
/// **Role:** a client (kiosk), or viewer and above.
#[utoipa::path(
    get,
    path = "/api/v1/parking/tariffs",
    operation_id = "list_parking_tariffs",
    tag = "parking",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the tariffs", body = TariffList),
        (status = 403, description = "a driver's token"),
    )
)]
pub async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    if caller.role != Role::Client {
        caller.require(Role::Viewer)?;
    }
    let zones = state
        .parking
        .tariffs()
        .await?
        .into_iter()
        .map(|(zone, tariff)| ZoneTariff { zone, tariff })
        .collect();
    Ok(HttpResponse::Ok().json(TariffList {
        default: state.parking.default_tariff(),
        zones,
    }))
}

/// Sets a zone's tariff (audited). Sessions of the zone are charged by it from now on, their
/// whole stay included: a kiosk shows the new fee at once.
///
/// **Role:** admin.
#[utoipa::path(
    put,
    path = "/api/v1/parking/tariffs/{zone}",
    operation_id = "set_parking_tariff",
    params(("zone" = String, Path, description = "the zone (`P1`)")),
    tag = "parking",
    security(("bearer" = [])),
    request_body = TariffBody,
    responses(
        (status = 200, description = "set", body = ZoneTariff),
        (status = 400, description = "the body is not a tariff or a preset"),
        (status = 403, description = "not an admin"),
        (status = 422, description = "a field out of range, an unknown preset, or a bad zone name"),
    )
)]
pub async fn set(
    state: web::Data<AppState>,
    caller: Caller,
    zone: web::Path<String>,
    body: web::Json<TariffBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Admin)?;
    let tariff = match body.into_inner() {
        TariffBody::Fields(t) => t,
        TariffBody::Preset { preset: name } => preset(&name)
            .ok_or_else(|| ApiError::Unprocessable(format!("unknown preset {name:?}; use short_term or long_term")))?,
    };
    let zone = zone.into_inner();
    let tariff = state.parking.set_tariff(&zone, tariff, &caller.name).await?;
    Ok(HttpResponse::Ok().json(ZoneTariff { zone, tariff }))
}
