//! What a simulation counts as it runs, shared by its tasks (all on one thread, so plain cells).

use std::cell::Cell;

/// A counter or gauge.
#[derive(Debug, Default)]
pub struct Counter(Cell<u64>);

impl Counter {
    pub fn inc(&self) {
        self.add(1);
    }

    pub fn add(&self, n: u64) {
        self.0.set(self.0.get().saturating_add(n));
    }

    pub fn dec(&self) {
        self.0.set(self.0.get().saturating_sub(1));
    }

    pub fn get(&self) -> u64 {
        self.0.get()
    }
}

#[derive(Debug, Default)]
pub struct Stats {
    /// STOMP sessions open now.
    pub sessions: Counter,
    /// CONNECTED sessions since the start, first ones included.
    pub connects: Counter,
    pub connect_failures: Counter,
    /// Sessions that ended without being asked to (server closed, ERROR, network).
    pub sessions_lost: Counter,
    /// `/app/heartbeat` frames sent, and the device heartbeats in them.
    pub frames: Counter,
    pub beats: Counter,
    pub commands: Counter,
    pub acks_ok: Counter,
    pub acks_failed: Counter,
    /// Chaos: faults reported, silences, flapping spells, actor crashes, dropped sessions.
    pub faults: Counter,
    pub silences: Counter,
    pub flaps: Counter,
    pub crashes: Counter,
    pub drops: Counter,
    /// Taxis: lot arrivals reported, passenger requests made (and answered 201), trips completed.
    pub arrivals: Counter,
    pub requests: Counter,
    pub assigned: Counter,
    pub trips: Counter,
}
