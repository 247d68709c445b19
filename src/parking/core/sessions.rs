//! The session book: every car inside, found by plate or ticket, and what each lane reading,
//! payment and operator's close does to them.
//!
//! Pure: the decisions of DOMAIN.md's "Parking control and kiosks". An entry opens a session
//! (a ticket number in place of the plate when the camera could not read it well enough); an
//! exit releases a car that owes nothing (paid within the grace, or still in its free minutes)
//! and holds one that owes a fee, keeping its session open; a payment that settles a held car
//! releases it at the lane that holds it. A repeat of a reading (a camera reading the same car
//! twice), a reading older than the latest one applied for the same car, and an entry of a car
//! already inside change nothing. The caller stores what changed and carries out the release
//! (an `open_gate` command to the lane's gate PC).

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use thiserror::Error;

use super::lpr::{Direction, Read};
use super::session::{ticket_for, Payment, Session, SessionState};
use super::tariffs::Tariffs;
use crate::time::Millis;

/// How long after its release a car's exit reading is a repeat, not a new car.
pub const REPEAT_WINDOW: Duration = Duration::from_secs(120);
/// The default time to drive to the exit after paying in full.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(15 * 60);

/// The lane a reading came from, as its camera's registration gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lane {
    pub site: String,
    pub zone: String,
    pub lane: String,
}

/// A checked reading placed at its lane.
#[derive(Debug, Clone, PartialEq)]
pub struct Sighting {
    pub lane: Lane,
    pub read: Read,
    pub direction: Direction,
    pub at: Millis,
}

/// What a reading did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A session opened; in ticket mode its `ticket` is the number the lane prints.
    Entered(Session),
    /// The car is inside already: nothing changed.
    AlreadyInside(i64),
    /// Let the car out: open the lane's gate. The session is closed.
    Released(Session),
    /// Keep the gate closed: `due` is owed. The session is held at the lane.
    Held { session: Session, due: u64 },
    /// No session for what the exit read (or it read nothing): keep the gate closed and call an
    /// attendant, who finds the session at a kiosk, takes a ticket, or opens by hand.
    Unmatched { read: Read },
    /// The same car's release was a moment ago, or the reading is older than the latest one
    /// applied for the car: nothing changed.
    Ignored { why: &'static str },
}

/// What a payment did.
#[derive(Debug, Clone, PartialEq)]
pub struct Paid {
    pub payment: Payment,
    pub session: Session,
    /// The same `Idempotency-Key` was taken before: nothing changed.
    pub replay: bool,
    /// The payment settled a held car: open this lane's gate (the session is closed).
    pub release: Option<String>,
}

/// Why a payment or a close was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SessionError {
    #[error("no open parking session {0}")]
    NotOpen(i64),
    #[error("a payment's amount is at least 1")]
    ZeroAmount,
    #[error("Idempotency-Key {0:?} was used for another payment")]
    KeyReused(String),
}

/// Every open session, and the recent releases a repeat reading is told apart by.
#[derive(Debug)]
pub struct SessionBook {
    grace: Duration,
    tariffs: Tariffs,
    open: HashMap<i64, Session>,
    /// (site, plate or ticket) of an open session.
    by_key: HashMap<(String, String), i64>,
    /// Idempotency keys of the open sessions' payments.
    keys: HashMap<String, (i64, i64)>,
    /// (site, plate or ticket) last read at an exit, and when: newest last.
    recent: VecDeque<(Millis, (String, String))>,
    recent_at: HashMap<(String, String), Millis>,
}

impl SessionBook {
    pub fn new(grace: Duration, tariffs: Tariffs) -> SessionBook {
        SessionBook {
            grace,
            tariffs,
            open: HashMap::new(),
            by_key: HashMap::new(),
            keys: HashMap::new(),
            recent: VecDeque::new(),
            recent_at: HashMap::new(),
        }
    }

    /// A book holding `open`, the stored sessions still open.
    pub fn restore(grace: Duration, tariffs: Tariffs, open: impl IntoIterator<Item = Session>) -> SessionBook {
        let mut book = SessionBook::new(grace, tariffs);
        for session in open.into_iter().filter(|s| s.state.is_open()) {
            book.insert(session);
        }
        book
    }

    pub fn grace(&self) -> Duration {
        self.grace
    }

