//! What a terminal dispatcher returns: events, outcomes and errors.
//!
//! Every state change is a [`DispatchEvent`], a plain value with named fields that the actor
//! stores (in the same transaction as its outbox row) and publishes. An assignment carries the
//! inputs that justified it ([`Assignment`]). Operations return a [`Step`]: an outcome for the
//! caller plus the events, in the order they happened.
//!
//! Error policy: an operation that returns an error has changed nothing. [`DispatchError::class`]
//! tells the HTTP layer which status to use (404, 409 or 422); the core knows no HTTP.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::{DispatchMode, LineKey, Plate, Region, RequestId, TaxiClass};
use super::queue::Ticket;
use super::rules::{NoShowPolicy, RuleError};
use crate::time::Millis;

/// An outcome and the events it produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Step<T> {
    pub outcome: T,
    pub events: Vec<DispatchEvent>,
}

/// Why a plate was held for an operator instead of queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HoldReason {
    Unregistered,
    Blacklisted,
    /// Neither the chosen service region nor the licence region is allowed or configured.
    RegionNotAllowed,
}

/// Why a waiting taxi left its line without being called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemovalReason {
    /// Silent past the suspension and the grace period.
    Silent,
    Blacklisted,
    Unregistered,
    RegionNotAllowed,
    /// Read at another terminal's lot entrance.
    MovedLot,
}

impl From<HoldReason> for RemovalReason {
    fn from(reason: HoldReason) -> Self {
        match reason {
            HoldReason::Unregistered => RemovalReason::Unregistered,
            HoldReason::Blacklisted => RemovalReason::Blacklisted,
            HoldReason::RegionNotAllowed => RemovalReason::RegionNotAllowed,
        }
    }
}

/// What the short-trip rule decided for an arrival.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum PriorityDecision {
    /// No short trip armed a priority for this plate.
    NotEligible,
    /// Re-entry seen within the limit: a priority ticket ordered by `earned_ms`.
    Honoured {
        #[serde(rename = "earned_ms")]
        earned_at: Millis,
    },
    /// A priority was armed but the re-entry came after it expired.
    Lapsed {
        #[serde(rename = "expired_ms")]
        expired_at: Millis,
    },
    /// A priority was armed but the re-entry came sooner than the trip could have been driven
    /// there and back: an ordinary ticket, and the priority is spent.
    Refused {
        reason: PriorityRefusal,
        #[serde(rename = "earliest_ms")]
        earliest: Millis,
    },
}

/// Why a short trip's priority re-entry was refused (the trip does not look real).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PriorityRefusal {
    /// The distance reported at completion disagrees with the request's beyond the tolerance.
    DistanceMismatch,
    /// The taxi was back at the lot sooner than the trip could have been driven there and back.
    TooSoon,
}

impl PriorityRefusal {
    pub fn as_str(self) -> &'static str {
        match self {
            PriorityRefusal::DistanceMismatch => "distance_mismatch",
            PriorityRefusal::TooSoon => "too_soon",
        }
    }
}

/// Why an open request was given up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// Its taxi failed it and no other taxi could take it.
    NoTaxi,
}

/// Where a taxi stands at its terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaxiStateKind {
    /// In the lot, in line.
    Waiting,
    /// Called to a curb bay, no passenger yet.
    Called,
    /// Assigned a passenger: at a bay, or in the lot waiting for one to free up.
    Assigned,
    /// Left with its passenger; the trip is not completed yet.
    OnTrip,
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStateKind {
    Assigned,
    PickedUp,
}

/// A passenger given to a taxi, with the inputs that justified the choice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    pub request: RequestId,
    pub plate: Plate,
    pub destination_region: Region,
    pub distance_km: f64,
    pub class: TaxiClass,
    /// The line the taxi was taken from, and the terminal's mode at that moment.
    pub line: LineKey,
    pub mode: DispatchMode,
    pub ticket: Ticket,
    /// 1-based rank of the taxi among the candidates: unassigned taxis at the curb in ticket
    /// order, then the lot's line in dispatch order (suspended ones included).
    pub position: usize,
    /// True when the taxi was already waiting at the curb.
    pub from_curb: bool,
    /// The bay it is (or was called) at; `None` while every bay of the line is taken.
    pub bay: Option<u16>,
    /// Suspended taxis ahead of it in the lot that were passed over.
    pub skipped_suspended: Vec<Plate>,
    /// The taxi this assignment replaces after a no-show or a hold.
    pub replaces: Option<Plate>,
    #[serde(rename = "at_ms")]
    pub at: Millis,
}

