//! The heartbeat hot path's one atomic word: when a device was last seen, and whether an `ok`
//! heartbeat may stop there.
//!
//! A heartbeat for a device that stays up changes a timestamp and nothing else, so it need not
//! reach the device's actor: the edge records it here and is done, when the actor *watches*. The
//! actor stays the only owner of the lifecycle decision: it watches only while its core takes an
//! `ok` heartbeat as a timestamp (the device is up), and it stops watching, in the same atomic
//! step that reads the timestamp, before it decides on a deadline ([`LastSeen::unwatch`]). So a
//! beat either lands before that step (the actor reads it and does not mark the device down) or
//! finds the watch off and is sent to the actor as a message (which brings the device back up):
//! no beat is lost.
//!
//! A `fault` always goes to the actor. Its sender turns the watch off and counts the fault as on
//! its way ([`LastSeen::fault`]); the actor does not watch again until every counted fault is
//! handled, so an `ok` sent after a fault queues behind it instead of being absorbed before it.
//!
//! One `AtomicI64`: the time in the upper 48 bits (milliseconds, signed: ±4,000 years), faults
//! on their way in 15 bits, the watch in the lowest bit. Every change is one read-modify-write
//! of the word, so the orderings above need no reasoning across locations.

use std::sync::atomic::{AtomicI64, Ordering};

use crate::time::Millis;

const WATCH: i64 = 1;
const PENDING_SHIFT: u32 = 1;
const PENDING_MAX: i64 = (1 << 15) - 1;
const TIME_SHIFT: u32 = 16;
/// "Never seen": the lowest time the word holds.
const NEVER: i64 = i64::MIN >> TIME_SHIFT;
const TIME_MAX: i64 = i64::MAX >> TIME_SHIFT;

/// The word's three fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fields {
    time: i64,
    pending: i64,
    watch: bool,
}

impl Fields {
    fn of(word: i64) -> Self {
        Fields {
            time: word >> TIME_SHIFT,
            pending: (word >> PENDING_SHIFT) & PENDING_MAX,
            watch: word & WATCH != 0,
        }
    }

    fn word(self) -> i64 {
        (self.time << TIME_SHIFT) | (self.pending << PENDING_SHIFT) | i64::from(self.watch)
    }

    fn seen_at(self, at: Millis) -> Self {
        Fields {
            time: self.time.max(at.0.clamp(NEVER + 1, TIME_MAX)),
            ..self
        }
    }

    fn last_seen(self) -> Option<Millis> {
        (self.time != NEVER).then_some(Millis(self.time))
    }
}

/// When a device was last seen, and whether its actor takes an `ok` heartbeat as a timestamp.
#[derive(Debug)]
pub struct LastSeen(AtomicI64);

impl LastSeen {
    /// Last seen at `seen`; not watched (no actor yet).
    pub fn new(seen: Option<Millis>) -> Self {
        let fields = Fields {
            time: NEVER,
            pending: 0,
            watch: false,
        };
        let fields = seen.map_or(fields, |at| fields.seen_at(at));
        LastSeen(AtomicI64::new(fields.word()))
    }

    pub fn get(&self) -> Option<Millis> {
        Fields::of(self.0.load(Ordering::Acquire)).last_seen()
    }

    /// Changes the word with `f` in one step; returns the fields before.
    fn update(&self, f: impl Fn(Fields) -> Fields) -> Fields {
        let before = self.0.fetch_update(Ordering::AcqRel, Ordering::Acquire, |word| {
            let next = f(Fields::of(word)).word();
            (next != word).then_some(next)
        });
        Fields::of(before.unwrap_or_else(|same| same))
    }

    /// An `ok` heartbeat at `at`, recorded; true when the actor watches, so nothing else is to
    /// be done (the hot path: one atomic step, no message).
    pub fn ok(&self, at: Millis) -> bool {
        self.update(|f| f.seen_at(at)).watch
    }

    /// A `fault` at `at`, recorded: the watch is off and the fault counted until the actor
    /// handles it ([`LastSeen::fault_handled`]).
    pub fn fault(&self, at: Millis) {
        self.update(|f| Fields {
            pending: (f.pending + 1).min(PENDING_MAX),
            watch: false,
            ..f.seen_at(at)
        });
    }

