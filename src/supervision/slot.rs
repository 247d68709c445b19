//! Where a supervised child lives for the readers that find it through a registry.
//!
//! A [`ChildSlot`] holds the child's current actor address, how many times it was restarted,
//! whether it is quarantined and the generation of the actor last started there. Only the
//! supervisor writes it (it starts every actor and receives every exit); everyone else reads it,
//! from any thread, without asking an actor.
//!
//! A registry keeps each child as a [`Child`]: the entry its actor and the live views share
//! (data only, no actor types, so the actor can hold it without importing its registry) beside
//! its slot.

use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

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

    /// Crashed too often: its actor stays down until it is started again.
    pub fn quarantined(&self) -> bool {
        self.quarantined.load(Ordering::Relaxed)
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }

    /// The running actor, if any (none while quarantined, between crash and restart, and once
    /// the actor has stopped even if its exit is still on the way to the supervisor).
    pub fn addr(&self) -> Option<Addr<A>> {
        let addr = self.addr.lock().unwrap_or_else(|p| p.into_inner());
        addr.as_ref().filter(|a| a.connected()).cloned()
    }

    /// An actor of `generation` started here after `restarts` restarts: it is the child now.
    pub(super) fn started(&self, addr: Addr<A>, generation: u64, restarts: u32) {
        self.restarts.store(restarts, Ordering::Relaxed);
        self.generation.store(generation, Ordering::Relaxed);
        self.quarantined.store(false, Ordering::Relaxed);
        *self.addr.lock().unwrap_or_else(|p| p.into_inner()) = Some(addr);
    }

    /// The current actor exited: nothing runs here until the next start.
    pub(super) fn exited(&self) {
        *self.addr.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// The child crashed too often and stays down.
    pub(super) fn quarantine(&self) {
        self.quarantined.store(true, Ordering::Relaxed);
    }
}

/// A supervised child as its registry holds it: the `entry` its actor and the live views share,
/// and the `slot` supervision keeps its actor in. Reads through it go to the entry.
pub struct Child<E, A: Actor> {
    pub entry: Arc<E>,
    pub slot: ChildSlot<A>,
}

impl<E: std::fmt::Debug, A: Actor> std::fmt::Debug for Child<E, A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Child")
            .field("entry", &self.entry)
            .field("slot", &self.slot)
            .finish()
    }
}

impl<E, A: Actor> Child<E, A> {
    /// A child whose actor has not started yet, restarted `restarts` times before.
    pub fn new(entry: E, restarts: u32) -> Self {
        Child {
            entry: Arc::new(entry),
            slot: ChildSlot::new(restarts),
        }
    }
}

impl<E, A: Actor> Deref for Child<E, A> {
    type Target = E;

    fn deref(&self) -> &E {
        &self.entry
    }
}
