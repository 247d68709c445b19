//! `/api/v1/taxis`: registration, the lot camera's arrivals, the driver app's heartbeat and
//! service region, the blacklist, one taxi's view, and crash injection.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::error::ApiError;
use super::extract::Caller;
use super::AppState;
use crate::auth::Role;
use crate::ids::DeviceId;
use crate::taxi::card::TaxiCard;
use crate::taxi::events::{ArrivalOutcome, TaxiStateKind};
use crate::taxi::model::{LineKey, ModelError, Plate, Region, RequestId, TaxiClass, TerminalId};
use crate::taxi::queue::Ticket;
use crate::taxi::TaxiDetail;

fn invalid(e: ModelError) -> ApiError {
    ApiError::Unprocessable(e.to_string())
}

/// A plate from the path: an unreadable one names no registered taxi.
pub(super) fn path_plate(raw: &str) -> Result<Plate, ApiError> {
    Plate::parse(raw).map_err(|e| ApiError::NotFound(format!("no taxi {raw:?}: {e}")))
}

/// A terminal from the path or a query: an unreadable one names no configured terminal.
pub(super) fn terminal_id(raw: &str) -> Result<TerminalId, ApiError> {
    TerminalId::parse(raw).map_err(|e| ApiError::NotFound(format!("no terminal {raw:?}: {e}")))
}

/// The plate a driver token speaks for, if the caller is a driver.
pub(super) fn driver_plate(caller: &Caller) -> Option<Plate> {
    (caller.role == Role::Driver)
        .then(|| caller.taxi.as_deref().and_then(|t| Plate::parse(t).ok()))
        .flatten()
}

fn is_driver_of(caller: &Caller, plate: &Plate) -> bool {
    driver_plate(caller).as_ref() == Some(plate)
}

#[derive(Debug, Deserialize)]
pub struct NewTaxi {
    pub plate: String,
    pub license_region: String,
    pub class: String,
}

/// API.md's view of a taxi: its registration and actor, and where it stands at its terminal.
#[derive(Debug, Serialize)]
pub struct TaxiOut {
    pub plate: Plate,
    pub license_region: Region,
    pub class: TaxiClass,
    pub service_region: Option<Region>,
    pub blacklisted: bool,
    pub reason: Option<String>,
    /// The terminal whose lot last read the plate.
    pub terminal: Option<TerminalId>,
    pub restarts: u32,
    /// `running`, `restarting` or `quarantined`.
    pub actor: &'static str,
    pub last_ping_ms: Option<i64>,
    /// `waiting`, `called`, `assigned`, `on_trip`, or null when no terminal has it.
    pub state: Option<TaxiStateKind>,
    pub line: Option<LineKey>,
    pub position: Option<usize>,
    pub ticket: Option<Ticket>,
    pub bay: Option<u16>,
    pub request: Option<RequestId>,
    pub suspended: bool,
    pub last_seen_ms: Option<i64>,
    pub no_shows: u32,
    pub priority_until_ms: Option<i64>,
    /// Held at the lot entrance for an operator.
    pub held: bool,
}

impl TaxiOut {
    fn of(d: TaxiDetail) -> Self {
        let actor = if d.running {
            "running"
        } else if d.quarantined {
            "quarantined"
        } else {
            "restarting"
        };
        let v = d.dispatch;
        TaxiOut {
            plate: d.card.plate,
            license_region: d.card.licence_region,
            class: d.card.class,
            service_region: d.card.service_region,
            blacklisted: d.card.blacklisted,
            reason: d.card.reason,
            terminal: d.card.terminal,
            restarts: d.restarts,
            actor,
            last_ping_ms: d.last_ping_ms,
            state: v.as_ref().and_then(|v| v.state),
            line: v.as_ref().and_then(|v| v.line.clone()),
            position: v.as_ref().and_then(|v| v.position),
            ticket: v.as_ref().and_then(|v| v.ticket),
            bay: v.as_ref().and_then(|v| v.bay),
            request: v.as_ref().and_then(|v| v.request),
            suspended: v.as_ref().is_some_and(|v| v.suspended),
            last_seen_ms: v.as_ref().and_then(|v| v.last_seen).map(|t| t.0),
            no_shows: v.as_ref().map_or(0, |v| v.no_shows),
            priority_until_ms: v.as_ref().and_then(|v| v.priority_until).map(|t| t.0),
            held: v.as_ref().is_some_and(|v| v.held),
        }
    }
}

pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<NewTaxi>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Admin)?;
    let b = body.into_inner();
    let card = TaxiCard::new(
        Plate::parse(&b.plate).map_err(invalid)?,
        Region::parse(&b.license_region).map_err(invalid)?,
        b.class.parse().map_err(invalid)?,
    );
    let entry = state.taxis.register(card, &caller.name).await?;
    let detail = state.taxis.taxi(&entry.plate).await?;
    Ok(HttpResponse::Created().json(TaxiOut::of(detail)))
}

#[derive(Debug, Deserialize)]
pub struct ArrivalBody {
    pub plate: String,
    pub terminal: String,
    pub camera_id: String,
}

