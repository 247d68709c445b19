//! `/api/v1/taxis`: registration, the lot camera's arrivals, the driver app's heartbeat and
//! service region, the blacklist, one taxi's view, an operator's restart, and crash injection.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::Caller;
use super::AppState;
use crate::auth::Role;
use crate::ids::DeviceId;
use crate::taxi::core::card::TaxiCard;
use crate::taxi::core::events::{ArrivalOutcome, TaxiStateKind};
use crate::taxi::core::model::{LineKey, ModelError, Plate, Region, RequestId, TaxiClass, TerminalId};
use crate::taxi::core::queue::Ticket;
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

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NewTaxi {
    /// Letters (any script), digits and `-`, at most 16 once whitespace is dropped; letters are
    /// uppercased.
    #[schema(example = "12가3456", pattern = "\\S")]
    pub plate: String,
    /// The region that licensed the taxi.
    #[schema(example = "seoul", pattern = "^[A-Za-z0-9_-]{1,32}$")]
    pub license_region: String,
    #[schema(value_type = TaxiClass)]
    pub class: String,
}

/// API.md's view of a taxi: its registration and actor, and where it stands at its terminal.
#[derive(Debug, Serialize, ToSchema)]
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
    #[schema(example = "running")]
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
    pub(super) fn of(d: TaxiDetail) -> Self {
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

/// Registers a taxi.
///
/// Its actor starts at once.
///
/// **Role:** admin.
#[utoipa::path(
    post,
    path = "/api/v1/taxis",
    operation_id = "create_taxi",
    tag = "taxis",
    security(("bearer" = [])),
    responses(
        (
            status = 201,
            description = "registered",
            body = TaxiOut,
            links(
                ("show_taxi" = (operation_id = "show_taxi", parameters(("plate" = "$response.body#/plate")))),
                ("taxi_heartbeat" = (operation_id = "taxi_heartbeat", parameters(("plate" = "$response.body#/plate")))),
                ("set_service_region" = (operation_id = "set_service_region", parameters(("plate" = "$response.body#/plate")))),
                ("blacklist_taxi" = (operation_id = "blacklist_taxi", parameters(("plate" = "$response.body#/plate")))),
                ("unblacklist_taxi" = (operation_id = "unblacklist_taxi", parameters(("plate" = "$response.body#/plate")))),
            )
        ),
        (status = 403, description = "the token is not an admin's"),
        (status = 409, description = "the plate is already registered"),
        (status = 422, description = "bad plate or region, unknown class"),
        (status = 503, description = "the store is unavailable"),
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
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
    // In a cluster, a taxi is registered (stored and started) by the owner of its plate's
    // partition; here it would be stored but could not start.
    if let Some(addr) = super::to_owner::owner_addr(&state, &req, card.partition_key()) {
        let bytes = serde_json::to_vec(&b).map_err(|e| ApiError::Internal(e.to_string()))?;
        return super::to_owner::pass(&addr?, &req, web::Bytes::from(bytes)).await;
    }
    let entry = state.taxis.register(card, &caller.name).await?;
    let detail = state.taxis.taxi(&entry.plate).await?;
    Ok(HttpResponse::Created().json(TaxiOut::of(detail)))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ArrivalBody {
    /// As read; normalised as in `POST /api/v1/taxis`.
    #[schema(example = "12가3456", pattern = "\\S")]
    pub plate: String,
    #[schema(example = "T1", pattern = "^[A-Za-z0-9_-]{1,16}$")]
    pub terminal: String,
    /// The LPR camera that read the plate; when registered, one of the caller's devices.
    #[schema(pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    pub camera_id: String,
}

/// What a lot-entrance reading led to: the reading itself and the `outcome`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArrivalAnswer {
    pub plate: Plate,
    pub terminal: TerminalId,
    #[schema(value_type = String)]
    pub camera_id: DeviceId,
    #[serde(flatten)]
    pub outcome: ArrivalOutcome,
}

/// Records a plate read at a lot entrance.
///
/// From the gate PC that hosts the LPR camera: issues the taxi's ticket (201), or answers 200
/// when the reading changed nothing or the plate is held.
///
/// **Role:** client (or admin).
#[utoipa::path(
    post,
    path = "/api/v1/taxis/arrivals",
    operation_id = "taxi_arrival",
    tag = "taxis",
    security(("bearer" = [])),
    responses(
        (status = 201, description = "queued: a ticket is issued", body = ArrivalAnswer),
        (status = 200, description = "already queued, busy at the curb, or held for an operator", body = ArrivalAnswer),
        (status = 403, description = "the token is not a client's, or the camera is another client's"),
        (status = 404, description = "no such terminal"),
        (status = 409, description = "the taxi's actor is quarantined"),
        (status = 422, description = "bad plate, terminal or camera id"),
        (status = 503, description = "an actor is restarting, or the store is unavailable"),
    )
)]
pub async fn arrival(
    state: web::Data<AppState>,
    req: HttpRequest,
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
        if !caller.is_client(device.spec().client_id.as_str()) {
            return Err(ApiError::Forbidden(format!(
                "camera {camera} is hosted by client {}, not by this token's client",
                device.spec().client_id
            )));
        }
    }
    let plate = Plate::parse(&b.plate).map_err(invalid)?;
    let terminal = TerminalId::parse(&b.terminal).map_err(invalid)?;
    // In a cluster, the reading goes to the node that runs the terminal's dispatcher.
    if let Some(addr) = super::to_owner::owner_addr(&state, &req, terminal.as_str()) {
        let bytes = serde_json::to_vec(&b).map_err(|e| ApiError::Internal(e.to_string()))?;
        return super::to_owner::pass(&addr?, &req, web::Bytes::from(bytes)).await;
    }
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
    let body = ArrivalAnswer {
        plate,
        terminal,
        camera_id: camera,
        outcome,
    };
    // A ticket issued is a creation; a reading that changed nothing (or a hold) is not.
    Ok(if issued {
        HttpResponse::Created().json(body)
    } else {
        HttpResponse::Ok().json(body)
    })
}

