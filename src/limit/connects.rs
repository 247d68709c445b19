//! The failed-CONNECT records of every client address (the login throttle's pure core behind a
//! lock), shared by every STOMP session; applied by `transport::connect_guard`.

use std::net::IpAddr;
use std::sync::Mutex;

use crate::auth::throttle::{LoginThrottle, ThrottleSettings};
use crate::time::Millis;

/// The failed-CONNECT records of every address, shared by every session.
#[derive(Debug)]
pub struct ConnectThrottle {
    throttle: Mutex<LoginThrottle>,
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

    /// Forgets quiet records (called now and then, e.g. on each CONNECT).
    pub fn prune(&self, now: Millis) {
        self.with(|t| {
            t.tick(now);
        });
    }
}
