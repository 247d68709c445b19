//! `/api/v1/parking/areas`: the areas guidance cameras watch (site > zone > area), configured
//! like devices.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::Caller;
use super::page::{Page, PageQuery};
use super::AppState;
use crate::auth::Role;
use crate::parking::core::area::AreaSpec;
use crate::parking::ParkingError;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewArea {
    /// 1 to 64 of `A-Z a-z 0-9 . _ - :` (`T1-P1-A03`).
    #[schema(pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    pub id: String,
    /// The site (terminal), a name of the same alphabet (`T1`): `/topic/parking/{site}`.
    #[schema(pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    pub site: String,
    /// The zone (`short-term`, `long-term`).
    #[schema(pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    pub zone: String,
    /// Bays in the area, 1 to 10000.
    #[schema(minimum = 1, maximum = 10000)]
    pub total: u32,
    /// The registered `guidance_camera` that reports the area.
    #[schema(pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    pub camera_id: String,
}

/// A configured area.
#[derive(Debug, Serialize, ToSchema)]
pub struct AreaConfig {
    pub id: String,
    pub site: String,
    pub zone: String,
    pub total: u32,
    pub camera_id: String,
}

impl From<&AreaSpec> for AreaConfig {
    fn from(a: &AreaSpec) -> Self {
        AreaConfig {
            id: a.id.to_string(),
            site: a.site.to_string(),
            zone: a.zone.to_string(),
            total: a.total,
            camera_id: a.camera_id.clone(),
        }
    }
}

/// Configures a parking area.
///
/// The area is unknown until its camera reports; while the camera is down, unreachable or in
/// maintenance its bays count as unknown. Audited.
///
/// **Role:** admin.
#[utoipa::path(
    post,
    path = "/api/v1/parking/areas",
    operation_id = "create_parking_area",
    tag = "parking",
    security(("bearer" = [])),
    request_body = NewArea,
    responses(
        (status = 201, description = "configured", body = AreaConfig),
        (status = 403, description = "the token is not an admin's"),
        (status = 409, description = "an area with this id is configured"),
        (status = 422, description = "bad id, site or zone, total out of range, or the camera is not a registered guidance_camera"),
        (status = 503, description = "the store is unavailable"),
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<NewArea>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Admin)?;
    let b = body.into_inner();
    let spec = AreaSpec::new(&b.id, &b.site, &b.zone, b.total, &b.camera_id).map_err(ParkingError::from)?;
    let area = state.parking.create_area(spec, &caller.name).await?;
    Ok(HttpResponse::Created().json(AreaConfig::from(&area)))
}

/// Lists the configured parking areas.
///
/// By id; the cursor is the last id of the page before.
///
/// **Role:** viewer or above.
#[utoipa::path(
    get,
    path = "/api/v1/parking/areas",
    operation_id = "list_parking_areas",
    params(PageQuery),
    tag = "parking",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "a page of areas", body = Page<AreaConfig>),
        (status = 403, description = "the token has no viewer role or above"),
        (status = 422, description = "limit out of range"),
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Viewer)?;
    let limit = query.limit()?;
    let after = query.cursor.clone();
    let items: Vec<AreaConfig> = state
        .parking
        .areas()
        .iter()
        .filter(|a| after.as_deref().is_none_or(|c| a.id.as_str() > c))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .map(AreaConfig::from)
        .collect();
    Ok(HttpResponse::Ok().json(Page::new(items, limit, |a| a.id.clone())))
}
