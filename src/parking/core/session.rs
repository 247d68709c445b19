//! A parking session: one car's stay, from its entry reading to its release at an exit (or an
//! operator's lost-ticket close), with what was paid for it and what is due.
//!
//! Pure: the fee rule is here ([`Session::due`]); which reading opens or closes a session is
//! [`super::sessions`]'s.

use std::time::Duration;

use serde::Serialize;
use utoipa::ToSchema;

use super::tariff::Tariff;
use crate::time::Millis;

/// Where a session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    /// The car is inside.
    Open,
    /// The car is at an exit whose gate stays closed: the fee is due.
    Held,
    /// The car was let out at an exit.
    Exited,
    /// An operator closed it as a lost ticket.
    Lost,
}

impl SessionState {
    pub const ALL: [SessionState; 4] = [
        SessionState::Open,
        SessionState::Held,
        SessionState::Exited,
        SessionState::Lost,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Open => "open",
            SessionState::Held => "held",
            SessionState::Exited => "exited",
            SessionState::Lost => "lost",
        }
    }

    pub fn parse(s: &str) -> Option<SessionState> {
        SessionState::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Open or held: the car is still inside.
    pub fn is_open(self) -> bool {
        matches!(self, SessionState::Open | SessionState::Held)
    }
}

/// A payment a kiosk's card terminal took (or an operator recorded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Payment {
    pub id: i64,
    pub session_id: i64,
    /// In the currency's minor unit (won).
    pub amount: u64,
    /// `card`, `cash`, `mobile`, ... as the kiosk names it.
    pub method: String,
    /// The card terminal's own reference, for reconciliation.
    pub reference: Option<String>,
    /// The request's `Idempotency-Key`: a repeat is the same payment.
    #[serde(skip)]
    pub key: String,
    pub by: String,
    pub at_ms: Millis,
}

/// One car's stay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: i64,
    pub site: String,
    pub zone: String,
    pub entry_lane: String,
    /// The plate read at entry; `None` in ticket mode.
    pub plate: Option<String>,
    /// The printed ticket number (ticket mode: no plate read well enough at entry).
    pub ticket: Option<String>,
    /// A plate read below the confidence threshold at entry, for the operators.
    pub guess: Option<String>,
    pub entered: Millis,
    pub state: SessionState,
    /// Sum of the payments.
    pub paid: u64,
    /// When the last payment was taken.
    pub paid_at: Option<Millis>,
    pub payments: Vec<Payment>,
    /// The lane whose gate holds the car (state `held`), or the lane it left by.
    pub exit_lane: Option<String>,
    /// When it was released or closed.
    pub closed: Option<Millis>,
    /// The fee of the whole stay when it closed.
    pub fee: Option<u64>,
    /// The latest reading applied to it (older ones are stale).
    pub last_at: Millis,
}

impl Session {
    /// The fee due at `now`: the tariff's fee for the stay less what was paid, except that a
    /// stay paid in full owes nothing more for `grace` after its last payment (the time to
    /// drive to the exit). Past the grace the fee runs on from entry again.
    pub fn due(&self, tariff: &Tariff, now: Millis, grace: Duration) -> u64 {
        if let Some(paid_at) = self.paid_at {
            if tariff.fee(self.entered, paid_at) <= self.paid && now <= paid_at + grace {
                return 0;
            }
        }
        tariff.fee(self.entered, now).saturating_sub(self.paid)
    }

    /// The key a lane reads the car by: its plate, or its ticket in ticket mode.
    pub fn key(&self) -> Option<&str> {
        self.plate.as_deref().or(self.ticket.as_deref())
    }
}

/// The ticket number printed for a session in ticket mode: its id in base 36, upper case.
pub fn ticket_for(id: i64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut n = id.unsigned_abs();
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    format!("T{}", String::from_utf8_lossy(&out))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;
    const GRACE: Duration = Duration::from_secs(15 * 60);

    fn session(entered: i64) -> Session {
        Session {
            id: 1,
            site: "T1".into(),
            zone: "P1".into(),
            entry_lane: "E1".into(),
            plate: Some("AB123".into()),
            ticket: None,
            guess: None,
            entered: Millis(entered),
            state: SessionState::Open,
            paid: 0,
            paid_at: None,
            payments: Vec::new(),
            exit_lane: None,
            closed: None,
            fee: None,
            last_at: Millis(entered),
        }
    }

    #[test]
    fn a_paid_stay_owes_nothing_within_the_grace_and_the_rest_after_it() {
        let tariff = Tariff::SHORT_TERM;
        let mut s = session(0);
        let at = Millis(60 * MIN);
        let fee = tariff.fee(s.entered, at);
        assert!(fee > 0);
        assert_eq!(s.due(&tariff, at, GRACE), fee);
        s.paid = fee;
        s.paid_at = Some(at);
        assert_eq!(s.due(&tariff, at, GRACE), 0);
        assert_eq!(s.due(&tariff, Millis(at.0 + 15 * MIN), GRACE), 0, "the grace's last ms");
        let late = Millis(at.0 + 15 * MIN + 1);
        assert_eq!(s.due(&tariff, late, GRACE), tariff.fee(s.entered, late) - fee);
        assert!(
            s.due(&tariff, late, GRACE) > 0,
            "past the grace the periods since count"
        );
    }

    #[test]
    fn a_short_payment_leaves_the_rest_due() {
        let tariff = Tariff::SHORT_TERM;
        let mut s = session(0);
        let at = Millis(60 * MIN);
        let fee = tariff.fee(s.entered, at);
        s.paid = fee - 500;
        s.paid_at = Some(at);
        assert_eq!(s.due(&tariff, at, GRACE), 500);
    }

    #[test]
    fn tickets_are_short_and_distinct() {
        assert_eq!(ticket_for(0), "T0");
        assert_eq!(ticket_for(35), "TZ");
        assert_eq!(ticket_for(36), "T10");
        assert_ne!(ticket_for(378347051012097), ticket_for(378347051012098));
        assert!(ticket_for(i64::MAX).len() <= 14);
    }

    #[test]
    fn states_read_back() {
        for s in SessionState::ALL {
            assert_eq!(SessionState::parse(s.as_str()), Some(s));
        }
        assert!(SessionState::Held.is_open());
        assert!(!SessionState::Lost.is_open());
    }
}
