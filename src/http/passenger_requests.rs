//! Passenger requests and their trips: a kiosk's or an operator's request for a taxi
//! (`POST /dispatch/requests`), then its pickup, no-show or completion
//! (`POST /dispatch/{id}/pickup`, `/no-show`, `/complete`). Terminals' settings, lines and
//! figures are in [`super::dispatch`].

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dispatch::invalid;
use super::error::ApiError;
use super::extract::Caller;
use super::taxis::{driver_plate, terminal_id};
use super::AppState;
use crate::auth::Role;
use crate::taxi::core::events::{Assignment, PriorityRefusal};
use crate::taxi::core::model::{DispatchMode, LineKey, Plate, Region, RequestId, TaxiClass, TerminalId};
use crate::taxi::core::queue::Ticket;
use crate::taxi::messages::Reporter;
use crate::time::Millis;

#[derive(Debug, Deserialize, ToSchema)]
pub struct RequestBody {
    #[schema(example = "T1", pattern = "^[A-Za-z0-9_-]{1,16}$")]
    pub terminal: String,
    #[schema(example = "seoul", pattern = "^[A-Za-z0-9_-]{1,32}$")]
    pub destination_region: String,
    /// 0 to 1000 (`MAX_TRIP_KM`).
    #[schema(minimum = 0, maximum = 1000)]
    pub distance_km: f64,
    /// `standard` when absent.
    #[schema(value_type = Option<TaxiClass>)]
    pub class: Option<String>,
}

/// API.md's answer to a request: `{id, plate, bay, state}` and the inputs of the choice.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssignmentView {
    /// The request's id, for `/dispatch/{id}/...`.
    pub id: RequestId,
    pub plate: Plate,
    /// The curb bay, or null while every bay of the line is taken.
    pub bay: Option<u16>,
    /// Always `assigned`.
    #[schema(example = "assigned")]
    pub state: &'static str,
    pub terminal: TerminalId,
    pub destination_region: Region,
    pub distance_km: f64,
    pub class: TaxiClass,
    /// The line the taxi was taken from, and the terminal's mode at that moment.
    pub line: LineKey,
    pub mode: DispatchMode,
    pub ticket: Ticket,
    /// 1-based rank of the taxi among the candidates.
    pub position: usize,
    /// The taxi was already waiting at the curb.
    pub from_curb: bool,
    /// Suspended taxis ahead of it that were passed over.
    pub skipped_suspended: Vec<Plate>,
    /// The taxi this assignment replaces after a no-show or a hold.
    pub replaces: Option<Plate>,
    pub at_ms: Millis,
}

impl AssignmentView {
    fn of(terminal: &TerminalId, a: &Assignment) -> Self {
        AssignmentView {
            id: a.request,
            plate: a.plate.clone(),
            bay: a.bay,
            state: "assigned",
            terminal: terminal.clone(),
            destination_region: a.destination_region.clone(),
            distance_km: a.distance_km,
            class: a.class,
            line: a.line.clone(),
            mode: a.mode,
            ticket: a.ticket,
            position: a.position,
            from_curb: a.from_curb,
            skipped_suspended: a.skipped_suspended.clone(),
            replaces: a.replaces.clone(),
            at_ms: a.at,
        }
    }
}

/// Kiosks (clients) and operators place requests; a driver or a viewer does not.
fn require_staff(caller: &Caller) -> Result<(), ApiError> {
    if caller.role == Role::Client || caller.role.at_least(Role::Operator) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "this needs a client (kiosk) token or the operator role or above; the token has {}",
            caller.role
        )))
    }
}

/// Places a passenger's request.
///
/// A taxi is assigned at once, or the answer is 409 with the reason.
///
/// **Role:** client (kiosk), or operator or above.
#[utoipa::path(
    post,
    path = "/api/v1/dispatch/requests",
    operation_id = "request_taxi",
    tag = "dispatch",
    security(("bearer" = [])),
    responses(
        (
            status = 201,
            description = "a taxi is assigned",
            body = AssignmentView,
            links(
                ("pickup" = (operation_id = "pickup", parameters(("id" = "$response.body#/id")))),
                ("no_show" = (operation_id = "no_show", parameters(("id" = "$response.body#/id")))),
                ("complete_trip" = (operation_id = "complete_trip", parameters(("id" = "$response.body#/id")))),
            )
        ),
        (status = 403, description = "the token is neither a client's nor an operator's or above"),
        (status = 404, description = "no such terminal"),
        (status = 409, description = "no taxi can serve the request, or the dispatcher is quarantined"),
        (status = 422, description = "bad region or class, unserved destination, bad distance"),
        (status = 503, description = "the dispatcher is restarting, or the store is unavailable"),
    )
)]
pub async fn request(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<RequestBody>,
) -> Result<HttpResponse, ApiError> {
    require_staff(&caller)?;
    let b = body.into_inner();
    let terminal = terminal_id(&b.terminal)?;
    let region = Region::parse(&b.destination_region).map_err(invalid)?;
    let class = b
        .class
        .as_deref()
        .map(str::parse::<TaxiClass>)
        .transpose()
        .map_err(invalid)?;
    let assignment = state
        .taxis
        .request(&terminal, region, b.distance_km, class.unwrap_or_default())
        .await?;
    Ok(HttpResponse::Created().json(AssignmentView::of(&terminal, &assignment)))
}

/// Who reports on a request: kiosks, operators, and the driver of the serving taxi.
fn reporter(caller: &Caller) -> Result<Reporter, ApiError> {
    if let Some(plate) = driver_plate(caller) {
        return Ok(Reporter::Driver(plate));
    }
    require_staff(caller)?;
    Ok(Reporter::Staff)
}

