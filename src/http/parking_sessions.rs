//! `/api/v1/parking/lpr` and `/api/v1/parking/sessions`: lane readings in (the HTTP form of
//! `SEND /app/lpr`), parking sessions found by plate or ticket, payments from the kiosks, and
//! an operator's lost-ticket close.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::commands::IDEMPOTENCY_KEY;
use super::error::ApiError;
use super::extract::Caller;
use super::AppState;
use crate::auth::Role;
use crate::parking::core::lpr::LprBody;
use crate::parking::core::report::Reporter;
use crate::parking::core::session::Payment;
use crate::parking::core::session_view::{LaneAnswer, Receipt, SessionView};

/// Longest payment method, reference or lost-ticket reason accepted.
pub const MAX_TEXT_LEN: usize = 128;

/// Clients (kiosks, gate PCs) and staff from operator up; viewers only look.
fn require_client_or(caller: &Caller, floor: Role) -> Result<(), ApiError> {
    if caller.role == Role::Client {
        return Ok(());
    }
    caller.require(floor)?;
    Ok(())
}

/// Reports a lane camera's reading.
///
/// The same body as `SEND /app/lpr`. An entry opens a session (a plate below the confidence
/// threshold, or `plate: null`, opens it in ticket mode: print `ticket`); an exit of a car that
/// owes nothing sends `open_gate` to the lane's gate (`outcome: released`, with the command);
/// a car that owes is `held` with the fee `due`; an exit with no session is `unmatched`.
///
/// **Role:** the client hosting the camera, or admin.
#[utoipa::path(
    post,
    path = "/api/v1/parking/lpr",
    operation_id = "report_lane_reading",
    tag = "parking",
    security(("bearer" = [])),
    request_body = LprBody,
    responses(
        (status = 200, description = "what the reading did", body = LaneAnswer),
        (status = 400, description = "the body is not the documented JSON"),
        (status = 403, description = "not a client or admin, or the camera is hosted by another client"),
        (status = 422, description = "the camera is not a registered lpr_camera with a lane, or a field is out of range"),
        (status = 503, description = "parking control is unavailable"),
    )
)]
pub async fn lane_reading(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let who = match (caller.role, caller.client.as_deref()) {
        (Role::Admin, _) => Reporter::Admin,
        (Role::Client, Some(client)) => Reporter::Client(client),
        _ => {
            return Err(ApiError::Forbidden(format!(
                "lane readings are reported by the client hosting the camera; the token has {}",
                caller.role
            )))
        }
    };
    let answer = state.parking.lane_reading(who, &body).await?;
    Ok(HttpResponse::Ok().json(answer))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SessionQuery {
    /// The plate as the kiosk's customer types it (spaces and hyphens do not matter).
    pub plate: Option<String>,
    /// Or the printed ticket number (ticket mode).
    pub ticket: Option<String>,
}

/// The open session of a plate or ticket, with the fee due now.
///
/// `due` is what the exit wants now: the zone's tariff for the stay less what was paid, or 0
/// within the grace after paying in full (until `exit_by_ms`).
///
/// **Role:** a client (kiosk), or operator and above.
#[utoipa::path(
    get,
    path = "/api/v1/parking/sessions",
    operation_id = "find_parking_session",
    params(SessionQuery),
    tag = "parking",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the open session", body = SessionView),
        (status = 400, description = "neither plate nor ticket, or both"),
        (status = 403, description = "a viewer's or driver's token"),
        (status = 404, description = "no open session for it"),
        (status = 422, description = "not a plate or ticket number"),
    )
)]
pub async fn find(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<SessionQuery>,
) -> Result<HttpResponse, ApiError> {
    require_client_or(&caller, Role::Operator)?;
    let key = match query.into_inner() {
        SessionQuery {
            plate: Some(k),
            ticket: None,
        }
        | SessionQuery {
            plate: None,
            ticket: Some(k),
        } => k,
        _ => return Err(ApiError::BadRequest("name either ?plate= or ?ticket=".into())),
    };
    match state.parking.open_session(&key).await? {
        Some(view) => Ok(HttpResponse::Ok().json(view)),
        None => Err(ApiError::NotFound(format!("no open parking session for {key:?}"))),
    }
}

/// A session by id, open or closed.
///
/// **Role:** a client (kiosk), or viewer and above.
#[utoipa::path(
    get,
    path = "/api/v1/parking/sessions/{id}",
    operation_id = "show_parking_session",
    params(("id" = i64, Path, description = "the session")),
    tag = "parking",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the session", body = SessionView),
        (status = 404, description = "no such session"),
    )
)]
pub async fn show(state: web::Data<AppState>, caller: Caller, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    require_client_or(&caller, Role::Viewer)?;
    let id = id.into_inner();
    match state.parking.session(id).await? {
        Some(view) => Ok(HttpResponse::Ok().json(view)),
        None => Err(ApiError::NotFound(format!("no parking session {id}"))),
    }
}

