//! `/api/v1/devices`: registration, the live view, HTTP heartbeats and crash injection.

use std::sync::Arc;

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::clients::text;
use super::error::ApiError;
use super::extract::Caller;
use super::page::{Page, PageQuery};
use super::AppState;
use crate::alert::service::OpenAlertsOf;
use crate::alert::{Alert, Subject, SubjectType};
use crate::auth::Role;
use crate::device::registry::{DeviceEntry, DeviceFilter};
use crate::device::{DeviceKind, DeviceState, HeartbeatStatus, Registration};
use crate::ids::InvalidKey;

#[derive(Debug, Deserialize)]
pub struct NewDevice {
    pub id: String,
    pub kind: String,
    pub client_id: String,
    pub site: Option<String>,
    pub zone: Option<String>,
    pub lane: Option<String>,
    pub standby_id: Option<String>,
    pub heartbeat_interval_ms: Option<u64>,
    pub miss_tolerance: Option<u32>,
    pub auto_failover: Option<bool>,
}

/// API.md's live view of a device.
#[derive(Debug, Serialize)]
pub struct DeviceView {
    pub id: String,
    pub kind: DeviceKind,
    pub client_id: String,
    pub site: Option<String>,
    pub zone: Option<String>,
    pub lane: Option<String>,
    pub standby_id: Option<String>,
    pub heartbeat_interval_ms: u64,
    pub miss_tolerance: u32,
    pub auto_failover: bool,
    pub state: DeviceState,
    pub last_seen_ms: Option<i64>,
    pub state_since_ms: i64,
    pub restarts: u32,
    pub active: bool,
    /// Open alerts about this device (single-device view only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alerts: Option<Vec<Alert>>,
}

impl DeviceView {
    fn of(e: &DeviceEntry) -> Self {
        let s = &e.spec;
        DeviceView {
            id: s.id.to_string(),
            kind: s.kind,
            client_id: s.client_id.to_string(),
            site: s.site.clone(),
            zone: s.zone.clone(),
            lane: s.lane.clone(),
            standby_id: s.standby_id.as_ref().map(ToString::to_string),
            heartbeat_interval_ms: u64::try_from(s.heartbeat_interval.as_millis()).unwrap_or(u64::MAX),
            miss_tolerance: s.miss_tolerance,
            auto_failover: s.auto_failover,
            state: e.state(),
            last_seen_ms: e.last_seen().map(|t| t.0),
            state_since_ms: e.state_since().0,
            restarts: e.restarts(),
            active: e.active(),
            alerts: None,
        }
    }
}

fn unprocessable(e: InvalidKey) -> ApiError {
    ApiError::Unprocessable(e.to_string())
}

pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<NewDevice>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Admin)?;
    let b = body.into_inner();
    let registration = Registration {
        id: b.id.parse().map_err(unprocessable)?,
        kind: b.kind.parse().map_err(|e: String| {
            let known: Vec<&str> = DeviceKind::ALL.iter().map(|k| k.as_str()).collect();
            ApiError::Unprocessable(format!("{e}; known kinds: {}", known.join(", ")))
        })?,
        client_id: b.client_id.parse().map_err(unprocessable)?,
        site: text("site", b.site)?,
        zone: text("zone", b.zone)?,
        lane: text("lane", b.lane)?,
        standby_id: b.standby_id.map(|s| s.parse()).transpose().map_err(unprocessable)?,
        heartbeat_interval_ms: b.heartbeat_interval_ms,
        miss_tolerance: b.miss_tolerance,
        auto_failover: b.auto_failover,
    };
    let spec = registration.into_spec()?;
    let entry = state.devices.register(spec, &caller.name).await?;
    Ok(HttpResponse::Created().json(DeviceView::of(&entry)))
}

#[derive(Debug, Deserialize)]
pub struct DeviceQuery {
    pub state: Option<String>,
    pub kind: Option<String>,
    pub client_id: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<DeviceQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Viewer)?;
    let q = query.into_inner();
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    };
    let limit = page.limit()?;
    let filter = DeviceFilter {
        state: q
            .state
            .map(|s| s.parse())
            .transpose()
            .map_err(ApiError::Unprocessable)?,
        kind: q.kind.map(|k| k.parse()).transpose().map_err(ApiError::Unprocessable)?,
        client_id: q.client_id,
    };
    let entries = state
        .devices
        .registry()
        .page(&filter, page.cursor.as_deref(), usize::try_from(limit).unwrap_or(0));
    let items: Vec<DeviceView> = entries.iter().map(|e| DeviceView::of(e)).collect();
    Ok(HttpResponse::Ok().json(Page::new(items, limit, |d| d.id.clone())))
}

fn entry(state: &AppState, id: &str) -> Result<Arc<DeviceEntry>, ApiError> {
    state
        .devices
        .get(id)
        .ok_or_else(|| ApiError::NotFound(format!("device {id} is not registered")))
}

pub async fn show(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Viewer)?;
    let entry = entry(&state, &id)?;
    let mut view = DeviceView::of(&entry);
    // From the alert book in memory: the live view answers while the store is down.
    let subject = Subject {
        kind: SubjectType::Device,
        id: id.into_inner(),
    };
    let open = state
        .alerts
        .send(OpenAlertsOf(subject))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    view.alerts = Some(open);
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize)]
pub struct HeartbeatBody {
    pub status: HeartbeatStatus,
    pub detail: Option<String>,
}

pub async fn heartbeat(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<HeartbeatBody>,
) -> Result<HttpResponse, ApiError> {
    let entry = entry(&state, &id)?;
    if !caller.is_client(entry.spec.client_id.as_str()) {
        return Err(ApiError::Forbidden(format!(
            "only client {} (the device's host) may send its heartbeats",
            entry.spec.client_id
        )));
    }
    let body = body.into_inner();
    let now_state = state.devices.heartbeat(&id, body.status, body.detail).await?;
    Ok(HttpResponse::Ok().json(json!({ "id": id.as_str(), "state": now_state })))
}

pub async fn crash(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    if !state.config.fault_injection {
        return Err(ApiError::NotFound(
            "fault injection is disabled; start the server with KWANJE_FAULT_INJECTION=1".into(),
        ));
    }
    caller.require(Role::Admin)?;
    entry(&state, &id)?;
    state.devices.crash(&id)?;
    log::warn!("fault injection: crash requested id={} by={}", id.as_str(), caller.name);
    Ok(HttpResponse::Accepted().json(json!({ "id": id.as_str(), "crash": "requested" })))
}