/// Shows one taxi.
///
/// Its registration, its actor, and where it stands at its terminal.
///
/// **Role:** that taxi's driver (its `taxi` claim), or viewer or above.
#[utoipa::path(
    get,
    path = "/api/v1/taxis/{plate}",
    operation_id = "show_taxi",
    tag = "taxis",
    params(("plate" = String, Path, description = "the taxi's plate")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the taxi", body = TaxiOut),
        (status = 403, description = "the token is neither the taxi's driver nor a viewer or above"),
        (status = 404, description = "no such taxi"),
        (status = 409, description = "the terminal's dispatcher is quarantined"),
        (status = 503, description = "an actor is restarting"),
    )
)]
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

/// The terminal a taxi stands at after its driver's heartbeat (`null` when none has it).
#[derive(Debug, Serialize, ToSchema)]
pub struct TaxiHeartbeatAnswer {
    pub plate: Plate,
    pub terminal: Option<TerminalId>,
}

/// Sends a taxi's liveness ping.
///
/// The HTTP form of STOMP `/app/taxi/ping`.
///
/// **Role:** that taxi's driver, or admin.
#[utoipa::path(
    post,
    path = "/api/v1/taxis/{plate}/heartbeat",
    operation_id = "taxi_heartbeat",
    tag = "taxis",
    params(("plate" = String, Path, description = "the taxi's plate")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the ping is recorded", body = TaxiHeartbeatAnswer),
        (status = 403, description = "the token is not the taxi's driver's"),
        (status = 404, description = "no such taxi"),
        (status = 409, description = "the taxi's actor is quarantined"),
        (status = 503, description = "the taxi's actor is restarting"),
    )
)]
pub async fn heartbeat(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    plate: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let plate = path_plate(&plate)?;
    if !(is_driver_of(&caller, &plate) || caller.role == Role::Admin) {
        return Err(ApiError::Forbidden(format!(
            "only the driver of taxi {plate} may send its heartbeats"
        )));
    }
    if let Some(addr) = taxi_owner(&state, &req, &plate) {
        return super::to_owner::pass(&addr?, &req, web::Bytes::new()).await;
    }
    let terminal = state.taxis.heartbeat(&plate).await?;
    Ok(HttpResponse::Ok().json(TaxiHeartbeatAnswer { plate, terminal }))
}

