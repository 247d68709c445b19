//! `/api/v1/receivers`: webhooks told of alert changes besides the live topics, routed by
//! severity and kind, with each one's health.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::Caller;
use super::AppState;
use crate::alert::{AlertKind, Severity};
use crate::auth::Role;
use crate::notify::route::Route;
use crate::store::models::{audit, receivers};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReceiver {
    /// 1 to 64 of `A-Z a-z 0-9 . _ - :`; unique.
    #[schema(pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    pub name: String,
    /// Where alert changes are POSTed: an `http` or `https` URL.
    #[schema(example = "https://pager.example/hooks/kwanje")]
    pub url: String,
    /// Only alerts at least this severe (`critical` < `major` < `minor` < `info`); every
    /// severity when absent.
    #[schema(value_type = Option<Severity>)]
    pub min_severity: Option<String>,
    /// Only alerts of these kinds; every kind when absent.
    #[schema(value_type = Option<Vec<AlertKind>>)]
    pub kinds: Option<Vec<String>>,
}

/// A receiver and how its deliveries go.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiverView {
    pub id: i64,
    pub name: String,
    pub url: String,
    #[schema(value_type = Option<Severity>)]
    pub min_severity: Option<String>,
    #[schema(value_type = Option<Vec<AlertKind>>)]
    pub kinds: Option<Vec<String>>,
    pub created_ms: i64,
    /// `healthy` (its last delivery was accepted, or none was due yet) or `failing`.
    pub health: &'static str,
    /// Alert changes it is still owed.
    pub pending: i64,
    /// Failed attempts since its last accepted delivery.
    pub failures: i32,
    pub last_success_ms: Option<i64>,
    pub last_error: Option<String>,
    pub last_error_ms: Option<i64>,
}

impl ReceiverView {
    fn of(row: receivers::Receiver, pending: i64) -> Self {
        ReceiverView {
            id: row.id,
            health: if row.failures == 0 { "healthy" } else { "failing" },
            pending,
            name: row.name,
            url: row.url,
            min_severity: row.min_severity,
            kinds: row
                .kinds
                .map(|k| k.split(',').filter(|k| !k.is_empty()).map(str::to_owned).collect()),
            created_ms: row.created_ms,
            failures: row.failures,
            last_success_ms: row.last_success_ms,
            last_error: row.last_error,
            last_error_ms: row.last_error_ms,
        }
    }
}

/// Reads the receivers again into this node's routing, at once.
async fn reload(state: &AppState) -> Result<Vec<receivers::Receiver>, ApiError> {
    let rows = state.store.read(receivers::all).await?;
    state.receivers.replace(&rows);
    Ok(rows)
}

fn check_url(url: &str) -> Result<(), ApiError> {
    let uri: awc::http::Uri = url
        .parse()
        .map_err(|e| ApiError::Unprocessable(format!("url is not a URL: {e}")))?;
    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    if !scheme_ok || uri.host().is_none_or(str::is_empty) {
        return Err(ApiError::Unprocessable(format!(
            "url must be an http or https URL with a host, not {url:?}"
        )));
    }
    Ok(())
}