fn request_id(raw: &str) -> Result<RequestId, ApiError> {
    raw.parse::<i64>()
        .map(RequestId)
        .map_err(|_| ApiError::NotFound(format!("no request {raw:?}")))
}

/// A request after its passenger was picked up.
#[derive(Debug, Serialize, ToSchema)]
pub struct PickupAnswer {
    pub id: RequestId,
    pub plate: Plate,
    pub terminal: TerminalId,
    /// Always `picked_up`.
    #[schema(example = "picked_up")]
    pub state: &'static str,
}

/// Reports a pickup.
///
/// The passenger is in the taxi; the bay frees up.
///
/// **Role:** client (kiosk), the serving taxi's driver, or operator or above.
#[utoipa::path(
    post,
    path = "/api/v1/dispatch/{id}/pickup",
    operation_id = "pickup",
    tag = "dispatch",
    params(("id" = String, Path, description = "the request's id (an integer)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "picked up", body = PickupAnswer),
        (status = 403, description = "the token may not report on this request"),
        (status = 404, description = "no open request with this id"),
        (status = 409, description = "the request is not in a state to be picked up"),
        (status = 503, description = "the dispatcher is restarting, or the store is unavailable"),
    )
)]
pub async fn pickup(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let by = reporter(&caller)?;
    let request = request_id(&id)?;
    let (terminal, plate) = state.taxis.pickup(request, by).await?;
    Ok(HttpResponse::Ok().json(PickupAnswer {
        id: request,
        plate,
        terminal,
        state: "picked_up",
    }))
}

/// What a no-show did: where the no-show taxi stands now, and who took the passenger.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoShowAnswer {
    pub id: RequestId,
    /// The taxi whose passenger did not show.
    pub plate: Plate,
    pub terminal: TerminalId,
    /// `assigned` when another taxi took the passenger, else `dropped`.
    #[schema(example = "assigned")]
    pub state: &'static str,
    /// The no-show taxi's ticket now, and its position in its line.
    pub ticket: Ticket,
    pub position: usize,
    /// The new assignment, if a taxi could take the passenger.
    pub reassigned: Option<AssignmentView>,
}

/// Reports a no-show.
///
/// The request passes to the next taxi, and the taxi goes back by the no-show policy.
///
/// **Role:** client (kiosk), the serving taxi's driver, or operator or above.
#[utoipa::path(
    post,
    path = "/api/v1/dispatch/{id}/no-show",
    operation_id = "no_show",
    tag = "dispatch",
    params(("id" = String, Path, description = "the request's id (an integer)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "recorded", body = NoShowAnswer),
        (status = 403, description = "the token may not report on this request"),
        (status = 404, description = "no open request with this id"),
        (status = 409, description = "the request is not in a state for a no-show"),
        (status = 503, description = "the dispatcher is restarting, or the store is unavailable"),
    )
)]
pub async fn no_show(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let by = reporter(&caller)?;
    let request = request_id(&id)?;
    let (terminal, plate, outcome) = state.taxis.no_show(request, by).await?;
    let reassigned = outcome.reassigned.as_ref().map(|a| AssignmentView::of(&terminal, a));
    Ok(HttpResponse::Ok().json(NoShowAnswer {
        id: request,
        plate,
        terminal,
        state: if reassigned.is_some() { "assigned" } else { "dropped" },
        ticket: outcome.ticket,
        position: outcome.position,
        reassigned,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CompleteBody {
    /// The trip's length, 0 to 1000; under `KWANJE_TAXI_SHORT_TRIP_KM` it arms a priority re-entry.
    #[schema(minimum = 0, maximum = 1000)]
    pub distance_km: f64,
}

/// A completed trip.
#[derive(Debug, Serialize, ToSchema)]
pub struct CompleteAnswer {
    pub id: RequestId,
    pub plate: Plate,
    pub terminal: TerminalId,
    /// Always `completed`.
    #[schema(example = "completed")]
    pub state: &'static str,
    pub distance_km: f64,
    /// The trip was short: a re-entry before `priority_until_ms` goes first.
    pub short: bool,
    pub priority_until_ms: Option<Millis>,
    /// A short trip that armed no priority because it does not look real: its distance
    /// disagrees with the request's beyond `KWANJE_TAXI_TRIP_DISTANCE_TOLERANCE`. Absent
    /// otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority_refused: Option<PriorityRefusal>,
}

/// Completes a trip.
///
/// A short one arms the taxi's priority re-entry, when its distance agrees with the request's.
///
/// **Role:** client (kiosk), the serving taxi's driver, or operator or above.
#[utoipa::path(
    post,
    path = "/api/v1/dispatch/{id}/complete",
    operation_id = "complete_trip",
    tag = "dispatch",
    params(("id" = String, Path, description = "the request's id (an integer)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "completed", body = CompleteAnswer),
        (status = 403, description = "the token may not report on this request"),
        (status = 404, description = "no open request with this id"),
        (status = 409, description = "the request is not picked up yet"),
        (status = 422, description = "bad distance"),
        (status = 503, description = "the dispatcher is restarting, or the store is unavailable"),
    )
)]
pub async fn complete(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<CompleteBody>,
) -> Result<HttpResponse, ApiError> {
    let by = reporter(&caller)?;
    let request = request_id(&id)?;
    let (terminal, plate, outcome) = state.taxis.complete(request, body.distance_km, by).await?;
    Ok(HttpResponse::Ok().json(CompleteAnswer {
        id: request,
        plate,
        terminal,
        state: "completed",
        distance_km: body.distance_km,
        short: outcome.short,
        priority_until_ms: outcome.priority_until,
        priority_refused: outcome.priority_refused,
    }))
}
