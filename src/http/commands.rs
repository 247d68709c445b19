//! `/api/v1/commands`: stored commands; `POST /api/v1/devices/{id}/commands` issues one.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::extract::Caller;
use super::page::{Page, PageQuery};
use super::AppState;
use crate::auth::Role;
use crate::command::service::{Issue, MAX_KEY_LEN, MAX_REASON_LEN, MAX_TTL, MIN_TTL};
use crate::command::CommandKind;
use crate::store::models::commands as rows;

/// Command states (API.md).
pub const STATES: [&str; 6] = ["pending", "delivered", "acked", "failed", "timed_out", "expired"];

#[derive(Debug, Serialize)]
pub struct CommandView {
    pub id: i64,
    pub device_id: String,
    pub client_id: String,
    pub kind: String,
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

#[derive(Debug, Deserialize)]
pub struct CommandQuery {
    pub device_id: Option<String>,
    pub state: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

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

pub async fn show(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Viewer)?;
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::NotFound(format!("command {id} does not exist")))?;
    let found = state.store.read(move |c| rows::find(c, id)).await?;
    let command = found.ok_or_else(|| ApiError::NotFound(format!("command {id} does not exist")))?;
    Ok(HttpResponse::Ok().json(CommandView::from(command)))
}

#[derive(Debug, Deserialize)]
pub struct NewCommand {
    pub kind: String,
    pub reason: Option<String>,
    pub ttl_ms: Option<u64>,
}

/// The header that makes a retried `POST` return the command the first one created.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

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
    let standby_id = entry.spec.standby_id.as_ref().map(ToString::to_string);
    if matches!(kind, CommandKind::SwitchToStandby | CommandKind::Failback) && standby_id.is_none() {
        return Err(ApiError::Unprocessable(format!(
            "device {id} has no standby_id; it cannot switch"
        )));
    }
    let issued = state
        .commands
        .send(Issue {
            device_id: id.to_string(),
            client_id: entry.spec.client_id.to_string(),
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
