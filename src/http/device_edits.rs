//! `PATCH` and `DELETE /api/v1/devices/{id}`: correcting what is registered and taking a device
//! out of service.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::clients::text;
use super::devices::DeviceView;
use super::error::ApiError;
use super::extract::Caller;
use super::{nullable, number, AppState};
use crate::auth::Role;
use crate::device::edit::Edit;
use crate::ids::InvalidKey;

/// An edit of a registered device: a field left out stays as it is; `null` clears `site`,
/// `zone`, `lane` or `standby_id`. The kind and id never change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DevicePatch {
    /// Moves the device to another registered gate PC or kiosk.
    #[schema(pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    pub client_id: Option<String>,
    #[schema(max_length = 200)]
    #[serde(default, deserialize_with = "nullable::field")]
    pub site: Option<Option<String>>,
    #[schema(max_length = 200)]
    #[serde(default, deserialize_with = "nullable::field")]
    pub zone: Option<Option<String>>,
    #[schema(max_length = 200)]
    #[serde(default, deserialize_with = "nullable::field")]
    pub lane: Option<Option<String>>,
    /// The device that takes over on failover; not the device itself.
    #[schema(pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    #[serde(default, deserialize_with = "nullable::field")]
    pub standby_id: Option<Option<String>>,
    /// 100 ms to 1 h. The running actor takes it at once: the deadline counts from the last
    /// heartbeat with the new window, and the device keeps its state.
    #[schema(minimum = 100, maximum = 3600000)]
    #[serde(default, deserialize_with = "number::optional")]
    pub heartbeat_interval_ms: Option<u64>,
    /// 1 to 100.
    #[schema(minimum = 1, maximum = 100)]
    #[serde(default, deserialize_with = "number::optional")]
    pub miss_tolerance: Option<u32>,
    pub auto_failover: Option<bool>,
}

/// A device as edited.
#[derive(Debug, Serialize, ToSchema)]
pub struct EditedDevice {
    #[serde(flatten)]
    pub device: DeviceView,
    /// The fields the edit changed (empty when it changed nothing).
    pub changed: Vec<&'static str>,
}

fn unprocessable(e: InvalidKey) -> ApiError {
    ApiError::Unprocessable(e.to_string())
}

fn optional_text(field: &str, value: Option<Option<String>>) -> Result<Option<Option<String>>, ApiError> {
    value.map(|v| text(field, v)).transpose()
}

impl DevicePatch {
    fn into_edit(self) -> Result<Edit, ApiError> {
        Ok(Edit {
            client_id: self.client_id.map(|c| c.parse()).transpose().map_err(unprocessable)?,
            site: optional_text("site", self.site)?,
            zone: optional_text("zone", self.zone)?,
            lane: optional_text("lane", self.lane)?,
            standby_id: self
                .standby_id
                .map(|s| s.map(|s| s.parse()).transpose())
                .transpose()
                .map_err(unprocessable)?,
            heartbeat_interval_ms: self.heartbeat_interval_ms,
            miss_tolerance: self.miss_tolerance,
            auto_failover: self.auto_failover,
        })
    }
}

/// Edits a registered device.
///
/// Its gate PC, site, zone, lane, standby, heartbeat interval, miss tolerance and automatic
/// failover, checked as a registration is. The device's running actor takes the change without
/// a restart and keeps its state. A device moved to another gate PC is that gate PC's from the
/// answer on (its heartbeats, its commands); it counts as reachable until that gate PC next
/// disconnects. Audited with the fields changed.
///
/// **Role:** admin.
#[utoipa::path(
    patch,
    path = "/api/v1/devices/{id}",
    operation_id = "update_device",
    tag = "devices",
    params(("id" = String, Path, description = "the device's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the device as edited, with the fields changed", body = EditedDevice),
        (status = 400, description = "a field the edit does not take (`id`, `kind`, a misspelling) or a malformed body"),
        (status = 403, description = "the token is not an admin's"),
        (status = 404, description = "no such device"),
        (status = 422, description = "unknown gate PC, bad id, interval or tolerance out of range, its own standby"),
        (status = 503, description = "the store is unavailable"),
    )
)]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<DevicePatch>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Admin)?;
    let edit = body.into_inner().into_edit()?;
    let edited = state.devices.edit(&id, edit, &caller.name).await?;
    if !edited.changed.is_empty() {
        if let Some(node) = &state.cluster {
            node.announce_device(&id);
        }
    }
    let mut device = DeviceView::of(&edited.device);
    device.owner_node = super::cluster::owner_node(&state, &device.client_id);
    Ok(HttpResponse::Ok().json(EditedDevice {
        device,
        changed: edited.changed,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DecommissionQuery {
    /// Why it leaves service: added to each of its open alerts as they are resolved, and
    /// kept in the audit log. At most 200 characters; `decommissioned` when absent.
    pub reason: Option<String>,
}

/// A device taken out of service.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecommissionedDevice {
    pub id: String,
    pub decommissioned_ms: i64,
    /// Its open alerts this node resolved (in a cluster, the owner of its gate PC's partition
    /// resolves them when it is not this node, and this says 0).
    pub alerts_resolved: usize,
}

/// Decommissions a device.
///
/// Its actor is stopped on purpose (no restart, no alert), its open alerts are resolved by the
/// caller with the reason, and it leaves the live view and the lists. Its history (transitions,
/// alerts, commands, audit) is kept; registering the same id again brings it back as new.
/// Audited.
///
/// **Role:** admin.
#[utoipa::path(
    delete,
    path = "/api/v1/devices/{id}",
    operation_id = "decommission_device",
    tag = "devices",
    params(("id" = String, Path, description = "the device's id"), DecommissionQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "decommissioned", body = DecommissionedDevice),
        (status = 403, description = "the token is not an admin's"),
        (status = 404, description = "no such device in service"),
        (status = 409, description = "another device names it as its standby"),
        (status = 422, description = "the reason is longer than 200 characters"),
        (status = 503, description = "the store is unavailable"),
    )
)]
pub async fn decommission(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    query: web::Query<DecommissionQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Admin)?;
    let reason = text("reason", query.into_inner().reason)?.unwrap_or_else(|| "decommissioned".into());
    let why = format!("device decommissioned by {}: {reason}", caller.name);
    let done = state.devices.decommission(&id, &caller.name, &why).await?;
    if let Some(node) = &state.cluster {
        node.announce_device(&id);
    }
    Ok(HttpResponse::Ok().json(DecommissionedDevice {
        id: id.into_inner(),
        decommissioned_ms: done.at_ms,
        alerts_resolved: done.alerts_resolved,
    }))
}
