//! The alert service: the one owner of the [`AlertBook`], and the writer that stores each state
//! change together with the alerts it raises or resolves, in one transaction.
//!
//! Other services send [`Record`]s (their own rows to write, plus alert [`Intent`]s); operators'
//! acknowledgements and resolutions arrive as [`Acknowledge`] and [`ResolveAlert`]. Work is
//! queued and written in batches: one transaction per batch, one batch in flight, in arrival
//! order, so changes to one subject are stored in the order they happened and a storm of
//! thousands of transitions costs a few transactions, not thousands.
//!
//! Nothing is dropped when the store is briefly gone: a batch that fails because the store is
//! unavailable is kept and retried; operators' requests wait for it (the HTTP layer times out
//! with 503 and a retry is harmless). A batch that fails for another reason is split and each
//! record retried alone, so one bad record cannot sink the others.
//! Subscribers ([`SubscribeAlerts`]) are told of every change after it is committed.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use thiserror::Error;
use tokio::sync::oneshot;

use super::book::{AlertBook, BookError};
use super::model::{Alert, Intent, Subject};
use crate::ids::IdGen;
use crate::store::models::{alerts as alert_rows, audit};
use crate::store::{DbConnection, Store, StoreError};
use crate::time::{Clock, Millis};

/// Most records written in one transaction.
pub const MAX_BATCH: usize = 2_048;
/// Wait before retrying a batch the store could not take.
pub const RETRY_DELAY: Duration = Duration::from_millis(500);

/// Rows a service writes in the same transaction as its alerts. Re-runnable, for retries.
pub type WriteFn = Arc<dyn Fn(&mut DbConnection) -> diesel::QueryResult<()> + Send + Sync>;
/// Called once the record is committed.
pub type Committed = Box<dyn FnOnce() + Send>;

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
    pub intents: Vec<Intent>,
    pub committed: Option<Committed>,
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
}

/// An alert was opened, counted, acknowledged or resolved (sent after commit).
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct AlertChanged {
    pub alert: Alert,
}

/// Be told of every committed alert change.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SubscribeAlerts(pub Recipient<AlertChanged>);

/// The open alerts of one subject, from memory (answers while the store is down).
#[derive(Debug, Message)]
#[rtype(result = "Vec<Alert>")]
pub struct OpenAlertsOf(pub Subject);

/// Ask how many alerts are open and how many records wait to be written.
#[derive(Debug, Message)]
#[rtype(result = "AlertStats")]
pub struct GetAlertStats;

#[derive(Debug, Clone, Copy, Default, MessageResponse)]
pub struct AlertStats {
    pub open: usize,
    pub queued: usize,
    pub batches_written: u64,
}

type Reply = oneshot::Sender<Result<Alert, AlertError>>;

/// One record as it waits to be written.
struct Item {
    writes: Option<WriteFn>,
    alerts: Vec<Alert>,
    audit: Option<audit::AuditEntry>,
    reply: Option<(Reply, Alert)>,
    committed: Option<Committed>,
}

pub struct AlertService {
    store: Store,
    ids: Arc<IdGen>,
    clock: Arc<dyn Clock>,
    book: AlertBook,
    queue: VecDeque<Item>,
    in_flight: bool,
    /// Records to write one per transaction, after a batch failed for a reason other than
    /// the store being unavailable.
    solo: usize,
    subscribers: Vec<Recipient<AlertChanged>>,
    batches_written: u64,
}

impl AlertService {
    /// A service whose book starts from `unresolved`, the alerts the store holds open
    /// ([`alert_rows::unresolved`], read by the caller off the arbiter threads).
    pub fn new(store: Store, ids: Arc<IdGen>, clock: Arc<dyn Clock>, unresolved: Vec<alert_rows::Alert>) -> Self {
        let book = AlertBook::from_open(unresolved.into_iter().filter_map(Alert::from_row));
        AlertService {
            store,
            ids,
            clock,
            book,
            queue: VecDeque::new(),
            in_flight: false,
            solo: 0,
            subscribers: Vec::new(),
            batches_written: 0,
        }
    }

    fn audit_entry(
        &self,
        by: &str,
        action: &str,
        alert: &Alert,
        detail: Option<String>,
        now: Millis,
    ) -> audit::AuditEntry {
        audit::AuditEntry {
            id: self.ids.next(now),
            at_ms: now.0,
            principal: by.to_owned(),
            action: action.to_owned(),
            target: format!("alert:{}", alert.id),
            detail,
        }
    }

    fn flush(&mut self, ctx: &mut Context<Self>) {
        if self.in_flight || self.queue.is_empty() {
            return;
        }
        let take = if self.solo > 0 {
            self.solo -= 1;
            1
        } else {
            self.queue.len().min(MAX_BATCH)
        };
        let batch: Vec<Item> = self.queue.drain(..take).collect();
        let writes: Vec<WriteFn> = batch.iter().filter_map(|i| i.writes.clone()).collect();
        let rows: Vec<alert_rows::Alert> = batch.iter().flat_map(|i| i.alerts.iter().map(Alert::to_row)).collect();
        let audits: Vec<audit::AuditEntry> = batch.iter().filter_map(|i| i.audit.clone()).collect();
        self.in_flight = true;
        let job = self.store.write(move |conn| {
            for write in &writes {
                write(conn)?;
            }
            for row in &rows {
                alert_rows::save(conn, row)?;
            }
            for entry in &audits {
                audit::insert(conn, entry)?;
            }
            Ok(())
        });
        ctx.spawn(job.into_actor(self).map(move |result, act, ctx| {
            act.in_flight = false;
            match result {
                Ok(()) => act.committed(batch),
                Err(e) if e.is_unavailable() => {
                    log::warn!(
                        "alert store unavailable records={} retry_ms={} error={e}",
                        batch.len(),
                        RETRY_DELAY.as_millis()
                    );
                    for item in batch.into_iter().rev() {
                        act.queue.push_front(item);
                    }
                    act.in_flight = true;
                    ctx.run_later(RETRY_DELAY, |act, ctx| {
                        act.in_flight = false;
                        act.flush(ctx);
                    });
                    return;
                }
                Err(e) if batch.len() > 1 => {
                    log::warn!(
                        "alert batch failed records={} error={e}; retrying one by one",
                        batch.len()
                    );
                    act.solo += batch.len();
                    for item in batch.into_iter().rev() {
                        act.queue.push_front(item);
                    }
                }
                Err(e) => {
                    log::error!("alert record dropped after a store error error={e}");
                    for item in batch {
                        if let Some((reply, _)) = item.reply {
                            let _ = reply.send(Err(AlertError::Store(StoreError::Unavailable(e.to_string()))));
                        }
                    }
                }
            }
            act.flush(ctx);
        }));
    }

