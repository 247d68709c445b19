//! A device's lifecycle: the pure core each device actor owns.
//!
//! Inputs are heartbeats, timer ticks and operator switches, each with the time; outputs are
//! [`Transition`]s, or nothing. Nothing here reads a clock, allocates on the heartbeat path of
//! a device that is up, or knows about actors, storage or alerts.
//!
//! Rules (DOMAIN.md "Supervision"):
//! - a device is `up` from its first `ok` heartbeat; `down` when silent for interval ×
//!   tolerance ([`Lifecycle::next_deadline`] says when to look), or at once on a `fault`;
//!   an `ok` heartbeat after that brings it back `up`;
//! - more than [`FlapPolicy::max_changes`] up/down changes within [`FlapPolicy::window`] make it
//!   `flapping`, reported once; it stays so, whatever the heartbeats say, until no change has
//!   happened for [`FlapPolicy::hold_down`], then it settles on what the heartbeats say;
//! - `maintenance` silences it: heartbeats are still tracked, but no transition is reported
//!   until maintenance ends, when it takes the state the heartbeats say;
//! - `unreachable` while its client (gate PC) is disconnected: likewise silent; when the client
//!   comes back the device gets a fresh window from then, so it either heartbeats and is up, or
//!   goes down on its own deadline.

use std::collections::VecDeque;
use std::time::Duration;

use super::model::{DeviceState, HeartbeatStatus};
use crate::time::Millis;

pub const DEFAULT_FLAP_MAX_CHANGES: usize = 5;
pub const DEFAULT_FLAP_WINDOW: Duration = Duration::from_secs(120);
pub const DEFAULT_FLAP_HOLD_DOWN: Duration = Duration::from_secs(60);
/// Longest fault detail kept from a report.
pub const MAX_DETAIL_LEN: usize = 512;

/// When changing state counts as flapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlapPolicy {
    /// More changes than this within `window` is flapping.
    pub max_changes: usize,
    pub window: Duration,
    /// Quiet time before a flapping device settles.
    pub hold_down: Duration,
}

impl Default for FlapPolicy {
    fn default() -> Self {
        FlapPolicy {
            max_changes: DEFAULT_FLAP_MAX_CHANGES,
            window: DEFAULT_FLAP_WINDOW,
            hold_down: DEFAULT_FLAP_HOLD_DOWN,
        }
    }
}

/// Why a transition happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// No heartbeat within interval × tolerance.
    HeartbeatMissed,
    /// The client reported a fault.
    Fault(String),
    /// A heartbeat arrived while not up.
    Recovered,
    Flapping,
    /// Flapping ended.
    Stable,
    MaintenanceOn,
    MaintenanceOff,
    /// The device's client (gate PC) disconnected.
    ClientDisconnected,
    /// The device's client came back.
    ClientReconnected,
    /// The supervisor gave up restarting the actor (never produced by this core).
    Quarantined(String),
    /// An operator lifted a quarantine (never produced by this core).
    Released,
}

impl Reason {
    /// The short name stored with the transition.
    pub fn name(&self) -> &'static str {
        match self {
            Reason::HeartbeatMissed => "heartbeat_missed",
            Reason::Fault(_) => "fault",
            Reason::Recovered => "recovered",
            Reason::Flapping => "flapping",
            Reason::Stable => "stable",
            Reason::MaintenanceOn => "maintenance_on",
            Reason::MaintenanceOff => "maintenance_off",
            Reason::ClientDisconnected => "client_disconnected",
            Reason::ClientReconnected => "client_reconnected",
            Reason::Quarantined(_) => "quarantined",
            Reason::Released => "released",
        }
    }
}

/// A visible change of state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub from: DeviceState,
    pub to: DeviceState,
    pub at: Millis,
    pub reason: Reason,
}

/// What the heartbeats alone say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signal {
    Never,
    Up,
    Missed,
    Fault,
}

#[derive(Debug, Clone)]
pub struct Lifecycle {
    state: DeviceState,
    since: Millis,
    last_seen: Option<Millis>,
    window: Duration,
    flap: FlapPolicy,
    signal: Signal,
    /// Times of recent up/down signal changes, oldest first (empty for a steady device).
    changes: VecDeque<Millis>,
    maintenance: bool,
    /// Its client is disconnected.
    unreachable: bool,
}

