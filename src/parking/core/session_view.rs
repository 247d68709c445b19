//! What the API and the lanes are told about sessions: a session with its fee and what is due
//! now, and what one lane reading did.
//!
//! Pure: views built from a [`Session`] and the time; serialized as API.md's fields.

use serde::Serialize;
use utoipa::ToSchema;

use super::lpr::Direction;
use super::session::{Payment, Session, SessionState};
use crate::time::Millis;

/// A session as `GET /api/v1/parking/sessions` answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SessionView {
    pub id: i64,
    pub site: String,
    pub zone: String,
    pub entry_lane: String,
    pub plate: Option<String>,
    /// The printed ticket number (ticket mode).
    pub ticket: Option<String>,
    /// A plate read below the confidence threshold at entry.
    pub guess: Option<String>,
    pub entered_ms: Millis,
    pub state: SessionState,
    /// The tariff's fee for the stay so far (for a closed session: for the whole stay).
    pub fee: u64,
    pub paid: u64,
    /// What must be paid now for the exit to open (0 within the grace after paying in full).
    pub due: u64,
    /// A session paid in full: the exit opens until then without paying more.
    pub exit_by_ms: Option<Millis>,
    pub exit_lane: Option<String>,
    pub closed_ms: Option<Millis>,
    pub payments: Vec<Payment>,
}

impl SessionView {
    /// `fee`, `due`: as of now, from the session's tariff (the caller computes them).
    pub fn of(session: &Session, fee: u64, due: u64, exit_by: Option<Millis>) -> SessionView {
        SessionView {
            id: session.id,
            site: session.site.clone(),
            zone: session.zone.clone(),
            entry_lane: session.entry_lane.clone(),
            plate: session.plate.clone(),
            ticket: session.ticket.clone(),
            guess: session.guess.clone(),
            entered_ms: session.entered,
            state: session.state,
            fee: session.fee.unwrap_or(fee),
            paid: session.paid,
            due: if session.state.is_open() { due } else { 0 },
            exit_by_ms: if session.state.is_open() { exit_by } else { None },
            exit_lane: session.exit_lane.clone(),
            closed_ms: session.closed,
            payments: session.payments.clone(),
        }
    }
}

/// What a reading did at its lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LaneOutcome {
    /// A session opened (ticket mode: print `ticket`).
    Entered,
    /// The car is inside already: nothing changed.
    AlreadyInside,
    /// The gate opens: an `open_gate` command went to the lane's gate.
    Released,
    /// The gate stays closed: `due` is owed.
    Held,
    /// No session for what was read: the gate stays closed; an attendant is needed.
    Unmatched,
    /// A repeat or an out-of-order reading: nothing changed.
    Ignored,
}

/// The answer to a reading: `POST /api/v1/parking/lpr`'s body and the `parking.lane` message
/// on the sending client's `/user/queue/parking`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct LaneAnswer {
    /// `parking.lane`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub camera_id: String,
    pub lane: String,
    pub direction: Direction,
    pub outcome: LaneOutcome,
    pub session_id: Option<i64>,
    pub plate: Option<String>,
    pub ticket: Option<String>,
    /// Held: what must be paid.
    pub due: Option<u64>,
    /// Released: the gate the `open_gate` command went to, and the command.
    pub gate_id: Option<String>,
    pub command_id: Option<i64>,
    /// Unmatched, ignored, or released with no gate to open: why.
    pub reason: Option<String>,
}

/// The answer to `POST /api/v1/parking/sessions/{id}/payments`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Receipt {
    pub payment: Payment,
    /// The session after the payment (closed, when it let a held car out).
    pub session: SessionView,
    /// The `Idempotency-Key` was taken before: this is that payment, nothing new was charged.
    pub replay: bool,
}