    /// The actor handled a fault its sender counted.
    pub fn fault_handled(&self) {
        self.update(|f| Fields {
            pending: (f.pending - 1).max(0),
            ..f
        });
    }

    /// The actor's own record of a heartbeat it was sent.
    pub fn record(&self, at: Millis) {
        self.update(|f| f.seen_at(at));
    }

    /// The actor is about to decide (or stops): heartbeats go to it from now on. Returns the
    /// last seen time as of that step.
    pub fn unwatch(&self) -> Option<Millis> {
        self.update(|f| Fields { watch: false, ..f }).last_seen()
    }

    /// The actor takes `ok` heartbeats as timestamps again, unless a fault is on its way to it.
    pub fn watch(&self) {
        self.update(|f| Fields {
            watch: f.pending == 0,
            ..f
        });
    }

    /// A new actor starts: faults sent to the one before are gone with its mailbox.
    pub fn restart(&self) {
        self.update(|f| Fields {
            pending: 0,
            watch: false,
            ..f
        });
    }

    /// Whether an `ok` heartbeat stops here now.
    pub fn watched(&self) -> bool {
        Fields::of(self.0.load(Ordering::Acquire)).watch
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn times_round_trip_and_only_move_forward() {
        let seen = LastSeen::new(None);
        assert_eq!(seen.get(), None);
        for t in [0, -5, 1_764_000_000_000, i64::from(i32::MAX)] {
            let s = LastSeen::new(Some(Millis(t)));
            assert_eq!(s.get(), Some(Millis(t)));
        }
        assert!(!seen.ok(Millis(10)));
        assert_eq!(seen.get(), Some(Millis(10)));
        seen.record(Millis(7));
        assert_eq!(seen.get(), Some(Millis(10)), "a late stamp does not move the time back");
        assert_eq!(LastSeen::new(Some(Millis(i64::MIN))).get(), Some(Millis(NEVER + 1)));
    }

    #[test]
    fn an_ok_stops_here_only_while_the_actor_watches() {
        let seen = LastSeen::new(Some(Millis(0)));
        assert!(!seen.ok(Millis(1)), "no actor watches yet");
        seen.watch();
        assert!(seen.ok(Millis(2)));
        assert_eq!(seen.unwatch(), Some(Millis(2)));
        assert!(!seen.ok(Millis(3)), "after unwatch every beat goes to the actor");
        assert_eq!(seen.get(), Some(Millis(3)), "and is still recorded");
    }

    #[test]
    fn the_actor_does_not_watch_again_while_faults_are_on_their_way() {
        let seen = LastSeen::new(Some(Millis(0)));
        seen.watch();
        seen.fault(Millis(1));
        seen.fault(Millis(2));
        assert!(!seen.watched());
        seen.watch();
        assert!(!seen.ok(Millis(3)), "an ok after the faults queues behind them");
        seen.fault_handled();
        seen.watch();
        assert!(!seen.watched(), "one fault is still on its way");
        seen.fault_handled();
        seen.watch();
        assert!(seen.ok(Millis(4)));
        seen.fault_handled();
        seen.fault(Millis(5));
        seen.restart();
        seen.watch();
        assert!(seen.watched(), "a restarted actor starts with no fault on its way");
        assert_eq!(seen.get(), Some(Millis(5)));
    }

    /// A beat racing the actor's decision is either read by the decision or sent to the actor.
    #[test]
    fn no_beat_is_lost_to_a_racing_decision() {
        for round in 0..200 {
            let seen = Arc::new(LastSeen::new(Some(Millis(0))));
            seen.watch();
            let beater = {
                let seen = seen.clone();
                std::thread::spawn(move || seen.ok(Millis(100)))
            };
            let decided = seen.unwatch();
            let absorbed = beater.join().unwrap();
            if absorbed {
                assert_eq!(
                    decided,
                    Some(Millis(100)),
                    "round {round}: an absorbed beat was not read"
                );
            }
        }
    }
}
