//! Who is running: plate to taxi entry, terminal to terminal entry, and open request to its
//! terminal. Readable from any thread without asking an actor.
//!
//! A [`TaxiEntry`] holds the taxi's card as of its last completed change (what a restarted taxi
//! actor is rebuilt from), its live figures and the current actor's address. A
//! [`TerminalEntry`] holds what a restarted terminal actor is rebuilt from: the last snapshot
//! and the inputs completed since ([`crate::taxi::input`]). The supervisors swap the addresses.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use super::actor::TaxiActor;
use super::card::TaxiCard;
use super::dispatch::DispatcherSnapshot;
use super::input::Input;
use super::model::{Plate, RequestId, TerminalId};
use super::terminal::TerminalActor;
use crate::supervision::ChildSlot;
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
    /// Its actor's address, restart count and quarantine.
    pub slot: ChildSlot<TaxiActor>,
}

impl TaxiEntry {
    pub fn new(card: TaxiCard, restarts: u32) -> Self {
        TaxiEntry {
            plate: card.plate.clone(),
            card: Mutex::new(card),
            last_ping: AtomicI64::new(NEVER),
            slot: ChildSlot::new(restarts),
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
    /// Its actor's address, restart count and quarantine.
    pub slot: ChildSlot<TerminalActor>,
}

impl TerminalEntry {
    pub fn new(id: TerminalId, snapshot: DispatcherSnapshot, restarts: u32) -> Self {
        TerminalEntry {
            id,
            recovery: Mutex::new(Recovery {
                snapshot: Arc::new(snapshot),
                inputs: Vec::new(),
            }),
            slot: ChildSlot::new(restarts),
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

#[derive(Debug)]
pub struct Registry {
    taxis: RwLock<BTreeMap<Plate, Arc<TaxiEntry>>>,
    terminals: BTreeMap<TerminalId, Arc<TerminalEntry>>,
    /// Open request to the terminal that has it, for the pickup, no-show and complete routes.
    requests: RwLock<HashMap<RequestId, TerminalId>>,
}

impl Registry {
    pub fn new(terminals: impl IntoIterator<Item = Arc<TerminalEntry>>) -> Self {
        Registry {
            taxis: RwLock::new(BTreeMap::new()),
            terminals: terminals.into_iter().map(|t| (t.id.clone(), t)).collect(),
            requests: RwLock::new(HashMap::new()),
        }
    }

    pub fn taxi(&self, plate: &Plate) -> Option<Arc<TaxiEntry>> {
        self.taxis.read().unwrap_or_else(|p| p.into_inner()).get(plate).cloned()
    }

    /// Adds a taxi; false when the plate is taken.
    pub fn insert_taxi(&self, entry: Arc<TaxiEntry>) -> bool {
        let mut map = self.taxis.write().unwrap_or_else(|p| p.into_inner());
        if map.contains_key(&entry.plate) {
            return false;
        }
        map.insert(entry.plate.clone(), entry);
        true
    }

    pub fn taxis(&self) -> Vec<Arc<TaxiEntry>> {
        self.taxis
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }

    pub fn taxi_count(&self) -> usize {
        self.taxis.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn terminal(&self, id: &TerminalId) -> Option<Arc<TerminalEntry>> {
        self.terminals.get(id).cloned()
    }

    pub fn terminals(&self) -> impl Iterator<Item = &Arc<TerminalEntry>> {
        self.terminals.values()
    }

    pub fn request_terminal(&self, request: RequestId) -> Option<TerminalId> {
        self.requests
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&request)
            .cloned()
    }

    pub(super) fn route_request(&self, request: RequestId, terminal: &TerminalId) {
        self.requests
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(request, terminal.clone());
    }

    pub(super) fn close_request(&self, request: RequestId) {
        self.requests
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&request);
    }
}
