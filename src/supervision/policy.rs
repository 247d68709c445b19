//! Restart policy: when a child that exited is restarted, after how long, and when to give up.
//!
//! Pure: the caller passes the time and the jitter draw, so every rule is tested with a manual
//! clock. The rules, as in OTP with the backoff OTP leaves to the user:
//! - restart type: `Permanent` children are restarted whatever the exit, `Transient` ones only
//!   after a crash (a deliberate stop is not a crash), `Temporary` ones never;
//! - intensity: more than `max_restarts` restarts within `period` escalates instead;
//! - backoff: the first crash after a stable period restarts at once; each further crash in a
//!   row waits `backoff_initial × 2^(n-1)`, capped at `backoff_max`, stretched by up to
//!   [`JITTER_FRACTION`] so a crowd of children does not restart in lockstep;
//! - a child that has run `stable_after` since its last crash starts the backoff afresh.

use std::collections::VecDeque;
use std::time::Duration;

use crate::time::Millis;

pub const DEFAULT_MAX_RESTARTS: u32 = 5;
pub const DEFAULT_PERIOD: Duration = Duration::from_secs(60);
pub const DEFAULT_BACKOFF_INITIAL: Duration = Duration::from_millis(50);
pub const DEFAULT_BACKOFF_MAX: Duration = Duration::from_secs(5);
pub const DEFAULT_STABLE_AFTER: Duration = Duration::from_secs(60);
/// A backoff delay is stretched by up to this fraction of itself.
pub const JITTER_FRACTION: f64 = 0.25;

/// When a child that exited is restarted (OTP's restart types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartType {
    Permanent,
    Transient,
    Temporary,
}

/// How a child ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// It was stopped on purpose.
    Normal,
    /// It panicked or failed.
    Crashed(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct RestartPolicy {
    pub restart: RestartType,
    pub max_restarts: u32,
    pub period: Duration,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    pub stable_after: Duration,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        RestartPolicy {
            restart: RestartType::Transient,
            max_restarts: DEFAULT_MAX_RESTARTS,
            period: DEFAULT_PERIOD,
            backoff_initial: DEFAULT_BACKOFF_INITIAL,
            backoff_max: DEFAULT_BACKOFF_MAX,
            stable_after: DEFAULT_STABLE_AFTER,
        }
    }
}

/// What to do about a child that exited.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Start it again after `after` (zero: at once). `attempt` counts crashes in a row.
    Restart { after: Duration, attempt: u32 },
    /// Too many restarts within the period: stop trying and raise it.
    Escalate { restarts_in_period: u32 },
    /// Leave it stopped (a normal exit of a transient child, or a temporary child).
    Leave,
}

/// One child's restart history.
#[derive(Debug, Clone, Default)]
pub struct RestartTracker {
    /// Restart times within the current period, oldest first.
    recent: VecDeque<Millis>,
    /// Crashes in a row since the child was last stable.
    consecutive: u32,
    last_crash: Option<Millis>,
    /// The restart waiting out its backoff, by the token the caller gave it.
    pending: Option<u64>,
}

impl RestartTracker {
    /// Decides what follows an exit at `now`. `jitter` is a draw in `[0, 1)`.
    pub fn on_exit(&mut self, policy: &RestartPolicy, exit: &Exit, now: Millis, jitter: f64) -> Decision {
        let wanted = match (policy.restart, exit) {
            (RestartType::Temporary, _) => false,
            (RestartType::Transient, Exit::Normal) => false,
            (RestartType::Transient, Exit::Crashed(_)) | (RestartType::Permanent, _) => true,
        };
        if !wanted {
            return Decision::Leave;
        }
        if self.last_crash.is_some_and(|t| now.since(t) >= policy.stable_after) {
            self.consecutive = 0;
        }
        let window_start = now - policy.period;
        while self.recent.front().is_some_and(|&t| t <= window_start) {
            self.recent.pop_front();
        }
        let in_period = u32::try_from(self.recent.len()).unwrap_or(u32::MAX);
        if in_period >= policy.max_restarts {
            return Decision::Escalate {
                restarts_in_period: in_period,
            };
        }
        let after = backoff(policy, self.consecutive, jitter);
        self.consecutive += 1;
        self.last_crash = Some(now);
        self.recent.push_back(now);
        Decision::Restart {
            after,
            attempt: self.consecutive,
        }
    }

    /// Forgets the history, as after an operator lifts a quarantine. A pending restart is
    /// forgotten too (the caller starts the child itself).
    pub fn reset(&mut self) {
        *self = RestartTracker::default();
    }

    /// A [`Decision::Restart`] with a delay is waiting under `token`, which must differ from
    /// every token given before for this child.
    pub fn restart_pending(&mut self, token: u64) {
        self.pending = Some(token);
    }

    /// The delay for `token` ran out: is that restart still wanted? Only once, and not after
    /// the child was started another way ([`RestartTracker::started`]) in the meantime, which
    /// would otherwise leave two children running under one id.
    pub fn restart_due(&mut self, token: u64) -> bool {
        let due = self.pending == Some(token);
        if due {
            self.pending = None;
        }
        due
    }

    /// The child was started directly (first start, or an operator's restart): any restart
    /// still waiting is superseded. Answers whether one was.
    pub fn started(&mut self) -> bool {
        self.pending.take().is_some()
    }