    pub fn tariffs(&self) -> &Tariffs {
        &self.tariffs
    }

    pub fn tariffs_mut(&mut self) -> &mut Tariffs {
        &mut self.tariffs
    }

    pub fn open_count(&self) -> usize {
        self.open.len()
    }

    pub fn get(&self, id: i64) -> Option<&Session> {
        self.open.get(&id)
    }

    /// The open session of a plate or ticket, at any site (a kiosk asks without one).
    pub fn find(&self, key: &str) -> Option<&Session> {
        self.by_key
            .iter()
            .find(|((_, k), _)| k == key)
            .and_then(|(_, id)| self.open.get(id))
    }

    /// What is due on an open session at `now`.
    pub fn due(&self, session: &Session, now: Millis) -> u64 {
        session.due(&self.tariffs.of(&session.zone), now, self.grace)
    }

    fn insert(&mut self, session: Session) {
        if let Some(key) = session.key() {
            self.by_key.insert((session.site.clone(), key.to_owned()), session.id);
        }
        for p in &session.payments {
            self.keys.insert(p.key.clone(), (session.id, p.id));
        }
        self.open.insert(session.id, session);
    }

    fn remove(&mut self, id: i64) -> Option<Session> {
        let session = self.open.remove(&id)?;
        if let Some(key) = session.key() {
            self.by_key.remove(&(session.site.clone(), key.to_owned()));
        }
        for p in &session.payments {
            self.keys.remove(&p.key);
        }
        Some(session)
    }

    fn remember_exit(&mut self, key: (String, String), at: Millis) {
        while let Some((when, _)) = self.recent.front() {
            if at.0.saturating_sub(when.0) <= REPEAT_WINDOW.as_millis() as i64 {
                break;
            }
            if let Some((when, old)) = self.recent.pop_front() {
                if self.recent_at.get(&old) == Some(&when) {
                    self.recent_at.remove(&old);
                }
            }
        }
        self.recent_at.insert(key.clone(), at);
        self.recent.push_back((at, key));
    }

    fn closed(&mut self, id: i64, state: SessionState, lane: Option<String>, now: Millis) -> Option<Session> {
        let mut session = self.remove(id)?;
        let tariff = self.tariffs.of(&session.zone);
        session.fee = Some(tariff.fee(session.entered, now).max(session.paid));
        session.state = state;
        session.exit_lane = lane.or(session.exit_lane);
        session.closed = Some(now);
        session.last_at = session.last_at.max(now);
        if let Some(key) = session.key() {
            self.remember_exit((session.site.clone(), key.to_owned()), now);
        }
        Some(session)
    }

    /// Applies a lane reading; `id` names the session an entry opens.
    pub fn sight(&mut self, sighting: Sighting, id: i64) -> Outcome {
        let Sighting {
            lane,
            read,
            direction,
            at,
        } = sighting;
        let key = match &read {
            Read::Plate(p) | Read::Ticket(p) => Some((lane.site.clone(), p.clone())),
            Read::Unread { .. } => None,
        };
        if let Some(key) = &key {
            if let Some(released) = self.recent_at.get(key) {
                if at < *released {
                    return Outcome::Ignored {
                        why: "older than the car's latest exit reading",
                    };
                }
                if direction == Direction::Exit && at.0 - released.0 <= REPEAT_WINDOW.as_millis() as i64 {
                    return Outcome::Ignored {
                        why: "the car was released a moment ago",
                    };
                }
            }
        }
        match direction {
            Direction::Entry => self.entry(lane, read, key, at, id),
            Direction::Exit => self.exit(lane, read, key, at),
        }
    }

    fn entry(&mut self, lane: Lane, read: Read, key: Option<(String, String)>, at: Millis, id: i64) -> Outcome {
        if let Some(existing) = key.as_ref().and_then(|k| self.by_key.get(k)) {
            return Outcome::AlreadyInside(*existing);
        }
        let (plate, ticket, guess) = match read {
            Read::Plate(p) => (Some(p), None, None),
            Read::Unread { guess } => (None, Some(ticket_for(id)), guess),
            // Refused at entry by the reading's check; kept total here.
            Read::Ticket(t) => (None, Some(t), None),
        };
        let session = Session {
            id,
            site: lane.site,
            zone: lane.zone,
            entry_lane: lane.lane,
            plate,
            ticket,
            guess,
            entered: at,
            state: SessionState::Open,
            paid: 0,
            paid_at: None,
            payments: Vec::new(),
            exit_lane: None,
            closed: None,
            fee: None,
            last_at: at,
        };
        self.insert(session.clone());
        Outcome::Entered(session)
    }

