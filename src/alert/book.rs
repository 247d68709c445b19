//! The alert book: the open alerts and the rules that change them. Pure.
//!
//! One owner (the alert service) holds the book; it is loaded from the store at start and every
//! change it returns is written back before it is shown. Rules:
//! - at most one open (not resolved) alert per subject and kind: raising it again counts a
//!   repeat (`count`, `version` + 1) instead of opening another;
//! - recovery resolves the open alert of that kind (nothing happens if there is none);
//! - an operator acknowledges an open alert (again: no change) and may resolve it by hand;
//! - every change increments `version`.

use std::collections::HashMap;

use thiserror::Error;

use super::model::{Alert, AlertKind, AlertState, Intent, Severity, Subject};
use crate::time::Millis;

/// Longest operator note or detail kept.
pub const MAX_NOTE_LEN: usize = 1_024;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BookError {
    #[error("alert {0} is not open (it is resolved or does not exist)")]
    NotOpen(i64),
}

#[derive(Debug, Default)]
pub struct AlertBook {
    open: HashMap<(Subject, AlertKind), Alert>,
    by_id: HashMap<i64, (Subject, AlertKind)>,
}

fn cap(text: Option<&str>) -> Option<String> {
    text.map(|t| t.chars().take(MAX_NOTE_LEN).collect())
}

impl AlertBook {
    /// A book holding `alerts` (the unresolved ones from the store).
    pub fn from_open(alerts: impl IntoIterator<Item = Alert>) -> Self {
        let mut book = AlertBook::default();
        for alert in alerts.into_iter().filter(|a| a.state != AlertState::Resolved) {
            book.insert(alert);
        }
        book
    }

    fn insert(&mut self, alert: Alert) {
        let key = (alert.subject(), alert.kind);
        self.by_id.insert(alert.id, key.clone());
        self.open.insert(key, alert);
    }

    fn remove(&mut self, key: &(Subject, AlertKind)) -> Option<Alert> {
        let alert = self.open.remove(key)?;
        self.by_id.remove(&alert.id);
        Some(alert)
    }

    /// Drops `alert`'s subject and kind from the book: a change to it was refused by its
    /// partition's fence, so another node owns the subject now and keeps its alerts. A later
    /// change here (should this node own it again) starts from what the store holds.
    pub fn forget(&mut self, alert: &Alert) -> bool {
        self.remove(&(alert.subject(), alert.kind)).is_some()
    }

    pub fn open_count(&self) -> usize {
        self.open.len()
    }

    pub fn get(&self, id: i64) -> Option<&Alert> {
        self.by_id.get(&id).and_then(|key| self.open.get(key))
    }

    /// The open alerts of one subject.
    pub fn for_subject(&self, subject: &Subject) -> Vec<&Alert> {
        let mut alerts: Vec<&Alert> = self.open.values().filter(|a| &a.subject() == subject).collect();
        alerts.sort_by_key(|a| a.id);
        alerts
    }

    /// Applies a service's intent; returns the alert as changed, or `None` for no change.
    /// `new_id` is called only when an alert is opened.
    pub fn apply(&mut self, intent: Intent, now: Millis, new_id: impl FnOnce() -> i64) -> Option<Alert> {
        match intent {
            Intent::Raise {
                subject,
                kind,
                severity,
                detail,
            } => self.raise(subject, kind, severity, detail, None, now, new_id),
            Intent::RaiseSuppressed {
                subject,
                kind,
                severity,
                parent,
            } => {
                let parent_id = self.open.get(&(parent, AlertKind::ClientDisconnected)).map(|a| a.id);
                self.raise(subject, kind, severity, None, parent_id, now, new_id)
            }
            Intent::Resolve { subject, kind } => {
                let mut alert = self.remove(&(subject, kind))?;
                resolve(&mut alert, None, now);
                Some(alert)
            }
            Intent::Retire { subject, kind, by, why } => {
                let mut alert = self.remove(&(subject, kind))?;
                let detail = match alert.detail.take() {
                    Some(detail) => format!("{detail}; resolved: {why}"),
                    None => format!("resolved: {why}"),
                };
                alert.detail = cap(Some(&detail));
                resolve(&mut alert, Some(&by), now);
                Some(alert)
            }
        }
    }

