//! A device's entry: what its actor and the live views share, data only.
//!
//! The registered spec, the live view (atomics the device actor updates, so listing devices
//! never queues behind heartbeats) and the state last committed to the store (what a restarted
//! actor is rebuilt from). Where the actor runs, and how often it was restarted, is its slot's
//! ([`crate::supervision::ChildSlot`]), which the registry keeps beside it.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::{ArcSwap, Guard};

use super::model::{DeviceSpec, DeviceState};
use super::seen::LastSeen;
use crate::time::Millis;

/// The state last committed to the store: what a restarted actor starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    pub state: DeviceState,
    pub since: Millis,
    pub last_seen: Option<Millis>,
}

#[derive(Debug)]
pub struct DeviceEntry {
    /// The registered spec: swapped whole when an operator edits it (id and kind never change).
    spec: ArcSwap<DeviceSpec>,
    state: AtomicU8,
    since: AtomicI64,
    /// Last seen, and whether an `ok` heartbeat stops there (the hot path, [`LastSeen`]).
    seen: LastSeen,
    active: AtomicBool,
    stored: Mutex<Snapshot>,
}

impl DeviceEntry {
    pub fn new(spec: DeviceSpec, stored: Snapshot, active: bool) -> Self {
        DeviceEntry {
            spec: ArcSwap::from_pointee(spec),
            state: AtomicU8::new(stored.state as u8),
            since: AtomicI64::new(stored.since.0),
            seen: LastSeen::new(stored.last_seen),
            active: AtomicBool::new(active),
            stored: Mutex::new(stored),
        }
    }

    /// The spec as registered now (an edit after this call is not seen through the guard).
    pub fn spec(&self) -> Guard<Arc<DeviceSpec>> {
        self.spec.load()
    }

    /// An edit: the whole spec at once, so no reader sees half of it. Id and kind stay.
    pub(super) fn set_spec(&self, spec: DeviceSpec) {
        debug_assert_eq!(spec.id, self.spec().id);
        self.spec.store(Arc::new(spec));
    }

    pub fn state(&self) -> DeviceState {
        DeviceState::from_u8(self.state.load(Ordering::Relaxed))
    }

    pub fn state_since(&self) -> Millis {
        Millis(self.since.load(Ordering::Relaxed))
    }

    pub fn last_seen(&self) -> Option<Millis> {
        self.seen.get()
    }

    pub fn active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    /// The heartbeat word the edges and the actor share.
    pub(super) fn seen(&self) -> &LastSeen {
        &self.seen
    }

    /// Whether an `ok` heartbeat for this device changes its timestamp and nothing else now.
    pub fn watched(&self) -> bool {
        self.seen.watched()
    }

    pub(super) fn set_state(&self, state: DeviceState, since: Millis) {
        self.state.store(state as u8, Ordering::Relaxed);
        self.since.store(since.0, Ordering::Relaxed);
    }

    pub(super) fn set_active(&self, active: bool) {
        self.active.store(active, Ordering::Relaxed);
    }

    pub fn stored(&self) -> Snapshot {
        *self.stored.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn set_stored(&self, snapshot: Snapshot) {
        *self.stored.lock().unwrap_or_else(|p| p.into_inner()) = snapshot;
    }
}