impl Lifecycle {
    /// A device never heard from.
    pub fn new(window: Duration, flap: FlapPolicy, now: Millis) -> Self {
        Lifecycle {
            state: DeviceState::Unknown,
            since: now,
            last_seen: None,
            window,
            flap,
            signal: Signal::Never,
            changes: VecDeque::new(),
            maintenance: false,
            unreachable: false,
        }
    }

    /// A device rebuilt from its stored state (after a restart or at boot). A device stored
    /// `up` gets a full window from `now`, since its heartbeats were not stored.
    pub fn restore(
        window: Duration,
        flap: FlapPolicy,
        state: DeviceState,
        since: Millis,
        last_seen: Option<Millis>,
        now: Millis,
    ) -> Self {
        let mut core = Lifecycle::new(window, flap, since);
        core.last_seen = last_seen;
        core.state = state;
        core.signal = match state {
            DeviceState::Up => {
                core.last_seen = Some(now);
                Signal::Up
            }
            DeviceState::Down => Signal::Missed,
            DeviceState::Flapping => {
                core.changes.push_back(now);
                Signal::Missed
            }
            DeviceState::Maintenance => {
                core.maintenance = true;
                Signal::Never
            }
            DeviceState::Unknown | DeviceState::Unreachable | DeviceState::Quarantined => {
                core.state = DeviceState::Unknown;
                Signal::Never
            }
        };
        core
    }

    pub fn state(&self) -> DeviceState {
        self.state
    }

    pub fn since(&self) -> Millis {
        self.since
    }

    pub fn last_seen(&self) -> Option<Millis> {
        self.last_seen
    }

    /// True when an `ok` heartbeat would change nothing but [`Lifecycle::last_seen`] (the
    /// heartbeats already say up): the edge may then record it without telling the actor.
    pub fn ok_changes_nothing(&self) -> bool {
        self.signal == Signal::Up
    }

    /// Heartbeats recorded outside the core (a timestamp the edge kept): the core's last
    /// sighting moves forward to `seen`, never back.
    pub fn observe(&mut self, seen: Option<Millis>) {
        if let Some(seen) = seen {
            self.last_seen = Some(self.last_seen.map_or(seen, |t| t.max(seen)));
        }
    }

    /// A heartbeat at `now`.
    pub fn heartbeat(&mut self, status: &HeartbeatStatus, detail: Option<&str>, now: Millis) -> Option<Transition> {
        self.last_seen = Some(now);
        match status {
            HeartbeatStatus::Ok => self.signal_changed(Signal::Up, now, Reason::Recovered),
            HeartbeatStatus::Fault => {
                let detail: String = detail
                    .unwrap_or("fault reported")
                    .chars()
                    .take(MAX_DETAIL_LEN)
                    .collect();
                self.signal_changed(Signal::Fault, now, Reason::Fault(detail))
            }
        }
    }

    /// The timer fired (or any time): checks the deadline and the flapping hold-down.
    pub fn tick(&mut self, now: Millis) -> Option<Transition> {
        // No deadline while the client is gone: its heartbeats could not arrive.
        let watched = self.signal == Signal::Up && !self.unreachable;
        if watched && self.last_seen.is_some_and(|seen| now >= seen + self.window) {
            return self.signal_changed(Signal::Missed, now, Reason::HeartbeatMissed);
        }
        if self.state == DeviceState::Flapping && self.quiet_since().is_some_and(|t| now >= t + self.flap.hold_down) {
            self.changes.clear();
            let to = self.settled_state();
            return self.move_to(to, now, Reason::Stable);
        }
        None
    }

    /// The registered interval × tolerance changed: the deadline counts from the last
    /// sighting with the new window, and nothing else about the device changes.
    pub fn set_window(&mut self, window: Duration) {
        self.window = window;
    }

