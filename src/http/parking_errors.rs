//! The parking part's errors ([`ParkingError`]) as HTTP answers (problem+json, through
//! [`ApiError`]).
//!
//! 400 for a body that is not the documented JSON, 403 for a camera or area the sending client
//! does not host, 404 for a session or zone that is not there, 409 for a duplicate area or a payment on
//! a session no longer open, 422 for every other refusal, 503 when an actor or the store did
//! not answer (nothing was lost: retry, a payment with the same `Idempotency-Key`).

use super::error::ApiError;
use crate::parking::core::area::AreaError;
use crate::parking::core::lpr::LprError;
use crate::parking::core::report::ReportError;
use crate::parking::core::sessions::SessionError;
use crate::parking::ParkingError;

impl From<ParkingError> for ApiError {
    fn from(e: ParkingError) -> Self {
        match e {
            ParkingError::Area(AreaError::Exists(_)) => ApiError::Conflict(e.to_string()),
            ParkingError::Report(ReportError::NotHosted { .. }) | ParkingError::NotHosted { .. } => {
                ApiError::Forbidden(e.to_string())
            }
            ParkingError::Report(ReportError::Malformed(_)) | ParkingError::Lpr(LprError::Malformed(_)) => {
                ApiError::BadRequest(e.to_string())
            }
            ParkingError::Session(SessionError::NotOpen(_)) => ApiError::Conflict(e.to_string()),
            ParkingError::UnknownZone(_) => ApiError::NotFound(e.to_string()),
            ParkingError::Area(_)
            | ParkingError::Report(_)
            | ParkingError::Lpr(_)
            | ParkingError::Session(_)
            | ParkingError::Tariff(_)
            | ParkingError::UnknownCamera(_)
            | ParkingError::NotALaneCamera { .. }
            | ParkingError::NoLane(_)
            | ParkingError::ZoneOnSites { .. }
            | ParkingError::NotAGuidanceCamera { .. } => ApiError::Unprocessable(e.to_string()),
            ParkingError::Unavailable(why) => ApiError::Unavailable(why),
            ParkingError::Store(s) => s.into(),
        }
    }
}
