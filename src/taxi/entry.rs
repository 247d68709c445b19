//! What a taxi's or a terminal's actor shares with the live views and the supervisor's
//! factories: data only, no actor types (so an actor holds its entry without importing the
//! registry that keeps it beside its slot).
//!
//! A [`TaxiEntry`] holds the taxi's card as of its last completed change (what a restarted taxi
//! actor is rebuilt from) and its live figures. A [`TerminalEntry`] holds what a restarted
//! terminal actor is rebuilt from: the last snapshot and the inputs completed since
//! ([`crate::taxi::core::input`]). Where each actor runs, and how often it was restarted, is its
//! slot's ([`crate::supervision::ChildSlot`]).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use super::core::card::TaxiCard;
use super::core::dispatch::DispatcherSnapshot;
use super::core::input::Input;
use super::core::model::{Plate, TerminalId};
use crate::time::Millis;

const NEVER: i64 = i64::MIN;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Debug)]
pub struct TaxiEntry {
    pub plate: Plate,
    card: Mutex<TaxiCard>,
    last_ping: AtomicI64,
}

impl TaxiEntry {
    pub fn new(card: TaxiCard) -> Self {
        TaxiEntry {
            plate: card.plate.clone(),
            card: Mutex::new(card),
            last_ping: AtomicI64::new(NEVER),
        }
    }

    /// The card as of the last completed change.
    pub fn card(&self) -> TaxiCard {
        lock(&self.card).clone()
    }

    pub(super) fn set_card(&self, card: TaxiCard) {
        *lock(&self.card) = card;
    }

    pub fn last_ping(&self) -> Option<Millis> {
        match self.last_ping.load(Ordering::Relaxed) {
            NEVER => None,
            t => Some(Millis(t)),
        }
    }

    pub(super) fn pinged(&self, at: Millis) {
        self.last_ping.store(at.0, Ordering::Relaxed);
    }
}

/// The registered taxis' cards, as a terminal reads them (it lets go, when it starts, of the
/// taxis another lot read while it was down).
pub trait TaxiCards: Send + Sync + std::fmt::Debug {
    /// The card of taxi `plate` as of its last completed change, if it is registered.
    fn card(&self, plate: &Plate) -> Option<TaxiCard>;
}

/// What a terminal actor is rebuilt from: a snapshot and the inputs completed after it.
#[derive(Debug, Clone)]
pub struct Recovery {
    pub snapshot: Arc<DispatcherSnapshot>,
    pub inputs: Vec<(Input, Millis)>,
}

#[derive(Debug)]
pub struct TerminalEntry {
    pub id: TerminalId,
    recovery: Mutex<Recovery>,
}

impl TerminalEntry {
    pub fn new(id: TerminalId, snapshot: DispatcherSnapshot) -> Self {
        TerminalEntry {
            id,
            recovery: Mutex::new(Recovery {
                snapshot: Arc::new(snapshot),
                inputs: Vec::new(),
            }),
        }
    }

    pub fn recovery(&self) -> Recovery {
        lock(&self.recovery).clone()
    }

    /// An input completed: kept until the next snapshot.
    pub(super) fn completed(&self, input: Input, at: Millis) {
        lock(&self.recovery).inputs.push((input, at));
    }

    /// A new snapshot replaces the old one and the inputs it covers.
    pub(super) fn snapshotted(&self, snapshot: Arc<DispatcherSnapshot>) {
        let mut r = lock(&self.recovery);
        r.snapshot = snapshot;
        r.inputs.clear();
    }

    pub(super) fn pending_inputs(&self) -> usize {
        lock(&self.recovery).inputs.len()
    }
}
