//! `/api/v1/commands`: read-only views of stored commands.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::extract::Caller;
use super::page::{Page, PageQuery};
use super::AppState;
use crate::auth::Role;
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