/// In a cluster, the node to pass a request about taxi `plate` to: the owner of the partition
/// its card places it in (its terminal's, or its plate's at none; the plate's when this node
/// has not read the taxi). `None` when this node runs it.
fn taxi_owner(state: &AppState, req: &HttpRequest, plate: &Plate) -> Option<Result<String, ApiError>> {
    let key = match state.taxis.registry().taxi(plate) {
        Some(taxi) => taxi.entry.card().partition_key().to_owned(),
        None => plate.to_string(),
    };
    super::to_owner::owner_addr(state, req, &key)
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RegionBody {
    /// A configured region the taxi's licence allows.
    #[schema(example = "incheon", pattern = "^[A-Za-z0-9_-]{1,32}$")]
    pub region: String,
}

/// Sets the region a taxi serves.
///
/// Its line in regional mode.
///
/// **Role:** that taxi's driver, or operator or above.
#[utoipa::path(
    put,
    path = "/api/v1/taxis/{plate}/service-region",
    operation_id = "set_service_region",
    tag = "taxis",
    params(("plate" = String, Path, description = "the taxi's plate")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the taxi", body = TaxiOut),
        (status = 403, description = "the token is neither the taxi's driver nor an operator or above"),
        (status = 404, description = "no such taxi"),
        (status = 409, description = "the taxi's actor is quarantined"),
        (status = 422, description = "bad region, or one the licence does not allow"),
        (status = 503, description = "an actor is restarting, or the store is unavailable"),
    )
)]
pub async fn service_region(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    plate: web::Path<String>,
    body: web::Json<RegionBody>,
) -> Result<HttpResponse, ApiError> {
    let plate = path_plate(&plate)?;
    if !is_driver_of(&caller, &plate) {
        caller.require(Role::Operator)?;
    }
    if let Some(addr) = taxi_owner(&state, &req, &plate) {
        let bytes = serde_json::to_vec(&body.into_inner()).map_err(|e| ApiError::Internal(e.to_string()))?;
        return super::to_owner::pass(&addr?, &req, web::Bytes::from(bytes)).await;
    }
    let region = Region::parse(&body.region).map_err(invalid)?;
    state.taxis.set_service_region(&plate, region).await?;
    let detail = state.taxis.taxi(&plate).await?;
    Ok(HttpResponse::Ok().json(TaxiOut::of(detail)))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BlacklistBody {
    /// Not blank.
    #[schema(min_length = 1, max_length = 500, pattern = "\\S")]
    pub reason: String,
}

/// Blacklists a plate.
///
/// A blacklisted plate is held at the lot entrance. Audited.
///
/// **Role:** operator or above.
#[utoipa::path(
    post,
    path = "/api/v1/taxis/{plate}/blacklist",
    operation_id = "blacklist_taxi",
    tag = "taxis",
    params(("plate" = String, Path, description = "the taxi's plate")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the taxi", body = TaxiOut),
        (status = 403, description = "the token has no operator role or above"),
        (status = 404, description = "no such taxi"),
        (status = 409, description = "the taxi's actor is quarantined"),
        (status = 422, description = "the reason is refused"),
        (status = 503, description = "an actor is restarting, or the store is unavailable"),
    )
)]
pub async fn blacklist(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    plate: web::Path<String>,
    body: web::Json<BlacklistBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Operator)?;
    let plate = path_plate(&plate)?;
    if let Some(addr) = taxi_owner(&state, &req, &plate) {
        let bytes = serde_json::to_vec(&body.into_inner()).map_err(|e| ApiError::Internal(e.to_string()))?;
        return super::to_owner::pass(&addr?, &req, web::Bytes::from(bytes)).await;
    }
    let reason = body.into_inner().reason;
    state.taxis.set_blacklist(&plate, Some(reason), &caller.name).await?;
    log::warn!("taxi blacklisted plate={plate} by={}", caller.name);
    let detail = state.taxis.taxi(&plate).await?;
    Ok(HttpResponse::Ok().json(TaxiOut::of(detail)))
}

