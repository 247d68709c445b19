//! `/api/v1/parking/occupancy`: guidance cameras' counts in (the HTTP form of
//! `SEND /app/occupancy`), free and unknown bays per area, zone and site out.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::ApiError;
use super::extract::Caller;
use super::AppState;
use crate::auth::Role;
use crate::parking::core::report::{Report, Reporter};
use crate::parking::core::view::SiteView;

/// What a report counted.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    /// Areas counted (every area of the report: a report is taken or refused whole).
    pub accepted: usize,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OccupancyQuery {
    /// Only this site.
    pub site: Option<String>,
    /// Only this zone (of every site, or of `site`).
    pub zone: Option<String>,
}

/// The occupancy of every site.
#[derive(Debug, Serialize, ToSchema)]
pub struct OccupancyList {
    /// Sites in name order, each with its zones and areas.
    pub sites: Vec<SiteView>,
}

/// Reports a guidance camera's counts.
///
/// The same body as `SEND /app/occupancy`: `{"areas":[{"id","free","total"}]}`. Checked whole
/// before any of it counts: an area that is not configured, `free > total`, or a `total` above
/// the area's configured bays is 422; an area whose camera another client hosts is 403. A
/// count that changes what a sign shows is published on `/topic/parking/{site}`.
///
/// **Role:** the client hosting the areas' cameras, or admin.
#[utoipa::path(
    post,
    path = "/api/v1/parking/occupancy",
    operation_id = "report_occupancy",
    tag = "parking",
    security(("bearer" = [])),
    request_body = Report,
    responses(
        (status = 200, description = "counted", body = Accepted),
        (status = 403, description = "not a client or admin, or an area's camera is hosted by another client"),
        (status = 422, description = "an area is not configured, or a count does not add up"),
        (status = 503, description = "parking control is unavailable"),
    )
)]
pub async fn report(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<Report>,
) -> Result<HttpResponse, ApiError> {
    let who = match (caller.role, caller.client.as_deref()) {
        (Role::Admin, _) => Reporter::Admin,
        (Role::Client, Some(client)) => Reporter::Client(client),
        _ => {
            return Err(ApiError::Forbidden(format!(
                "occupancy is reported by the client hosting the camera; the token has {}",
                caller.role
            )))
        }
    };
    let accepted = state.parking.report(who, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(Accepted { accepted }))
}

/// Free and unknown bays per site, zone and area.
///
/// An area whose camera is down, unreachable, in maintenance, flapping or quarantined is
/// `unknown` (no `free`, never a stale count) and its configured bays count in
/// `unknown_bays`, until the camera reports again.
///
/// **Role:** viewer or above, or a client (a kiosk or guidance sign).
#[utoipa::path(
    get,
    path = "/api/v1/parking/occupancy",
    operation_id = "show_occupancy",
    params(OccupancyQuery),
    tag = "parking",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the sites asked for", body = OccupancyList),
        (status = 403, description = "the token is a driver's"),
        (status = 503, description = "parking control is unavailable"),
    )
)]
pub async fn show(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<OccupancyQuery>,
) -> Result<HttpResponse, ApiError> {
    if caller.role != Role::Client {
        caller.require(Role::Viewer)?;
    }
    let q = query.into_inner();
    let sites = state.parking.occupancy(q.site, q.zone).await?;
    Ok(HttpResponse::Ok().json(OccupancyList { sites }))
}
