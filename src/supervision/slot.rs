//! Where a supervised child lives for the readers that find it through a registry: its current
//! actor address (swapped by the supervisor on restart), how many times it was restarted, and
//! whether it is quarantined. Readable from any thread without asking an actor.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;

use actix::{Actor, Addr};

pub struct ChildSlot<A: Actor> {
    restarts: AtomicU32,
    quarantined: AtomicBool,
    /// The supervisor's generation of the actor last started here.
    generation: AtomicU64,
    addr: Mutex<Option<Addr<A>>>,
}

impl<A: Actor> std::fmt::Debug for ChildSlot<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildSlot")
            .field("restarts", &self.restarts())
            .field("quarantined", &self.quarantined())
            .field("running", &self.addr().is_some())
            .finish()
    }
}

impl<A: Actor> ChildSlot<A> {
    /// An empty slot for a child restarted `restarts` times before.
    pub fn new(restarts: u32) -> Self {
        ChildSlot {
            restarts: AtomicU32::new(restarts),
            quarantined: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            addr: Mutex::new(None),
        }
    }

    pub fn restarts(&self) -> u32 {
        self.restarts.load(Ordering::Relaxed)
    }

    pub fn set_restarts(&self, n: u32) {
        self.restarts.store(n, Ordering::Relaxed);
    }

    /// Crashed too often: its actor stays down until it is started again.
    pub fn quarantined(&self) -> bool {
        self.quarantined.load(Ordering::Relaxed)
    }

    pub fn set_quarantined(&self, on: bool) {
        self.quarantined.store(on, Ordering::Relaxed);
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }

    /// An actor of `generation` starts here (before it can exit).
    pub fn set_generation(&self, generation: u64) {
        self.generation.store(generation, Ordering::Relaxed);
    }

    /// The running actor, if any (none while quarantined or between crash and restart).
    pub fn addr(&self) -> Option<Addr<A>> {
        self.addr.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn set_addr(&self, addr: Option<Addr<A>>) {
        *self.addr.lock().unwrap_or_else(|p| p.into_inner()) = addr;
    }
}
