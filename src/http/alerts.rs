//! `/api/v1/alerts`: list, show, acknowledge, resolve.

use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::error::ApiError;
use super::extract::Caller;
use super::page::{Page, PageQuery};
use super::AppState;
use crate::alert::service::{Acknowledge, ResolveAlert};
use crate::alert::{Alert, AlertKind, AlertState};
use crate::auth::Role;
use crate::store::models::alerts as rows;

/// How long an operator's change may wait for the store before the answer is 503.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Deserialize)]
pub struct AlertQuery {
    pub state: Option<String>,
    pub subject_id: Option<String>,
    pub kind: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

fn parse_id(id: &str) -> Result<i64, ApiError> {
    id.parse()
        .map_err(|_| ApiError::NotFound(format!("alert {id} does not exist")))
}

pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<AlertQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Viewer)?;
    let q = query.into_inner();
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    };
    let (limit, before) = (page.limit()?, page.id_cursor()?);
    if let Some(s) = &q.state {
        s.parse::<AlertState>().map_err(ApiError::Unprocessable)?;
    }
    if let Some(k) = &q.kind {
        k.parse::<AlertKind>().map_err(ApiError::Unprocessable)?;
    }
    let filter = rows::Filter {
        state: q.state,
        subject_id: q.subject_id,
        kind: q.kind,
    };
    let found = state.store.read(move |c| rows::page(c, &filter, before, limit)).await?;
    let items: Vec<Alert> = found.into_iter().filter_map(Alert::from_row).collect();
    Ok(HttpResponse::Ok().json(Page::new(items, limit, |a| a.id.to_string())))
}

async fn load(state: &AppState, id: i64) -> Result<Alert, ApiError> {
    state
        .store
        .read(move |c| rows::find(c, id))
        .await?
        .and_then(Alert::from_row)
        .ok_or_else(|| ApiError::NotFound(format!("alert {id} does not exist")))
}

pub async fn show(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Viewer)?;
    Ok(HttpResponse::Ok().json(load(&state, parse_id(&id)?).await?))
}

#[derive(Debug, Default, Deserialize)]
pub struct AckBody {
    pub note: Option<String>,
}

pub async fn acknowledge(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: Option<web::Json<AckBody>>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Operator)?;
    let id = parse_id(&id)?;
    load(&state, id).await?;
    let note = body.and_then(|b| b.into_inner().note);
    let alert = state
        .alerts
        .send(Acknowledge {
            id,
            by: caller.name.clone(),
            note,
        })
        .timeout(WRITE_TIMEOUT)
        .await
        .map_err(|_| ApiError::Unavailable("the alert could not be stored in time; retrying is safe".into()))??;
    Ok(HttpResponse::Ok().json(alert))
}

pub async fn resolve(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Operator)?;
    let id = parse_id(&id)?;
    load(&state, id).await?;
    let alert = state
        .alerts
        .send(ResolveAlert {
            id,
            by: caller.name.clone(),
        })
        .timeout(WRITE_TIMEOUT)
        .await
        .map_err(|_| ApiError::Unavailable("the alert could not be stored in time; retrying is safe".into()))??;
    Ok(HttpResponse::Ok().json(alert))
}
