//! Terminals' dispatch: settings (`PUT /terminals/{terminal}/dispatch`), the lines
//! (`GET /queues`), the fairness figures (`GET /dispatch/stats`), an operator's restart of a
//! terminal's dispatcher, and crash injection for it. Passenger requests and their trips are in
//! [`super::passenger_requests`].

use std::collections::BTreeMap;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
use utoipa::{IntoParams, ToSchema};

use super::error::ApiError;
use super::extract::Caller;
use super::number;
use super::page::Page;
use super::taxis::terminal_id;
use super::AppState;
use crate::auth::Role;
use crate::taxi::core::curb::{SlotPlan, MAX_CURB_SLOTS_PER_LINE};
use crate::taxi::core::model::{DispatchMode, ModelError, TerminalId};
use crate::taxi::core::stats::StatsRow;
use crate::taxi::core::view::QueuesView;
use crate::taxi::TaxiError;

pub(super) fn invalid(e: ModelError) -> ApiError {
    ApiError::Unprocessable(e.to_string())
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DispatchBody {
    #[schema(value_type = DispatchMode)]
    pub mode: String,
    /// Curb bays per region (regional mode), or `{"all": n}` (integrated mode).
    #[schema(schema_with = curb_slots_schema)]
    #[serde(deserialize_with = "number::map")]
    pub curb_slots: BTreeMap<String, u16>,
}

/// `curb_slots`: bays per line name, each at most [`MAX_CURB_SLOTS_PER_LINE`].
fn curb_slots_schema() -> Object {
    let bays = ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(0))
        .maximum(Some(MAX_CURB_SLOTS_PER_LINE));
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(bays))
        .description(Some(
            "Curb bays per region (regional mode), or `{\"all\": n}` (integrated mode)",
        ))
        .examples([serde_json::json!({"seoul": 2, "incheon": 1, "gyeonggi": 1})])
        .build()
}

/// Sets a terminal's dispatch mode and curb slots.
///
/// Takes effect at once, at run time.
///
/// **Role:** operator or above.
#[utoipa::path(
    put,
    path = "/api/v1/terminals/{terminal}/dispatch",
    operation_id = "configure_dispatch",
    tag = "dispatch",
    params(("terminal" = String, Path, description = "a configured terminal (`T1`, `T2`)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the terminal's lines under the new settings", body = QueuesView),
        (status = 403, description = "the token has no operator role or above"),
        (status = 404, description = "no such terminal"),
        (status = 409, description = "the terminal's dispatcher is quarantined"),
        (status = 422, description = "unknown mode, or slots that do not fit it"),
        (status = 503, description = "the dispatcher is restarting, or the store is unavailable"),
    )
)]
pub async fn configure(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    terminal: web::Path<String>,
    body: web::Json<DispatchBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Operator)?;
    let terminal = terminal_id(&terminal)?;
    let b = body.into_inner();
    // In a cluster, the node that runs the terminal's dispatcher changes it.
    if let Some(addr) = super::to_owner::owner_addr(&state, &req, terminal.as_str()) {
        let bytes = serde_json::to_vec(&b).map_err(|e| ApiError::Internal(e.to_string()))?;
        return super::to_owner::pass(&addr?, &req, web::Bytes::from(bytes)).await;
    }
    let mode: DispatchMode = b.mode.parse().map_err(invalid)?;
    let plan = SlotPlan::from_api(mode, &b.curb_slots).map_err(TaxiError::from)?;
    let mut view = state.taxis.configure(&terminal, plan).await?;
    view.owner_node = super::cluster::owner_node(&state, terminal.as_str());
    log::info!("dispatch configured terminal={terminal} mode={mode} by={}", caller.name);
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TerminalQuery {
    /// Only this terminal; every configured one when absent.
    pub terminal: Option<String>,
}

fn chosen(state: &AppState, q: &TerminalQuery) -> Result<Vec<TerminalId>, ApiError> {
    let only = q.terminal.as_deref().map(terminal_id).transpose()?;
    Ok(state.taxis.terminals(only.as_ref())?)
}

/// Shows the lines of each terminal.
///
/// In dispatch order: who is at the curb, then who waits, with tickets, positions and
/// priority flags. One page holds every terminal.
///
/// **Role:** viewer or above.
#[utoipa::path(
    get,
    path = "/api/v1/queues",
    operation_id = "list_queues",
    params(TerminalQuery),
    tag = "dispatch",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "one item per terminal", body = Page<QueuesView>),
        (status = 403, description = "the token has no viewer role or above"),
        (status = 404, description = "no such terminal"),
        (status = 409, description = "a terminal's dispatcher is quarantined"),
        (status = 503, description = "a dispatcher is restarting"),
    )
)]
pub async fn queues(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    query: web::Query<TerminalQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Viewer)?;
    let mut items = Vec::new();
    for terminal in chosen(&state, &query)? {
        // In a cluster, a terminal another node owns is read from that node.
        if let Some(addr) = super::to_owner::owner_addr(&state, &req, terminal.as_str()) {
            let path = format!("/api/v1/queues?terminal={terminal}");
            let page = super::to_owner::fetch_json(&addr?, &req, &path).await?;
            items.extend(page["items"].as_array().cloned().unwrap_or_default());
            continue;
        }
        let mut view = state.taxis.queues(&terminal).await?;
        view.owner_node = super::cluster::owner_node(&state, terminal.as_str());
        items.push(serde_json::to_value(view).map_err(|e| ApiError::Internal(e.to_string()))?);
    }
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: None,
    }))
}

