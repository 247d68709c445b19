//! `/api/v1/commands`: stored commands; `POST /api/v1/devices/{id}/commands` issues one.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::ApiError;
use super::extract::Caller;
use super::number;
use super::page::{Page, PageQuery};
use super::AppState;
use crate::auth::Role;
use crate::command::messages::Issue;
use crate::command::service::{MAX_KEY_LEN, MAX_REASON_LEN, MAX_TTL, MIN_TTL};
use crate::command::{Command, CommandKind, CommandState};
use crate::store::models::commands as rows;

/// Command states (API.md).
pub const STATES: [&str; 6] = ["pending", "delivered", "acked", "failed", "timed_out", "expired"];

/// A stored command, as `GET /api/v1/commands` shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommandView {
    pub id: i64,
    pub device_id: String,
    pub client_id: String,
    #[schema(value_type = CommandKind)]
    pub kind: String,
    #[schema(value_type = CommandState)]
    pub state: String,
    pub reason: Option<String>,
    pub detail: Option<String>,
    pub issued_by: String,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub expires_ms: i64,
}

impl From<rows::Command> for CommandView {
    fn from(c: rows::Command) -> Self {
        CommandView {
            id: c.id,
            device_id: c.device_id,
            client_id: c.client_id,
            kind: c.kind,
            state: c.state,
            reason: c.reason,
            detail: c.detail,
            issued_by: c.issued_by,
            created_ms: c.created_ms,
            updated_ms: c.updated_ms,
            expires_ms: c.expires_ms,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CommandQuery {
    /// Only commands for this device.
    pub device_id: Option<String>,
    /// Only commands in this state.
    #[param(value_type = Option<CommandState>)]
    pub state: Option<String>,
    /// Items per page, 1 to 1000; 100 when absent.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page (a command id).
    #[param(value_type = Option<i64>)]
    pub cursor: Option<String>,
}

/// Lists commands.
///
/// Stored commands, newest first.
///
/// **Role:** viewer or above.
#[utoipa::path(
    get,
    path = "/api/v1/commands",
    operation_id = "list_commands",
    params(CommandQuery),
    tag = "commands",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "a page of commands", body = Page<CommandView>),
        (status = 403, description = "the token has no viewer role or above"),
        (status = 422, description = "unknown state, limit out of range, bad cursor"),
        (status = 503, description = "the store is unavailable"),
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<CommandQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Viewer)?;
    let q = query.into_inner();
    if let Some(s) = &q.state {
        if !STATES.contains(&s.as_str()) {
            return Err(ApiError::Unprocessable(format!(
                "unknown command state {s:?}; use one of {}",
                STATES.join(", ")
            )));
        }
    }
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    };
    let (limit, before) = (page.limit()?, page.id_cursor()?);
    let filter = rows::Filter {
        device_id: q.device_id,
        state: q.state,
    };
    let found = state.store.read(move |c| rows::page(c, &filter, before, limit)).await?;
    let items: Vec<CommandView> = found.into_iter().map(CommandView::from).collect();
    Ok(HttpResponse::Ok().json(Page::new(items, limit, |c| c.id.to_string())))
}

/// Shows one command.
///
/// **Role:** viewer or above.
#[utoipa::path(
    get,
    path = "/api/v1/commands/{id}",
    operation_id = "show_command",
    tag = "commands",
    params(("id" = String, Path, description = "the command's id (an integer)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the command", body = CommandView),
        (status = 403, description = "the token has no viewer role or above"),
        (status = 404, description = "no such command"),
        (status = 503, description = "the store is unavailable"),
    )
)]
pub async fn show(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Viewer)?;
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::NotFound(format!("command {id} does not exist")))?;
    let found = state.store.read(move |c| rows::find(c, id)).await?;
    let command = found.ok_or_else(|| ApiError::NotFound(format!("command {id} does not exist")))?;
    Ok(HttpResponse::Ok().json(CommandView::from(command)))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct NewCommand {
    /// Read as text, so an unknown kind is a 422 that lists the known ones.
    #[schema(value_type = CommandKind)]
    pub kind: String,
    /// Why, for the audit log.
    #[schema(max_length = 512)]
    pub reason: Option<String>,
    /// How long the command waits for its client, 1 s to 24 h; `KWANJE_COMMAND_TTL_MS` when absent.
    #[schema(minimum = 1000, maximum = 86400000)]
    #[serde(default, deserialize_with = "number::optional")]
    pub ttl_ms: Option<u64>,
}

