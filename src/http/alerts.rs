//! `/api/v1/alerts`: list, show, acknowledge, resolve.

use std::time::Duration;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::error::ApiError;
use super::extract::Caller;
use super::page::{Page, PageQuery};
use super::AppState;
use crate::alert::messages::{Acknowledge, ResolveAlert};
use crate::alert::{Alert, AlertKind, AlertState, SubjectType};
use crate::auth::Role;
use crate::store::models::alerts as rows;

/// How long an operator's change may wait for the store before the answer is 503.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertQuery {
    /// Only alerts in this state.
    #[param(value_type = Option<AlertState>)]
    pub state: Option<String>,
    /// Only alerts about this device, client or taxi.
    pub subject_id: Option<String>,
    /// Only alerts of this kind.
    #[param(value_type = Option<AlertKind>)]
    pub kind: Option<String>,
    /// Items per page, 1 to 1000; 100 when absent.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page (an alert id).
    #[param(value_type = Option<i64>)]
    pub cursor: Option<String>,
}

fn parse_id(id: &str) -> Result<i64, ApiError> {
    id.parse()
        .map_err(|_| ApiError::NotFound(format!("alert {id} does not exist")))
}

/// Lists alerts.
///
/// Stored alerts, newest first.
///
/// **Role:** viewer or above.
#[utoipa::path(
    get,
    path = "/api/v1/alerts",
    operation_id = "list_alerts",
    params(AlertQuery),
    tag = "alerts",
    security(("bearer" = [])),
    responses(
        (
            status = 200,
            description = "a page of alerts",
            body = Page<Alert>,
            links(
                ("show_alert" = (operation_id = "show_alert", parameters(("id" = "$response.body#/items/0/id")))),
                ("acknowledge_alert" = (operation_id = "acknowledge_alert", parameters(("id" = "$response.body#/items/0/id")))),
                ("resolve_alert" = (operation_id = "resolve_alert", parameters(("id" = "$response.body#/items/0/id")))),
            )
        ),
        (status = 403, description = "the token has no viewer role or above"),
        (status = 422, description = "unknown state or kind, limit out of range, bad cursor"),
        (status = 503, description = "the store is unavailable"),
    )
)]
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

/// The key of the partition whose owner keeps `alert` (its device's client, its client, its
/// terminal, or its taxi's card key as this node read it, the plate when it has not); `None`
/// for what every node keeps for itself (server alerts).
fn partition_key(state: &AppState, alert: &Alert) -> Option<String> {
    match alert.subject_type {
        SubjectType::Device => state
            .devices
            .get(&alert.subject_id)
            .map(|d| d.spec().client_id.to_string()),
        SubjectType::Client | SubjectType::Terminal => Some(alert.subject_id.clone()),
        SubjectType::Taxi => Some(
            crate::taxi::core::model::Plate::parse(&alert.subject_id)
                .ok()
                .and_then(|plate| state.taxis.registry().taxi(&plate))
                .map_or_else(
                    || alert.subject_id.clone(),
                    |t| t.entry.card().partition_key().to_owned(),
                ),
        ),
        _ => None,
    }
}

/// In a cluster, an acknowledgement or resolution of an alert another node keeps, passed to
/// that node with its note; `None` when this node acts on it.
async fn pass_to_owner(
    state: &AppState,
    req: &HttpRequest,
    alert: &Alert,
    note: Option<&str>,
) -> Option<Result<HttpResponse, ApiError>> {
    let key = partition_key(state, alert)?;
    let addr = match super::to_owner::owner_addr(state, req, &key)? {
        Ok(addr) => addr,
        Err(e) => return Some(Err(e)),
    };
    let body = match note {
        Some(note) => web::Bytes::from(serde_json::json!({ "note": note }).to_string()),
        None => web::Bytes::new(),
    };
    Some(super::to_owner::pass(&addr, req, body).await)
}

