//! Login throttling: how many password attempts a client address and a username may make, how
//! long each waits after too many, and when the refusals add up to a flood worth an alert.
//!
//! Pure: the owner (the HTTP edge's login guard) passes the time in and carries out what it
//! returns. An attempt counts as a failure from the moment it is admitted, so a burst of
//! concurrent attempts cannot all slip past the count while their passwords are still being
//! checked; a success forgets both records. A throttled attempt never ran a password check and
//! does not lengthen the wait: the real user is never kept out longer than the `Retry-After` the
//! server answered.
//!
//! Memory is bounded: at most [`MAX_TRACKED`] records per key kind; a record that has been quiet
//! for [`ThrottleSettings::forget_after`] is dropped, and when the table is full the record
//! quiet for longest makes room.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::marker::PhantomData;
use std::net::IpAddr;
use std::time::Duration;

use crate::time::Millis;

/// Milliseconds from `then` to `now`, zero if `then` is later.
fn elapsed(now: Millis, then: Millis) -> u64 {
    u64::try_from(now.0.saturating_sub(then.0)).unwrap_or(0)
}

/// Records kept per key kind (addresses, usernames): bounds the memory an attacker cycling
/// through addresses or usernames can take.
pub const MAX_TRACKED: usize = 65_536;
/// Attempts a key may make in a row before it has to wait.
pub const DEFAULT_FREE_ATTEMPTS: u32 = 5;
/// The first wait after the free attempts; each further failure doubles it.
pub const DEFAULT_BASE_DELAY: Duration = Duration::from_secs(1);
/// The longest wait, however many failures.
pub const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(60);
/// Refused or failed attempts within [`FLOOD_WINDOW`] that make a flood.
pub const DEFAULT_FLOOD_THRESHOLD: u32 = 50;
/// The window a flood is counted in.
pub const FLOOD_WINDOW: Duration = Duration::from_secs(10);
/// Quiet (no refusal, no failure) after which a flood is over.
pub const FLOOD_QUIET: Duration = Duration::from_secs(30);

/// The rules' settings (`KWANJE_LOGIN_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleSettings {
    pub free_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    pub flood_threshold: u32,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        ThrottleSettings {
            free_attempts: DEFAULT_FREE_ATTEMPTS,
            base_delay: DEFAULT_BASE_DELAY,
            max_delay: DEFAULT_MAX_DELAY,
            flood_threshold: DEFAULT_FLOOD_THRESHOLD,
        }
    }
}

impl ThrottleSettings {
    /// A record quiet this long is forgotten: well past the longest wait, so a slow guesser still
    /// climbs the ladder.
    pub fn forget_after(&self) -> Duration {
        self.max_delay.saturating_mul(4).max(Duration::from_secs(60))
    }

    /// The wait after `failures` attempts in a row, zero while they are free.
    pub fn delay(&self, failures: u32) -> Duration {
        if failures < self.free_attempts {
            return Duration::ZERO;
        }
        let doublings = (failures - self.free_attempts).min(30);
        self.base_delay.saturating_mul(1 << doublings).min(self.max_delay)
    }
}

/// Whether an attempt may check its password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Allowed,
    /// Refused without checking: try again after this long.
    Throttled {
        retry_after: Duration,
    },
}

/// A flood began or ended (raise or resolve the `auth_flood` alert).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FloodChange {
    Started { refusals_in_window: u32 },
    Ended,
}

#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    blocked_until: Millis,
    last: Millis,
}

/// One kind of key's records.
#[derive(Debug)]
struct Table<K, Q: ?Sized> {
    records: HashMap<K, Record>,
    key: PhantomData<fn(&Q)>,
}

/// Looked up by borrowed keys (`&str` for usernames): a key is copied only when a record is made.
impl<K: Hash + Eq + Borrow<Q>, Q: Hash + Eq + ToOwned<Owned = K> + ?Sized> Table<K, Q> {
    fn new() -> Self {
        Table {
            records: HashMap::new(),
            key: PhantomData,
        }
    }

