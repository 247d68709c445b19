//! Tokens for field equipment, provisioned by an admin over the API: `POST
//! /api/v1/clients/{id}/token` (a gate PC's or kiosk's) and `POST /api/v1/taxis/{plate}/token` (a
//! driver app's), the network forms of `kwanje token --role client|driver`, for `kwanje sim` and for
//! provisioning scripts that hold an admin token but not the signing key. Both are audited.

use std::time::Duration;

use actix_web::{web, HttpResponse};
use diesel::Connection;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::error::ApiError;
use super::extract::Caller;
use super::tokens::TokenResponse;
use super::AppState;
use crate::auth::{Claims, Role, DEFAULT_TTL};
use crate::ids::ClientId;
use crate::store::models::{audit, clients, revocations, taxis};
use crate::taxi::core::model::Plate;

/// The longest lifetime a provisioned token may have (a gate PC's token is long-lived).
pub const MAX_FIELD_TOKEN_TTL: Duration = Duration::from_secs(90 * 24 * 3_600);

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct FieldTokenRequest {
    /// Lifetime in milliseconds; default 1 hour, at most 90 days.
    pub ttl_ms: Option<u64>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ClientPath {
    /// The client's id.
    pub id: String,
}

/// Issues a client's token.
///
/// A JWT with role `client` and the `client` claim naming this registered gate PC or kiosk: what
/// it presents on CONNECT and on its HTTP heartbeats. Audited.
///
/// **Role:** admin.
#[utoipa::path(
    post,
    path = "/api/v1/clients/{id}/token",
    operation_id = "issue_client_token",
    params(ClientPath),
    request_body(content = Option<FieldTokenRequest>, content_type = "application/json"),
    tag = "clients",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the client's token", body = TokenResponse),
        (status = 403, description = "the token is not an admin's"),
        (status = 404, description = "no such client"),
        (status = 422, description = "ttl_ms is 0 or longer than 90 days"),
        (status = 503, description = "the store is unavailable"),
    )
)]
pub async fn client(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<ClientPath>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Admin)?;
    let ttl = ttl(&body)?;
    let id = registered_client(&state, &path.id).await?;
    let now = state.clock.now();
    let mut claims = Claims::new(&id.to_string(), Role::Client, now, ttl);
    claims.client = Some(id.to_string());
    issued(&state, &caller, "client.token", format!("client:{id}"), claims, ttl).await
}

/// The registered client `raw` names, or 404.
async fn registered_client(state: &AppState, raw: &str) -> Result<ClientId, ApiError> {
    let id: ClientId = raw
        .parse()
        .map_err(|_| ApiError::NotFound(format!("no client {raw}")))?;
    let name = id.to_string();
    match state.store.read(move |c| clients::find(c, &name)).await? {
        Some(_) => Ok(id),
        None => Err(ApiError::NotFound(format!("no client {id}"))),
    }
}

/// The registered taxi whose plate `raw` spells, or 404.
async fn registered_taxi(state: &AppState, raw: &str) -> Result<Plate, ApiError> {
    let plate = Plate::parse(raw).map_err(|_| ApiError::NotFound(format!("no taxi {raw}")))?;
    let key = plate.as_str().to_owned();
    match state.store.read(move |c| taxis::find(c, &key)).await? {
        Some(_) => Ok(plate),
        None => Err(ApiError::NotFound(format!("no taxi {plate}"))),
    }
}

/// Audits an issued token (`action` on `target`), signs `claims` and answers them.
async fn issued(
    state: &AppState,
    caller: &Caller,
    action: &str,
    target: String,
    claims: Claims,
    ttl: Duration,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let entry = audit::AuditEntry {
        id: state.ids.next(now),
        at_ms: now.0,
        principal: caller.name.clone(),
        action: action.into(),
        target: target.clone(),
        detail: Some(format!("ttl_ms={}", ttl.as_millis())),
    };
    state.store.write(move |c| audit::insert(c, &entry)).await?;
    let token = state.keys.issue(&claims)?;
    log::info!(
        "field token issued action={action} target={target} by={} ttl_ms={}",
        caller.name,
        ttl.as_millis()
    );
    Ok(HttpResponse::Ok().json(TokenResponse {
        access_token: token,
        token_type: "Bearer",
        expires_in: ttl.as_secs(),
    }))
}

/// The lifetime a request asks for: [`DEFAULT_TTL`] for an empty body.
fn ttl(body: &[u8]) -> Result<Duration, ApiError> {
    let request: FieldTokenRequest = if body.iter().all(u8::is_ascii_whitespace) {
        FieldTokenRequest::default()
    } else {
        serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("malformed JSON body: {e}")))?
    };
    Ok(match request.ttl_ms {
        None => DEFAULT_TTL,
        Some(ms) => {
            let ttl = Duration::from_millis(ms);
            if ms == 0 || ttl > MAX_FIELD_TOKEN_TTL {
                return Err(ApiError::Unprocessable(format!(
                    "ttl_ms must be 1 to {}",
                    MAX_FIELD_TOKEN_TTL.as_millis()
                )));
            }
            ttl
        }
    })
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct TaxiPath {
    /// The taxi's plate.
    pub plate: String,
}