    fn exit(&mut self, lane: Lane, read: Read, key: Option<(String, String)>, at: Millis) -> Outcome {
        let Some(id) = key.as_ref().and_then(|k| self.by_key.get(k)).copied() else {
            if let Some(key) = key {
                self.remember_exit(key, at);
            }
            return Outcome::Unmatched { read };
        };
        let Some(session) = self.open.get_mut(&id) else {
            return Outcome::Unmatched { read };
        };
        if at < session.last_at {
            return Outcome::Ignored {
                why: "older than the car's latest reading",
            };
        }
        session.last_at = at;
        let due = session.due(&self.tariffs.of(&session.zone), at, self.grace);
        if due == 0 {
            return match self.closed(id, SessionState::Exited, Some(lane.lane), at) {
                Some(session) => Outcome::Released(session),
                None => Outcome::Unmatched { read },
            };
        }
        session.state = SessionState::Held;
        session.exit_lane = Some(lane.lane);
        Outcome::Held {
            session: session.clone(),
            due,
        }
    }

    /// Records a payment on an open session. A repeat of its `key` answers the payment taken
    /// before; a payment that leaves nothing due on a held car releases it.
    pub fn pay(&mut self, payment: Payment, now: Millis) -> Result<Paid, SessionError> {
        if let Some((session_id, payment_id)) = self.keys.get(&payment.key).copied() {
            let session = self.open.get(&session_id).ok_or(SessionError::NotOpen(session_id))?;
            let earlier = session
                .payments
                .iter()
                .find(|p| p.id == payment_id)
                .cloned()
                .ok_or_else(|| SessionError::KeyReused(payment.key.clone()))?;
            if session_id != payment.session_id
                || earlier.amount != payment.amount
                || earlier.method != payment.method
                || earlier.reference != payment.reference
            {
                return Err(SessionError::KeyReused(payment.key));
            }
            return Ok(Paid {
                payment: earlier,
                session: session.clone(),
                replay: true,
                release: None,
            });
        }
        if payment.amount == 0 {
            return Err(SessionError::ZeroAmount);
        }
        let id = payment.session_id;
        let session = self.open.get_mut(&id).ok_or(SessionError::NotOpen(id))?;
        session.paid = session.paid.saturating_add(payment.amount);
        session.paid_at = Some(now);
        session.payments.push(payment.clone());
        self.keys.insert(payment.key.clone(), (id, payment.id));
        let held_at = (session.state == SessionState::Held)
            .then(|| session.exit_lane.clone())
            .flatten();
        let due = session.due(&self.tariffs.of(&session.zone), now, self.grace);
        if let (Some(lane), 0) = (held_at, due) {
            let session = self
                .closed(id, SessionState::Exited, Some(lane.clone()), now)
                .ok_or(SessionError::NotOpen(id))?;
            return Ok(Paid {
                payment,
                session,
                replay: false,
                release: Some(lane),
            });
        }
        let session = self.open.get(&id).cloned().ok_or(SessionError::NotOpen(id))?;
        Ok(Paid {
            payment,
            session,
            replay: false,
            release: None,
        })
    }

