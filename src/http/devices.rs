//! `/api/v1/devices`: registration, the live view, HTTP heartbeats and crash injection.

use std::sync::Arc;

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::clients::text;
use super::error::ApiError;
use super::extract::Caller;
use super::number;
use super::page::{Page, PageQuery};
use super::AppState;
use crate::alert::messages::OpenAlertsOf;
use crate::alert::{Alert, Subject, SubjectType};
use crate::auth::Role;
use crate::device::beats;
use crate::device::registry::{Device, DeviceFilter};
use crate::device::{DeviceKind, DeviceState, HeartbeatStatus, Registration};
use crate::ids::InvalidKey;

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewDevice {
    /// 1 to 64 of `A-Z a-z 0-9 . _ - :`.
    #[schema(pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    pub id: String,
    /// Read as text, so an unknown kind is a 422 that lists the known ones.
    #[schema(value_type = DeviceKind)]
    pub kind: String,
    /// A registered client (gate PC or kiosk) that hosts the device.
    #[schema(pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    pub client_id: String,
    #[schema(max_length = 200)]
    pub site: Option<String>,
    #[schema(max_length = 200)]
    pub zone: Option<String>,
    #[schema(max_length = 200)]
    pub lane: Option<String>,
    /// The device that takes over on failover; not the device itself.
    #[schema(pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    pub standby_id: Option<String>,
    /// 100 ms to 1 h; 5000 when absent.
    #[schema(minimum = 100, maximum = 3600000)]
    #[serde(default, deserialize_with = "number::optional")]
    pub heartbeat_interval_ms: Option<u64>,
    /// Intervals missed before the device is down, 1 to 100; 3 when absent.
    #[schema(minimum = 1, maximum = 100)]
    #[serde(default, deserialize_with = "number::optional")]
    pub miss_tolerance: Option<u32>,
    /// Switch to the standby on its own when the device goes down; false when absent.
    pub auto_failover: Option<bool>,
}

/// API.md's live view of a device.
#[derive(Debug, Serialize, ToSchema)]
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
    /// The node running this device's actor (the owner of its client's partition); null while
    /// no node owns it.
    pub owner_node: Option<u16>,
    /// Open alerts about this device (single-device view only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alerts: Option<Vec<Alert>>,
}

impl DeviceView {
    pub(super) fn of(e: &Device) -> Self {
        let s = &e.spec();
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
            restarts: e.slot.restarts(),
            active: e.active(),
            owner_node: None,
            alerts: None,
        }
    }
}

fn unprocessable(e: InvalidKey) -> ApiError {
    ApiError::Unprocessable(e.to_string())
}

/// Registers a device.
///
/// The device is hosted by a registered client; its actor starts at once.
///
/// **Role:** admin.
#[utoipa::path(
    post,
    path = "/api/v1/devices",
    operation_id = "create_device",
    tag = "devices",
    security(("bearer" = [])),
    responses(
        (
            status = 201,
            description = "registered",
            body = DeviceView,
            links(
                ("show_device" = (operation_id = "show_device", parameters(("id" = "$response.body#/id")))),
                ("device_heartbeat" = (operation_id = "device_heartbeat", parameters(("id" = "$response.body#/id")))),
                ("issue_command" = (operation_id = "issue_command", parameters(("id" = "$response.body#/id")))),
            )
        ),
        (status = 403, description = "the token is not an admin's"),
        (status = 409, description = "a device with this id is already registered"),
        (status = 422, description = "unknown kind or client, bad id, interval or tolerance out of range"),
        (status = 503, description = "the store is unavailable"),
    )
)]
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
    if let Some(node) = &state.cluster {
        node.announce_device(entry.spec().id.as_str());
    }
    let mut view = DeviceView::of(&entry);
    view.owner_node = super::cluster::owner_node(&state, &view.client_id);
    Ok(HttpResponse::Created().json(view))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeviceQuery {
    /// Only devices in this state.
    #[param(value_type = Option<DeviceState>)]
    pub state: Option<String>,
    /// Only devices of this kind.
    #[param(value_type = Option<DeviceKind>)]
    pub kind: Option<String>,
    /// Only devices hosted by this client.
    pub client_id: Option<String>,
    /// Items per page, 1 to 1000; 100 when absent.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Lists devices.
///
/// The live view, by id, from memory.
///
/// **Role:** viewer or above.
#[utoipa::path(
    get,
    path = "/api/v1/devices",
    operation_id = "list_devices",
    params(DeviceQuery),
    tag = "devices",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "a page of devices", body = Page<DeviceView>),
        (status = 403, description = "the token has no viewer role or above"),
        (status = 422, description = "unknown state or kind, limit out of range"),
    )
)]
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
    let items: Vec<DeviceView> = entries
        .iter()
        .map(|e| {
            let mut view = DeviceView::of(e);
            view.owner_node = super::cluster::owner_node(&state, &view.client_id);
            view
        })
        .collect();
    Ok(HttpResponse::Ok().json(Page::new(items, limit, |d| d.id.clone())))
}

