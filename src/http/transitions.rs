//! `GET /api/v1/devices/{id}/transitions`: a device's history of state changes, newest first,
//! paginated like the other lists (the operator console's device view reads it).

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::Caller;
use super::page::{Page, PageQuery};
use super::AppState;
use crate::auth::Role;
use crate::device::DeviceState;
use crate::store::models::devices;
use crate::store::models::transitions as rows;

/// One stored state change of a device.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransitionView {
    /// Increasing with time; the list's cursor.
    pub id: i64,
    pub device_id: String,
    #[schema(value_type = DeviceState)]
    pub from_state: String,
    #[schema(value_type = DeviceState)]
    pub to_state: String,
    /// Why: `heartbeat_missed`, `heartbeat`, `fault`, `flapping`, `settled`, `quarantined`,
    /// `operator_restart`, `maintenance`, ...
    pub reason: String,
    pub at_ms: i64,
}

impl From<rows::Transition> for TransitionView {
    fn from(row: rows::Transition) -> Self {
        TransitionView {
            id: row.id,
            device_id: row.device_id,
            from_state: row.from_state,
            to_state: row.to_state,
            reason: row.reason,
            at_ms: row.at_ms,
        }
    }
}

/// Lists a device's transitions.
///
/// Its stored state changes, newest first. A change the store has not taken yet (the store
/// was briefly gone) shows once it is stored. A decommissioned device's history stays here.
///
/// **Role:** viewer or above.
#[utoipa::path(
    get,
    path = "/api/v1/devices/{id}/transitions",
    operation_id = "list_device_transitions",
    tag = "devices",
    params(("id" = String, Path, description = "the device's id"), PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "a page of transitions, newest first", body = Page<TransitionView>),
        (status = 403, description = "the token has no viewer role or above"),
        (status = 404, description = "no such device"),
        (status = 422, description = "limit out of range, bad cursor"),
        (status = 503, description = "the store is unavailable"),
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Viewer)?;
    let (limit, before) = (query.limit()?, query.id_cursor()?);
    let id = id.into_inner();
    let known = state.devices.get(&id).is_some();
    let key = id.clone();
    // A decommissioned device keeps its history: its row is still stored.
    let found = state
        .store
        .read(move |c| {
            if !known && devices::find(c, &key)?.is_none() {
                return Ok(None);
            }
            rows::page(c, &key, before, limit).map(Some)
        })
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("device {id} is not registered")))?;
    let items: Vec<TransitionView> = found.into_iter().map(TransitionView::from).collect();
    Ok(HttpResponse::Ok().json(Page::new(items, limit, |t| t.id.to_string())))
}