/// One row of the figures, with its terminal.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsItem {
    pub terminal: TerminalId,
    #[serde(flatten)]
    pub row: StatsRow,
}

/// A terminal's counts that belong to no (region, class) row.
#[derive(Debug, Serialize, ToSchema)]
pub struct TerminalFigures {
    pub terminal: TerminalId,
    /// Holds of plates with no usable region (unregistered, or licensed nowhere configured).
    pub holds_unattributed: u64,
    /// Requests refused because their destination region is not configured.
    pub refusals_unknown_region: u64,
}

/// The fairness figures: one row per (terminal, region, class), and each terminal's own counts.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsPage {
    pub items: Vec<StatsItem>,
    pub terminals: Vec<TerminalFigures>,
    /// Always null: one page holds every row.
    pub next_cursor: Option<String>,
}

/// Shows the fairness figures.
///
/// Waits per region and class, short and long trips, no-shows, refusals and holds.
///
/// **Role:** viewer or above.
#[utoipa::path(
    get,
    path = "/api/v1/dispatch/stats",
    operation_id = "dispatch_stats",
    params(TerminalQuery),
    tag = "dispatch",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the figures", body = StatsPage),
        (status = 403, description = "the token has no viewer role or above"),
        (status = 404, description = "no such terminal"),
        (status = 409, description = "a terminal's dispatcher is quarantined"),
        (status = 503, description = "a dispatcher is restarting"),
    )
)]
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
        terminals.push(TerminalFigures {
            terminal: terminal.clone(),
            holds_unattributed: view.holds_unattributed,
            refusals_unknown_region: view.refusals_unknown_region,
        });
        items.extend(view.items.into_iter().map(|row| StatsItem {
            terminal: terminal.clone(),
            row,
        }));
    }
    Ok(HttpResponse::Ok().json(StatsPage {
        items,
        terminals,
        next_cursor: None,
    }))
}

/// A terminal's dispatcher was restarted by an operator.
#[derive(Debug, Serialize, ToSchema)]
pub struct TerminalRestarted {
    pub terminal: TerminalId,
    /// Always `restarted`: its dispatcher runs again, with a fresh restart history.
    #[schema(example = "restarted")]
    pub dispatcher: &'static str,
    /// Whether it was quarantined (down after a crash loop).
    pub quarantine_lifted: bool,
}

/// Restarts a terminal's dispatcher, lifting its quarantine.
///
/// A running dispatcher hands over a final snapshot and stops; a new one is rebuilt from the
/// stored snapshot and the inputs since, with its restart history forgotten, so its lines and
/// curb are as they were. A dispatcher down after a crash loop takes requests again. Audited.
///
/// **Role:** operator or above.
#[utoipa::path(
    post,
    path = "/api/v1/terminals/{terminal}/restart",
    operation_id = "restart_terminal",
    tag = "dispatch",
    params(("terminal" = String, Path, description = "a configured terminal")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the dispatcher runs again", body = TerminalRestarted),
        (status = 403, description = "the token has no operator role or above"),
        (status = 404, description = "no such terminal"),
        (status = 503, description = "the dispatcher did not answer or cannot be restored, or the store is unavailable"),
    )
)]
pub async fn restart(
    state: web::Data<AppState>,
    caller: Caller,
    terminal: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Operator)?;
    let terminal = terminal_id(&terminal)?;
    let quarantine_lifted = state.taxis.restart_terminal(&terminal, &caller.name).await?;
    Ok(HttpResponse::Ok().json(TerminalRestarted {
        terminal,
        dispatcher: "restarted",
        quarantine_lifted,
    }))
}

/// A crash injection was accepted; the terminal's dispatcher panics and is restarted.
#[derive(Debug, Serialize, ToSchema)]
pub struct TerminalCrashRequested {
    pub terminal: TerminalId,
    /// Always `requested`.
    #[schema(example = "requested")]
    pub crash: &'static str,
}

/// Makes a terminal's dispatcher panic.
///
/// For drills and supervisor tests.
///
/// **Role:** admin, and only when the server runs with `KWANJE_FAULT_INJECTION=1` (else 404).
#[utoipa::path(
    post,
    path = "/api/v1/terminals/{terminal}/faults/crash",
    operation_id = "crash_terminal",
    tag = "dispatch",
    params(("terminal" = String, Path, description = "a configured terminal")),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "the crash is requested", body = TerminalCrashRequested),
        (status = 403, description = "the token is not an admin's"),
        (status = 404, description = "fault injection is disabled, or no such terminal"),
        (status = 409, description = "the dispatcher is quarantined"),
        (status = 503, description = "the dispatcher is restarting"),
    )
)]
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
    Ok(HttpResponse::Accepted().json(TerminalCrashRequested {
        terminal,
        crash: "requested",
    }))
}