/// What a kiosk's card terminal took.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPayment {
    /// In the currency's minor unit (won), at least 1.
    pub amount: u64,
    /// `card`, `cash`, `mobile`, ... (1 to 128 characters).
    pub method: String,
    /// The card terminal's own reference, for reconciliation.
    #[serde(default)]
    pub reference: Option<String>,
}

fn text(what: &str, value: &str) -> Result<(), ApiError> {
    if value.trim().is_empty() || value.chars().count() > MAX_TEXT_LEN {
        return Err(ApiError::Unprocessable(format!(
            "{what} must be 1 to {MAX_TEXT_LEN} characters"
        )));
    }
    Ok(())
}

/// Records a payment for an open session.
///
/// `Idempotency-Key` is required: a repeat with the same key (a kiosk retrying after a lost
/// answer) is the same payment (`replay: true`, 200), never a second charge, even after the
/// car left. A short payment leaves the rest due. A payment that settles a car held at an exit
/// opens that exit's gate. Answered once the payment is stored; 503 means it is not, and the
/// kiosk retries with the same key.
///
/// **Role:** a client (kiosk), or operator and above.
#[utoipa::path(
    post,
    path = "/api/v1/parking/sessions/{id}/payments",
    operation_id = "pay_parking_session",
    params(
        ("id" = i64, Path, description = "the session"),
        ("Idempotency-Key" = String, Header, description = "one payment per key, ever"),
    ),
    tag = "parking",
    security(("bearer" = [])),
    request_body = NewPayment,
    responses(
        (status = 201, description = "recorded", body = Receipt),
        (status = 200, description = "the payment this key recorded before", body = Receipt),
        (status = 400, description = "no Idempotency-Key, or the body is not the documented JSON"),
        (status = 403, description = "a viewer's or driver's token"),
        (status = 409, description = "the session is not open"),
        (status = 422, description = "amount 0, a bad method or reference, or a key used for another payment"),
        (status = 503, description = "not stored: retry with the same Idempotency-Key"),
    )
)]
pub async fn pay(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
    body: web::Json<NewPayment>,
) -> Result<HttpResponse, ApiError> {
    require_client_or(&caller, Role::Operator)?;
    let key = match req.headers().get(IDEMPOTENCY_KEY) {
        None => return Err(ApiError::BadRequest("a payment needs an Idempotency-Key header".into())),
        Some(v) => v
            .to_str()
            .map_err(|_| ApiError::BadRequest("Idempotency-Key must be text".into()))?
            .trim()
            .to_owned(),
    };
    text("Idempotency-Key", &key)?;
    let body = body.into_inner();
    text("method", &body.method)?;
    if let Some(reference) = &body.reference {
        text("reference", reference)?;
    }
    let now = state.parking.now();
    let payment = Payment {
        id: state.ids.next(now),
        session_id: id.into_inner(),
        amount: body.amount,
        method: body.method,
        reference: body.reference,
        key,
        by: caller.client.clone().unwrap_or_else(|| caller.name.clone()),
        at_ms: now,
    };
    let receipt = state.parking.pay(payment).await?;
    Ok(if receipt.replay {
        HttpResponse::Ok().json(receipt)
    } else {
        HttpResponse::Created().json(receipt)
    })
}

/// Why an operator closes a session as a lost ticket.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LostTicket {
    #[serde(default)]
    pub reason: Option<String>,
}

/// Closes an open session as a lost ticket (audited); a car held at an exit is let out.
///
/// **Role:** operator and above.
#[utoipa::path(
    post,
    path = "/api/v1/parking/sessions/{id}/lost-ticket",
    operation_id = "close_parking_session_lost",
    params(("id" = i64, Path, description = "the session")),
    tag = "parking",
    security(("bearer" = [])),
    request_body = LostTicket,
    responses(
        (status = 200, description = "closed", body = SessionView),
        (status = 403, description = "below operator"),
        (status = 409, description = "the session is not open"),
    )
)]
pub async fn lost_ticket(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Option<web::Json<LostTicket>>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Operator)?;
    let reason = body.map(|b| b.into_inner().reason).unwrap_or_default();
    if let Some(r) = &reason {
        text("reason", r)?;
    }
    let view = state.parking.close_lost(id.into_inner(), &caller.name, reason).await?;
    Ok(HttpResponse::Ok().json(view))
}
