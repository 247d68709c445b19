//! Messages to the taxi actors and the terminal actors, named by direction: requests in,
//! events out. Each carries its result type beside it.

use std::sync::Arc;

use actix::Message;

use super::core::curb::SlotPlan;
use super::core::dispatch::{Arrival, PassengerRequest};
use super::core::events::{ArrivalOutcome, Assignment, DispatchEvent, NoShowOutcome, TripOutcome};
use super::core::model::{Plate, Region, RequestId, TaxiClass, TerminalId};
use super::core::stats::StatsView;
use super::core::view::{QueuesView, TaxiView};
use super::error::TaxiError;
use crate::time::Millis;

// To a taxi actor.

/// The lot camera of `terminal` read this taxi's plate. Answers the dispatcher's outcome.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<ArrivalOutcome, TaxiError>")]
pub struct TaxiArrived {
    pub terminal: TerminalId,
}

/// The driver app says the taxi is alive. Answers the terminal the ping was forwarded to.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<Option<TerminalId>, TaxiError>")]
pub struct DriverPing;

/// The driver (or an operator) chose the service region for the shift.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<(), TaxiError>")]
pub struct ChooseServiceRegion {
    pub region: Region,
}

/// An admin corrects the taxi's registration (licence region, class), off the lots only.
/// Answers the fields changed.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<Vec<&'static str>, TaxiError>")]
pub struct Amend {
    pub licence_region: Option<Region>,
    pub class: Option<TaxiClass>,
}

/// An operator blacklists the plate (`Some(reason)`) or lifts the blacklist (`None`).
/// Answers whether anything changed.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<bool, TaxiError>")]
pub struct SetBlacklist {
    pub reason: Option<String>,
}

// To a terminal actor.

/// An LPR reading at the lot entrance, with the registration the taxi actor holds.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<ArrivalOutcome, TaxiError>")]
pub struct Arrive {
    pub arrival: Arrival,
}

/// A driver-app ping forwarded by the taxi's actor; answers nothing (the hot path).
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct Ping {
    pub plate: Plate,
    /// When the driver app's heartbeat arrived: the sign of life dates from then, not from
    /// when the terminal gets to the message.
    pub at: Millis,
}

/// A passenger's request from a kiosk.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<Assignment, TaxiError>")]
pub struct Request {
    pub request: PassengerRequest,
}

/// Who reports on a request: a driver may only report on its own taxi's requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reporter {
    /// A kiosk, an operator or an admin.
    Staff,
    Driver(Plate),
}

/// The passenger boarded. Answers the taxi that picked up.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<Plate, TaxiError>")]
pub struct Pickup {
    pub request: RequestId,
    pub by: Reporter,
}

/// The assigned taxi did not show up. Answers that taxi and what followed.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<(Plate, NoShowOutcome), TaxiError>")]
pub struct NoShow {
    pub request: RequestId,
    pub by: Reporter,
}

/// The trip ended after `distance_km`. Answers the taxi and the trip's outcome.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<(Plate, TripOutcome), TaxiError>")]
pub struct Complete {
    pub request: RequestId,
    pub distance_km: f64,
    pub by: Reporter,
}

/// An operator sets the terminal's mode and curb slots. Answers the lines after it.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<QueuesView, TaxiError>")]
pub struct Configure {
    pub plan: SlotPlan,
}

/// A taxi's service region changed; a taxi not at this terminal is not an error.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<(), TaxiError>")]
pub struct SetServiceRegion {
    pub plate: Plate,
    pub region: Region,
}

/// The plate was blacklisted: take it out of line here. Answers whether it was here.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<bool, TaxiError>")]
pub struct Blacklist {
    pub plate: Plate,
}

/// The plate may queue again: forget its hold here. Answers whether it was held.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<bool, TaxiError>")]
pub struct ClearHold {
    pub plate: Plate,
}

/// Another terminal's lot read the plate: it leaves this one. Answers whether it was here.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<bool, TaxiError>")]
pub struct LeaveLot {
    pub plate: Plate,
}

/// The lines, in dispatch order.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<QueuesView, TaxiError>")]
pub struct ReadQueues;

/// One taxi as this terminal knows it.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<Option<TaxiView>, TaxiError>")]
pub struct ReadTaxi {
    pub plate: Plate,
}

/// The fairness figures.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<StatsView, TaxiError>")]
pub struct ReadStats;

/// Which taxi serves an open request here, if any.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<Option<Plate>, TaxiError>")]
pub struct FindRequest {
    pub request: RequestId,
}

/// Hand the journal a snapshot now (before shutdown, or for a test that reads the store).
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct TakeSnapshot;

// To either kind of actor.

/// Fault injection and a deliberate stop: the messages every supervised child takes.
pub use crate::supervision::child::{Crash, Stop};

// Out.

/// A dispatch event was stored (sent to listeners such as the broker, after the commit).
///
/// The broker publishes it on `/topic/dispatch`, on `/topic/taxis/{terminal}/{region}` for the
/// line it is about (see [`DispatchEvent::plate`] and the event's `line`), and a `Called` or
/// `Assigned` event on the driver's `/user/queue/dispatch`.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct DispatchRecorded {
    /// The stored record's id: unique and increasing, usable as a message id.
    pub id: i64,
    pub terminal: TerminalId,
    pub event: Arc<DispatchEvent>,
}
