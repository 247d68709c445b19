//! `/api/v1/provision`: a whole site's clients, devices and taxis in one sheet: applied as an
//! idempotent upsert in one transaction (or only planned, `?dry_run=true`), and exported in the
//! same form.

use actix_web::http::header::{self, ContentType};
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, PROBLEM_CONTENT_TYPE};
use super::extract::Caller;
use super::AppState;
use crate::auth::Role;
use crate::provision::plan::Summary;
use crate::provision::service::devices_touched;
use crate::provision::sheet::{Lines, RowError};
use crate::provision::{ProvisionError, Provisioner, Sheet};

/// Largest sheet accepted: some 100,000 rows.
pub const MAX_SHEET_BYTES: usize = 32 * 1024 * 1024;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProvisionQuery {
    /// `true`: change nothing, answer what would change.
    pub dry_run: Option<bool>,
}

/// What a sheet changed (or, in a dry run, would change).
#[derive(Debug, Serialize, ToSchema)]
pub struct ProvisionAnswer {
    pub dry_run: bool,
    #[serde(flatten)]
    pub summary: Summary,
}

/// A sheet refused: problem+json with every bad row.
#[derive(Debug, Serialize)]
pub struct SheetRefused {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub errors: Vec<RowError>,
}

fn provisioner(state: &AppState) -> Provisioner {
    Provisioner {
        store: state.store.clone(),
        devices: state.devices.clone(),
        taxis: state.taxis.clone(),
        clock: state.clock.clone(),
        ids: state.ids.clone(),
    }
}

fn refused(errors: Vec<RowError>) -> HttpResponse {
    let body = SheetRefused {
        kind: "urn:kwanje:problem:unprocessable".into(),
        title: "Invalid request".into(),
        status: 422,
        detail: format!("{} rows of the sheet are refused; nothing was applied", errors.len()),
        errors,
    };
    HttpResponse::UnprocessableEntity()
        .content_type(PROBLEM_CONTENT_TYPE)
        .json(body)
}

/// Whether the request's body (or wanted answer) is CSV, by its media type.
fn is_csv(value: Option<&header::HeaderValue>) -> bool {
    value.and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(';')
            .next()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("text/csv"))
    })
}

async fn read_body(mut payload: web::Payload) -> Result<web::BytesMut, ApiError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("the body could not be read: {e}")))?;
        if body.len() + chunk.len() > MAX_SHEET_BYTES {
            return Err(ApiError::BadRequest(format!(
                "the sheet is larger than {MAX_SHEET_BYTES} bytes; split it"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Provisions a site from a sheet.
///
/// Clients, devices (with their standby pairs) and taxis, as JSON (`{clients, devices, taxis}`,
/// each row as its `POST` takes it) or as CSV (`Content-Type: text/csv`, one table with a `type`
/// column: `client`, `device` or `taxi`). Every row is checked first, against the sheet and what
/// is registered: one bad row and nothing is applied (422 with every bad row and why). Otherwise
/// an idempotent upsert in one transaction: what is missing is registered, what differs is
/// edited as `PATCH` edits it (a device's live actor takes it without a restart), what is the
/// same is left; a second run changes nothing. `?dry_run=true` changes nothing and answers what
/// would change. Audited row by row. In cluster mode a sheet with taxis is refused (register
/// taxis with `POST /api/v1/taxis`, which reaches each one's owner).
///
/// **Role:** admin.
#[utoipa::path(
    post,
    path = "/api/v1/provision",
    operation_id = "provision",
    tag = "provisioning",
    params(ProvisionQuery),
    request_body(content = Sheet, description = "the sheet, as JSON or as CSV (`text/csv`)"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "applied (or, in a dry run, what would be)", body = ProvisionAnswer),
        (status = 400, description = "a malformed JSON or CSV body, or larger than 32 MiB"),
        (status = 403, description = "the token is not an admin's"),
        (status = 422, description = "bad rows; nothing applied. The problem adds `errors`: `[{row, id?, error}]`, each row by its place (`devices[3]` in JSON, `line 7` in CSV) with why"),
        (status = 503, description = "the store is unavailable; nothing applied"),
    )
)]
pub async fn provision(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    query: web::Query<ProvisionQuery>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Admin)?;
    let body = read_body(payload).await?;
    let (sheet, lines) = if is_csv(req.headers().get(header::CONTENT_TYPE)) {
        match Sheet::from_csv(&body) {
            Ok(read) => read,
            Err(errors) => return Ok(refused(errors)),
        }
    } else {
        let sheet: Sheet =
            serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest(format!("malformed sheet: {e}")))?;
        (sheet, Lines::default())
    };
    if state.cluster.is_some() && !sheet.taxis.is_empty() {
        return Err(ApiError::Unprocessable(
            "in cluster mode a sheet cannot register taxis: register each with POST /api/v1/taxis".into(),
        ));
    }
    let dry_run = query.dry_run.unwrap_or(false);
    let done = match provisioner(&state).provision(sheet, lines, dry_run, &caller.name).await {
        Ok(done) => done,
        Err(ProvisionError::Rows(errors)) => return Ok(refused(errors)),
        Err(ProvisionError::Store(e)) => return Err(e.into()),
    };
    if let (Some(node), false) = (&state.cluster, done.dry_run) {
        for id in devices_touched(&done.summary) {
            node.announce_device(&id);
        }
    }
    Ok(HttpResponse::Ok().json(ProvisionAnswer {
        dry_run: done.dry_run,
        summary: done.summary,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `csv` for the CSV form (as does `Accept: text/csv`); JSON otherwise.
    pub format: Option<String>,
}

/// Exports the site as a sheet.
///
/// Every client, device and taxi in service, in the form `POST /api/v1/provision` takes: JSON,
/// or CSV with `?format=csv` or `Accept: text/csv`. Provisioning another server with it
/// registers the same site; provisioning this one with it changes nothing.
///
/// **Role:** admin.
#[utoipa::path(
    get,
    path = "/api/v1/provision",
    operation_id = "export_site",
    tag = "provisioning",
    params(ExportQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the sheet (JSON, or CSV as `text/csv`)", body = Sheet),
        (status = 403, description = "the token is not an admin's"),
        (status = 422, description = "an unknown format"),
        (status = 503, description = "the store is unavailable"),
    )
)]
pub async fn export(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Admin)?;
    let csv = match query.format.as_deref() {
        Some("csv") => true,
        Some("json") => false,
        Some(other) => {
            return Err(ApiError::Unprocessable(format!(
                "format must be csv or json, not {other:?}"
            )));
        }
        None => is_csv(req.headers().get(header::ACCEPT)),
    };
    let sheet = provisioner(&state).export().await?;
    if csv {
        let text = sheet.to_csv().map_err(|e| ApiError::Internal(e.to_string()))?;
        return Ok(HttpResponse::Ok().content_type("text/csv; charset=utf-8").body(text));
    }
    Ok(HttpResponse::Ok().content_type(ContentType::json()).json(json!(sheet)))
}
