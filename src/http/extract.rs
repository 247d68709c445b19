//! The `Caller` extractor: the principal of a request's bearer token, verified.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};

use super::error::ApiError;
use super::AppState;
use crate::auth::jwt::bearer;
use crate::auth::{AuthError, Principal};

/// The verified principal of the request. Extracting it fails with 401 when the token is
/// missing, malformed, expired or forged.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl std::ops::Deref for Caller {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.0
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Caller, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(verify(req))
    }
}

impl Caller {
    /// The caller of a request a handler holds, for endpoints that need a token only sometimes.
    pub fn from_request_sync(req: &HttpRequest) -> Result<Caller, ApiError> {
        verify(req)
    }
}

fn verify(req: &HttpRequest) -> Result<Caller, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::Internal("application state missing".into()))?;
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .ok_or(ApiError::Unauthorized(AuthError::Missing))?
        .to_str()
        .map_err(|_| ApiError::Unauthorized(AuthError::Malformed("header is not text".into())))?;
    let principal = state.keys.verify(bearer(header)?)?;
    Ok(Caller(principal))
}
