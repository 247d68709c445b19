//! What the guidance actor is sent ([`super::guidance::Guidance`]), each with its answer.

use actix::Message;

use super::core::area::AreaSpec;
use super::core::report::Reading;
use super::core::view::SiteView;

/// Count checked readings (the report was checked whole by [`super::core::report::check`]).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct RecordReadings {
    pub readings: Vec<Reading>,
}

/// A stored area joins the book; `in_service`: its camera's state as of now.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct AddArea {
    pub area: AreaSpec,
    pub in_service: bool,
}

/// The views of every site (or one), with every zone (or one).
#[derive(Debug, Message)]
#[rtype(result = "Vec<SiteView>")]
pub struct GetOccupancy {
    pub site: Option<String>,
    pub zone: Option<String>,
}

/// A lane reading placed at its lane; `gate`: the lane's gate and its client, when one is
/// registered. Answers what it did (and, on a release, the `open_gate` command).
#[derive(Debug, Message)]
#[rtype(result = "super::core::session_view::LaneAnswer")]
pub struct Sight {
    pub camera_id: String,
    pub sighting: super::core::sessions::Sighting,
    pub gate: Option<Gate>,
    /// The client to tell on `/user/queue/parking` (STOMP readings).
    pub tell: Option<String>,
}

/// A lane's gate: the device and the client that drives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gate {
    pub device_id: String,
    pub client_id: String,
}

/// A payment for an open session. Answers once it is stored (or why not).
#[derive(Debug, Message)]
#[rtype(result = "Result<super::core::sessions::Paid, super::ParkingError>")]
pub struct Pay {
    pub payment: super::core::session::Payment,
}

/// The open session of a plate or ticket, as a view at the present time.
#[derive(Debug, Message)]
#[rtype(result = "Option<super::core::session_view::SessionView>")]
pub struct FindOpen {
    pub key: String,
}

/// An open session by id, as a view at the present time.
#[derive(Debug, Message)]
#[rtype(result = "Option<super::core::session_view::SessionView>")]
pub struct GetOpen {
    pub id: i64,
}

/// An operator closes an open session as a lost ticket (audited as `by`).
#[derive(Debug, Message)]
#[rtype(result = "Result<super::core::session_view::SessionView, super::ParkingError>")]
pub struct CloseLost {
    pub id: i64,
    pub by: String,
    pub reason: Option<String>,
}

/// A zone's tariff was stored: sessions of the zone are charged by it from now on.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct SetTariff {
    pub zone: String,
    pub tariff: super::core::tariff::Tariff,
}
