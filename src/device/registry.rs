//! The device registry: id to live entry, readable from any thread without asking an actor.
//!
//! Each [`DeviceEntry`] holds the registered spec, the live view (atomics the device actor
//! updates, so listing devices never queues behind heartbeats), the state last committed to
//! the store (what a restarted actor is rebuilt from), and the current actor's address, which
//! the supervisor swaps on restart.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use actix::Addr;

use super::actor::DeviceActor;
use super::model::{DeviceKind, DeviceSpec, DeviceState};
use crate::time::Millis;

const NEVER: i64 = i64::MIN;

/// The state last committed to the store: what a restarted actor starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    pub state: DeviceState,
    pub since: Millis,
    pub last_seen: Option<Millis>,
}

#[derive(Debug)]
pub struct DeviceEntry {
    pub spec: DeviceSpec,
    state: AtomicU8,
    since: AtomicI64,
    last_seen: AtomicI64,
    restarts: AtomicU32,
    active: AtomicBool,
    stored: Mutex<Snapshot>,
    /// The supervisor's generation of the actor last started for this device.
    generation: AtomicU64,
    addr: Mutex<Option<Addr<DeviceActor>>>,
}

impl DeviceEntry {
    pub fn new(spec: DeviceSpec, stored: Snapshot, restarts: u32, active: bool) -> Self {
        DeviceEntry {
            spec,
            state: AtomicU8::new(stored.state as u8),
            since: AtomicI64::new(stored.since.0),
            last_seen: AtomicI64::new(stored.last_seen.map_or(NEVER, |t| t.0)),
            restarts: AtomicU32::new(restarts),
            active: AtomicBool::new(active),
            stored: Mutex::new(stored),
            generation: AtomicU64::new(0),
            addr: Mutex::new(None),
        }
    }

    pub fn state(&self) -> DeviceState {
        DeviceState::from_u8(self.state.load(Ordering::Relaxed))
    }

    pub fn state_since(&self) -> Millis {
        Millis(self.since.load(Ordering::Relaxed))
    }

    pub fn last_seen(&self) -> Option<Millis> {
        match self.last_seen.load(Ordering::Relaxed) {
            NEVER => None,
            t => Some(Millis(t)),
        }
    }

    pub fn restarts(&self) -> u32 {
        self.restarts.load(Ordering::Relaxed)
    }

    pub fn active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    /// A heartbeat arrived (the hot path: one relaxed store).
    pub(super) fn seen(&self, at: Millis) {
        self.last_seen.store(at.0, Ordering::Relaxed);
    }

    pub(super) fn set_state(&self, state: DeviceState, since: Millis) {
        self.state.store(state as u8, Ordering::Relaxed);
        self.since.store(since.0, Ordering::Relaxed);
    }

    pub(super) fn set_active(&self, active: bool) {
        self.active.store(active, Ordering::Relaxed);
    }

    pub(super) fn set_restarts(&self, restarts: u32) {
        self.restarts.store(restarts, Ordering::Relaxed);
    }

    pub fn stored(&self) -> Snapshot {
        *self.stored.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn set_stored(&self, snapshot: Snapshot) {
        *self.stored.lock().unwrap_or_else(|p| p.into_inner()) = snapshot;
    }

    /// The running actor, if any (none while quarantined or between crash and restart).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }

    pub(super) fn set_generation(&self, generation: u64) {
        self.generation.store(generation, Ordering::Relaxed);
    }

    pub fn addr(&self) -> Option<Addr<DeviceActor>> {
        self.addr.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(super) fn set_addr(&self, addr: Option<Addr<DeviceActor>>) {
        *self.addr.lock().unwrap_or_else(|p| p.into_inner()) = addr;
    }
}

/// Filters for [`Registry::page`].
#[derive(Debug, Clone, Default)]
pub struct DeviceFilter {
    pub state: Option<DeviceState>,
    pub kind: Option<DeviceKind>,
    pub client_id: Option<String>,
}

impl DeviceFilter {
    fn matches(&self, e: &DeviceEntry) -> bool {
        self.state.is_none_or(|s| e.state() == s)
            && self.kind.is_none_or(|k| e.spec.kind == k)
            && self.client_id.as_deref().is_none_or(|c| e.spec.client_id.as_str() == c)
    }
}

#[derive(Debug, Default)]
pub struct Registry {
    devices: RwLock<BTreeMap<String, Arc<DeviceEntry>>>,
}

impl Registry {
    pub fn get(&self, id: &str) -> Option<Arc<DeviceEntry>> {
        self.devices.read().unwrap_or_else(|p| p.into_inner()).get(id).cloned()
    }

    /// Adds an entry; false when the id is taken.
    pub fn insert(&self, entry: Arc<DeviceEntry>) -> bool {
        let mut map = self.devices.write().unwrap_or_else(|p| p.into_inner());
        let id = entry.spec.id.to_string();
        if map.contains_key(&id) {
            return false;
        }
        map.insert(id, entry);
        true
    }

    pub fn len(&self) -> usize {
        self.devices.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Up to `limit` entries matching `filter`, in id order, with ids after `after`.
    pub fn page(&self, filter: &DeviceFilter, after: Option<&str>, limit: usize) -> Vec<Arc<DeviceEntry>> {
        let map = self.devices.read().unwrap_or_else(|p| p.into_inner());
        let range = match after {
            Some(after) => map.range::<str, _>((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded)),
            None => map.range::<str, _>(..),
        };
        range
            .map(|(_, e)| e)
            .filter(|e| filter.matches(e))
            .take(limit)
            .cloned()
            .collect()
    }

    /// How many devices are in each state.
    pub fn count_by_state(&self) -> Vec<(DeviceState, usize)> {
        let map = self.devices.read().unwrap_or_else(|p| p.into_inner());
        let mut counts = [0usize; DeviceState::ALL.len()];
        for entry in map.values() {
            counts[entry.state() as usize] += 1;
        }
        DeviceState::ALL.iter().map(|s| (*s, counts[*s as usize])).collect()
    }

    /// Every entry (for shutdown and for start-up).
    pub fn all(&self) -> Vec<Arc<DeviceEntry>> {
        self.devices
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }
}