    /// When [`Lifecycle::tick`] next has something to check, if ever.
    pub fn next_deadline(&self) -> Option<Millis> {
        let missed = match (self.signal, self.last_seen) {
            (Signal::Up, Some(seen)) if !self.unreachable => Some(seen + self.window),
            _ => None,
        };
        let settle = match (self.state, self.quiet_since()) {
            (DeviceState::Flapping, Some(t)) => Some(t + self.flap.hold_down),
            _ => None,
        };
        match (missed, settle) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Turns maintenance on or off.
    pub fn set_maintenance(&mut self, on: bool, now: Millis) -> Option<Transition> {
        if on == self.maintenance {
            return None;
        }
        self.maintenance = on;
        if on {
            self.changes.clear();
            self.move_to(DeviceState::Maintenance, now, Reason::MaintenanceOn)
        } else if self.unreachable {
            self.move_to(DeviceState::Unreachable, now, Reason::MaintenanceOff)
        } else {
            let to = self.settled_state();
            self.move_to(to, now, Reason::MaintenanceOff)
        }
    }

    /// The device's client disconnected (`false`) or came back (`true`).
    pub fn set_client_connected(&mut self, connected: bool, now: Millis) -> Option<Transition> {
        if connected != self.unreachable {
            return None;
        }
        self.unreachable = !connected;
        if self.maintenance {
            return None;
        }
        if !connected {
            self.changes.clear();
            return self.move_to(DeviceState::Unreachable, now, Reason::ClientDisconnected);
        }
        // Heartbeats could not arrive while the client was gone: a fresh window from now.
        if self.signal == Signal::Up {
            self.last_seen = Some(now);
        }
        let to = self.settled_state();
        self.move_to(to, now, Reason::ClientReconnected)
    }

    fn quiet_since(&self) -> Option<Millis> {
        self.changes.back().copied()
    }

    /// The state the heartbeats say, with no hold in force.
    fn settled_state(&self) -> DeviceState {
        match self.signal {
            Signal::Never => DeviceState::Unknown,
            Signal::Up => DeviceState::Up,
            Signal::Missed | Signal::Fault => DeviceState::Down,
        }
    }

    fn signal_changed(&mut self, signal: Signal, now: Millis, reason: Reason) -> Option<Transition> {
        let was_up = self.signal == Signal::Up;
        let first = self.signal == Signal::Never;
        if self.signal == signal {
            return None;
        }
        self.signal = signal;
        if self.maintenance || self.unreachable {
            return None;
        }
        // Up/down changes count towards flapping; the first sighting and fault>missed do not.
        if !first && (was_up || signal == Signal::Up) {
            self.changes.push_back(now);
            let window_start = now - self.flap.window;
            while self.changes.front().is_some_and(|&t| t <= window_start) {
                self.changes.pop_front();
            }
            if self.state == DeviceState::Flapping {
                return None;
            }
            if self.changes.len() > self.flap.max_changes {
                return self.move_to(DeviceState::Flapping, now, Reason::Flapping);
            }
        }
        let to = self.settled_state();
        self.move_to(to, now, reason)
    }

    fn move_to(&mut self, to: DeviceState, now: Millis, reason: Reason) -> Option<Transition> {
        if to == self.state {
            return None;
        }
        let from = self.state;
        self.state = to;
        self.since = now;
        Some(Transition {
            from,
            to,
            at: now,
            reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeviceState::*;

    const WINDOW: Duration = Duration::from_secs(15);

    fn t(ms: i64) -> Millis {
        Millis(ms)
    }

    fn ok(core: &mut Lifecycle, at: i64) -> Option<Transition> {
        core.heartbeat(&HeartbeatStatus::Ok, None, t(at))
    }

    fn to(tr: Option<Transition>) -> Option<(DeviceState, DeviceState, &'static str)> {
        tr.map(|tr| (tr.from, tr.to, tr.reason.name()))
    }

    fn device() -> Lifecycle {
        Lifecycle::new(WINDOW, FlapPolicy::default(), t(0))
    }

    #[test]
    fn first_heartbeat_brings_a_device_up_and_steady_ones_change_nothing() {
        let mut d = device();
        assert_eq!(d.state(), Unknown);
        assert_eq!(d.next_deadline(), None);
        assert_eq!(to(ok(&mut d, 1_000)), Some((Unknown, Up, "recovered")));
        for at in (6_000..60_000).step_by(5_000) {
            assert_eq!(ok(&mut d, at), None);
        }
        assert_eq!(d.last_seen(), Some(t(56_000)));
        assert_eq!(d.next_deadline(), Some(t(71_000)));
    }

    /// The edge's shortcut is sound: whenever the core says an ok changes nothing, an ok
    /// heartbeat changes nothing but the last sighting, and one recorded outside the core
    /// (observed later) decides the deadline as if the core had been told.
    #[test]
    fn an_ok_that_changes_nothing_is_a_timestamp_only() {
        let mut d = device();
        assert!(!d.ok_changes_nothing(), "the first ok brings it up");
        ok(&mut d, 1_000);
        let steps: [fn(&mut Lifecycle); 4] = [
            |d| drop(d.set_maintenance(true, t(2_000))),
            |d| drop(d.set_maintenance(false, t(3_000))),
            |d| drop(d.set_client_connected(false, t(4_000))),
            |d| drop(d.set_client_connected(true, t(5_000))),
        ];
        for step in steps {
            step(&mut d);
            if d.ok_changes_nothing() {
                let mut told = d.clone();
                assert_eq!(ok(&mut told, 9_000), None);
                let mut observed = d.clone();
                observed.observe(Some(t(9_000)));
                assert_eq!(observed.state(), told.state());
                assert_eq!(observed.next_deadline(), told.next_deadline());
                assert_eq!(observed.tick(t(23_999)), None);
                assert_eq!(
                    to(told.tick(t(24_000))).map(|(_, to, _)| to),
                    to(observed.tick(t(24_000))).map(|(_, to, _)| to)
                );
            }
        }
        d.observe(Some(t(500)));
        assert_eq!(d.last_seen(), Some(t(5_000)), "an older sighting does not move it back");
        d.heartbeat(&HeartbeatStatus::Fault, None, t(6_000));
        assert!(!d.ok_changes_nothing(), "after a fault an ok brings it up");
        assert_eq!(to(d.tick(t(60_000))), None);
    }

    #[test]
    fn a_new_window_moves_the_deadline_and_keeps_the_state() {
        let mut d = Lifecycle::new(WINDOW, FlapPolicy::default(), t(0));
        d.heartbeat(&HeartbeatStatus::Ok, None, t(1_000));
        assert_eq!(d.next_deadline(), Some(t(1_000) + WINDOW));
        d.set_window(Duration::from_secs(2));
        assert_eq!(d.state(), DeviceState::Up);
        assert_eq!(d.since(), t(1_000));
        assert_eq!(d.next_deadline(), Some(t(3_000)));
        assert_eq!(d.tick(t(2_999)), None);
        assert_eq!(d.tick(t(3_000)).map(|tr| tr.to), Some(DeviceState::Down));
    }

    #[test]
    fn silence_past_interval_times_tolerance_is_down_and_not_a_moment_before() {
        let mut d = device();
        ok(&mut d, 1_000);
        assert_eq!(d.tick(t(15_999)), None);
        assert_eq!(to(d.tick(t(16_000))), Some((Up, Down, "heartbeat_missed")));
        assert_eq!(d.tick(t(30_000)), None, "down is reported once");
        assert_eq!(d.next_deadline(), None);
        assert_eq!(to(ok(&mut d, 31_000)), Some((Down, Up, "recovered")));
    }

    #[test]
    fn a_fault_is_down_at_once_and_repeats_are_one_transition() {
        let mut d = device();
        ok(&mut d, 0);
        let tr = d
            .heartbeat(&HeartbeatStatus::Fault, Some("lens fogged"), t(100))
            .unwrap();
        assert_eq!((tr.from, tr.to), (Up, Down));
        assert_eq!(tr.reason, Reason::Fault("lens fogged".into()));
        assert_eq!(d.heartbeat(&HeartbeatStatus::Fault, None, t(200)), None);
        assert_eq!(d.tick(t(60_000)), None, "a faulty device is not also missed");
        assert_eq!(to(ok(&mut d, 60_100)), Some((Down, Up, "recovered")));
    }

    #[test]
    fn fault_details_are_capped() {
        let mut d = device();
        let long = "x".repeat(10 * MAX_DETAIL_LEN);
        let tr = d.heartbeat(&HeartbeatStatus::Fault, Some(&long), t(0)).unwrap();
        assert!(matches!(tr.reason, Reason::Fault(s) if s.len() == MAX_DETAIL_LEN));
    }

    #[test]
    fn rapid_up_down_changes_are_one_flapping_transition_until_stable() {
        let mut d = device();
        ok(&mut d, 0);
        let mut transitions = Vec::new();
        let mut at = 1_000;
        for _ in 0..6 {
            transitions.extend(d.heartbeat(&HeartbeatStatus::Fault, None, t(at)));
            transitions.extend(ok(&mut d, at + 500));
            at += 1_000;
        }
        let kinds: Vec<_> = transitions.iter().map(|tr| (tr.to, tr.reason.name())).collect();
        assert_eq!(
            kinds,
            vec![
                (Down, "fault"),
                (Up, "recovered"),
                (Down, "fault"),
                (Up, "recovered"),
                (Down, "fault"),
                (Flapping, "flapping"),
            ]
        );
        assert_eq!(d.state(), Flapping);
        let last_change = t(at - 500);
        // The earlier of: silence after the last heartbeat, and the end of the hold-down.
        assert_eq!(d.next_deadline(), Some(last_change + WINDOW));
        // Heartbeats keep coming, steadily up: it settles after the hold-down.
        let mut settled = None;
        let mut now = at;
        while settled.is_none() && now < at + 120_000 {
            ok(&mut d, now);
            settled = d.tick(t(now));
            now += 5_000;
        }
        let settled = settled.unwrap();
        assert_eq!(
            (settled.from, settled.to, settled.reason.name()),
            (Flapping, Up, "stable")
        );
        assert!(settled.at >= last_change + DEFAULT_FLAP_HOLD_DOWN);
    }

    #[test]
    fn changes_spread_wider_than_the_window_are_not_flapping() {
        let mut d = device();
        ok(&mut d, 0);
        let mut at = 0;
        for _ in 0..10 {
            at += 60_000;
            assert_ne!(d.heartbeat(&HeartbeatStatus::Fault, None, t(at)).unwrap().to, Flapping);
            at += 1_000;
            assert_eq!(ok(&mut d, at).unwrap().to, Up);
        }
    }

    #[test]
    fn maintenance_silences_transitions_and_ends_on_what_heartbeats_say() {
        let mut d = device();
        ok(&mut d, 0);
        assert_eq!(
            to(d.set_maintenance(true, t(100))),
            Some((Up, Maintenance, "maintenance_on"))
        );
        assert_eq!(d.set_maintenance(true, t(150)), None);
        assert_eq!(d.tick(t(20_000)), None, "silent device in maintenance is not reported");
        assert_eq!(d.heartbeat(&HeartbeatStatus::Fault, None, t(21_000)), None);
        assert_eq!(ok(&mut d, 22_000), None);
        assert_eq!(
            to(d.set_maintenance(false, t(23_000))),
            Some((Maintenance, Up, "maintenance_off"))
        );

        let mut silent = device();
        ok(&mut silent, 0);
        silent.set_maintenance(true, t(1));
        silent.tick(t(20_000));
        assert_eq!(
            to(silent.set_maintenance(false, t(20_001))),
            Some((Maintenance, Down, "maintenance_off"))
        );
    }

    #[test]
    fn a_disconnected_client_makes_its_device_unreachable_and_silent_until_it_returns() {
        let mut d = device();
        ok(&mut d, 0);
        assert_eq!(
            to(d.set_client_connected(false, t(1_000))),
            Some((Up, Unreachable, "client_disconnected"))
        );
        assert_eq!(d.set_client_connected(false, t(1_001)), None);
        assert_eq!(d.tick(t(60_000)), None, "no down while unreachable");
        // The client returns: a fresh window from then.
        assert_eq!(
            to(d.set_client_connected(true, t(60_000))),
            Some((Unreachable, Up, "client_reconnected"))
        );
        assert_eq!(d.next_deadline(), Some(t(75_000)));
        assert_eq!(
            to(d.tick(t(75_000))),
            Some((Up, Down, "heartbeat_missed")),
            "silent child raises its own"
        );

        let mut faulty = device();
        faulty.heartbeat(&HeartbeatStatus::Fault, None, t(0));
        faulty.set_client_connected(false, t(1));
        assert_eq!(
            to(faulty.set_client_connected(true, t(2))),
            Some((Unreachable, Down, "client_reconnected"))
        );

        let mut quiet = device();
        quiet.set_maintenance(true, t(0));
        assert_eq!(quiet.set_client_connected(false, t(1)), None, "maintenance wins");
        assert_eq!(
            to(quiet.set_maintenance(false, t(2))),
            Some((Maintenance, Unreachable, "maintenance_off"))
        );
    }

    #[test]
    fn restore_gives_an_up_device_a_fresh_window_and_keeps_down_down() {
        let up = Lifecycle::restore(WINDOW, FlapPolicy::default(), Up, t(5), Some(t(10)), t(1_000));
        assert_eq!(up.state(), Up);
        assert_eq!(up.next_deadline(), Some(t(16_000)));
        let mut down = Lifecycle::restore(WINDOW, FlapPolicy::default(), Down, t(5), Some(t(10)), t(1_000));
        assert_eq!(down.tick(t(100_000)), None);
        assert_eq!(to(ok(&mut down, 100_001)), Some((Down, Up, "recovered")));
        let q = Lifecycle::restore(WINDOW, FlapPolicy::default(), Quarantined, t(5), None, t(1_000));
        assert_eq!(q.state(), Unknown);
        let m = Lifecycle::restore(WINDOW, FlapPolicy::default(), Maintenance, t(5), None, t(1_000));
        assert_eq!(m.state(), Maintenance);
    }
}