/// Every state change of a terminal's dispatch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DispatchEvent {
    Queued {
        plate: Plate,
        line: LineKey,
        ticket: Ticket,
        position: usize,
        priority: PriorityDecision,
        #[serde(rename = "at_ms")]
        at: Millis,
    },
    Held {
        plate: Plate,
        reason: HoldReason,
        #[serde(rename = "at_ms")]
        at: Millis,
    },
    RemovedFromLine {
        plate: Plate,
        line: LineKey,
        ticket: Ticket,
        reason: RemovalReason,
        #[serde(rename = "at_ms")]
        at: Millis,
    },
    Suspended {
        plate: Plate,
        line: LineKey,
        #[serde(rename = "last_seen_ms")]
        last_seen: Millis,
        #[serde(rename = "at_ms")]
        at: Millis,
    },
    Resumed {
        plate: Plate,
        line: LineKey,
        #[serde(rename = "at_ms")]
        at: Millis,
    },
    ServiceRegionChanged {
        plate: Plate,
        from: Region,
        to: Region,
        ticket: Ticket,
        #[serde(rename = "at_ms")]
        at: Millis,
    },
    /// The terminal's mode and curb slots were set (the mode may be unchanged).
    Configured {
        from_mode: DispatchMode,
        mode: DispatchMode,
        /// The new mode's plan in the API's shape.
        curb_slots: BTreeMap<String, u16>,
        #[serde(rename = "at_ms")]
        at: Millis,
    },
    Called {
        plate: Plate,
        line: LineKey,
        bay: u16,
        ticket: Ticket,
        /// Set when the taxi was assigned before a bay was free for it.
        request: Option<RequestId>,
        #[serde(rename = "at_ms")]
        at: Millis,
    },
    Assigned {
        assignment: Assignment,
    },
    PickedUp {
        request: RequestId,
        plate: Plate,
        line: LineKey,
        bay: Option<u16>,
        /// Ticket time to call.
        wait_ms: u64,
        #[serde(rename = "at_ms")]
        at: Millis,
    },
    NoShow {
        request: RequestId,
        plate: Plate,
        /// The taxi's no-shows at this terminal so far, this one included.
        no_shows: u32,
        policy: NoShowPolicy,
        /// The ticket it stands in line with now.
        ticket: Ticket,
        #[serde(rename = "at_ms")]
        at: Millis,
    },
    RequestDropped {
        request: RequestId,
        reason: DropReason,
        #[serde(rename = "at_ms")]
        at: Millis,
    },
    TripCompleted {
        request: RequestId,
        plate: Plate,
        distance_km: f64,
        short: bool,
        /// Set when the trip armed a priority re-entry: the last moment the lot may see it.
        #[serde(rename = "priority_until_ms")]
        priority_until: Option<Millis>,
        /// Set when a short trip armed no priority because it does not look real.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        priority_refused: Option<PriorityRefusal>,
        #[serde(rename = "at_ms")]
        at: Millis,
    },
    TripAbandoned {
        request: RequestId,
        plate: Plate,
        #[serde(rename = "at_ms")]
        at: Millis,
    },
    PriorityLapsed {
        plate: Plate,
        #[serde(rename = "expired_ms")]
        expired_at: Millis,
    },
}

impl DispatchEvent {
    /// The `type` of the STOMP message that publishes this event (API.md naming).
    pub fn message_type(&self) -> &'static str {
        match self {
            DispatchEvent::Queued { .. } => "taxi.queued",
            DispatchEvent::Held { .. } => "taxi.held",
            DispatchEvent::RemovedFromLine { .. } => "taxi.removed",
            DispatchEvent::Suspended { .. } => "taxi.suspended",
            DispatchEvent::Resumed { .. } => "taxi.resumed",
            DispatchEvent::ServiceRegionChanged { .. } => "taxi.service_region_changed",
            DispatchEvent::PriorityLapsed { .. } => "taxi.priority_lapsed",
            DispatchEvent::Configured { .. } => "dispatch.configured",
            DispatchEvent::Called { .. } => "dispatch.called",
            DispatchEvent::Assigned { .. } => "dispatch.assigned",
            DispatchEvent::PickedUp { .. } => "dispatch.picked_up",
            DispatchEvent::NoShow { .. } => "dispatch.no_show",
            DispatchEvent::RequestDropped { .. } => "dispatch.request_dropped",
            DispatchEvent::TripCompleted { .. } => "dispatch.trip_completed",
            DispatchEvent::TripAbandoned { .. } => "dispatch.trip_abandoned",
        }
    }

    /// The taxi the event is about, for per-plate ordering and the driver's own destination.
    pub fn plate(&self) -> Option<&Plate> {
        match self {
            DispatchEvent::Queued { plate, .. }
            | DispatchEvent::Held { plate, .. }
            | DispatchEvent::RemovedFromLine { plate, .. }
            | DispatchEvent::Suspended { plate, .. }
            | DispatchEvent::Resumed { plate, .. }
            | DispatchEvent::ServiceRegionChanged { plate, .. }
            | DispatchEvent::PriorityLapsed { plate, .. }
            | DispatchEvent::Called { plate, .. }
            | DispatchEvent::PickedUp { plate, .. }
            | DispatchEvent::NoShow { plate, .. }
            | DispatchEvent::TripCompleted { plate, .. }
            | DispatchEvent::TripAbandoned { plate, .. } => Some(plate),
            DispatchEvent::Assigned { assignment } => Some(&assignment.plate),
            DispatchEvent::Configured { .. } | DispatchEvent::RequestDropped { .. } => None,
        }
    }
}

