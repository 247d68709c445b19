//! `POST /api/v1/auth/token`: a password for a token.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ApiError;
use super::AppState;
use crate::auth::{password, AuthError, Claims, Role, DEFAULT_TTL};
use crate::store::models::users;

#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// A JWT for the `Authorization: Bearer` header.
    pub access_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until the token expires.
    pub expires_in: u64,
}

/// Logs in.
///
/// A user's password for a token carrying the user's role.
///
/// **Role:** none; no token needed.
#[utoipa::path(
    post,
    path = "/api/v1/auth/token",
    operation_id = "issue_token",
    tag = "auth",
    responses(
        (status = 200, description = "the token", body = TokenResponse),
        (status = 401, description = "unknown user or wrong password"),
        (status = 503, description = "the store is unavailable"),
    )
)]
pub async fn issue(state: web::Data<AppState>, body: web::Json<TokenRequest>) -> Result<HttpResponse, ApiError> {
    let TokenRequest {
        username,
        password: given,
    } = body.into_inner();
    let name = username.clone();
    let user = state.store.read(move |c| users::find(c, &name)).await?;
    // Verify even for an unknown user, so timing does not tell which usernames exist.
    let (hash, role) = match &user {
        Some(u) => (u.password_hash.clone(), u.role.parse::<Role>().ok()),
        None => (password::hash("not-a-user"), None),
    };
    let ok = web::block(move || password::verify(&given, &hash)).await?;
    let role = match (ok, role) {
        (true, Some(role)) => role,
        _ => {
            log::warn!("login refused username={username:?}");
            return Err(AuthError::BadCredentials.into());
        }
    };
    let claims = Claims::new(&username, role, state.clock.now(), DEFAULT_TTL);
    let token = state.keys.issue(&claims)?;
    log::info!("login username={username:?} role={role}");
    Ok(HttpResponse::Ok().json(TokenResponse {
        access_token: token,
        token_type: "Bearer",
        expires_in: DEFAULT_TTL.as_secs(),
    }))
}
