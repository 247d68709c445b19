//! How device actors are built, rebuilt and given up on: the device [`ChildFactory`].
//!
//! A (re)started actor is built from the entry's stored snapshot (the state last committed to
//! the store), never from the crashed actor's memory, and placed on one of the device arbiters
//! by a hash of its id. Escalation quarantines the device and raises a critical alert.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use actix::prelude::*;

use super::actor::{DeviceActor, DeviceShared};
use super::lifecycle::{Lifecycle, Reason, Transition};
use super::model::DeviceState;
use super::registry::Registry;
use crate::alert::Record;
use crate::ids::DeviceId;
use crate::ownership::Fence;
use crate::store::models::devices;
use crate::store::WriteFn;
use crate::supervision::{ChildFactory, ChildSlot, ExitReport};

pub struct DeviceFactory {
    registry: Arc<Registry>,
    shared: Arc<DeviceShared>,
    arbiters: Vec<ArbiterHandle>,
}

impl DeviceFactory {
    pub fn new(registry: Arc<Registry>, shared: Arc<DeviceShared>, arbiters: Vec<ArbiterHandle>) -> Self {
        DeviceFactory {
            registry,
            shared,
            arbiters,
        }
    }

    fn arbiter_for(&self, id: &DeviceId) -> Option<&ArbiterHandle> {
        let mut h = DefaultHasher::new();
        id.hash(&mut h);
        let n = self.arbiters.len().max(1);
        self.arbiters.get(usize::try_from(h.finish() % n as u64).unwrap_or(0))
    }
}

impl ChildFactory for DeviceFactory {
    type Id = DeviceId;
    type Actor = DeviceActor;

    fn start_child(
        &mut self,
        id: &DeviceId,
        _fence: Fence,
        restarts: u32,
        exit: ExitReport<DeviceId>,
    ) -> Result<Addr<DeviceActor>, String> {
        let device = self
            .registry
            .get(id.as_str())
            .ok_or_else(|| format!("device {id} is not registered"))?;
        let entry = &device.entry;
        let now = self.shared.clock.now();
        let stored = entry.stored();
        let mut core = Lifecycle::restore(
            entry.spec().deadline_window(),
            self.shared.flap,
            stored.state,
            stored.since,
            stored.last_seen,
            now,
        );
        if stored.state == DeviceState::Quarantined {
            // An operator lifted the quarantine: record the release.
            let tr = Transition {
                from: DeviceState::Quarantined,
                to: core.state(),
                at: now,
                reason: Reason::Released,
            };
            self.shared.record(entry, tr, stored.last_seen, restarts);
            core = Lifecycle::restore(
                entry.spec().deadline_window(),
                self.shared.flap,
                core.state(),
                now,
                stored.last_seen,
                now,
            );
        }
        if restarts != device.slot.restarts() {
            let (row, count) = (id.to_string(), i32::try_from(restarts).unwrap_or(i32::MAX));
            let writes: WriteFn = Arc::new(move |conn| devices::set_restarts(conn, &row, count));
            if let Some(fence) = self.shared.fence_of(entry.spec().client_id.as_str()) {
                self.shared.alerts.do_send(Record {
                    writes: Some(writes),
                    state: None,
                    intents: Vec::new(),
                    committed: None,
                    fence: Some(fence),
                });
            }
        }
        let actor = DeviceActor::new(entry.clone(), core, self.shared.clone(), restarts, exit);
        Ok(match self.arbiter_for(id) {
            Some(arbiter) => DeviceActor::start_in_arbiter(arbiter, move |_| actor),
            None => actor.start(),
        })
    }

    fn with_partition_key<R>(&self, id: &DeviceId, f: impl FnOnce(&str) -> R) -> Option<R> {
        // A gate PC's devices live together: the partition is its client's.
        self.registry
            .get(id.as_str())
            .map(|device| f(device.entry.spec().client_id.as_str()))
    }

    fn with_slot<R>(&self, id: &DeviceId, f: impl FnOnce(&ChildSlot<DeviceActor>) -> R) -> Option<R> {
        self.registry.get(id.as_str()).map(|device| f(&device.slot))
    }

    fn escalate(&mut self, id: &DeviceId, reason: &str, restarts: u32) {
        let Some(device) = self.registry.get(id.as_str()) else {
            return;
        };
        let entry = &device.entry;
        let now = self.shared.clock.now();
        let from = entry.state();
        entry.set_state(DeviceState::Quarantined, now);
        let tr = Transition {
            from,
            to: DeviceState::Quarantined,
            at: now,
            reason: Reason::Quarantined(reason.to_owned()),
        };
        self.shared.record(entry, tr, entry.last_seen(), restarts);
    }
}
