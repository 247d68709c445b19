//! The device registry: id to [`Device`], readable from any thread without asking an actor.
//!
//! Each [`Device`] is the device's [`DeviceEntry`] (data its actor and the live views share)
//! beside the slot its supervisor keeps the actor in ([`ChildSlot`](crate::supervision::ChildSlot):
//! address, restart count, generation), so one lookup finds both.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use super::actor::DeviceActor;
use super::entry::DeviceEntry;
use super::model::{DeviceKind, DeviceState};
use crate::supervision::Child;

/// A registered device: its entry and its actor's slot.
pub type Device = Child<DeviceEntry, DeviceActor>;

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
            && self.kind.is_none_or(|k| e.spec().kind == k)
            && self
                .client_id
                .as_deref()
                .is_none_or(|c| e.spec().client_id.as_str() == c)
    }
}

#[derive(Debug, Default)]
pub struct Registry {
    devices: RwLock<BTreeMap<String, Arc<Device>>>,
}

impl Registry {
    pub fn get(&self, id: &str) -> Option<Arc<Device>> {
        self.devices.read().unwrap_or_else(|p| p.into_inner()).get(id).cloned()
    }

    /// Adds an entry; false when the id is taken.
    pub fn insert(&self, entry: Arc<Device>) -> bool {
        let mut map = self.devices.write().unwrap_or_else(|p| p.into_inner());
        let id = entry.spec().id.to_string();
        if map.contains_key(&id) {
            return false;
        }
        map.insert(id, entry);
        true
    }

    /// Adds an entry, or puts it in place of one whose actor is not running (a device this
    /// node knew from an older read of the store); false when the device's actor runs here.
    pub fn refresh(&self, entry: Arc<Device>) -> bool {
        let mut map = self.devices.write().unwrap_or_else(|p| p.into_inner());
        let id = entry.spec().id.to_string();
        if map.get(&id).is_some_and(|known| known.slot.addr().is_some()) {
            return false;
        }
        map.insert(id, entry);
        true
    }

    /// Takes device `id` out (decommissioned); answers its entry, if it was here.
    pub fn remove(&self, id: &str) -> Option<Arc<Device>> {
        self.devices.write().unwrap_or_else(|p| p.into_inner()).remove(id)
    }

    pub fn len(&self) -> usize {
        self.devices.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Up to `limit` entries matching `filter`, in id order, with ids after `after`.
    pub fn page(&self, filter: &DeviceFilter, after: Option<&str>, limit: usize) -> Vec<Arc<Device>> {
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
    pub fn all(&self) -> Vec<Arc<Device>> {
        self.devices
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }
}
