//! Alert receivers besides the live topics (issue #16): webhooks, told of every alert change
//! routed to them, from the database, at least once and in order per alert.
//!
//! - [`route`] (pure): which changes a receiver is sent (by severity and kind);
//! - [`payload`] (pure): the JSON body, shaped as an Alertmanager webhook, and its idempotency key;
//! - [`retry`] (pure): how long a failed delivery waits before it is tried again;
//! - [`receivers`]: the receivers this node knows, the [`crate::alert::fanout::Fanout`] the alert
//!   service asks which rows to write with each change;
//! - [`dispatcher`]: the task that sends what is owed, marks what was accepted and keeps each
//!   receiver's health.
//!
//! Depends on `alert` (its model and its fanout seam), `store` and `ownership`; imported by `app`
//! and `http` only.

pub mod dispatcher;
pub mod payload;
pub mod receivers;
pub mod retry;
pub mod route;

pub use receivers::Receivers;

/// An open alert of `kind` and `severity` about device `cam-1`, for the tests here.
#[cfg(test)]
fn test_alert(kind: crate::alert::AlertKind, severity: crate::alert::Severity) -> crate::alert::Alert {
    crate::alert::Alert {
        id: 1,
        subject_type: crate::alert::SubjectType::Device,
        subject_id: "cam-1".into(),
        kind,
        severity,
        state: crate::alert::AlertState::Open,
        count: 1,
        detail: None,
        opened_ms: 0,
        updated_ms: 0,
        acked_by: None,
        acked_ms: None,
        ack_note: None,
        resolved_by: None,
        resolved_ms: None,
        suppressed_by: None,
        version: 1,
        notified_ms: None,
    }
}
