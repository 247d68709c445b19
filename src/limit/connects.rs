//! The failed-CONNECT records of every client address (the login throttle's pure core behind a
//! lock), shared by every STOMP session; applied by `transport::connect_guard`.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::auth::throttle::{LoginThrottle, ThrottleSettings};
use crate::time::Millis;

/// The failed-CONNECT records of every address, shared by every session.
#[derive(Debug)]
pub struct ConnectThrottle {
    throttle: Mutex<LoginThrottle>,
    refused_requests: AtomicU64,
}

/// The username the pure core's per-username table gets: one per address, so it counts the
/// same as the address table (a STOMP CONNECT names no user before its token is checked).
pub fn key(addr: IpAddr) -> String {
    format!("stomp-connect:{addr}")
}

impl ConnectThrottle {
    pub fn new(settings: ThrottleSettings) -> Self {
        ConnectThrottle {
            throttle: Mutex::new(LoginThrottle::new(settings)),
            refused_requests: AtomicU64::new(0),
        }
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut LoginThrottle) -> R) -> R {
        let mut throttle = self.throttle.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut throttle)
    }

    /// Failed CONNECTs and CONNECTs refused unchecked, for `/metrics`.
    pub fn refused(&self) -> (u64, u64) {
        self.with(|t| {
            let stats = t.stats();
            (stats.failed, stats.throttled)
        })
    }

    /// How long `addr` must still wait before its next CONNECT is looked at (zero: none), in
    /// whole seconds for `Retry-After`.
    pub fn wait_secs(&self, addr: IpAddr, now: Millis) -> u64 {
        let wait = self.with(|t| t.addr_wait(addr, now));
        if wait.is_zero() {
            0
        } else {
            (wait.as_millis().div_ceil(1000) as u64).max(1)
        }
    }

    /// Answers 429 given to realtime requests from an address while it waits.
    pub fn note_refused_request(&self) -> u64 {
        self.refused_requests.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Realtime requests answered 429, for `/metrics`.
    pub fn refused_requests(&self) -> u64 {
        self.refused_requests.load(Ordering::Relaxed)
    }

    /// Forgets quiet records (called now and then, e.g. on each CONNECT).
    pub fn prune(&self, now: Millis) {
        self.with(|t| {
            t.tick(now);
        });
    }
}