/// What an LPR reading at the lot entrance led to.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ArrivalOutcome {
    Queued {
        line: LineKey,
        ticket: Ticket,
        position: usize,
        priority: PriorityDecision,
    },
    /// The taxi was already in line: the reading changed nothing but its liveness.
    AlreadyQueued {
        line: LineKey,
        ticket: Ticket,
        position: usize,
    },
    /// The taxi is at the curb or assigned: the reading changed nothing.
    Busy { state: TaxiStateKind },
    /// Held for an operator; `repeated` when it was already held (no new event).
    Held { reason: HoldReason, repeated: bool },
}

/// What a no-show led to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoShowOutcome {
    /// The no-show taxi's ticket now, and its position in its line.
    pub ticket: Ticket,
    pub position: usize,
    /// The taxi the passenger was passed to, if any could take it.
    pub reassigned: Option<Assignment>,
}

/// What a completed trip led to.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TripOutcome {
    pub short: bool,
    #[serde(rename = "priority_until_ms")]
    pub priority_until: Option<Millis>,
    /// A short trip whose priority was refused, and why (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority_refused: Option<PriorityRefusal>,
}

/// How the HTTP layer should answer an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// 404
    NotFound,
    /// 409
    Conflict,
    /// 422
    Invalid,
}

/// Why a dispatcher refused an operation; nothing changed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DispatchError {
    #[error("destination region {region} is not served at this terminal")]
    UnknownDestination { region: Region },
    #[error("no taxi in line {line}")]
    NoTaxi { line: LineKey },
    #[error("line {line} has no curb slots")]
    NoCurbSlots { line: LineKey },
    #[error("request {request} already exists")]
    DuplicateRequest { request: RequestId },
    #[error("more than {max} open requests")]
    TooManyOpenRequests { max: usize },
    #[error("no open request {request}")]
    UnknownRequest { request: RequestId },
    #[error("request {request} is {state:?} and cannot be {action}")]
    RequestState {
        request: RequestId,
        state: RequestStateKind,
        action: &'static str,
    },
    #[error("taxi {plate} is not at this terminal")]
    UnknownTaxi { plate: Plate },
    #[error("taxi {plate} is {state:?}")]
    TaxiBusy { plate: Plate, state: TaxiStateKind },
    #[error("the lot is full ({capacity} taxis)")]
    LotFull { capacity: usize },
    #[error("distance must be a number of km between 0 and {max}")]
    InvalidDistance { max: f64 },
    #[error("invalid curb slots: {reason}")]
    InvalidSlots { reason: String },
    #[error(transparent)]
    Rule(#[from] RuleError),
}

impl DispatchError {
    pub fn class(&self) -> ErrorClass {
        match self {
            DispatchError::UnknownRequest { .. } | DispatchError::UnknownTaxi { .. } => ErrorClass::NotFound,
            DispatchError::InvalidDistance { .. } | DispatchError::InvalidSlots { .. } | DispatchError::Rule(_) => {
                ErrorClass::Invalid
            }
            DispatchError::UnknownDestination { .. }
            | DispatchError::NoTaxi { .. }
            | DispatchError::NoCurbSlots { .. }
            | DispatchError::DuplicateRequest { .. }
            | DispatchError::TooManyOpenRequests { .. }
            | DispatchError::RequestState { .. }
            | DispatchError::TaxiBusy { .. }
            | DispatchError::LotFull { .. } => ErrorClass::Conflict,
        }
    }
}