    fn blocked(&self, key: &Q, now: Millis) -> Duration {
        self.records
            .get(key)
            .map(|r| Duration::from_millis(elapsed(r.blocked_until, now)))
            .unwrap_or(Duration::ZERO)
    }

    fn fail(&mut self, key: &Q, now: Millis, settings: &ThrottleSettings) {
        if !self.records.contains_key(key) && self.records.len() >= MAX_TRACKED {
            self.prune(now, settings);
            if self.records.len() >= MAX_TRACKED {
                self.evict_quietest();
            }
        }
        let record = self.records.entry(key.to_owned()).or_insert(Record {
            failures: 0,
            blocked_until: now,
            last: now,
        });
        record.failures = record.failures.saturating_add(1);
        record.last = now;
        let wait = settings.delay(record.failures);
        record.blocked_until = now + wait;
    }

    /// A wait set when the attempt was admitted runs again from `now`, if it was still due.
    fn restart_wait(&mut self, key: &Q, now: Millis, settings: &ThrottleSettings) {
        if let Some(record) = self.records.get_mut(key) {
            record.last = now;
            record.blocked_until = record.blocked_until.max(now + settings.delay(record.failures));
        }
    }

    fn forget(&mut self, key: &Q) {
        self.records.remove(key);
    }

    fn prune(&mut self, now: Millis, settings: &ThrottleSettings) {
        let quiet = settings.forget_after().as_millis() as u64;
        self.records
            .retain(|_, r| r.blocked_until > now || elapsed(now, r.last) < quiet);
    }

    fn evict_quietest(&mut self) {
        let quietest = self
            .records
            .iter()
            .min_by_key(|(_, r)| r.last.0)
            .map(|(k, _)| k.borrow().to_owned());
        if let Some(key) = quietest {
            self.records.remove(key.borrow());
        }
    }
}

/// Counts refusals and failures in fixed windows; a window at the threshold starts a flood,
/// [`FLOOD_QUIET`] with none ends it.
#[derive(Debug)]
struct FloodWatch {
    window_start: Millis,
    in_window: u32,
    last_bad: Option<Millis>,
    active: bool,
}

impl FloodWatch {
    fn note(&mut self, now: Millis, threshold: u32) -> Option<FloodChange> {
        if elapsed(now, self.window_start) >= FLOOD_WINDOW.as_millis() as u64 {
            self.window_start = now;
            self.in_window = 0;
        }
        self.in_window = self.in_window.saturating_add(1);
        self.last_bad = Some(now);
        if !self.active && self.in_window >= threshold {
            self.active = true;
            return Some(FloodChange::Started {
                refusals_in_window: self.in_window,
            });
        }
        None
    }

    fn tick(&mut self, now: Millis) -> Option<FloodChange> {
        let quiet = self
            .last_bad
            .is_none_or(|last| elapsed(now, last) >= FLOOD_QUIET.as_millis() as u64);
        if self.active && quiet {
            self.active = false;
            return Some(FloodChange::Ended);
        }
        None
    }
}

/// Figures for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ThrottleStats {
    pub failed: u64,
    pub throttled: u64,
    pub tracked_addresses: usize,
    pub tracked_usernames: usize,
    pub flooding: bool,
}

/// The throttle: one record per client address and one per username.
#[derive(Debug)]
pub struct LoginThrottle {
    settings: ThrottleSettings,
    by_addr: Table<IpAddr, IpAddr>,
    by_user: Table<String, str>,
    flood: FloodWatch,
    failed: u64,
    throttled: u64,
}

impl LoginThrottle {
    pub fn new(settings: ThrottleSettings) -> Self {
        LoginThrottle {
            settings,
            by_addr: Table::new(),
            by_user: Table::new(),
            flood: FloodWatch {
                window_start: Millis(0),
                in_window: 0,
                last_bad: None,
                active: false,
            },
            failed: 0,
            throttled: 0,
        }
    }

