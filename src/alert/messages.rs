//! Messages of the alert service, named by direction: requests in (each with its result type
//! beside it), events out. Listening is [`crate::listen`]'s: `alerts.listen(recipient)` for
//! [`AlertsChanged`].

use std::sync::Arc;

use actix::prelude::*;
use thiserror::Error;

use super::book::BookError;
use super::model::{Alert, AlertEvent, Intent, Subject};
use crate::ownership::Fence;
use crate::store::models::transitions::StateChange;
use crate::store::{Committed, StoreError, WriteFn};

#[derive(Debug, Error)]
pub enum AlertError {
    #[error(transparent)]
    NotOpen(#[from] BookError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Store a service's state change and apply its alert intents, atomically.
#[derive(Message, Default)]
#[rtype(result = "()")]
pub struct Record {
    pub writes: Option<WriteFn>,
    /// A device's new state with its transition, stored after `writes` and before the alerts;
    /// kept as data, not in `writes`, so a storm's thousands of them are stored by a few
    /// multi-row statements ([`crate::store::models::transitions::record_all`]).
    pub state: Option<StateChange>,
    pub intents: Vec<Intent>,
    pub committed: Option<Committed>,
    /// The partition the change belongs to and the fencing token this node holds for it: the
    /// record is refused, and nothing of it stored or told, when a newer token is recorded
    /// (another node owns the partition now). `None` for node-wide records (`auth_flood`).
    pub fence: Option<Fence>,
}

/// An operator acknowledges an open alert.
#[derive(Debug, Message)]
#[rtype(result = "Result<Alert, AlertError>")]
pub struct Acknowledge {
    pub id: i64,
    pub by: String,
    pub note: Option<String>,
}

/// An operator resolves an alert by hand.
#[derive(Debug, Message)]
#[rtype(result = "Result<Alert, AlertError>")]
pub struct ResolveAlert {
    pub id: i64,
    pub by: String,
    /// Why, kept in the audit entry's `detail`.
    pub note: Option<String>,
}

/// An alert change was committed (or is replayed from the outbox).
#[derive(Debug, Clone)]
pub struct AlertChanged {
    pub alert: Alert,
    pub event: AlertEvent,
    /// The outbox row it came from: the same on a replay.
    pub outbox_id: i64,
    /// The JSON body published on `/topic/alerts`: the outbox row's payload, serialised once.
    pub json: Arc<str>,
}

impl AlertChanged {
    /// The JSON body published on `/topic/alerts`.
    pub fn to_json(&self) -> &str {
        &self.json
    }
}

/// Alert changes committed together, in order: publish them. One message for a whole batch,
/// so a storm of thousands of alerts costs subscribers a handful of messages.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct AlertsChanged {
    pub changes: Arc<[AlertChanged]>,
}

/// Publish what the outbox holds unmarked (send once, after the subscribers are wired).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct ReplayOutbox;

/// The open alerts of one subject, from memory (answers while the store is down).
#[derive(Debug, Message)]
#[rtype(result = "Vec<Alert>")]
pub struct OpenAlertsOf {
    pub subject: Subject,
}

/// Ask how many alerts are open and how many records wait to be written.
#[derive(Debug, Message)]
#[rtype(result = "AlertStats")]
pub struct GetAlertStats;

#[derive(Debug, Clone, Default, MessageResponse)]
pub struct AlertStats {
    pub open: usize,
    pub queued: usize,
    pub batches_written: u64,
    pub published: u64,
    pub replayed: u64,
    /// Records refused by their partition's fence (another node owns the partition now).
    pub refused: u64,
    /// Alerts stored as opened, and as resolved, by kind.
    pub opened: std::collections::BTreeMap<&'static str, u64>,
    pub resolved: std::collections::BTreeMap<&'static str, u64>,
    /// The store writer's figures: retries (pauses while the store was away, batches split
    /// after a failure) and the time its transactions took.
    pub writer: crate::store::writer::WriterStats,
}