/// Issues a driver's token.
///
/// A JWT with role `driver` and the `taxi` claim naming this registered taxi: what its driver app
/// presents for heartbeats, service-region choices and `/user/queue/dispatch`. Audited.
///
/// **Role:** admin.
#[utoipa::path(
    post,
    path = "/api/v1/taxis/{plate}/token",
    operation_id = "issue_driver_token",
    params(TaxiPath),
    request_body(content = Option<FieldTokenRequest>, content_type = "application/json"),
    tag = "taxis",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the driver's token", body = TokenResponse),
        (status = 403, description = "the token is not an admin's"),
        (status = 404, description = "no such taxi"),
        (status = 422, description = "ttl_ms is 0 or longer than 90 days"),
        (status = 503, description = "the store is unavailable"),
    )
)]
pub async fn driver(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<TaxiPath>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Admin)?;
    let ttl = ttl(&body)?;
    let plate = registered_taxi(&state, &path.plate).await?;
    let now = state.clock.now();
    let mut claims = Claims::new(&format!("driver-{plate}"), Role::Driver, now, ttl);
    claims.taxi = Some(plate.as_str().to_owned());
    issued(&state, &caller, "taxi.token", format!("taxi:{plate}"), claims, ttl).await
}

/// What a revocation answers.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct Revoked {
    /// `client:{id}` or `taxi:{plate}`.
    pub subject: String,
    /// Tokens issued at or before this moment are refused; one issued after it counts.
    pub revoked_before_ms: i64,
}

/// Revokes every token of `subject` issued so far, closes the sessions opened with one, audits
/// it (`action` on the subject) and answers it.
async fn revoke(
    state: &AppState,
    caller: &Caller,
    action: &str,
    subject: crate::auth::Subject,
    user: &str,
) -> Result<HttpResponse, ApiError> {
    let why = format!("the tokens of {subject} were revoked by {}", caller.name);
    let before = state.accounts.now();
    let entry = audit::AuditEntry {
        id: state.ids.next(before),
        at_ms: before.0,
        principal: caller.name.clone(),
        action: action.into(),
        target: subject.to_string(),
        detail: Some(format!("revoked_before_ms={}", before.0)),
    };
    let (stored, reason) = (subject.as_str().to_owned(), why.clone());
    // The revocation and its audit entry commit together.
    state
        .store
        .write(move |c| {
            c.transaction(|c| {
                revocations::revoke(c, &stored, before.0, &reason)?;
                audit::insert(c, &entry)
            })
        })
        .await?;
    state.accounts.revoked(subject.clone(), user, before, why);
    Ok(HttpResponse::Ok().json(Revoked {
        subject: subject.to_string(),
        revoked_before_ms: before.0,
    }))
}

/// Revokes a client's tokens.
///
/// Every token issued to this gate PC or kiosk until now is refused from now on: its HTTP
/// requests get 401 and its open STOMP sessions an ERROR frame saying why, then close (within a
/// second at the other nodes of a cluster). A token issued afterwards (`POST .../token`) works.
/// A client certificate (`KWANJE_TLS_CLIENT_CERT`) is not a token and is not revoked. Audited.
///
/// **Role:** admin.
#[utoipa::path(
    delete,
    path = "/api/v1/clients/{id}/token",
    operation_id = "revoke_client_tokens",
    params(ClientPath),
    tag = "clients",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "revoked", body = Revoked),
        (status = 403, description = "the token is not an admin's"),
        (status = 404, description = "no such client"),
        (status = 503, description = "the store is unavailable"),
    )
)]
pub async fn revoke_client(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<ClientPath>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Admin)?;
    let id = registered_client(&state, &path.id).await?;
    let subject = crate::auth::Subject::client(&id.to_string());
    revoke(&state, &caller, "client.token.revoked", subject, &id.to_string()).await
}

/// Revokes a driver's tokens.
///
/// Every token issued for this taxi's driver app until now is refused from now on, on HTTP and
/// on open STOMP sessions (an ERROR frame saying why); a token issued afterwards works. Audited.
///
/// **Role:** admin.
#[utoipa::path(
    delete,
    path = "/api/v1/taxis/{plate}/token",
    operation_id = "revoke_driver_tokens",
    params(TaxiPath),
    tag = "taxis",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "revoked", body = Revoked),
        (status = 403, description = "the token is not an admin's"),
        (status = 404, description = "no such taxi"),
        (status = 503, description = "the store is unavailable"),
    )
)]
pub async fn revoke_driver(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<TaxiPath>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Admin)?;
    let plate = registered_taxi(&state, &path.plate).await?;
    let subject = crate::auth::Subject::taxi(plate.as_str());
    revoke(&state, &caller, "taxi.token.revoked", subject, plate.as_str()).await
}
