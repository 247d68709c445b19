//! Terminals' dispatch: settings (`PUT /terminals/{terminal}/dispatch`), the lines
//! (`GET /queues`), passenger requests and their pickup, no-show and completion, the fairness
//! figures (`GET /dispatch/stats`), and crash injection for a terminal's dispatcher.

use std::collections::BTreeMap;

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::error::ApiError;
use super::extract::Caller;
use super::taxis::{driver_plate, terminal_id};
use super::AppState;
use crate::auth::Role;
use crate::taxi::curb::SlotPlan;
use crate::taxi::events::Assignment;
use crate::taxi::messages::Reporter;
use crate::taxi::model::{DispatchMode, ModelError, Region, RequestId, TaxiClass, TerminalId};
use crate::taxi::stats::StatsRow;
use crate::taxi::TaxiError;

fn invalid(e: ModelError) -> ApiError {
    ApiError::Unprocessable(e.to_string())
}

#[derive(Debug, Deserialize)]
pub struct DispatchBody {
    pub mode: String,
    pub curb_slots: BTreeMap<String, u16>,
}

pub async fn configure(
    state: web::Data<AppState>,
    caller: Caller,
    terminal: web::Path<String>,
    body: web::Json<DispatchBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Operator)?;
    let terminal = terminal_id(&terminal)?;
    let b = body.into_inner();
    let mode: DispatchMode = b.mode.parse().map_err(invalid)?;
    let plan = SlotPlan::from_api(mode, &b.curb_slots).map_err(TaxiError::from)?;
    let view = state.taxis.configure(&terminal, plan).await?;
    log::info!("dispatch configured terminal={terminal} mode={mode} by={}", caller.name);
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize)]
pub struct TerminalQuery {
    pub terminal: Option<String>,
}

fn chosen(state: &AppState, q: &TerminalQuery) -> Result<Vec<TerminalId>, ApiError> {
    let only = q.terminal.as_deref().map(terminal_id).transpose()?;
    Ok(state.taxis.terminals(only.as_ref())?)
}

pub async fn queues(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<TerminalQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Viewer)?;
    let mut items = Vec::new();
    for terminal in chosen(&state, &query)? {
        items.push(state.taxis.queues(&terminal).await?);
    }
    Ok(HttpResponse::Ok().json(json!({ "items": items, "next_cursor": null })))
}

/// One row of the figures, with its terminal.
#[derive(Debug, Serialize)]
struct StatsItem {
    terminal: TerminalId,
    #[serde(flatten)]
    row: StatsRow,
}

pub async fn stats(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<TerminalQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Viewer)?;
    let mut items = Vec::new();
    let mut terminals = Vec::new();
    for terminal in chosen(&state, &query)? {
        let view = state.taxis.stats(&terminal).await?;
        terminals.push(json!({
            "terminal": terminal,
            "holds_unattributed": view.holds_unattributed,
            "refusals_unknown_region": view.refusals_unknown_region,
        }));
        items.extend(view.items.into_iter().map(|row| StatsItem {
            terminal: terminal.clone(),
            row,
        }));
    }
    Ok(HttpResponse::Ok().json(json!({ "items": items, "terminals": terminals, "next_cursor": null })))
}

#[derive(Debug, Deserialize)]
pub struct RequestBody {
    pub terminal: String,
    pub destination_region: String,
    pub distance_km: f64,
    pub class: Option<String>,
}

/// API.md's answer to a request: `{id, plate, bay, state}` and the inputs of the choice.
fn assignment_json(terminal: &TerminalId, a: &Assignment) -> serde_json::Value {
    json!({
        "id": a.request,
        "plate": a.plate,
        "bay": a.bay,
        "state": "assigned",
        "terminal": terminal,
        "destination_region": a.destination_region,
        "distance_km": a.distance_km,
        "class": a.class,
        "line": a.line,
        "mode": a.mode,
        "ticket": a.ticket,
        "position": a.position,
        "from_curb": a.from_curb,
        "skipped_suspended": a.skipped_suspended,
        "replaces": a.replaces,
        "at_ms": a.at,
    })
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
    Ok(HttpResponse::Created().json(assignment_json(&terminal, &assignment)))
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

pub async fn pickup(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let by = reporter(&caller)?;
    let request = request_id(&id)?;
    let (terminal, plate) = state.taxis.pickup(request, by).await?;
    Ok(HttpResponse::Ok().json(json!({
        "id": request, "plate": plate, "terminal": terminal, "state": "picked_up",
    })))
}

pub async fn no_show(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let by = reporter(&caller)?;
    let request = request_id(&id)?;
    let (terminal, plate, outcome) = state.taxis.no_show(request, by).await?;
    let reassigned = outcome.reassigned.as_ref().map(|a| assignment_json(&terminal, a));
    Ok(HttpResponse::Ok().json(json!({
        "id": request,
        "plate": plate,
        "terminal": terminal,
        "state": if reassigned.is_some() { "assigned" } else { "dropped" },
        "ticket": outcome.ticket,
        "position": outcome.position,
        "reassigned": reassigned,
    })))
}

#[derive(Debug, Deserialize)]
pub struct CompleteBody {
    pub distance_km: f64,
}

pub async fn complete(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<CompleteBody>,
) -> Result<HttpResponse, ApiError> {
    let by = reporter(&caller)?;
    let request = request_id(&id)?;
    let (terminal, plate, outcome) = state.taxis.complete(request, body.distance_km, by).await?;
    Ok(HttpResponse::Ok().json(json!({
        "id": request,
        "plate": plate,
        "terminal": terminal,
        "state": "completed",
        "distance_km": body.distance_km,
        "short": outcome.short,
        "priority_until_ms": outcome.priority_until,
    })))
}

pub async fn crash(
    state: web::Data<AppState>,
    caller: Caller,
    terminal: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    if !state.config.fault_injection {
        return Err(ApiError::NotFound(
            "fault injection is disabled; start the server with KWANJE_FAULT_INJECTION=1".into(),
        ));
    }
    caller.require(Role::Admin)?;
    let terminal = terminal_id(&terminal)?;
    state.taxis.crash_terminal(&terminal)?;
    log::warn!(
        "fault injection: crash requested terminal={terminal} by={}",
        caller.name
    );
    Ok(HttpResponse::Accepted().json(json!({ "terminal": terminal, "crash": "requested" })))
}