fn entry(state: &AppState, id: &str) -> Result<Arc<Device>, ApiError> {
    state
        .devices
        .get(id)
        .ok_or_else(|| ApiError::NotFound(format!("device {id} is not registered")))
}

/// Shows one device.
///
/// The live view with its open `alerts`; it answers from memory while the store is down.
///
/// **Role:** viewer or above.
#[utoipa::path(
    get,
    path = "/api/v1/devices/{id}",
    operation_id = "show_device",
    tag = "devices",
    params(("id" = String, Path, description = "the device's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the device", body = DeviceView),
        (status = 403, description = "the token has no viewer role or above"),
        (status = 404, description = "no such device"),
    )
)]
pub async fn show(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Viewer)?;
    let entry = entry(&state, &id)?;
    let mut view = DeviceView::of(&entry);
    view.owner_node = super::cluster::owner_node(&state, &view.client_id);
    // From the alert book in memory: the live view answers while the store is down.
    let subject = Subject {
        kind: SubjectType::Device,
        id: id.into_inner(),
    };
    let open = state
        .alerts
        .send(OpenAlertsOf { subject })
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    view.alerts = Some(open);
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct HeartbeatBody {
    pub status: HeartbeatStatus,
    /// What is wrong, with `fault` (kept up to 512 characters).
    pub detail: Option<String>,
}

/// A device's state after a heartbeat.
#[derive(Debug, Serialize, ToSchema)]
pub struct HeartbeatAnswer {
    pub id: String,
    pub state: DeviceState,
}

/// A crash injection was accepted; the actor panics and its supervisor restarts it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CrashRequested {
    pub id: String,
    /// Always `requested`.
    #[schema(example = "requested")]
    pub crash: &'static str,
}

/// Sends a device's heartbeat.
///
/// The HTTP form of a STOMP `/app/heartbeat`. Sent by the hosting client, it also keeps the
/// client online (see `POST /api/v1/clients/{id}/heartbeats`).
///
/// **Role:** the client that hosts the device (its `client` claim), or admin.
#[utoipa::path(
    post,
    path = "/api/v1/devices/{id}/heartbeat",
    operation_id = "device_heartbeat",
    tag = "devices",
    params(("id" = String, Path, description = "the device's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the device's state after the heartbeat", body = HeartbeatAnswer),
        (status = 202, description = "cluster mode, at a node that does not own the client's partition: handed to the owner, `{id, forwarded: true}`"),
        (status = 403, description = "the token is not the hosting client's"),
        (status = 404, description = "no such device"),
        (status = 409, description = "the device is quarantined"),
        (status = 503, description = "the device's actor is restarting; retrying is safe"),
    )
)]
pub async fn heartbeat(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<HeartbeatBody>,
) -> Result<HttpResponse, ApiError> {
    // In a cluster, the owner of the calling client's partition applies it (and checks the host).
    if let (Role::Client, Some(client)) = (caller.role, caller.client.as_deref()) {
        let body = body.into_inner();
        let one = serde_json::json!({"devices": [{"id": id.as_str(), "status": body.status, "detail": body.detail}]});
        let bytes = web::Bytes::from(one.to_string());
        if let Some(answer) = super::client_heartbeats::to_owner(&state, &caller, client, bytes) {
            return answer
                .map(|_| HttpResponse::Accepted().json(serde_json::json!({"id": id.as_str(), "forwarded": true})));
        }
        return heartbeat_here(&state, &caller, id.into_inner(), body).await;
    }
    heartbeat_here(&state, &caller, id.into_inner(), body.into_inner()).await
}

/// The heartbeat applied by this node, which owns the device.
async fn heartbeat_here(
    state: &AppState,
    caller: &Caller,
    id: String,
    body: HeartbeatBody,
) -> Result<HttpResponse, ApiError> {
    let entry = entry(state, &id)?;
    if !caller.is_client(entry.spec().client_id.as_str()) {
        return Err(ApiError::Forbidden(format!(
            "only client {} (the device's host) may send its heartbeats",
            entry.spec().client_id
        )));
    }
    super::client_heartbeats::vouch(
        state,
        caller,
        entry.spec().client_id.as_str(),
        beats::presence_lease(&entry.spec()),
    );
    let now_state = state.devices.beat(&entry, body.status, body.detail).await?;
    Ok(HttpResponse::Ok().json(HeartbeatAnswer { id, state: now_state }))
}

/// Makes a device's actor panic.
///
/// For drills and supervisor tests.
///
/// **Role:** admin, and only when the server runs with `KWANJE_FAULT_INJECTION=1` (else 404).
#[utoipa::path(
    post,
    path = "/api/v1/devices/{id}/faults/crash",
    operation_id = "crash_device",
    tag = "devices",
    params(("id" = String, Path, description = "the device's id")),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "the crash is requested", body = CrashRequested),
        (status = 403, description = "the token is not an admin's"),
        (status = 404, description = "fault injection is disabled, or no such device"),
        (status = 409, description = "the device is quarantined"),
        (status = 503, description = "the device's actor is restarting"),
    )
)]
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
    Ok(HttpResponse::Accepted().json(CrashRequested {
        id: id.into_inner(),
        crash: "requested",
    }))
}