/// Adds a webhook receiver.
///
/// From the answer on, every alert change routed to it (by `min_severity` and `kinds`) is
/// POSTed to its `url` as JSON shaped as an Alertmanager webhook (`version`, `status`,
/// `alerts[]` with `labels`, `annotations`, `startsAt`, `endsAt`, `fingerprint`; kwanje's own
/// alert under `kwanje`), with an `Idempotency-Key` header (`{alert_id}:{version}`; a
/// re-notification adds `:renotified:{ms}`). Sent from the store: a receiver that is down gets
/// every change later, at least once, in order per alert, retried with backoff (1 s doubling to
/// a minute). Audited.
///
/// **Role:** admin.
#[utoipa::path(
    post,
    path = "/api/v1/receivers",
    operation_id = "create_receiver",
    tag = "receivers",
    security(("bearer" = [])),
    responses(
        (status = 201, description = "added", body = ReceiverView),
        (status = 403, description = "the token is not an admin's"),
        (status = 409, description = "a receiver with this name exists"),
        (status = 422, description = "bad name or URL, unknown severity or kind"),
        (status = 503, description = "the store is unavailable"),
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<NewReceiver>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Admin)?;
    let body = body.into_inner();
    crate::ids::validate("receiver name", &body.name).map_err(|e| ApiError::Unprocessable(e.to_string()))?;
    check_url(&body.url)?;
    if body.kinds.as_ref().is_some_and(Vec::is_empty) {
        return Err(ApiError::Unprocessable(
            "kinds must name at least one kind; leave it out for every kind".into(),
        ));
    }
    let kinds = body.kinds.map(|k| k.join(","));
    let route = Route::parse(body.min_severity.as_deref(), kinds.as_deref()).map_err(ApiError::Unprocessable)?;
    let now = state.clock.now();
    let row = receivers::Receiver {
        id: state.ids.next(now),
        name: body.name.clone(),
        url: body.url.clone(),
        min_severity: route.min_severity.map(|s| s.as_str().to_owned()),
        kinds: route.kinds_text(),
        created_ms: now.0,
        last_success_ms: None,
        last_error: None,
        last_error_ms: None,
        failures: 0,
    };
    let entry = audit::AuditEntry {
        id: state.ids.next(now),
        at_ms: now.0,
        principal: caller.name.clone(),
        action: "receiver.create".into(),
        target: format!("receiver:{}", row.name),
        detail: Some(row.url.clone()),
    };
    let stored = row.clone();
    state
        .store
        .write(move |c| {
            receivers::insert(c, &stored)?;
            audit::insert(c, &entry)
        })
        .await
        .map_err(|e| match e {
            crate::store::StoreError::Conflict(_) => {
                ApiError::Conflict(format!("a receiver named {} exists", body.name))
            }
            other => other.into(),
        })?;
    reload(&state).await?;
    log::info!("receiver added name={} url={} by={}", row.name, row.url, caller.name);
    Ok(HttpResponse::Created().json(ReceiverView::of(row, 0)))
}

/// Lists the webhook receivers with their health.
///
/// Each with what it is still owed (`pending`), its failed attempts since the last accepted
/// delivery, and its last success and last error.
///
/// **Role:** admin.
#[utoipa::path(
    get,
    path = "/api/v1/receivers",
    operation_id = "list_receivers",
    tag = "receivers",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "every receiver", body = Vec<ReceiverView>),
        (status = 403, description = "the token is not an admin's"),
        (status = 503, description = "the store is unavailable"),
    )
)]
pub async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Admin)?;
    let (rows, pending) = state
        .store
        .read(|c| Ok((receivers::all(c)?, receivers::pending_counts(c)?)))
        .await?;
    let views: Vec<ReceiverView> = rows
        .into_iter()
        .map(|row| {
            let owed = pending.iter().find(|(id, _)| *id == row.id).map_or(0, |(_, n)| *n);
            ReceiverView::of(row, owed)
        })
        .collect();
    Ok(HttpResponse::Ok().json(views))
}

/// Removes a webhook receiver.
///
/// It is sent nothing more, and what it was still owed is dropped. Audited.
///
/// **Role:** admin.
#[utoipa::path(
    delete,
    path = "/api/v1/receivers/{id}",
    operation_id = "delete_receiver",
    tag = "receivers",
    params(("id" = i64, Path, description = "the receiver's id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "removed"),
        (status = 403, description = "the token is not an admin's"),
        (status = 404, description = "no such receiver"),
        (status = 503, description = "the store is unavailable"),
    )
)]
pub async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Admin)?;
    let raw = id.into_inner();
    let id: i64 = raw
        .parse()
        .map_err(|_| ApiError::NotFound(format!("no receiver {raw}")))?;
    let now = state.clock.now();
    let entry = audit::AuditEntry {
        id: state.ids.next(now),
        at_ms: now.0,
        principal: caller.name.clone(),
        action: "receiver.delete".into(),
        target: format!("receiver:{id}"),
        detail: None,
    };
    let removed = state
        .store
        .write(move |c| {
            let removed = receivers::delete(c, id)?;
            if removed {
                audit::insert(c, &entry)?;
            }
            Ok(removed)
        })
        .await?;
    if !removed {
        return Err(ApiError::NotFound(format!("no receiver {id}")));
    }
    reload(&state).await?;
    Ok(HttpResponse::NoContent().finish())
}
