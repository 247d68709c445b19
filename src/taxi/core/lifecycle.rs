//! One taxi's liveness: live, suspended, removed, driven by driver-app pings and timer ticks.
//!
//! A taxi is **live** while it pings. Silent for `suspend_after_silence` it is **suspended**: it
//! keeps its place in line but is skipped when the curb calls. Still silent `removal_grace` after
//! the suspension it is **removed** (grace runs from the suspension, so a taxi is removed after
//! `suspend_after_silence + removal_grace` of silence). A ping while suspended resumes it; a
//! removed taxi stays removed (it must be seen again by the lot's camera to queue anew).
//!
//! Each step is returned as a [`LivenessStep`]; steps are stamped with the time the rule fired,
//! not the time of the tick that noticed, so a late tick reports the same history as a punctual one.

use serde::{Deserialize, Serialize};

use super::rules::DispatchConfig;
use crate::time::Millis;

/// Where a taxi stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum LivenessState {
    Live,
    Suspended { since: Millis },
    Removed { at: Millis },
}

/// One change of liveness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum LivenessStep {
    Suspended { at: Millis, last_seen: Millis },
    Resumed { at: Millis, suspended_since: Millis },
    Removed { at: Millis, last_seen: Millis },
}

/// The liveness core of one taxi.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Liveness {
    last_seen: Millis,
    state: LivenessState,
}

impl Liveness {
    /// A taxi seen now (an LPR reading or a ping).
    pub fn new(now: Millis) -> Self {
        Liveness {
            last_seen: now,
            state: LivenessState::Live,
        }
    }

    pub fn state(&self) -> LivenessState {
        self.state
    }

    pub fn last_seen(&self) -> Millis {
        self.last_seen
    }

    pub fn is_suspended(&self) -> bool {
        matches!(self.state, LivenessState::Suspended { .. })
    }

    pub fn is_removed(&self) -> bool {
        matches!(self.state, LivenessState::Removed { .. })
    }

    /// A sign of life (driver-app ping or camera sighting). Out-of-order times never move
    /// `last_seen` backwards. Resumes a suspended taxi; does nothing for a removed one.
    pub fn ping(&mut self, now: Millis) -> Option<LivenessStep> {
        if self.is_removed() {
            return None;
        }
        self.last_seen = self.last_seen.max(now);
        match self.state {
            LivenessState::Suspended { since } => {
                self.state = LivenessState::Live;
                Some(LivenessStep::Resumed {
                    at: now,
                    suspended_since: since,
                })
            }
            _ => None,
        }
    }

    /// Applies the silence rules at `now`; may return both steps when a tick comes late.
    pub fn tick(&mut self, now: Millis, cfg: &DispatchConfig) -> Vec<LivenessStep> {
        let mut steps = Vec::new();
        if self.state == LivenessState::Live {
            let at = self.last_seen + cfg.suspend_after_silence;
            if now >= at {
                self.state = LivenessState::Suspended { since: at };
                steps.push(LivenessStep::Suspended {
                    at,
                    last_seen: self.last_seen,
                });
            }
        }
        if let LivenessState::Suspended { since } = self.state {
            let at = since + cfg.removal_grace;
            if now >= at {
                self.state = LivenessState::Removed { at };
                steps.push(LivenessStep::Removed {
                    at,
                    last_seen: self.last_seen,
                });
            }
        }
        steps
    }

    /// When the next step is due if no ping comes, for the actor's timer.
    pub fn next_deadline(&self, cfg: &DispatchConfig) -> Option<Millis> {
        match self.state {
            LivenessState::Live => Some(self.last_seen + cfg.suspend_after_silence),
            LivenessState::Suspended { since } => Some(since + cfg.removal_grace),
            LivenessState::Removed { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000;

    #[test]
    fn silence_suspends_then_removes() {
        let cfg = DispatchConfig::default();
        let mut l = Liveness::new(Millis(0));
        assert!(l.tick(Millis(29 * S), &cfg).is_empty());
        assert_eq!(l.next_deadline(&cfg), Some(Millis(30 * S)));
        assert_eq!(
            l.tick(Millis(30 * S), &cfg),
            vec![LivenessStep::Suspended {
                at: Millis(30 * S),
                last_seen: Millis(0)
            }]
        );
        assert!(l.is_suspended());
        assert!(l.tick(Millis(149 * S), &cfg).is_empty());
        assert_eq!(l.next_deadline(&cfg), Some(Millis(150 * S)));
        assert_eq!(
            l.tick(Millis(150 * S), &cfg),
            vec![LivenessStep::Removed {
                at: Millis(150 * S),
                last_seen: Millis(0)
            }]
        );
        assert!(l.is_removed());
        assert_eq!(l.next_deadline(&cfg), None);
        assert_eq!(l.ping(Millis(151 * S)), None);
        assert!(l.is_removed());
    }

    #[test]
    fn ping_keeps_live_and_resumes_suspended() {
        let cfg = DispatchConfig::default();
        let mut l = Liveness::new(Millis(0));
        assert_eq!(l.ping(Millis(20 * S)), None);
        assert!(l.tick(Millis(49 * S), &cfg).is_empty());
        l.tick(Millis(50 * S), &cfg);
        assert!(l.is_suspended());
        assert_eq!(
            l.ping(Millis(60 * S)),
            Some(LivenessStep::Resumed {
                at: Millis(60 * S),
                suspended_since: Millis(50 * S)
            })
        );
        assert_eq!(l.state(), LivenessState::Live);
        // An old ping arriving late does not move last_seen back.
        l.ping(Millis(10 * S));
        assert_eq!(l.last_seen(), Millis(60 * S));
    }

    #[test]
    fn a_late_tick_reports_both_steps_at_their_own_times() {
        let cfg = DispatchConfig::default();
        let mut l = Liveness::new(Millis(5 * S));
        let steps = l.tick(Millis(10_000 * S), &cfg);
        assert_eq!(
            steps,
            vec![
                LivenessStep::Suspended {
                    at: Millis(35 * S),
                    last_seen: Millis(5 * S)
                },
                LivenessStep::Removed {
                    at: Millis(155 * S),
                    last_seen: Millis(5 * S)
                },
            ]
        );
    }
}
