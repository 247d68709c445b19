//! `/api/v1/users`: operator accounts. An admin creates, lists, changes the role of and
//! disables users; anyone with an account changes their own password. A role change, a
//! disabling and a password change revoke the user's earlier tokens at once, on HTTP and on open
//! STOMP sessions ([`crate::accounts`]). Each change is audited.

use actix_web::{web, HttpRequest, HttpResponse};
use diesel::Connection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::ApiError;
use super::extract::Caller;
use super::login_guard::{LoginFailed, LoginSucceeded};
use super::tokens::TokenResponse;
use super::AppState;
use crate::auth::{password, Claims, Role, Subject, DEFAULT_TTL};
use crate::store::models::{audit, revocations, users};

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password accepted (argon2 hashes any length; this bounds the work a request asks).
pub const MAX_PASSWORD_BYTES: usize = 1_024;
/// Longest username.
pub const MAX_USERNAME_CHARS: usize = 64;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub username: String,
    pub password: String,
    /// `admin`, `operator` or `viewer`.
    pub role: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    /// `admin`, `operator` or `viewer`.
    pub role: Option<String>,
    /// A disabled user cannot log in, and every token it holds is refused at once.
    pub disabled: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub old_password: String,
    pub new_password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub username: String,
    pub role: String,
    pub disabled: bool,
    pub created_ms: i64,
}

impl From<users::User> for UserView {
    fn from(u: users::User) -> Self {
        UserView {
            username: u.username,
            role: u.role,
            disabled: u.disabled,
            created_ms: u.created_ms,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    pub items: Vec<UserView>,
    /// Always `null`: every user is on one page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct UserPath {
    /// The username.
    pub username: String,
}

/// A role a user may have: an operator ladder role, not `client` or `driver`.
fn user_role(raw: &str) -> Result<Role, ApiError> {
    match raw.parse::<Role>() {
        Ok(role @ (Role::Admin | Role::Operator | Role::Viewer)) => Ok(role),
        _ => Err(ApiError::Unprocessable(format!(
            "role must be admin, operator or viewer, not {raw:?}"
        ))),
    }
}

fn check_username(name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_USERNAME_CHARS
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::Unprocessable(format!(
            "username must be 1 to {MAX_USERNAME_CHARS} letters, digits, '.', '_', '-' or '@'"
        )))
    }
}

fn check_password(password: &str) -> Result<(), ApiError> {
    if password.chars().count() < MIN_PASSWORD_CHARS || password.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::Unprocessable(format!(
            "a password must be at least {MIN_PASSWORD_CHARS} characters and at most {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    Ok(())
}

/// The audit entry of `action` on `username`, written in the same transaction as the change.
fn audit_entry(state: &AppState, caller: &Caller, action: &str, username: &str, detail: String) -> audit::AuditEntry {
    let now = state.clock.now();
    audit::AuditEntry {
        id: state.ids.next(now),
        at_ms: now.0,
        principal: caller.name.clone(),
        action: action.into(),
        target: format!("user:{username}"),
        detail: Some(detail),
    }
}

/// Creates a user.
///
/// A username (letters, digits, `.`, `_`, `-`, `@`; at most 64), a password of at least 8
/// characters (stored as an argon2 hash) and a role (`admin`, `operator`, `viewer`). Audited.
///
/// **Role:** admin.
#[utoipa::path(
    post,
    path = "/api/v1/users",
    operation_id = "create_user",
    request_body = NewUser,
    tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 201, description = "created", body = UserView),
        (status = 400, description = "malformed JSON, or an unknown field"),
        (status = 403, description = "the token is not an admin's"),
        (status = 409, description = "the username is taken"),
        (status = 422, description = "bad username, short password, or a role that is not admin, operator or viewer"),
        (status = 503, description = "the store is unavailable, or too many password checks are running"),
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<NewUser>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Admin)?;
    let NewUser {
        username,
        password: given,
        role,
    } = body.into_inner();
    check_username(&username)?;
    check_password(&given)?;
    let role = user_role(&role)?;
    let hash = state.logins.checks.run(move || password::hash(&given)).await??;
    let user = users::User {
        username: username.clone(),
        password_hash: hash,
        role: role.as_str().into(),
        created_ms: state.clock.now().0,
        disabled: false,
    };
    let row = user.clone();
    let name = username.clone();
    let entry = audit_entry(&state, &caller, "user.created", &username, format!("role={role}"));
    let created = state
        .store
        .write(move |c| {
            c.transaction(|c| {
                if users::find(c, &name)?.is_some() {
                    return Ok(false);
                }
                users::insert(c, &row)?;
                audit::insert(c, &entry)?;
                Ok(true)
            })
        })
        .await?;
    if !created {
        return Err(ApiError::Conflict(format!("a user {username} exists already")));
    }
    log::info!("user created username={username:?} role={role} by={:?}", caller.name);
    Ok(HttpResponse::Created().json(UserView::from(user)))
}

