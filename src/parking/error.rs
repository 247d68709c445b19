//! The parking service's error: what the edges get back from it.
//!
//! Error policy: a refused area or report keeps its reason ([`AreaError`], [`ReportError`]);
//! the HTTP edge maps a duplicate to 409, a report naming another client's camera to 403, and
//! every other refusal to 422; the STOMP edge turns a refused report into an ERROR frame.
//! An actor that cannot be reached is `Unavailable` (503: nothing was applied).

use thiserror::Error;

use super::core::area::AreaError;
use super::core::report::ReportError;
use crate::store::StoreError;

#[derive(Debug, Error)]
pub enum ParkingError {
    #[error(transparent)]
    Area(#[from] AreaError),
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error("camera {0:?} is not a registered device")]
    UnknownCamera(String),
    #[error("device {id} is a {kind}, not a guidance_camera")]
    NotAGuidanceCamera { id: String, kind: &'static str },
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}