    /// May an attempt from `addr` for `username` check its password now? An admitted attempt is
    /// counted as failed until [`LoginThrottle::succeeded`] says otherwise. The flood change, if
    /// this attempt started one, comes with it.
    pub fn admit(&mut self, addr: IpAddr, username: &str, now: Millis) -> (Admission, Option<FloodChange>) {
        let wait = self
            .by_addr
            .blocked(&addr, now)
            .max(self.by_user.blocked(username, now));
        if !wait.is_zero() {
            self.throttled += 1;
            let flood = self.flood.note(now, self.settings.flood_threshold);
            // Whole seconds for `Retry-After`, never 0 while refused.
            let secs = wait.as_millis().div_ceil(1000).max(1) as u64;
            return (
                Admission::Throttled {
                    retry_after: Duration::from_secs(secs),
                },
                flood,
            );
        }
        self.by_addr.fail(&addr, now, &self.settings);
        self.by_user.fail(username, now, &self.settings);
        (Admission::Allowed, None)
    }

    /// The admitted attempt's password was wrong. It already counted; its wait now runs from
    /// this moment (a password check can take a while on a loaded server), and it counts
    /// towards a flood.
    pub fn failed(&mut self, addr: IpAddr, username: &str, now: Millis) -> Option<FloodChange> {
        self.failed += 1;
        self.by_addr.restart_wait(&addr, now, &self.settings);
        self.by_user.restart_wait(username, now, &self.settings);
        self.flood.note(now, self.settings.flood_threshold)
    }

    /// How long `addr` must still wait, without counting this as an attempt (zero: it may try).
    pub fn addr_wait(&self, addr: IpAddr, now: Millis) -> Duration {
        self.by_addr.blocked(&addr, now)
    }

    /// The admitted attempt logged in: both its records are forgotten.
    pub fn succeeded(&mut self, addr: IpAddr, username: &str) {
        self.by_addr.forget(&addr);
        self.by_user.forget(username);
    }

    /// Periodic upkeep: forgets quiet records; says when a flood is over.
    pub fn tick(&mut self, now: Millis) -> Option<FloodChange> {
        self.by_addr.prune(now, &self.settings);
        self.by_user.prune(now, &self.settings);
        self.flood.tick(now)
    }