/// Lists users.
///
/// Every user, by username, with its role and whether it is disabled (never a password hash).
///
/// **Role:** admin.
#[utoipa::path(
    get,
    path = "/api/v1/users",
    operation_id = "list_users",
    tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the users", body = UserList),
        (status = 403, description = "the token is not an admin's"),
        (status = 503, description = "the store is unavailable"),
    )
)]
pub async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Admin)?;
    let all = state.store.read(users::all).await?;
    Ok(HttpResponse::Ok().json(UserList {
        items: all.into_iter().map(UserView::from).collect(),
        next_cursor: None,
    }))
}

/// Changes a user's role, or disables or enables it.
///
/// A role change or a disabling revokes every token the user holds at once: HTTP requests with
/// one get 401, and open STOMP sessions opened with one get an ERROR frame saying why and are
/// closed (within a second at the other nodes of a cluster). The user logs in again for a token
/// with the new role. The last enabled admin can be neither demoted nor disabled. Audited.
///
/// **Role:** admin.
#[utoipa::path(
    patch,
    path = "/api/v1/users/{username}",
    operation_id = "update_user",
    params(UserPath),
    request_body = UserChange,
    tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the user as changed", body = UserView),
        (status = 400, description = "malformed JSON, or an unknown field"),
        (status = 403, description = "the token is not an admin's"),
        (status = 404, description = "no such user"),
        (status = 409, description = "it would leave no enabled admin"),
        (status = 422, description = "neither role nor disabled given, or a bad role"),
        (status = 503, description = "the store is unavailable"),
    )
)]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<UserPath>,
    body: web::Json<UserChange>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Admin)?;
    let change = body.into_inner();
    if change.role.is_none() && change.disabled.is_none() {
        return Err(ApiError::Unprocessable("give role, disabled, or both".into()));
    }
    let role = change.role.as_deref().map(user_role).transpose()?;
    let username = path.into_inner().username;
    let name = username.clone();
    let before_ms = state.accounts.now();
    let (subject, entry_state, entry_caller) = (Subject::user(&username), state.clone(), caller.clone());
    let outcome = state
        .store
        .write(move |c| {
            c.transaction(|c| {
                let Some(user) = users::find(c, &name)? else {
                    return Ok(Err(ApiError::NotFound(format!("no user {name}"))));
                };
                let role = role.map_or(user.role.clone(), |r| r.as_str().to_owned());
                let disabled = change.disabled.unwrap_or(user.disabled);
                let stays_admin = role == Role::Admin.as_str() && !disabled;
                if !stays_admin && crate::accounts::admins_left_without(c, &name)? == 0 {
                    return Ok(Err(ApiError::Conflict(format!(
                        "{name} is the last enabled admin: make another admin first"
                    ))));
                }
                users::set_role_and_disabled(c, &name, &role, disabled)?;
                // The revocation and the audit entry commit with the change, or none of them.
                let why = revocation_reason(&name, &user, &role, disabled);
                if let Some(why) = &why {
                    revocations::revoke(c, subject.as_str(), before_ms.0, why)?;
                }
                let detail = format!("role={role} disabled={disabled}");
                audit::insert(
                    c,
                    &audit_entry(&entry_state, &entry_caller, "user.updated", &name, detail),
                )?;
                let after = users::User {
                    role,
                    disabled,
                    ..user.clone()
                };
                Ok(Ok((after, why)))
            })
        })
        .await??;
    let (after, why) = outcome;
    if let Some(why) = why {
        state
            .accounts
            .revoked(Subject::user(&username), &username, before_ms, why);
    }
    state.accounts.set_disabled(&username, after.disabled);
    log::info!(
        "user updated username={username:?} role={} disabled={} by={:?}",
        after.role,
        after.disabled,
        caller.name
    );
    Ok(HttpResponse::Ok().json(UserView::from(after)))
}