    fn committed(&mut self, batch: Vec<Item>) {
        self.batches_written += 1;
        for item in batch {
            for alert in &item.alerts {
                for subscriber in &self.subscribers {
                    subscriber.do_send(AlertChanged { alert: alert.clone() });
                }
            }
            if let Some((reply, alert)) = item.reply {
                let _ = reply.send(Ok(alert));
            }
            if let Some(done) = item.committed {
                done();
            }
        }
    }

    fn enqueue(&mut self, item: Item, ctx: &mut Context<Self>) {
        self.queue.push_back(item);
        self.flush(ctx);
    }

    /// Queues an operator's change to be written, replying when it is committed.
    fn operator_change(
        &mut self,
        change: Result<Option<Alert>, BookError>,
        by: &str,
        action: &str,
        note: Option<String>,
        current: Option<Alert>,
        ctx: &mut Context<Self>,
    ) -> ResponseFuture<Result<Alert, AlertError>> {
        let now = self.clock.now();
        let alert = match change {
            Err(e) => return Box::pin(async move { Err(e.into()) }),
            // Nothing changed (acknowledged twice): answer with the alert as it is.
            Ok(None) => {
                let current = current.ok_or(AlertError::NotOpen(BookError::NotOpen(0)));
                return Box::pin(async move { current });
            }
            Ok(Some(alert)) => alert,
        };
        log::info!("alert {action} id={} by={by}", alert.id);
        let (tx, rx) = oneshot::channel();
        let audit = self.audit_entry(by, action, &alert, note, now);
        self.enqueue(
            Item {
                writes: None,
                alerts: vec![alert.clone()],
                audit: Some(audit),
                reply: Some((tx, alert)),
                committed: None,
            },
            ctx,
        );
        Box::pin(async move {
            rx.await.unwrap_or_else(|_| {
                Err(AlertError::Store(StoreError::Unavailable(
                    "alert service stopped".into(),
                )))
            })
        })
    }
}

impl Actor for AlertService {
    type Context = Context<Self>;
}

impl Handler<Record> for AlertService {
    type Result = ();
    fn handle(&mut self, msg: Record, ctx: &mut Context<Self>) {
        let now = self.clock.now();
        let ids = &self.ids;
        let alerts: Vec<Alert> = msg
            .intents
            .into_iter()
            .filter_map(|intent| self.book.apply(intent, now, || ids.next(now)))
            .collect();
        for alert in &alerts {
            log::info!(
                "alert changed id={} subject={}:{} kind={} state={} count={}",
                alert.id,
                alert.subject_type.as_str(),
                alert.subject_id,
                alert.kind.as_str(),
                alert.state.as_str(),
                alert.count
            );
        }
        self.enqueue(
            Item {
                writes: msg.writes,
                alerts,
                audit: None,
                reply: None,
                committed: msg.committed,
            },
            ctx,
        );
    }
}

impl Handler<Acknowledge> for AlertService {
    type Result = ResponseFuture<Result<Alert, AlertError>>;
    fn handle(&mut self, msg: Acknowledge, ctx: &mut Context<Self>) -> Self::Result {
        let now = self.clock.now();
        let change = self.book.acknowledge(msg.id, &msg.by, msg.note.as_deref(), now);
        let current = self.book.get(msg.id).cloned();
        self.operator_change(change, &msg.by, "alert.ack", msg.note, current, ctx)
    }
}

impl Handler<ResolveAlert> for AlertService {
    type Result = ResponseFuture<Result<Alert, AlertError>>;
    fn handle(&mut self, msg: ResolveAlert, ctx: &mut Context<Self>) -> Self::Result {
        let now = self.clock.now();
        let change = self.book.resolve_by(msg.id, &msg.by, now).map(Some);
        self.operator_change(change, &msg.by, "alert.resolve", None, None, ctx)
    }
}

impl Handler<SubscribeAlerts> for AlertService {
    type Result = ();
    fn handle(&mut self, msg: SubscribeAlerts, _: &mut Context<Self>) {
        self.subscribers.push(msg.0);
    }
}

impl Handler<OpenAlertsOf> for AlertService {
    type Result = MessageResult<OpenAlertsOf>;
    fn handle(&mut self, msg: OpenAlertsOf, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.book.for_subject(&msg.0).into_iter().cloned().collect())
    }
}

impl Handler<GetAlertStats> for AlertService {
    type Result = AlertStats;
    fn handle(&mut self, _: GetAlertStats, _: &mut Context<Self>) -> AlertStats {
        AlertStats {
            open: self.book.open_count(),
            queued: self.queue.len(),
            batches_written: self.batches_written,
        }
    }
}