/// The header that makes a retried `POST` return the command the first one created.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// Issues a command to a device's client.
///
/// The server also acts on `maintenance_on`/`off` and `restart` itself. A retry with the
/// same `Idempotency-Key` returns the first command.
///
/// **Role:** operator or above.
#[utoipa::path(
    post,
    path = "/api/v1/devices/{id}/commands",
    operation_id = "issue_command",
    tag = "commands",
    params(
        ("id" = String, Path, description = "the device's id"),
        (
            "Idempotency-Key" = Option<String>,
            Header,
            description = "1 to 128 characters; a retry with the same key returns the same command"
        ),
    ),
    security(("bearer" = [])),
    responses(
        (
            status = 202,
            description = "the command, stored and on its way to the client",
            body = Command,
            links(
                ("show_command" = (operation_id = "show_command", parameters(("id" = "$response.body#/id")))),
            )
        ),
        (status = 400, description = "malformed body, or an Idempotency-Key that is not text"),
        (status = 403, description = "the token has no operator role or above"),
        (status = 404, description = "no such device"),
        (status = 409, description = "the device is quarantined, or the key is taken"),
        (
            status = 422,
            description = "unknown kind, ttl_ms out of range, overlong reason or key, no standby to switch to"
        ),
        (status = 503, description = "the store or the device's actor is unavailable"),
    )
)]
pub async fn issue(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    req: actix_web::HttpRequest,
    body: web::Json<NewCommand>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Operator)?;
    let entry = state
        .devices
        .get(&id)
        .ok_or_else(|| ApiError::NotFound(format!("device {id} is not registered")))?;
    let body = body.into_inner();
    // In a cluster, the node that owns the device's partition issues its commands.
    if let Some(addr) = super::to_owner::owner_addr(&state, &req, entry.spec().client_id.as_str()) {
        let bytes = serde_json::to_vec(&body).map_err(|e| ApiError::Internal(e.to_string()))?;
        return super::to_owner::pass(&addr?, &req, web::Bytes::from(bytes)).await;
    }
    let kind: CommandKind = body.kind.parse().map_err(ApiError::Unprocessable)?;
    let ttl = body
        .ttl_ms
        .map_or(state.config.command_ttl(), std::time::Duration::from_millis);
    if !(MIN_TTL..=MAX_TTL).contains(&ttl) {
        return Err(ApiError::Unprocessable(format!(
            "ttl_ms must be between {} and {}",
            MIN_TTL.as_millis(),
            MAX_TTL.as_millis()
        )));
    }
    if body.reason.as_ref().is_some_and(|r| r.chars().count() > MAX_REASON_LEN) {
        return Err(ApiError::Unprocessable(format!(
            "reason is longer than {MAX_REASON_LEN} characters"
        )));
    }
    let key = match req.headers().get(IDEMPOTENCY_KEY) {
        None => None,
        Some(v) => {
            let key = v
                .to_str()
                .map_err(|_| ApiError::BadRequest("Idempotency-Key must be text".into()))?
                .trim();
            if key.is_empty() || key.len() > MAX_KEY_LEN {
                return Err(ApiError::Unprocessable(format!(
                    "Idempotency-Key must be 1 to {MAX_KEY_LEN} characters"
                )));
            }
            Some(key.to_owned())
        }
    };
    let standby_id = entry.spec().standby_id.as_ref().map(ToString::to_string);
    if matches!(kind, CommandKind::SwitchToStandby | CommandKind::Failback) && standby_id.is_none() {
        return Err(ApiError::Unprocessable(format!(
            "device {id} has no standby_id; it cannot switch"
        )));
    }
    let issued = state
        .commands
        .send(Issue {
            device_id: id.to_string(),
            client_id: entry.spec().client_id.to_string(),
            kind,
            reason: body.reason,
            ttl,
            by: caller.name.clone(),
            idempotency_key: key,
            standby_id,
        })
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    if issued.created {
        // What the server itself does about the command, beside telling the client.
        match kind {
            CommandKind::MaintenanceOn => drop(state.devices.set_maintenance(&id, true).await?),
            CommandKind::MaintenanceOff => drop(state.devices.set_maintenance(&id, false).await?),
            CommandKind::Restart => state.devices.restart(&id).await?,
            _ => {}
        }
    }
    Ok(HttpResponse::Accepted().json(issued.command))
}
