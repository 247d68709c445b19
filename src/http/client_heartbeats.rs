//! `POST /api/v1/clients/{id}/heartbeats`: a gate PC's heartbeats for many devices in one
//! request, and the presence an HTTP heartbeat gives its client.
//!
//! A gate PC that speaks only HTTP holds no STOMP session; its heartbeats are its sign of
//! life. Each one (this batch, or `POST /api/v1/devices/{id}/heartbeat`) sent with the
//! client's own credentials leases the client's presence for a little less than its devices'
//! deadline ([`crate::device::beats::presence_lease`]), so when it goes silent the client goes
//! offline first: one `client_disconnected`, its devices unreachable under it, as for a
//! gate PC whose session closed.

use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::Caller;
use super::AppState;
use crate::auth::{Principal, Role};
use crate::broker::messages::ClientBeat;
use crate::device::batch::{self, BatchError, BatchKind};
use crate::device::beats;
use crate::ownership::Inbound;

/// What a heartbeat batch did.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchAnswer {
    /// Heartbeats handed to their devices.
    pub applied: usize,
    /// Heartbeats for devices that are not registered (logged), or whose actor is restarting.
    pub skipped: usize,
}

/// The same body as a STOMP SEND to `/app/heartbeat` (documented here for the OpenAPI document;
/// the handler reads the raw body device by device).
#[derive(Debug, serde::Deserialize, ToSchema)]
pub struct HeartbeatBatch {
    /// At most 1,000 entries; each `{"id", "status": "ok"|"fault", "detail"?}`.
    #[schema(value_type = Vec<Object>)]
    pub devices: Vec<serde_json::Value>,
}

/// Sends heartbeats for many devices of one client.
///
/// The HTTP form of a STOMP SEND to `/app/heartbeat`, for gate PCs that hold no STOMP session:
/// the whole batch is checked before any of it is applied (a device hosted by another client
/// refuses it with 403, nothing applied); a device that is not registered is skipped. Each
/// batch keeps the client online (`/topic/presence`, `GET /api/v1/clients`) until a little
/// before its devices' deadline.
///
/// **Role:** the client itself (its `client` claim, or its TLS certificate).
#[utoipa::path(
    post,
    path = "/api/v1/clients/{id}/heartbeats",
    operation_id = "client_heartbeats",
    tag = "clients",
    params(("id" = String, Path, description = "the client's id")),
    request_body = HeartbeatBatch,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the batch was applied", body = BatchAnswer),
        (status = 202, description = "cluster mode, at a node that does not own the client's partition: the batch was checked and handed to the owner; `applied` counts the heartbeats handed on", body = BatchAnswer),
        (status = 503, description = "cluster mode: the owner of the client's partition is not known at this moment; retrying is safe"),
        (status = 400, description = "the body is not a heartbeat batch"),
        (status = 403, description = "the token is not this client's, or a device of the batch is another client's"),
        (status = 422, description = "more than 1,000 heartbeats in one batch"),
    )
)]
pub async fn batch(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    if !is_the_client(&caller, &id) {
        return Err(ApiError::Forbidden(format!(
            "only client {} may send its heartbeats",
            id.chars().take(80).collect::<String>()
        )));
    }
    if let Some(answer) = to_owner(&state, &caller, &id, body.clone()) {
        return answer;
    }
    let done = beats::apply(&state.devices, &caller, BatchKind::Heartbeats, &body).map_err(refusal)?;
    if let Some(lease) = done.lease {
        vouch(&state, &caller, &id, lease);
    }
    Ok(HttpResponse::Ok().json(BatchAnswer {
        applied: done.applied,
        skipped: done.skipped,
    }))
}

/// In a cluster, at a node that does not own `client`'s partition: the batch `body` sent by
/// the client itself, checked here as far as this node can (its form, its size, devices this
/// node knows another client hosts) and handed to the owner, which applies it and counts it
/// for the client's presence; answered 202 with the heartbeats handed on. `None` where this
/// node applies it itself.
pub(super) fn to_owner(
    state: &AppState,
    caller: &Principal,
    client: &str,
    body: web::Bytes,
) -> Option<Result<HttpResponse, ApiError>> {
    let elsewhere = state.elsewhere.as_ref()?;
    if !is_the_client(caller, client) {
        return None;
    }
    let partition = elsewhere.partition_of(client)?;
    let mut count = 0;
    let checked = batch::read(BatchKind::Heartbeats, &body, |beat| {
        count += 1;
        let device = state.devices.get(&beat.id);
        let spec = device.as_deref().map(|d| d.spec());
        beats::check_host(caller, &beat.id, spec.as_ref().map(|s| s.client_id.as_str())).map(drop)
    });
    if let Err(err) = checked {
        return Some(Err(refusal(err)));
    }
    let message = Inbound::Beats {
        client: client.to_owned(),
        faults: false,
        body,
    };
    if !elsewhere.send(partition, message) {
        return Some(Err(ApiError::Unavailable(
            "the node that owns this client's partition is not known yet (it is moving); retry".into(),
        )));
    }
    Some(Ok(HttpResponse::Accepted().json(BatchAnswer {
        applied: count,
        skipped: 0,
    })))
}

/// An HTTP heartbeat of `client`'s device, sent by `caller`, keeps `client` online for `lease`
/// when the caller is that client (an admin's heartbeat says nothing of the gate PC).
pub(super) fn vouch(state: &AppState, caller: &Principal, client: &str, lease: Duration) {
    if !is_the_client(caller, client) {
        return;
    }
    state.broker.do_send(ClientBeat {
        client: client.to_owned(),
        until: state.clock.now() + lease,
    });
}

fn is_the_client(caller: &Principal, client: &str) -> bool {
    caller.role == Role::Client && caller.client.as_deref() == Some(client)
}

fn refusal(err: BatchError) -> ApiError {
    match err {
        BatchError::BadBody { reason, .. } => ApiError::BadRequest(format!("not a heartbeat batch: {reason}")),
        BatchError::TooManyHeartbeats { .. } => ApiError::Unprocessable(err.to_string()),
        BatchError::NotHosted { .. } => ApiError::Forbidden(format!("{err}; nothing of the batch was applied")),
    }
}
