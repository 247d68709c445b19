//! `/api/v1/parking/kiosks/nearest`: the nearest working payment kiosk of a zone, for a kiosk's
//! screen, a guidance sign or an operator ("a down payment kiosk sends customers to the nearest
//! working one").

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::ApiError;
use super::extract::Caller;
use super::AppState;
use crate::auth::Role;
use crate::parking::core::kiosks::ZoneKiosk;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NearestQuery {
    /// The zone the customer is in.
    pub zone: String,
    /// The zone's site; needed only when a zone of that name is on several sites.
    pub site: Option<String>,
}

/// The nearest working payment kiosk of a zone.
///
/// Devices carry a site and a zone, not coordinates: the answer is a working (`up`) kiosk of
/// the zone itself (`placement: same_zone`), else one elsewhere on its site (`same_site`), else
/// any working kiosk (`other_site`); among equals the lowest id. `kiosk` is `null` when no
/// payment kiosk works anywhere. `down` lists the zone's own kiosks that do not work now. The
/// same answers are published as `parking.kiosks` on `/topic/parking/{site}` when they move.
///
/// **Role:** a client (kiosk or sign), or viewer and above.
#[utoipa::path(
    get,
    path = "/api/v1/parking/kiosks/nearest",
    operation_id = "nearest_payment_kiosk",
    params(NearestQuery),
    tag = "parking",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the zone's nearest working kiosk", body = ZoneKiosk),
        (status = 400, description = "no zone= given"),
        (status = 403, description = "a driver's token"),
        (status = 404, description = "no parking area and no payment kiosk is in that zone"),
        (status = 422, description = "the zone is on several sites and no site= was given"),
    )
)]
pub async fn nearest(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<NearestQuery>,
) -> Result<HttpResponse, ApiError> {
    if caller.role != Role::Client {
        caller.require(Role::Viewer)?;
    }
    let q = query.into_inner();
    let answer = state.parking.nearest_kiosk(&q.zone, q.site.as_deref())?;
    Ok(HttpResponse::Ok().json(answer))
}
