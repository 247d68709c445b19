//! What an alert is (API.md): subject, kind, severity, lifecycle.

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::store::models::alerts as rows;

macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!(concat!("unknown ", stringify!($name), " {:?}"), other)),
                }
            }
        }
    };
}

text_enum!(
    /// What an alert is about (`server`: the server itself, as in `auth_flood` on `login`).
    SubjectType {
        Device => "device",
        Client => "client",
        Taxi => "taxi",
        Terminal => "terminal",
        Server => "server",
    }
);
text_enum!(
    /// DOMAIN.md's alert kinds.
    AlertKind {
        HeartbeatMissed => "heartbeat_missed",
        DeviceFault => "device_fault",
        ClientDisconnected => "client_disconnected",
        CrashLoop => "crash_loop",
        Flapping => "flapping",
        FailoverExecuted => "failover_executed",
        FailoverFailed => "failover_failed",
        CommandTimedOut => "command_timed_out",
        AuthFlood => "auth_flood",
        NodeTakeover => "node_takeover",
    }
);
text_enum!(
    Severity { Critical => "critical", Major => "major", Minor => "minor", Info => "info" }
);
text_enum!(
    /// open > acknowledged > resolved.
    AlertState { Open => "open", Acknowledged => "acknowledged", Resolved => "resolved" }
);

/// The thing an alert is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subject {
    pub kind: SubjectType,
    pub id: String,
}

/// An alert, as stored and as shown (API.md field names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Alert {
    pub id: i64,
    pub subject_type: SubjectType,
    pub subject_id: String,
    pub kind: AlertKind,
    pub severity: Severity,
    pub state: AlertState,
    /// How many times it was raised while open.
    pub count: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub opened_ms: i64,
    pub updated_ms: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acked_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acked_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ack_note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed_by: Option<i64>,
    /// Counts changes, so a consumer can drop a redelivered old version.
    pub version: u32,
    /// When it was last published (opened, changed or re-notified).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notified_ms: Option<i64>,
}

impl Alert {
    pub fn subject(&self) -> Subject {
        Subject {
            kind: self.subject_type,
            id: self.subject_id.clone(),
        }
    }

    pub fn to_row(&self) -> rows::Alert {
        rows::Alert {
            id: self.id,
            subject_type: self.subject_type.as_str().to_owned(),
            subject_id: self.subject_id.clone(),
            kind: self.kind.as_str().to_owned(),
            severity: self.severity.as_str().to_owned(),
            state: self.state.as_str().to_owned(),
            count: i32::try_from(self.count).unwrap_or(i32::MAX),
            detail: self.detail.clone(),
            opened_ms: self.opened_ms,
            updated_ms: self.updated_ms,
            acked_by: self.acked_by.clone(),
            acked_ms: self.acked_ms,
            ack_note: self.ack_note.clone(),
            resolved_by: self.resolved_by.clone(),
            resolved_ms: self.resolved_ms,
            suppressed_by: self.suppressed_by,
            version: i32::try_from(self.version).unwrap_or(i32::MAX),
            notified_ms: self.notified_ms,
        }
    }

    /// The domain value of a stored row; `None` for a row this version cannot read.
    pub fn from_row(row: rows::Alert) -> Option<Alert> {
        Some(Alert {
            id: row.id,
            subject_type: row.subject_type.parse().ok()?,
            subject_id: row.subject_id,
            kind: row.kind.parse().ok()?,
            severity: row.severity.parse().ok()?,
            state: row.state.parse().ok()?,
            count: u32::try_from(row.count).unwrap_or(0),
            detail: row.detail,
            opened_ms: row.opened_ms,
            updated_ms: row.updated_ms,
            acked_by: row.acked_by,
            acked_ms: row.acked_ms,
            ack_note: row.ack_note,
            resolved_by: row.resolved_by,
            resolved_ms: row.resolved_ms,
            suppressed_by: row.suppressed_by,
            version: u32::try_from(row.version).unwrap_or(0),
            notified_ms: row.notified_ms,
        })
    }
}

/// Why an alert is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AlertEvent {
    /// Opened.
    #[serde(rename = "alert.raised")]
    Raised,
    /// Counted again, acknowledged or resolved (`version` went up).
    #[serde(rename = "alert.updated")]
    Updated,
    /// Still open, critical and unacknowledged: told again (`version` unchanged).
    #[serde(rename = "alert.renotified")]
    Renotified,
}

impl AlertEvent {
    /// The event for a change that left the alert at `alert.version`.
    pub fn of_change(alert: &Alert) -> AlertEvent {
        if alert.version == 1 {
            AlertEvent::Raised
        } else {
            AlertEvent::Updated
        }
    }
}

/// The message published on `/topic/alerts`: `{"type": "alert.raised", ...the alert}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertMessage {
    #[serde(rename = "type")]
    pub event: AlertEvent,
    #[serde(flatten)]
    pub alert: Alert,
}

/// What a service wants done about a subject's alert of one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    /// Open it, or count a repeat of the open one.
    Raise {
        subject: Subject,
        kind: AlertKind,
        severity: Severity,
        detail: Option<String>,
    },
    /// Resolve the open one, if any, by recovery.
    Resolve { subject: Subject, kind: AlertKind },
    /// Resolve the open one, if any, because its subject left service: resolved by `by`, with
    /// `why` added to its detail.
    Retire {
        subject: Subject,
        kind: AlertKind,
        by: String,
        why: String,
    },
    /// Raise it, but recorded under `parent`'s open `client_disconnected` alert instead of
    /// being told to anyone (topology suppression). With no such parent open, a plain raise.
    RaiseSuppressed {
        subject: Subject,
        kind: AlertKind,
        severity: Severity,
        parent: Subject,
    },
}