/// An LPR reading at a lot entrance, from the gate PC that hosts the camera.
pub async fn arrival(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<ArrivalBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Client)?;
    let b = body.into_inner();
    let camera: DeviceId = b
        .camera_id
        .parse()
        .map_err(|e: crate::ids::InvalidKey| ApiError::Unprocessable(e.to_string()))?;
    // A registered camera must be one of the caller's own devices.
    if let Some(device) = state.devices.get(camera.as_str()) {
        if !caller.is_client(device.spec.client_id.as_str()) {
            return Err(ApiError::Forbidden(format!(
                "camera {camera} is hosted by client {}, not by this token's client",
                device.spec.client_id
            )));
        }
    }
    let plate = Plate::parse(&b.plate).map_err(invalid)?;
    let terminal = TerminalId::parse(&b.terminal).map_err(invalid)?;
    let outcome = state.taxis.arrival(plate.clone(), terminal.clone()).await?;
    log::info!(
        "lot arrival plate={plate} terminal={terminal} camera={camera} outcome={}",
        match &outcome {
            ArrivalOutcome::Queued { .. } => "queued",
            ArrivalOutcome::AlreadyQueued { .. } => "already_queued",
            ArrivalOutcome::Busy { .. } => "busy",
            ArrivalOutcome::Held { .. } => "held",
        }
    );
    let issued = matches!(outcome, ArrivalOutcome::Queued { .. });
    let mut body = serde_json::to_value(&outcome).map_err(|e| ApiError::Internal(e.to_string()))?;
    if let Some(map) = body.as_object_mut() {
        map.insert("plate".into(), json!(plate));
        map.insert("terminal".into(), json!(terminal));
        map.insert("camera_id".into(), json!(camera));
    }
    // A ticket issued is a creation; a reading that changed nothing (or a hold) is not.
    Ok(if issued {
        HttpResponse::Created().json(body)
    } else {
        HttpResponse::Ok().json(body)
    })
}

pub async fn show(
    state: web::Data<AppState>,
    caller: Caller,
    plate: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let plate = path_plate(&plate)?;
    if !is_driver_of(&caller, &plate) {
        caller.require(Role::Viewer)?;
    }
    let detail = state.taxis.taxi(&plate).await?;
    Ok(HttpResponse::Ok().json(TaxiOut::of(detail)))
}

pub async fn heartbeat(
    state: web::Data<AppState>,
    caller: Caller,
    plate: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let plate = path_plate(&plate)?;
    if !(is_driver_of(&caller, &plate) || caller.role == Role::Admin) {
        return Err(ApiError::Forbidden(format!(
            "only the driver of taxi {plate} may send its heartbeats"
        )));
    }
    let terminal = state.taxis.heartbeat(&plate).await?;
    Ok(HttpResponse::Ok().json(json!({ "plate": plate, "terminal": terminal })))
}

#[derive(Debug, Deserialize)]
pub struct RegionBody {
    pub region: String,
}

pub async fn service_region(
    state: web::Data<AppState>,
    caller: Caller,
    plate: web::Path<String>,
    body: web::Json<RegionBody>,
) -> Result<HttpResponse, ApiError> {
    let plate = path_plate(&plate)?;
    if !is_driver_of(&caller, &plate) {
        caller.require(Role::Operator)?;
    }
    let region = Region::parse(&body.region).map_err(invalid)?;
    state.taxis.set_service_region(&plate, region).await?;
    let detail = state.taxis.taxi(&plate).await?;
    Ok(HttpResponse::Ok().json(TaxiOut::of(detail)))
}

#[derive(Debug, Deserialize)]
pub struct BlacklistBody {
    pub reason: String,
}

pub async fn blacklist(
    state: web::Data<AppState>,
    caller: Caller,
    plate: web::Path<String>,
    body: web::Json<BlacklistBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Operator)?;
    let plate = path_plate(&plate)?;
    let reason = body.into_inner().reason;
    state.taxis.set_blacklist(&plate, Some(reason), &caller.name).await?;
    log::warn!("taxi blacklisted plate={plate} by={}", caller.name);
    let detail = state.taxis.taxi(&plate).await?;
    Ok(HttpResponse::Ok().json(TaxiOut::of(detail)))
}

pub async fn unblacklist(
    state: web::Data<AppState>,
    caller: Caller,
    plate: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Operator)?;
    let plate = path_plate(&plate)?;
    state.taxis.set_blacklist(&plate, None, &caller.name).await?;
    log::info!("taxi blacklist lifted plate={plate} by={}", caller.name);
    let detail = state.taxis.taxi(&plate).await?;
    Ok(HttpResponse::Ok().json(TaxiOut::of(detail)))
}

pub async fn crash(
    state: web::Data<AppState>,
    caller: Caller,
    plate: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    if !state.config.fault_injection {
        return Err(ApiError::NotFound(
            "fault injection is disabled; start the server with KWANJE_FAULT_INJECTION=1".into(),
        ));
    }
    caller.require(Role::Admin)?;
    let plate = path_plate(&plate)?;
    state.taxis.crash_taxi(&plate)?;
    log::warn!("fault injection: crash requested plate={plate} by={}", caller.name);
    Ok(HttpResponse::Accepted().json(json!({ "plate": plate, "crash": "requested" })))
}