/// Why `user`'s earlier tokens stop, if they do: a disabling, or a role change.
fn revocation_reason(name: &str, user: &users::User, role: &str, disabled: bool) -> Option<String> {
    if disabled && !user.disabled {
        Some(format!("the account {name} is disabled"))
    } else if role != user.role {
        Some(format!("the role of {name} changed to {role}"))
    } else {
        None
    }
}

/// Changes the caller's own password.
///
/// The old password and a new one of at least 8 characters. Every token issued to the caller
/// before is revoked (other browsers and sessions must log in again), and the answer carries a
/// fresh token. A wrong old password counts as a failed login (throttled the same way). Audited.
///
/// **Role:** any user (admin, operator, viewer) with an account; a token made with `kwanje
/// token` for a name that has no account gets 404.
#[utoipa::path(
    post,
    path = "/api/v1/users/me/password",
    operation_id = "change_own_password",
    request_body = PasswordChange,
    tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "changed: a fresh token", body = TokenResponse),
        (status = 400, description = "malformed JSON, or an unknown field"),
        (status = 403, description = "the old password does not match, or the token is a client's or driver's"),
        (status = 404, description = "the token's name has no account"),
        (status = 422, description = "the new password is too short or too long"),
        (status = 429, description = "too many failed attempts: retry after `Retry-After` seconds"),
        (status = 503, description = "the store is unavailable, or too many password checks are running"),
    )
)]
pub async fn change_password(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<PasswordChange>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Viewer)?;
    let PasswordChange {
        old_password,
        new_password,
    } = body.into_inner();
    check_password(&new_password)?;
    let username = caller.name.clone();
    let name = username.clone();
    let Some(user) = state.store.read(move |c| users::find(c, &name)).await? else {
        return Err(ApiError::NotFound(format!(
            "{username} has no account (a token made with `kwanje token` has no password to change)"
        )));
    };
    let addr = state.logins.admit(&req, &username).await?;
    let hash = user.password_hash.clone();
    let fresh = state
        .logins
        .checks
        .run(move || password::verify(&old_password, &hash).then(|| password::hash(&new_password)))
        .await??;
    let Some(fresh) = fresh else {
        state.logins.guard.do_send(LoginFailed {
            addr,
            username: username.clone(),
        });
        log::warn!("password change refused username={username:?} addr={addr}");
        return Err(ApiError::Forbidden("the old password does not match".into()));
    };
    state.logins.guard.do_send(LoginSucceeded {
        addr,
        username: username.clone(),
    });
    let name = username.clone();
    let why = format!("the password of {username} changed");
    let revoked_at = state.accounts.now();
    let subject = Subject::user(&username);
    let entry = audit_entry(&state, &caller, "user.password", &username, "password changed".into());
    let reason = why.clone();
    let stored = subject.as_str().to_owned();
    state
        .store
        .write(move |c| {
            c.transaction(|c| {
                users::set_password_hash(c, &name, &fresh)?;
                revocations::revoke(c, &stored, revoked_at.0, &reason)?;
                audit::insert(c, &entry)
            })
        })
        .await?;
    state.accounts.revoked(subject, &username, revoked_at, why);
    let role = user.role.parse::<Role>().unwrap_or(Role::Viewer);
    // Issued after the revocation's moment, which refuses tokens of that very millisecond.
    let issued = crate::time::Millis(state.clock.now().0.max(revoked_at.0 + 1));
    let claims = Claims::new(&username, role, issued, DEFAULT_TTL);
    let token = state.keys.issue(&claims)?;
    log::info!("password changed username={username:?}");
    Ok(HttpResponse::Ok().json(TokenResponse {
        access_token: token,
        token_type: "Bearer",
        expires_in: DEFAULT_TTL.as_secs(),
    }))
}