    /// Opens an alert or counts a repeat. A plain raise of a suppressed alert lifts the
    /// suppression: the parent came back and this child did not recover.
    #[allow(clippy::too_many_arguments)]
    fn raise(
        &mut self,
        subject: Subject,
        kind: AlertKind,
        severity: Severity,
        detail: Option<String>,
        suppressed_by: Option<i64>,
        now: Millis,
        new_id: impl FnOnce() -> i64,
    ) -> Option<Alert> {
        let key = (subject, kind);
        if let Some(alert) = self.open.get_mut(&key) {
            alert.count = alert.count.saturating_add(1);
            alert.updated_ms = now.0;
            alert.severity = alert.severity.min(severity);
            if detail.is_some() {
                alert.detail = cap(detail.as_deref());
            }
            if suppressed_by.is_none() {
                alert.suppressed_by = None;
            }
            alert.version += 1;
            alert.notified_ms = Some(now.0);
            return Some(alert.clone());
        }
        let alert = Alert {
            id: new_id(),
            subject_type: key.0.kind,
            subject_id: key.0.id.clone(),
            kind,
            severity,
            state: AlertState::Open,
            count: 1,
            detail: cap(detail.as_deref()),
            opened_ms: now.0,
            updated_ms: now.0,
            acked_by: None,
            acked_ms: None,
            ack_note: None,
            resolved_by: None,
            resolved_ms: None,
            suppressed_by,
            version: 1,
            notified_ms: Some(now.0),
        };
        self.insert(alert.clone());
        Some(alert)
    }

    /// Open, unacknowledged critical alerts last notified `every` or longer ago: each is marked
    /// notified at `now` and returned, to be told again.
    pub fn due_for_renotification(&mut self, now: Millis, every: std::time::Duration) -> Vec<Alert> {
        let cutoff = (now - every).0;
        let mut due: Vec<Alert> = Vec::new();
        for alert in self.open.values_mut() {
            let stale = alert.notified_ms.is_none_or(|t| t <= cutoff);
            if alert.state == AlertState::Open && alert.severity == Severity::Critical && stale {
                alert.notified_ms = Some(now.0);
                due.push(alert.clone());
            }
        }
        due.sort_by_key(|a| a.id);
        due
    }

    /// An operator acknowledges alert `id`. Acknowledging twice changes nothing.
    pub fn acknowledge(
        &mut self,
        id: i64,
        by: &str,
        note: Option<&str>,
        now: Millis,
    ) -> Result<Option<Alert>, BookError> {
        let key = self.by_id.get(&id).ok_or(BookError::NotOpen(id))?;
        let alert = self.open.get_mut(key).ok_or(BookError::NotOpen(id))?;
        if alert.state == AlertState::Acknowledged {
            return Ok(None);
        }
        alert.state = AlertState::Acknowledged;
        alert.acked_by = Some(by.to_owned());
        alert.acked_ms = Some(now.0);
        alert.ack_note = cap(note);
        alert.updated_ms = now.0;
        alert.version += 1;
        alert.notified_ms = Some(now.0);
        Ok(Some(alert.clone()))
    }

    /// An operator resolves alert `id` by hand.
    pub fn resolve_by(&mut self, id: i64, by: &str, now: Millis) -> Result<Alert, BookError> {
        let key = self.by_id.get(&id).cloned().ok_or(BookError::NotOpen(id))?;
        let mut alert = self.remove(&key).ok_or(BookError::NotOpen(id))?;
        resolve(&mut alert, Some(by), now);
        Ok(alert)
    }
}

