//! Read views of a terminal's dispatch, shaped for `GET /api/v1/queues` and
//! `GET /api/v1/taxis/{plate}` (snake_case, times as `_ms` epoch milliseconds).
//!
//! These are plain data built by [`crate::taxi::core::dispatch::Dispatcher::queues`] and
//! [`crate::taxi::core::dispatch::Dispatcher::taxi`]; they own no state and decide nothing.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::events::{HoldReason, TaxiStateKind};
use super::model::{DispatchMode, LineKey, Plate, Region, RequestId, TaxiClass, TerminalId};
use super::queue::Ticket;
use crate::time::Millis;

/// Every line of a terminal under its current mode, in line order.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct QueuesView {
    pub terminal: TerminalId,
    pub mode: DispatchMode,
    /// The current mode's plan in the API's shape (`{"seoul": 2}` or `{"all": 3}`).
    pub curb_slots: BTreeMap<String, u16>,
    pub lines: Vec<LineView>,
    /// Plates held at the lot entrance for an operator (unregistered, blacklisted, or of a
    /// region this terminal does not serve), most recently held first; at most 1,024 are kept.
    pub held: Vec<HeldView>,
    /// The node that runs this terminal's dispatcher (filled in by the HTTP layer; this node
    /// on a single node).
    pub owner_node: Option<u16>,
}

/// A plate held at the lot entrance: it is not in any line until an operator acts.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct HeldView {
    pub plate: Plate,
    #[serde(rename = "held_ms")]
    pub held_since: Millis,
    /// Why it is held; `null` for a hold kept from before reasons were stored.
    pub reason: Option<HoldReason>,
}

/// One line: who is at (or assigned to) the curb, then who waits in the lot, in dispatch order.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LineView {
    pub line: LineKey,
    pub curb_slots: u16,
    pub curb: Vec<CurbView>,
    pub waiting: Vec<WaitingView>,
}

/// A taxi called forward, or assigned and waiting for a bay (`bay: null`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CurbView {
    pub plate: Plate,
    pub bay: Option<u16>,
    pub state: TaxiStateKind,
    pub request: Option<RequestId>,
    pub ticket: Ticket,
    #[serde(rename = "called_ms")]
    pub called_at: Option<Millis>,
}

/// A taxi waiting in the lot.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct WaitingView {
    /// 1-based, suspended taxis included (they keep their place).
    pub position: usize,
    pub plate: Plate,
    pub ticket: u64,
    #[serde(rename = "entered_ms")]
    pub entered_at: Millis,
    pub priority: bool,
    #[serde(rename = "priority_earned_ms")]
    pub priority_earned_at: Option<Millis>,
    pub suspended: bool,
    pub service_region: Region,
}

/// One taxi as this terminal knows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaxiView {
    pub plate: Plate,
    pub terminal: TerminalId,
    /// `None` when the taxi is not at the terminal (only a hold or a pending priority is known).
    pub state: Option<TaxiStateKind>,
    pub class: Option<TaxiClass>,
    pub licence_region: Option<Region>,
    pub service_region: Option<Region>,
    pub line: Option<LineKey>,
    /// 1-based position in its line while waiting.
    pub position: Option<usize>,
    pub ticket: Option<Ticket>,
    pub bay: Option<u16>,
    pub request: Option<RequestId>,
    pub suspended: bool,
    #[serde(rename = "last_seen_ms")]
    pub last_seen: Option<Millis>,
    pub no_shows: u32,
    /// Armed by a short trip: the last moment a re-entry earns priority.
    #[serde(rename = "priority_until_ms")]
    pub priority_until: Option<Millis>,
    /// Held for an operator at the lot entrance.
    pub held: bool,
}
