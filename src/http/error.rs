//! HTTP errors as `application/problem+json` (RFC 9457), and the mapping from every lower
//! layer's error to a status (API.md): 400 malformed body, 401 token, 403 role, 404, 405 a
//! method the path does not take (with `Allow`), 409 conflict, 422 well-formed but invalid,
//! 429 too many attempts (with `Retry-After`), 503 store unavailable. Internal errors are logged with their detail and answered without it.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use thiserror::Error;
use utoipa::ToSchema;

use crate::alert::book::BookError;
use crate::alert::messages::AlertError;
use crate::auth::AuthError;
use crate::device::DeviceError;
use crate::store::StoreError;
use crate::taxi::TaxiError;

#[derive(Debug, Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Unauthorized(AuthError),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// The path exists, the method does not: answered with `Allow` (RFC 9110 §15.5.6).
    #[error("{detail}")]
    MethodNotAllowed { detail: String, allow: String },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unprocessable(String),
    /// Too many attempts: answered with `Retry-After` (RFC 6585 §4).
    #[error("{detail}")]
    TooManyRequests { detail: String, retry_after_secs: u64 },
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

/// The body of every error answer (`application/problem+json`, RFC 9457).
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// `urn:kwanje:problem:{slug}`, one slug per status (`not-found`, `conflict`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'static str,
    /// The HTTP status, repeated.
    pub status: u16,
    /// What went wrong with this request, for a human.
    pub detail: String,
}

/// The content type of [`Problem`] answers.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

impl ApiError {
    fn slug_and_title(&self) -> (&'static str, &'static str) {
        match self {
            ApiError::BadRequest(_) => ("bad-request", "Malformed request"),
            ApiError::Unauthorized(_) => ("unauthorized", "Missing, invalid or expired token"),
            ApiError::Forbidden(_) => ("forbidden", "Not allowed"),
            ApiError::NotFound(_) => ("not-found", "Not found"),
            ApiError::MethodNotAllowed { .. } => ("method-not-allowed", "Method not allowed"),
            ApiError::Conflict(_) => ("conflict", "Conflict"),
            ApiError::Unprocessable(_) => ("unprocessable", "Invalid request"),
            ApiError::TooManyRequests { .. } => ("too-many-requests", "Too many requests"),
            ApiError::Unavailable(_) => ("unavailable", "Service unavailable"),
            ApiError::Internal(_) => ("internal", "Internal error"),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let (slug, title) = self.slug_and_title();
        let detail = match self {
            ApiError::Internal(detail) => {
                log::error!("http internal error detail={detail:?}");
                "the server failed; the error is logged".to_owned()
            }
            other => other.to_string(),
        };
        let mut response = HttpResponse::build(status);
        response.content_type(PROBLEM_CONTENT_TYPE);
        if matches!(self, ApiError::Unauthorized(_)) {
            response.insert_header(("WWW-Authenticate", "Bearer"));
        }
        if matches!(self, ApiError::Unavailable(_)) {
            response.insert_header(("Retry-After", "1"));
        }
        if let ApiError::TooManyRequests { retry_after_secs, .. } = self {
            response.insert_header(("Retry-After", retry_after_secs.to_string()));
        }
        if let ApiError::MethodNotAllowed { allow, .. } = self {
            response.insert_header(("Allow", allow.as_str()));
        }
        response.json(Problem {
            kind: format!("urn:kwanje:problem:{slug}"),
            title,
            status: status.as_u16(),
            detail,
        })
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Forbidden(why) => ApiError::Forbidden(why),
            other => ApiError::Unauthorized(other),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(why) => ApiError::Unavailable(format!("the store is unavailable: {why}")),
            StoreError::NotFound => ApiError::NotFound("not found".into()),
            StoreError::Conflict(why) => ApiError::Conflict(why),
            // Another node owns the partition now: the same request on a retry reaches it.
            fenced @ StoreError::Fenced { .. } => ApiError::Unavailable(fenced.to_string()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<DeviceError> for ApiError {
    fn from(e: DeviceError) -> Self {
        match e {
            DeviceError::NotFound(_) => ApiError::NotFound(e.to_string()),
            DeviceError::Exists(_) | DeviceError::Quarantined(_) | DeviceError::InUse(_) => {
                ApiError::Conflict(e.to_string())
            }
            DeviceError::UnknownClient(_) | DeviceError::Invalid(_) => ApiError::Unprocessable(e.to_string()),
            DeviceError::Restarting(_) => ApiError::Unavailable(e.to_string()),
            DeviceError::Store(s) => s.into(),
        }
    }
}

impl From<AlertError> for ApiError {
    fn from(e: AlertError) -> Self {
        match e {
            AlertError::NotOpen(BookError::NotOpen(id)) => {
                ApiError::Conflict(format!("alert {id} is already resolved"))
            }
            AlertError::Store(s) => s.into(),
        }
    }
}

impl From<crate::command::messages::CommandServiceError> for ApiError {
    fn from(e: crate::command::messages::CommandServiceError) -> Self {
        use crate::command::book::CommandError;
        use crate::command::messages::CommandServiceError as E;
        match e {
            E::Command(CommandError::NotOpen(_)) => ApiError::NotFound(e.to_string()),
            E::Command(CommandError::WrongClient { .. }) => ApiError::Forbidden(e.to_string()),
            E::Command(CommandError::NotDelivered(_)) => ApiError::Conflict(e.to_string()),
            E::Store(s) => s.into(),
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl From<TaxiError> for ApiError {
    fn from(e: TaxiError) -> Self {
        match e {
            TaxiError::NotFound(why) => ApiError::NotFound(why),
            TaxiError::Forbidden(why) => ApiError::Forbidden(why),
            TaxiError::Conflict(why) => ApiError::Conflict(why),
            TaxiError::Invalid(why) => ApiError::Unprocessable(why),
            TaxiError::Unavailable(why) => ApiError::Unavailable(why),
            TaxiError::Store(s) => s.into(),
        }
    }
}