    pub fn stats(&self) -> ThrottleStats {
        ThrottleStats {
            failed: self.failed,
            throttled: self.throttled,
            tracked_addresses: self.by_addr.records.len(),
            tracked_usernames: self.by_user.records.len(),
            flooding: self.flood.active,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    fn throttle() -> LoginThrottle {
        LoginThrottle::new(ThrottleSettings::default())
    }

    fn allowed(t: &mut LoginThrottle, addr: IpAddr, user: &str, at: i64) -> bool {
        t.admit(addr, user, Millis(at)).0 == Admission::Allowed
    }

    #[test]
    fn the_free_attempts_pass_then_the_waits_double_up_to_the_cap() {
        let s = ThrottleSettings::default();
        assert_eq!(s.delay(4), Duration::ZERO);
        assert_eq!(s.delay(5), Duration::from_secs(1));
        assert_eq!(s.delay(6), Duration::from_secs(2));
        assert_eq!(s.delay(7), Duration::from_secs(4));
        assert_eq!(s.delay(12), Duration::from_secs(60));
        assert_eq!(s.delay(u32::MAX), Duration::from_secs(60));
    }

    #[test]
    fn a_sixth_attempt_in_a_row_waits_and_is_told_how_long() {
        let mut t = throttle();
        for _ in 0..5 {
            assert!(allowed(&mut t, A, "admin", 1_000));
        }
        // The fifth attempt set a 1 s wait.
        assert_eq!(
            t.admit(A, "admin", Millis(1_000)).0,
            Admission::Throttled {
                retry_after: Duration::from_secs(1)
            }
        );
        assert!(allowed(&mut t, A, "admin", 2_000));
        // Now 2 s.
        assert_eq!(
            t.admit(A, "admin", Millis(2_500)).0,
            Admission::Throttled {
                retry_after: Duration::from_secs(2)
            }
        );
    }

    #[test]
    fn the_wait_runs_from_when_the_failure_is_known() {
        let mut t = throttle();
        for _ in 0..5 {
            t.admit(A, "admin", Millis(0));
        }
        // The fifth check took 3 s to say the password was wrong.
        t.failed(A, "admin", Millis(3_000));
        assert!(!allowed(&mut t, A, "admin", 3_500));
        assert!(allowed(&mut t, A, "admin", 4_000));
    }

    #[test]
    fn refused_attempts_do_not_lengthen_the_wait() {
        let mut t = throttle();
        for _ in 0..5 {
            t.admit(A, "admin", Millis(0));
        }
        for at in (0..1_000).step_by(10) {
            assert!(!allowed(&mut t, A, "admin", at));
        }
        assert!(allowed(&mut t, A, "admin", 1_000), "the wait is what the server said");
    }

    #[test]
    fn a_username_is_throttled_from_every_address_and_an_address_for_every_username() {
        let mut t = throttle();
        for _ in 0..5 {
            t.admit(A, "admin", Millis(0));
        }
        assert!(!allowed(&mut t, B, "admin", 10), "the same username from elsewhere");
        assert!(!allowed(&mut t, A, "ops", 10), "another username from the same address");
        assert!(allowed(&mut t, B, "ops", 10));
    }

    #[test]
    fn a_success_forgets_both_records() {
        let mut t = throttle();
        for _ in 0..4 {
            t.admit(A, "admin", Millis(0));
        }
        t.succeeded(A, "admin");
        for _ in 0..5 {
            assert!(allowed(&mut t, A, "admin", 0));
        }
    }

    #[test]
    fn quiet_records_are_forgotten_and_the_ladder_starts_again() {
        let mut t = throttle();
        for _ in 0..8 {
            t.admit(A, "admin", Millis(0));
            t.admit(A, "admin", Millis(1_000_000));
        }
        let later = 1_000_000 + 60_000 + ThrottleSettings::default().forget_after().as_millis() as i64;
        t.tick(Millis(later));
        assert_eq!(t.stats().tracked_addresses, 0);
        assert_eq!(t.stats().tracked_usernames, 0);
        assert!(allowed(&mut t, A, "admin", later));
    }

    #[test]
    fn the_tables_never_hold_more_than_the_cap() {
        let mut t = throttle();
        for i in 0..(MAX_TRACKED as u32 + 10) {
            let addr = IpAddr::V4(std::net::Ipv4Addr::from(i));
            t.admit(addr, &format!("u{i}"), Millis(i64::from(i)));
        }
        assert_eq!(t.stats().tracked_addresses, MAX_TRACKED);
        assert_eq!(t.stats().tracked_usernames, MAX_TRACKED);
    }

    #[test]
    fn a_flood_starts_once_at_the_threshold_and_ends_after_the_quiet() {
        let mut t = LoginThrottle::new(ThrottleSettings {
            flood_threshold: 10,
            ..ThrottleSettings::default()
        });
        let mut changes = Vec::new();
        for i in 0..30 {
            let at = Millis(1_000 + i);
            let (admission, flood) = t.admit(A, "admin", at);
            changes.extend(flood);
            if admission == Admission::Allowed {
                changes.extend(t.failed(A, "admin", at));
            }
        }
        assert_eq!(changes, vec![FloodChange::Started { refusals_in_window: 10 }]);
        assert!(t.stats().flooding);
        assert_eq!(t.tick(Millis(1_029 + FLOOD_QUIET.as_millis() as i64 - 1)), None);
        assert_eq!(
            t.tick(Millis(1_029 + FLOOD_QUIET.as_millis() as i64)),
            Some(FloodChange::Ended)
        );
        assert_eq!(t.tick(Millis(100_000)), None);
    }

    #[test]
    fn a_trickle_of_mistakes_is_no_flood() {
        let mut t = throttle();
        for i in 0..200i64 {
            // One failure every second from many users: 10 per window, under the threshold.
            let at = Millis(i * 1_000);
            let user = format!("u{i}");
            assert_eq!(t.admit(A, &user, at).1, None);
            t.succeeded(A, &user);
            assert_eq!(t.failed(A, &user, at), None);
        }
        assert!(!t.stats().flooding);
    }
}
