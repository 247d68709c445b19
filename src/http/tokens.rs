//! `POST /api/v1/auth/token`: a password for a token.

use std::sync::LazyLock;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ApiError;
use super::login_guard::{shown, LoginFailed, LoginSucceeded};
use super::AppState;
use crate::auth::{password, AuthError, Claims, Role, DEFAULT_TTL};
use crate::store::models::users;

/// What an unknown user's login is verified against.
static UNKNOWN_USER_HASH: LazyLock<String> = LazyLock::new(|| password::hash("not-a-user"));

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
/// Throttled: after a few attempts in a row from one client address or for one username, further
/// attempts wait, each wait doubling (1 s, 2 s, ... up to `KWANJE_LOGIN_MAX_DELAY_MS`), and are
/// answered 429 with `Retry-After` until it passes; a success clears the count. Password checks
/// run one at a time; when too many are already waiting, 503 with `Retry-After`.
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
        (status = 403, description = "the password is right but the account is disabled"),
        (status = 429, description = "too many attempts from this address or for this username: retry after `Retry-After` seconds"),
        (status = 503, description = "the store is unavailable, or too many logins are being checked at once"),
    )
)]
pub async fn issue(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<TokenRequest>,
) -> Result<HttpResponse, ApiError> {
    let TokenRequest {
        username,
        password: given,
    } = body.into_inner();
    let addr = state.logins.admit(&req, &username).await?;
    // The token is stamped with the moment the user's row was read, not the (possibly much later)
    // end of the password check: a role change or password change that commits meanwhile
    // revokes the tokens issued up to its moment, this one included.
    let read_at = state.clock.now();
    let name = username.clone();
    let user = state.store.read(move |c| users::find(c, &name)).await?;
    // Verify even for an unknown user (against a hash made once), so timing does not tell which
    // usernames exist; argon2 runs on the blocking pool, one check at a time, never on the worker.
    let (hash, role, disabled) = match &user {
        Some(u) => (Some(u.password_hash.clone()), u.role.parse::<Role>().ok(), u.disabled),
        None => (None, None, false),
    };
    let ok = state
        .logins
        .checks
        .run(move || {
            let hash = hash.as_deref().unwrap_or_else(|| UNKNOWN_USER_HASH.as_str());
            password::verify(&given, hash)
        })
        .await??;
    let role = match (ok, role) {
        (true, Some(role)) => role,
        _ => {
            state.logins.guard.do_send(LoginFailed {
                addr,
                username: username.clone(),
            });
            log::warn!("login refused username={:?} addr={addr}", shown(&username));
            return Err(AuthError::BadCredentials.into());
        }
    };
    state.logins.guard.do_send(LoginSucceeded {
        addr,
        username: username.clone(),
    });
    // Told only to whoever knows the password.
    if disabled {
        log::warn!(
            "login refused username={:?} addr={addr} reason=disabled",
            shown(&username)
        );
        return Err(ApiError::Forbidden(format!(
            "the account {} is disabled",
            shown(&username)
        )));
    }
    let claims = Claims::new(&username, role, read_at, DEFAULT_TTL);
    let token = state.keys.issue(&claims)?;
    log::info!("login username={:?} role={role}", shown(&username));
    Ok(HttpResponse::Ok().json(TokenResponse {
        access_token: token,
        token_type: "Bearer",
        expires_in: DEFAULT_TTL.as_secs(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An unknown user's login must cost a real argon2 verification: a hash that did not parse
    /// would answer at once and tell which usernames exist. (The login is refused anyway: an
    /// unknown user has no role.)
    #[test]
    fn an_unknown_users_login_runs_a_real_verification() {
        assert!(password::verify("not-a-user", &UNKNOWN_USER_HASH));
        assert!(!password::verify("admin", &UNKNOWN_USER_HASH));
    }
}
