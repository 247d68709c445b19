//! The parking service's error: what the edges get back from it.
//!
//! Error policy: a refused area or report keeps its reason ([`AreaError`], [`ReportError`]);
//! the HTTP edge maps a duplicate to 409, a report naming another client's camera to 403, and
//! every other refusal to 422; the STOMP edge turns a refused report into an ERROR frame.
//! A lane reading's refusals map the same way (another client's camera 403, the rest 422);
//! a payment refused by the session book is 409 when the session is not open, 422 otherwise.
//! A zone asked about that no area or kiosk is in is 404 (`UnknownZone`).
//! An actor that cannot be reached, or a payment the store has not taken in time, is
//! `Unavailable` (503: retry with the same `Idempotency-Key`).

use thiserror::Error;

use super::core::area::AreaError;
use super::core::lpr::LprError;
use super::core::report::ReportError;
use super::core::sessions::SessionError;
use super::core::tariff::TariffError;
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
    #[error(transparent)]
    Lpr(#[from] LprError),
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    Tariff(#[from] TariffError),
    #[error("device {id} is a {kind}, not an lpr_camera")]
    NotALaneCamera { id: String, kind: &'static str },
    #[error("camera {0} has no site, zone and lane registered: a lane reading needs all three")]
    NoLane(String),
    #[error("camera {camera} is hosted by {host}, not by {client}")]
    NotHosted {
        camera: String,
        host: String,
        client: String,
    },
    #[error("zone {0:?} has no parking area and no payment kiosk")]
    UnknownZone(String),
    #[error("zone {zone:?} is on several sites ({sites}): name one with site=")]
    ZoneOnSites { zone: String, sites: String },
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}
