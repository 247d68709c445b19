//! Sessions, payments and tariffs to and from their store rows.
//!
//! Amounts are `u64` in the cores and `BIGINT` in the store; a stored amount that does not fit
//! (never written by kiosk) is read as 0 and logged by the caller's check.

use super::core::session::{Payment, Session, SessionState};
use super::core::tariff::Tariff;
use crate::store::models::parking_payments::ParkingPayment;
use crate::store::models::parking_sessions::ParkingSession;
use crate::store::models::parking_tariffs::ParkingTariff;
use crate::time::Millis;

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

pub fn session_row(s: &Session) -> ParkingSession {
    ParkingSession {
        id: s.id,
        site: s.site.clone(),
        zone: s.zone.clone(),
        entry_lane: s.entry_lane.clone(),
        plate: s.plate.clone(),
        ticket: s.ticket.clone(),
        guess: s.guess.clone(),
        entered_ms: s.entered.0,
        state: s.state.as_str().to_owned(),
        paid: to_i64(s.paid),
        paid_at_ms: s.paid_at.map(|m| m.0),
        exit_lane: s.exit_lane.clone(),
        closed_ms: s.closed.map(|m| m.0),
        fee: s.fee.map(to_i64),
        last_at_ms: s.last_at.0,
    }
}

pub fn payment_row(p: &Payment) -> ParkingPayment {
    ParkingPayment {
        id: p.id,
        session_id: p.session_id,
        amount: to_i64(p.amount),
        method: p.method.clone(),
        reference: p.reference.clone(),
        idempotency_key: p.key.clone(),
        principal: p.by.clone(),
        at_ms: p.at_ms.0,
    }
}

pub fn payment(row: ParkingPayment) -> Payment {
    Payment {
        id: row.id,
        session_id: row.session_id,
        amount: to_u64(row.amount),
        method: row.method,
        reference: row.reference,
        key: row.idempotency_key,
        by: row.principal,
        at_ms: Millis(row.at_ms),
    }
}

/// A stored session with its payments; `None` for a row whose state is unreadable.
pub fn session(row: ParkingSession, payments: Vec<Payment>) -> Option<Session> {
    Some(Session {
        id: row.id,
        site: row.site,
        zone: row.zone,
        entry_lane: row.entry_lane,
        plate: row.plate,
        ticket: row.ticket,
        guess: row.guess,
        entered: Millis(row.entered_ms),
        state: SessionState::parse(&row.state)?,
        paid: to_u64(row.paid),
        paid_at: row.paid_at_ms.map(Millis),
        payments,
        exit_lane: row.exit_lane,
        closed: row.closed_ms.map(Millis),
        fee: row.fee.map(to_u64),
        last_at: Millis(row.last_at_ms),
    })
}

pub fn tariff_row(zone: &str, t: &Tariff, now: Millis) -> ParkingTariff {
    ParkingTariff {
        zone: zone.to_owned(),
        free_minutes: i32::try_from(t.free_minutes).unwrap_or(i32::MAX),
        period_minutes: i32::try_from(t.period_minutes).unwrap_or(i32::MAX),
        rate_per_period: to_i64(t.rate_per_period),
        daily_cap: t.daily_cap.map(to_i64),
        utc_offset_minutes: t.utc_offset_minutes,
        updated_ms: now.0,
    }
}

pub fn tariff(row: &ParkingTariff) -> Tariff {
    Tariff {
        free_minutes: u32::try_from(row.free_minutes).unwrap_or(0),
        period_minutes: u32::try_from(row.period_minutes).unwrap_or(0),
        rate_per_period: to_u64(row.rate_per_period),
        daily_cap: row.daily_cap.map(to_u64),
        utc_offset_minutes: row.utc_offset_minutes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_and_a_tariff_come_back_as_stored() {
        let p = Payment {
            id: 2,
            session_id: 1,
            amount: 4_000,
            method: "card".into(),
            reference: Some("r".into()),
            key: "k".into(),
            by: "kiosk-1".into(),
            at_ms: Millis(5),
        };
        let s = Session {
            id: 1,
            site: "T1".into(),
            zone: "P1".into(),
            entry_lane: "E1".into(),
            plate: None,
            ticket: Some("T1".into()),
            guess: Some("AB1".into()),
            entered: Millis(1),
            state: SessionState::Held,
            paid: 4_000,
            paid_at: Some(Millis(5)),
            payments: vec![p.clone()],
            exit_lane: Some("X1".into()),
            closed: None,
            fee: None,
            last_at: Millis(6),
        };
        let back = session(session_row(&s), vec![payment(payment_row(&p))]).unwrap();
        assert_eq!(back, s);
        let t = Tariff::LONG_TERM;
        assert_eq!(tariff(&tariff_row("P3", &t, Millis(0))), t);
    }
}