fn resolve(alert: &mut Alert, by: Option<&str>, now: Millis) {
    alert.state = AlertState::Resolved;
    alert.resolved_by = by.map(str::to_owned);
    alert.resolved_ms = Some(now.0);
    alert.updated_ms = now.0;
    alert.version += 1;
    alert.notified_ms = Some(now.0);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::model::{Severity, SubjectType};

    fn cam() -> Subject {
        Subject {
            kind: SubjectType::Device,
            id: "cam-1".into(),
        }
    }

    fn raise(kind: AlertKind) -> Intent {
        Intent::Raise {
            subject: cam(),
            kind,
            severity: Severity::Major,
            detail: None,
        }
    }

    #[test]
    fn repeats_of_an_open_alert_count_instead_of_opening_another() {
        let mut book = AlertBook::default();
        let first = book.apply(raise(AlertKind::HeartbeatMissed), Millis(1), || 10).unwrap();
        assert_eq!(
            (first.id, first.count, first.version, first.state),
            (10, 1, 1, AlertState::Open)
        );
        let again = book
            .apply(raise(AlertKind::HeartbeatMissed), Millis(2), || unreachable!())
            .unwrap();
        assert_eq!((again.id, again.count, again.version), (10, 2, 2));
        let other = book.apply(raise(AlertKind::DeviceFault), Millis(3), || 11).unwrap();
        assert_eq!(other.id, 11);
        assert_eq!(book.open_count(), 2);
    }

    #[test]
    fn a_forgotten_alert_leaves_the_book_and_a_later_raise_opens_afresh() {
        let mut book = AlertBook::default();
        let open = book.apply(raise(AlertKind::HeartbeatMissed), Millis(1), || 10).unwrap();
        assert!(book.forget(&open), "it was in the book");
        assert!(!book.forget(&open), "once");
        assert_eq!((book.open_count(), book.get(10).is_none()), (0, true));
        let next = book.apply(raise(AlertKind::HeartbeatMissed), Millis(2), || 11).unwrap();
        assert_eq!(
            (next.id, next.count),
            (11, 1),
            "nothing of the forgotten one is counted"
        );
    }

    #[test]
    fn recovery_resolves_and_a_later_raise_opens_a_new_alert() {
        let mut book = AlertBook::default();
        book.apply(raise(AlertKind::HeartbeatMissed), Millis(1), || 10);
        let resolved = book
            .apply(
                Intent::Resolve {
                    subject: cam(),
                    kind: AlertKind::HeartbeatMissed,
                },
                Millis(5),
                || 0,
            )
            .unwrap();
        assert_eq!(
            (resolved.state, resolved.resolved_ms, resolved.resolved_by.clone()),
            (AlertState::Resolved, Some(5), None)
        );
        assert_eq!(
            book.apply(
                Intent::Resolve {
                    subject: cam(),
                    kind: AlertKind::HeartbeatMissed
                },
                Millis(6),
                || 0
            ),
            None
        );
        assert_eq!(
            book.apply(raise(AlertKind::HeartbeatMissed), Millis(7), || 12)
                .unwrap()
                .id,
            12
        );
    }

    #[test]
    fn a_retired_subjects_alert_is_resolved_by_whoever_retired_it_and_says_why() {
        let mut book = AlertBook::default();
        let opened = book.apply(raise(AlertKind::HeartbeatMissed), Millis(1), || 7).unwrap();
        let retired = book
            .apply(
                Intent::Retire {
                    subject: cam(),
                    kind: AlertKind::HeartbeatMissed,
                    by: "admin".into(),
                    why: "device decommissioned".into(),
                },
                Millis(9),
                || unreachable!(),
            )
            .unwrap();
        assert_eq!(retired.id, opened.id);
        assert_eq!(retired.state, AlertState::Resolved);
        assert_eq!(retired.resolved_by.as_deref(), Some("admin"));
        assert_eq!(retired.version, opened.version + 1);
        assert!(retired
            .detail
            .as_deref()
            .unwrap()
            .ends_with("resolved: device decommissioned"));
        assert_eq!(book.open_count(), 0);
    }

    #[test]
    fn acknowledge_once_then_resolve_by_hand() {
        let mut book = AlertBook::default();
        book.apply(raise(AlertKind::CrashLoop), Millis(1), || 10);
        let acked = book.acknowledge(10, "kim", Some("on it"), Millis(2)).unwrap().unwrap();
        assert_eq!(
            (acked.state, acked.acked_by.as_deref(), acked.version),
            (AlertState::Acknowledged, Some("kim"), 2)
        );
        assert_eq!(book.acknowledge(10, "lee", None, Millis(3)).unwrap(), None);
        // Still open for dedupe purposes: a repeat counts on the acknowledged alert.
        assert_eq!(
            book.apply(raise(AlertKind::CrashLoop), Millis(4), || 99).unwrap().id,
            10
        );
        let done = book.resolve_by(10, "kim", Millis(5)).unwrap();
        assert_eq!(
            (done.state, done.resolved_by.as_deref()),
            (AlertState::Resolved, Some("kim"))
        );
        assert_eq!(
            book.acknowledge(10, "kim", None, Millis(6)),
            Err(BookError::NotOpen(10))
        );
        assert_eq!(book.resolve_by(10, "kim", Millis(6)), Err(BookError::NotOpen(10)));
    }

    #[test]
    fn only_unacknowledged_critical_alerts_are_renotified_each_interval() {
        use std::time::Duration;
        let mut book = AlertBook::default();
        let every = Duration::from_secs(300);
        let critical = |kind| Intent::Raise {
            subject: cam(),
            kind,
            severity: Severity::Critical,
            detail: None,
        };
        book.apply(critical(AlertKind::CrashLoop), Millis(0), || 1);
        book.apply(critical(AlertKind::FailoverFailed), Millis(0), || 2);
        book.apply(raise(AlertKind::HeartbeatMissed), Millis(0), || 3);
        assert!(book.due_for_renotification(Millis(299_999), every).is_empty());
        let due: Vec<i64> = book
            .due_for_renotification(Millis(300_000), every)
            .iter()
            .map(|a| a.id)
            .collect();
        assert_eq!(due, vec![1, 2], "major alerts are not re-notified");
        assert!(
            book.due_for_renotification(Millis(300_001), every).is_empty(),
            "once per interval"
        );
        book.acknowledge(1, "kim", None, Millis(400_000)).unwrap();
        let due: Vec<i64> = book
            .due_for_renotification(Millis(700_000), every)
            .iter()
            .map(|a| a.id)
            .collect();
        assert_eq!(due, vec![2], "an acknowledged alert is not re-notified");
        let versions: Vec<u32> = book
            .due_for_renotification(Millis(1_000_000), every)
            .iter()
            .map(|a| a.version)
            .collect();
        assert_eq!(versions, vec![1], "re-notification does not change the alert");
    }

    #[test]
    fn children_of_a_disconnected_client_are_recorded_under_its_alert() {
        let pc = Subject {
            kind: SubjectType::Client,
            id: "pc-1".into(),
        };
        let mut book = AlertBook::default();
        let child = || Intent::RaiseSuppressed {
            subject: cam(),
            kind: AlertKind::HeartbeatMissed,
            severity: Severity::Major,
            parent: Subject {
                kind: SubjectType::Client,
                id: "pc-1".into(),
            },
        };
        // No parent open: a plain alert.
        assert_eq!(book.apply(child(), Millis(1), || 1).unwrap().suppressed_by, None);
        book.apply(
            Intent::Resolve {
                subject: cam(),
                kind: AlertKind::HeartbeatMissed,
            },
            Millis(2),
            || 0,
        );
        let parent = Intent::Raise {
            subject: pc,
            kind: AlertKind::ClientDisconnected,
            severity: Severity::Major,
            detail: None,
        };
        book.apply(parent, Millis(3), || 10);
        assert_eq!(book.apply(child(), Millis(4), || 11).unwrap().suppressed_by, Some(10));
        // The child did not recover after the parent came back: its own plain raise lifts it.
        let lifted = book.apply(raise(AlertKind::HeartbeatMissed), Millis(5), || 99).unwrap();
        assert_eq!((lifted.id, lifted.suppressed_by, lifted.count), (11, None, 2));
    }

    #[test]
    fn the_book_starts_from_the_unresolved_alerts_in_the_store() {
        let mut seed = AlertBook::default();
        let open = seed.apply(raise(AlertKind::Flapping), Millis(1), || 7).unwrap();
        let mut resolved = open.clone();
        resolved.id = 8;
        resolved.state = AlertState::Resolved;
        let mut book = AlertBook::from_open([open, resolved]);
        assert_eq!(book.open_count(), 1);
        assert_eq!(book.for_subject(&cam()).len(), 1);
        assert_eq!(
            book.apply(raise(AlertKind::Flapping), Millis(2), || 99).unwrap().count,
            2
        );
    }
}