    /// An operator closes an open session as a lost ticket. Answers the closed session and,
    /// when the car was held at an exit, the lane whose gate to open.
    pub fn close_lost(&mut self, id: i64, now: Millis) -> Result<(Session, Option<String>), SessionError> {
        let held = self.open.get(&id).ok_or(SessionError::NotOpen(id))?;
        let lane = (held.state == SessionState::Held)
            .then(|| held.exit_lane.clone())
            .flatten();
        let session = self
            .closed(id, SessionState::Lost, None, now)
            .ok_or(SessionError::NotOpen(id))?;
        Ok((session, lane))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tariff::Tariff;
    use super::*;

    const MIN: i64 = 60_000;

    fn book() -> SessionBook {
        SessionBook::new(DEFAULT_GRACE, Tariffs::new(Tariff::SHORT_TERM))
    }

    fn lane(name: &str) -> Lane {
        Lane {
            site: "T1".into(),
            zone: "P1".into(),
            lane: name.into(),
        }
    }

    fn seen(direction: Direction, read: Read, at: i64) -> Sighting {
        Sighting {
            lane: lane(if direction == Direction::Entry { "E1" } else { "X1" }),
            read,
            direction,
            at: Millis(at),
        }
    }

    fn plate(p: &str) -> Read {
        Read::Plate(p.into())
    }

    fn payment(session_id: i64, id: i64, amount: u64, key: &str) -> Payment {
        Payment {
            id,
            session_id,
            amount,
            method: "card".into(),
            reference: Some("auth-1".into()),
            key: key.into(),
            by: "kiosk-1".into(),
            at_ms: Millis(0),
        }
    }

    #[test]
    fn entry_opens_a_session_and_a_free_exit_releases_it() {
        let mut b = book();
        let Outcome::Entered(s) = b.sight(seen(Direction::Entry, plate("AB1"), 0), 7) else {
            panic!()
        };
        assert_eq!((s.id, s.plate.as_deref(), s.ticket.as_deref()), (7, Some("AB1"), None));
        assert_eq!(b.find("AB1").map(|s| s.id), Some(7));
        let out = b.sight(seen(Direction::Exit, plate("AB1"), 5 * MIN), 8);
        let Outcome::Released(s) = out else { panic!("{out:?}") };
        assert_eq!(
            (s.state, s.fee, s.exit_lane.as_deref()),
            (SessionState::Exited, Some(0), Some("X1"))
        );
        assert_eq!(b.open_count(), 0);
    }

    #[test]
    fn an_unpaid_exit_is_held_and_a_payment_releases_it_at_that_lane() {
        let mut b = book();
        b.sight(seen(Direction::Entry, plate("AB1"), 0), 7);
        let out = b.sight(seen(Direction::Exit, plate("AB1"), 60 * MIN), 8);
        let Outcome::Held { session, due } = out else {
            panic!("{out:?}")
        };
        let fee = Tariff::SHORT_TERM.fee(Millis(0), Millis(60 * MIN));
        assert_eq!((session.state, due), (SessionState::Held, fee));
        let short = b.pay(payment(7, 100, fee - 1, "k1"), Millis(60 * MIN)).unwrap();
        assert_eq!(short.release, None, "a short payment keeps the gate closed");
        assert_eq!(b.due(&short.session, Millis(60 * MIN)), 1);
        let paid = b.pay(payment(7, 101, 1, "k2"), Millis(60 * MIN)).unwrap();
        assert_eq!(paid.release.as_deref(), Some("X1"));
        assert_eq!(paid.session.state, SessionState::Exited);
        assert_eq!(paid.session.paid, fee);
        assert_eq!(b.open_count(), 0);
        let again = b.sight(seen(Direction::Exit, plate("AB1"), 61 * MIN), 9);
        assert!(
            matches!(again, Outcome::Ignored { .. }),
            "the camera reads it again as it drives out: {again:?}"
        );
    }

    #[test]
    fn a_car_paid_at_a_kiosk_leaves_within_the_grace_and_owes_more_after_it() {
        let mut b = book();
        b.sight(seen(Direction::Entry, plate("AB1"), 0), 1);
        b.sight(seen(Direction::Entry, plate("CD2"), 0), 2);
        let fee = Tariff::SHORT_TERM.fee(Millis(0), Millis(60 * MIN));
        b.pay(payment(1, 10, fee, "a"), Millis(60 * MIN)).unwrap();
        b.pay(payment(2, 11, fee, "b"), Millis(60 * MIN)).unwrap();
        let on_time = b.sight(seen(Direction::Exit, plate("AB1"), 75 * MIN), 3);
        assert!(matches!(on_time, Outcome::Released(_)), "{on_time:?}");
        let late = b.sight(seen(Direction::Exit, plate("CD2"), 75 * MIN + 1), 4);
        let Outcome::Held { due, .. } = late else {
            panic!("{late:?}")
        };
        assert_eq!(due, Tariff::SHORT_TERM.fee(Millis(0), Millis(75 * MIN + 1)) - fee);
    }

    #[test]
    fn repeats_duplicates_and_out_of_order_readings_change_nothing() {
        let mut b = book();
        b.sight(seen(Direction::Entry, plate("AB1"), 10 * MIN), 1);
        assert_eq!(
            b.sight(seen(Direction::Entry, plate("AB1"), 11 * MIN), 2),
            Outcome::AlreadyInside(1)
        );
        assert_eq!(b.open_count(), 1);
        // An exit older than the latest reading of the car.
        b.sight(seen(Direction::Exit, plate("AB1"), 60 * MIN), 3);
        let stale = b.sight(seen(Direction::Exit, plate("AB1"), 30 * MIN), 4);
        assert!(matches!(stale, Outcome::Ignored { .. }), "{stale:?}");
        // An exit that arrives before its own entry: the entry, older, opens nothing.
        let mut b = book();
        let out = b.sight(seen(Direction::Exit, plate("ZZ9"), 20 * MIN), 5);
        assert!(matches!(out, Outcome::Unmatched { .. }));
        let late_entry = b.sight(seen(Direction::Entry, plate("ZZ9"), 10 * MIN), 6);
        assert!(matches!(late_entry, Outcome::Ignored { .. }), "{late_entry:?}");
        assert_eq!(b.open_count(), 0);
    }

    #[test]
    fn ticket_mode_prints_a_number_and_the_exit_reads_it() {
        let mut b = book();
        let out = b.sight(
            seen(
                Direction::Entry,
                Read::Unread {
                    guess: Some("AB1".into()),
                },
                0,
            ),
            36,
        );
        let Outcome::Entered(s) = out else { panic!() };
        assert_eq!(
            (s.plate.as_deref(), s.ticket.as_deref(), s.guess.as_deref()),
            (None, Some("T10"), Some("AB1"))
        );
        let unread = b.sight(seen(Direction::Exit, Read::Unread { guess: None }, MIN), 37);
        assert!(
            matches!(unread, Outcome::Unmatched { .. }),
            "an unread exit waits for the ticket"
        );
        let out = b.sight(seen(Direction::Exit, Read::Ticket("T10".into()), 2 * MIN), 38);
        assert!(matches!(out, Outcome::Released(_)), "{out:?}");
    }

    #[test]
    fn a_repeated_key_is_the_same_payment_and_a_changed_one_is_refused() {
        let mut b = book();
        b.sight(seen(Direction::Entry, plate("AB1"), 0), 1);
        let first = b.pay(payment(1, 10, 500, "k"), Millis(MIN)).unwrap();
        let again = b.pay(payment(1, 11, 500, "k"), Millis(2 * MIN)).unwrap();
        assert!(again.replay);
        assert_eq!(again.payment.id, first.payment.id);
        assert_eq!(again.session.paid, 500, "not paid twice");
        assert_eq!(
            b.pay(payment(1, 12, 900, "k"), Millis(2 * MIN)),
            Err(SessionError::KeyReused("k".into()))
        );
        assert_eq!(
            b.pay(payment(1, 13, 0, "z"), Millis(2 * MIN)),
            Err(SessionError::ZeroAmount)
        );
        assert_eq!(
            b.pay(payment(99, 14, 5, "y"), Millis(2 * MIN)),
            Err(SessionError::NotOpen(99))
        );
    }

    #[test]
    fn a_lost_ticket_close_releases_a_held_car() {
        let mut b = book();
        b.sight(seen(Direction::Entry, plate("AB1"), 0), 1);
        b.sight(seen(Direction::Exit, plate("AB1"), 60 * MIN), 2);
        let (s, lane) = b.close_lost(1, Millis(61 * MIN)).unwrap();
        assert_eq!((s.state, lane.as_deref()), (SessionState::Lost, Some("X1")));
        assert_eq!(b.close_lost(1, Millis(62 * MIN)), Err(SessionError::NotOpen(1)));
    }

    #[test]
    fn a_restored_book_finds_its_sessions_and_their_keys() {
        let mut b = book();
        b.sight(seen(Direction::Entry, plate("AB1"), 0), 1);
        b.pay(payment(1, 10, 500, "k"), Millis(MIN)).unwrap();
        let stored: Vec<Session> = b.open.values().cloned().collect();
        let mut r = SessionBook::restore(DEFAULT_GRACE, Tariffs::new(Tariff::SHORT_TERM), stored);
        assert_eq!(r.find("AB1").map(|s| s.paid), Some(500));
        assert!(r.pay(payment(1, 11, 500, "k"), Millis(2 * MIN)).unwrap().replay);
    }
}