/// Shows one alert.
///
/// **Role:** viewer or above.
#[utoipa::path(
    get,
    path = "/api/v1/alerts/{id}",
    operation_id = "show_alert",
    tag = "alerts",
    params(("id" = String, Path, description = "the alert's id (an integer)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the alert", body = Alert),
        (status = 403, description = "the token has no viewer role or above"),
        (status = 404, description = "no such alert"),
        (status = 503, description = "the store is unavailable"),
    )
)]
pub async fn show(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Viewer)?;
    Ok(HttpResponse::Ok().json(load(&state, parse_id(&id)?).await?))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct AckBody {
    /// Kept as the alert's `ack_note`.
    pub note: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ResolveBody {
    /// Why it is resolved: kept as the audit entry's `detail`.
    pub note: Option<String>,
}

/// A request that carries no body: no `Content-Length` (or 0) and no `Transfer-Encoding`.
fn has_no_body(req: &HttpRequest) -> bool {
    let headers = req.headers();
    !headers.contains_key(header::TRANSFER_ENCODING)
        && headers
            .get(header::CONTENT_LENGTH)
            .is_none_or(|length| length.as_bytes() == b"0")
}

/// Acknowledges an alert.
///
/// Audited; acknowledging twice changes nothing. The body is optional: without one (or with
/// `null`) the alert is acknowledged with no note; a body that is sent must be the JSON
/// documented (else 400, and nothing changes).
///
/// **Role:** operator or above.
#[utoipa::path(
    post,
    path = "/api/v1/alerts/{id}/ack",
    operation_id = "acknowledge_alert",
    tag = "alerts",
    params(("id" = String, Path, description = "the alert's id (an integer)")),
    request_body = Option<AckBody>,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the alert, acknowledged", body = Alert),
        (status = 403, description = "the token has no operator role or above"),
        (status = 404, description = "no such alert"),
        (status = 409, description = "the alert is already resolved"),
        (status = 503, description = "the store is unavailable; retrying is safe"),
    )
)]
pub async fn acknowledge(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    req: HttpRequest,
    body: Result<web::Json<Option<AckBody>>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Operator)?;
    // A malformed body is refused, not taken for no body: its note would be lost silently.
    let note = match body {
        Ok(body) => body.into_inner().and_then(|b| b.note),
        Err(_) if has_no_body(&req) => None,
        Err(malformed) => return Err(ApiError::BadRequest(malformed.to_string())),
    };
    let id = parse_id(&id)?;
    let stored = load(&state, id).await?;
    if let Some(answer) = pass_to_owner(&state, &req, &stored, note.as_deref()).await {
        return answer;
    }
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

/// Resolves an alert by hand.
///
/// Audited; the optional note (why it is resolved) is kept as the audit entry's `detail`. As
/// for an acknowledgement, the body is optional, and one that is sent must be the JSON
/// documented (else 400, and nothing changes).
///
/// **Role:** operator or above.
#[utoipa::path(
    post,
    path = "/api/v1/alerts/{id}/resolve",
    operation_id = "resolve_alert",
    tag = "alerts",
    params(("id" = String, Path, description = "the alert's id (an integer)")),
    request_body = Option<ResolveBody>,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the alert, resolved", body = Alert),
        (status = 400, description = "a body that is not the JSON documented"),
        (status = 403, description = "the token has no operator role or above"),
        (status = 404, description = "no such alert"),
        (status = 409, description = "the alert is already resolved"),
        (status = 503, description = "the store is unavailable; retrying is safe"),
    )
)]
pub async fn resolve(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    req: HttpRequest,
    body: Result<web::Json<Option<ResolveBody>>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Operator)?;
    let note = match body {
        Ok(body) => body.into_inner().and_then(|b| b.note),
        Err(_) if has_no_body(&req) => None,
        Err(malformed) => return Err(ApiError::BadRequest(malformed.to_string())),
    };
    let id = parse_id(&id)?;
    let stored = load(&state, id).await?;
    if let Some(answer) = pass_to_owner(&state, &req, &stored, note.as_deref()).await {
        return answer;
    }
    let alert = state
        .alerts
        .send(ResolveAlert {
            id,
            by: caller.name.clone(),
            note,
        })
        .timeout(WRITE_TIMEOUT)
        .await
        .map_err(|_| ApiError::Unavailable("the alert could not be stored in time; retrying is safe".into()))??;
    Ok(HttpResponse::Ok().json(alert))
}
