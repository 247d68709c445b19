//! The `Caller` extractor: the principal of a request's bearer token, verified, or of its
//! connection's verified client certificate (mutual TLS), as the site chose.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};

use super::error::ApiError;
use super::AppState;
use crate::auth::client_cert::{admit, ClientCertMode};
use crate::auth::jwt::bearer;
use crate::auth::{AuthError, Principal};
use crate::tls::CertifiedClient;

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
    let token = req.headers().get(actix_web::http::header::AUTHORIZATION).map(|header| {
        let header = header
            .to_str()
            .map_err(|_| AuthError::Malformed("header is not text".into()))?;
        state.keys.verify(bearer(header)?)
    });
    // A verified client certificate (mutual TLS) counts as `KWANJE_TLS_CLIENT_CERT` says.
    let certified = req.conn_data::<CertifiedClient>().map(|client| client.0.as_str());
    let mode = state.config.client_cert_mode().unwrap_or(ClientCertMode::Off);
    let principal = admit(mode, certified, token)?;
    state.accounts.revocations().check(&principal)?;
    Ok(Caller(principal))
}