/// Lifts a plate's blacklisting.
///
/// Audited.
///
/// **Role:** operator or above.
#[utoipa::path(
    delete,
    path = "/api/v1/taxis/{plate}/blacklist",
    operation_id = "unblacklist_taxi",
    tag = "taxis",
    params(("plate" = String, Path, description = "the taxi's plate")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the taxi", body = TaxiOut),
        (status = 403, description = "the token has no operator role or above"),
        (status = 404, description = "no such taxi"),
        (status = 409, description = "the taxi's actor is quarantined"),
        (status = 503, description = "an actor is restarting, or the store is unavailable"),
    )
)]
pub async fn unblacklist(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    plate: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Operator)?;
    let plate = path_plate(&plate)?;
    if let Some(addr) = taxi_owner(&state, &req, &plate) {
        return super::to_owner::pass(&addr?, &req, web::Bytes::new()).await;
    }
    state.taxis.set_blacklist(&plate, None, &caller.name).await?;
    log::info!("taxi blacklist lifted plate={plate} by={}", caller.name);
    let detail = state.taxis.taxi(&plate).await?;
    Ok(HttpResponse::Ok().json(TaxiOut::of(detail)))
}

/// A taxi's actor was restarted by an operator.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaxiRestarted {
    pub plate: Plate,
    /// Always `restarted`: its actor runs again, with a fresh restart history.
    #[schema(example = "restarted")]
    pub actor: &'static str,
    /// Whether it was quarantined; if so its `crash_loop` alert is resolved.
    pub quarantine_lifted: bool,
}

/// Restarts a taxi's actor, lifting its quarantine.
///
/// The running actor, if any, is stopped; a new one is started from the taxi's last completed
/// card with its restart history forgotten. A taxi quarantined after a crash loop accepts
/// heartbeats again, and its open `crash_loop` alert is resolved. Its place in line is the
/// terminal's and is untouched. Audited.
///
/// **Role:** operator or above.
#[utoipa::path(
    post,
    path = "/api/v1/taxis/{plate}/restart",
    operation_id = "restart_taxi",
    tag = "taxis",
    params(("plate" = String, Path, description = "the taxi's plate")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the taxi's actor runs again", body = TaxiRestarted),
        (status = 403, description = "the token has no operator role or above"),
        (status = 404, description = "no such taxi"),
        (status = 503, description = "the actor did not answer, or the store is unavailable"),
    )
)]
pub async fn restart(
    state: web::Data<AppState>,
    caller: Caller,
    plate: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Operator)?;
    let plate = path_plate(&plate)?;
    let quarantine_lifted = state.taxis.restart_taxi(&plate, &caller.name).await?;
    Ok(HttpResponse::Ok().json(TaxiRestarted {
        plate,
        actor: "restarted",
        quarantine_lifted,
    }))
}

/// A crash injection was accepted; the taxi's actor panics and its supervisor restarts it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaxiCrashRequested {
    pub plate: Plate,
    /// Always `requested`.
    #[schema(example = "requested")]
    pub crash: &'static str,
}

/// Makes a taxi's actor panic.
///
/// For drills and supervisor tests.
///
/// **Role:** admin, and only when the server runs with `KWANJE_FAULT_INJECTION=1` (else 404).
#[utoipa::path(
    post,
    path = "/api/v1/taxis/{plate}/faults/crash",
    operation_id = "crash_taxi",
    tag = "taxis",
    params(("plate" = String, Path, description = "the taxi's plate")),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "the crash is requested", body = TaxiCrashRequested),
        (status = 403, description = "the token is not an admin's"),
        (status = 404, description = "fault injection is disabled, or no such taxi"),
        (status = 409, description = "the taxi's actor is quarantined"),
        (status = 503, description = "the taxi's actor is restarting"),
    )
)]
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
    Ok(HttpResponse::Accepted().json(TaxiCrashRequested {
        plate,
        crash: "requested",
    }))
}