    /// Whether a restart waits out its backoff.
    pub fn is_pending(&self) -> bool {
        self.pending.is_some()
    }
}

/// The delay before restart number `consecutive + 1` in a row.
pub fn backoff(policy: &RestartPolicy, consecutive: u32, jitter: f64) -> Duration {
    if consecutive == 0 {
        return Duration::ZERO;
    }
    let doublings = (consecutive - 1).min(30);
    let base = policy
        .backoff_initial
        .saturating_mul(1u32 << doublings)
        .min(policy.backoff_max);
    let stretch = base.mul_f64(JITTER_FRACTION * jitter.clamp(0.0, 1.0));
    (base + stretch).min(policy.backoff_max.mul_f64(1.0 + JITTER_FRACTION))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crash() -> Exit {
        Exit::Crashed("boom".into())
    }

    fn delay(d: &Decision) -> Duration {
        match d {
            Decision::Restart { after, .. } => *after,
            other => panic!("expected a restart, got {other:?}"),
        }
    }

    #[test]
    fn restart_types_decide_whether_an_exit_is_restarted() {
        let now = Millis(1_000_000);
        let mut t = RestartTracker::default();
        let transient = RestartPolicy::default();
        assert_eq!(t.on_exit(&transient, &Exit::Normal, now, 0.0), Decision::Leave);
        assert!(matches!(
            t.on_exit(&transient, &crash(), now, 0.0),
            Decision::Restart { .. }
        ));

        let permanent = RestartPolicy {
            restart: RestartType::Permanent,
            ..Default::default()
        };
        assert!(matches!(
            RestartTracker::default().on_exit(&permanent, &Exit::Normal, now, 0.0),
            Decision::Restart { .. }
        ));
        let temporary = RestartPolicy {
            restart: RestartType::Temporary,
            ..Default::default()
        };
        assert_eq!(
            RestartTracker::default().on_exit(&temporary, &crash(), now, 0.0),
            Decision::Leave
        );
    }

    #[test]
    fn backoff_doubles_from_the_second_crash_and_is_capped() {
        let policy = RestartPolicy {
            max_restarts: 100,
            ..Default::default()
        };
        let mut t = RestartTracker::default();
        let mut now = Millis(0);
        let mut delays = Vec::new();
        for _ in 0..10 {
            delays.push(delay(&t.on_exit(&policy, &crash(), now, 0.0)));
            now = now + Duration::from_millis(10);
        }
        let ms: Vec<u128> = delays.iter().map(|d| d.as_millis()).collect();
        assert_eq!(ms, vec![0, 50, 100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000]);
    }

    #[test]
    fn jitter_only_stretches_the_delay_by_a_bounded_fraction() {
        let policy = RestartPolicy::default();
        for draw in [0.0, 0.3, 0.999, 5.0, -1.0] {
            let d = backoff(&policy, 2, draw);
            assert!(d >= Duration::from_millis(100), "{d:?}");
            assert!(d <= Duration::from_millis(125), "{d:?}");
        }
        assert!(backoff(&policy, 40, 0.999) <= policy.backoff_max.mul_f64(1.25));
    }

    #[test]
    fn more_than_the_intensity_within_the_period_escalates() {
        let policy = RestartPolicy::default();
        let mut t = RestartTracker::default();
        let mut now = Millis(0);
        for _ in 0..5 {
            assert!(matches!(
                t.on_exit(&policy, &crash(), now, 0.0),
                Decision::Restart { .. }
            ));
            now = now + Duration::from_secs(1);
        }
        assert_eq!(
            t.on_exit(&policy, &crash(), now, 0.0),
            Decision::Escalate { restarts_in_period: 5 }
        );
    }

    #[test]
    fn restarts_older_than_the_period_do_not_count() {
        let policy = RestartPolicy::default();
        let mut t = RestartTracker::default();
        let mut now = Millis(0);
        for _ in 0..5 {
            t.on_exit(&policy, &crash(), now, 0.0);
            now = now + Duration::from_secs(13);
        }
        // The first restart (t=0) is now more than 60 s old.
        assert!(matches!(
            t.on_exit(&policy, &crash(), now, 0.0),
            Decision::Restart { .. }
        ));
    }

    #[test]
    fn a_pending_restart_happens_once_and_not_after_a_direct_start() {
        let mut t = RestartTracker::default();
        t.restart_pending(1);
        assert!(t.is_pending());
        assert!(!t.restart_due(7), "another token is stale");
        assert!(t.restart_due(1));
        assert!(!t.restart_due(1), "only once");

        t.restart_pending(2);
        assert!(t.started(), "an operator's start supersedes the pending restart");
        assert!(!t.restart_due(2));
        assert!(!t.started());

        t.restart_pending(3);
        t.reset();
        assert!(!t.is_pending() && !t.restart_due(3), "a reset forgets it too");
    }

    #[test]
    fn a_stable_period_resets_the_backoff() {
        let policy = RestartPolicy::default();
        let mut t = RestartTracker::default();
        assert_eq!(delay(&t.on_exit(&policy, &crash(), Millis(0), 0.0)), Duration::ZERO);
        assert_eq!(
            delay(&t.on_exit(&policy, &crash(), Millis(10), 0.0)),
            Duration::from_millis(50)
        );
        let later = Millis(10) + policy.stable_after;
        assert_eq!(delay(&t.on_exit(&policy, &crash(), later, 0.0)), Duration::ZERO);
    }
}
