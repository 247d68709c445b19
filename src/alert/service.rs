//! The alert service: the one owner of the [`AlertBook`], and the writer that stores each state
//! change together with the alerts it raises or resolves, and their outbox rows, in one
//! transaction.
//!
//! Other services send [`Record`]s (their own rows to write, plus alert [`Intent`](super::model::Intent)s); operators'
//! acknowledgements and resolutions arrive as [`Acknowledge`] and [`ResolveAlert`]. Work is
//! queued and written in batches by the store's one batching [`Writer`]: one transaction per batch, one batch in
//! flight, in arrival order, so changes to one subject are stored in the order they happened and a storm of
//! thousands of transitions costs a few transactions, not thousands.
//!
//! Never lost, never doubled: every alert change is written with an outbox row in the same
//! transaction; after commit it is published to the listeners ([`crate::listen`]) in order
//! and its outbox row is marked. [`ReplayOutbox`] (sent once the subscribers are wired, at
//! start) publishes what a crash left unmarked, with the same alert id and version, so
//! consumers can drop what they already had.
//!
//! Nothing is dropped when the store is briefly gone: a batch that fails because the store is
//! unavailable is kept and retried; operators' requests wait for it (the HTTP layer times out
//! with 503 and a retry is harmless). A batch that fails for another reason is split and each
//! record retried alone, so one bad record cannot sink the others; an operator waiting on a
//! record that is dropped is answered with the error. Every row a batch writes is re-runnable
//! (alerts are upserted, outbox and audit rows skip an id stored already), so a batch retried
//! after a commit whose acknowledgement was lost is not stored twice.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use tokio::sync::oneshot;

use super::book::{AlertBook, BookError};
use super::fanout::Fanout;
use super::messages::{
    Acknowledge, AlertChanged, AlertError, AlertStats, AlertsChanged, GetAlertStats, OpenAlertsOf, Record,
    ReplayOutbox, ResolveAlert,
};
use super::model::{Alert, AlertEvent, AlertMessage};
use crate::ids::IdGen;
use crate::listen::Listen;
use crate::ownership::Fence;
use crate::store::models::outbox::{self, OutboxRow};
use crate::store::models::receivers::{self, Delivery};
use crate::store::models::transitions::{self, StateChange};
use crate::store::models::{alerts as alert_rows, audit};
use crate::store::writer::{Owner, Settings, Writer};
use crate::store::{Committed, DbConnection, Store, StoreError, WriteFn};
use crate::time::{Clock, Millis};

/// Most records written in one transaction.
pub const MAX_BATCH: usize = 2_048;
/// Wait before retrying a batch the store could not take.
pub const RETRY_DELAY: Duration = Duration::from_millis(500);
/// Records waiting beyond this are reported as a store falling behind.
pub const BACKLOG_WARNING: usize = 100_000;
/// How the alert writer batches: a record handed to an idle writer is written at once (an
/// operator's acknowledgement waits for its commit); records arriving meanwhile share the
/// next transaction.
const SETTINGS: Settings = Settings {
    name: "alerts",
    max_batch: MAX_BATCH,
    gather: Duration::ZERO,
    backlog_warning: BACKLOG_WARNING,
    retry_delay: RETRY_DELAY,
};
/// Where alert changes are published.
pub const ALERTS_TOPIC: &str = "/topic/alerts";
/// Default interval between re-notifications of an unacknowledged critical alert.
pub const DEFAULT_RENOTIFY_EVERY: Duration = Duration::from_secs(300);
/// Most outbox rows replayed per read at start.
const REPLAY_PAGE: i64 = 10_000;

/// The next page of a replay: rows with ids above `after`.
#[derive(Debug, Message)]
#[rtype(result = "()")]
struct ReplayFrom {
    after: i64,
}

type Reply = oneshot::Sender<Result<Alert, AlertError>>;

/// One record as it waits in the alert service's [`Writer`] (opaque).
pub struct Item {
    writes: Option<WriteFn>,
    state: Option<StateChange>,
    alerts: Vec<(Alert, AlertEvent)>,
    /// The outbox rows of the alerts that are told (not suppressed), in order, made when
    /// handed over so a retry writes the same ids.
    outbox: Vec<OutboxRow>,
    /// What receivers (webhooks) are owed of these changes, written with them.
    deliveries: Vec<Delivery>,
    audit: Option<audit::AuditEntry>,
    reply: Option<(Reply, Alert)>,
    committed: Option<Committed>,
    /// The partition the record was made for and the token it holds ([`Record::fence`]).
    fence: Option<Fence>,
}

impl Item {
    /// The changes told once `self` is committed: its unsuppressed alerts with their outbox rows.
    fn published(&mut self) -> impl Iterator<Item = AlertChanged> + '_ {
        let told = self.alerts.iter().filter(|(a, _)| a.suppressed_by.is_none());
        told.zip(self.outbox.iter_mut())
            .map(|((alert, event), row)| AlertChanged {
                alert: alert.clone(),
                event: *event,
                outbox_id: row.id,
                json: Arc::from(std::mem::take(&mut row.payload)),
            })
    }
}

pub struct AlertService {
    store: Store,
    ids: Arc<IdGen>,
    clock: Arc<dyn Clock>,
    book: AlertBook,
    writer: Writer<Item>,
    subscribers: Vec<Recipient<AlertsChanged>>,
    renotify_every: Duration,
    stats: AlertStats,
    fanout: Option<Arc<dyn Fanout>>,
}

impl AlertService {
    /// A service whose book starts from `unresolved`, the alerts the store holds open
    /// ([`alert_rows::unresolved`], read by the caller off the arbiter threads).
    pub fn new(store: Store, ids: Arc<IdGen>, clock: Arc<dyn Clock>, unresolved: Vec<alert_rows::Alert>) -> Self {
        let book = AlertBook::from_open(unresolved.into_iter().filter_map(Alert::from_row));
        AlertService {
            writer: Writer::new(store.clone(), SETTINGS),
            store,
            ids,
            clock,
            book,
            subscribers: Vec::new(),
            renotify_every: DEFAULT_RENOTIFY_EVERY,
            stats: AlertStats::default(),
            fanout: None,
        }
    }

    /// Alert changes are also owed to the receivers `fanout` routes them to (webhooks).
    pub fn with_fanout(mut self, fanout: Arc<dyn Fanout>) -> Self {
        self.fanout = Some(fanout);
        self
    }

    /// Re-notify unacknowledged critical alerts every `every` instead of the default.
    pub fn renotify_every(mut self, every: Duration) -> Self {
        self.renotify_every = every;
        self
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

    fn outbox_row(&self, alert: &Alert, event: AlertEvent, now: Millis) -> OutboxRow {
        OutboxRow {
            id: self.ids.next(now),
            topic: ALERTS_TOPIC.to_owned(),
            subject: format!("{}:{}", alert.subject_type.as_str(), alert.subject_id),
            payload: serde_json::to_string(&AlertMessage {
                event,
                alert: alert.clone(),
            })
            .unwrap_or_default(),
            created_ms: now.0,
            delivered_ms: None,
        }
    }

    /// A record to write, with the outbox rows of the alerts it tells. A suppressed alert is
    /// stored but told to no one: its parent's alert speaks for it.
    fn item(
        &self,
        writes: Option<WriteFn>,
        alerts: Vec<(Alert, AlertEvent)>,
        audit: Option<audit::AuditEntry>,
        reply: Option<(Reply, Alert)>,
        committed: Option<Committed>,
    ) -> Item {
        let now = self.clock.now();
        let outbox = alerts
            .iter()
            .filter(|(a, _)| a.suppressed_by.is_none())
            .map(|(a, e)| self.outbox_row(a, *e, now))
            .collect();
        let mut new_id = || self.ids.next(now);
        let deliveries = match &self.fanout {
            Some(fanout) => alerts
                .iter()
                .filter(|(a, _)| a.suppressed_by.is_none())
                .flat_map(|(a, e)| fanout.deliveries(a, *e, now, &mut new_id))
                .collect(),
            None => Vec::new(),
        };
        Item {
            writes,
            state: None,
            alerts,
            outbox,
            deliveries,
            audit,
            reply,
            committed,
            fence: None,
        }
    }

    /// Tells every subscriber, in order, then marks the outbox rows delivered. A crash between
    /// the two republishes them at the next start: at least once, never with a new id.
    fn publish(&mut self, events: Vec<AlertChanged>, ctx: &mut Context<Self>) {
        if events.is_empty() {
            return;
        }
        let ids: Vec<i64> = events.iter().map(|e| e.outbox_id).collect();
        self.stats.published += events.len() as u64;
        let changes: Arc<[AlertChanged]> = events.into();
        for subscriber in &self.subscribers {
            subscriber.do_send(AlertsChanged {
                changes: changes.clone(),
            });
        }
        let at = self.clock.now().0;
        let mark = self
            .store
            .write(move |conn| outbox::mark_delivered(conn, &ids, at).map(|_| ()));
        ctx.spawn(mark.into_actor(self).map(|result, _, _| {
            if let Err(e) = result {
                log::warn!("outbox rows not marked error={e}; they are published again at the next start");
            }
        }));
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
        let event = AlertEvent::of_change(&alert);
        let item = self.item(None, vec![(alert.clone(), event)], Some(audit), Some((tx, alert)), None);
        self.enqueue(item, ctx);
        Box::pin(async move {
            rx.await.unwrap_or_else(|_| {
                Err(AlertError::Store(StoreError::Unavailable(
                    "alert service stopped".into(),
                )))
            })
        })
    }

    fn renotify(&mut self, ctx: &mut Context<Self>) {
        let now = self.clock.now();
        let due = self.book.due_for_renotification(now, self.renotify_every);
        if due.is_empty() {
            return;
        }
        log::warn!(
            "alerts re-notified count={} every_s={}",
            due.len(),
            self.renotify_every.as_secs()
        );
        let alerts = due.into_iter().map(|a| (a, AlertEvent::Renotified)).collect();
        let item = self.item(None, alerts, None, None, None);
        self.enqueue(item, ctx);
    }
}

impl Owner for AlertService {
    type Item = Item;

    fn writer(&mut self) -> &mut Writer<Item> {
        &mut self.writer
    }

    fn write(batch: &[Item], conn: &mut DbConnection) -> diesel::QueryResult<()> {
        for write in batch.iter().filter_map(|i| i.writes.as_ref()) {
            write(conn)?;
        }
        transitions::record_all(conn, batch.iter().filter_map(|i| i.state.as_ref()))?;
        let rows: Vec<_> = batch.iter().flat_map(|i| &i.alerts).map(|(a, _)| a.to_row()).collect();
        alert_rows::save_all(conn, &rows)?;
        outbox::insert_all(conn, batch.iter().flat_map(|i| &i.outbox))?;
        receivers::insert_deliveries(conn, batch.iter().flat_map(|i| &i.deliveries))?;
        audit::insert_all(conn, batch.iter().filter_map(|i| i.audit.as_ref()))
    }

    fn stored(&mut self, mut batch: Vec<Item>, ctx: &mut Context<Self>) {
        self.stats.batches_written += 1;
        for (alert, event) in batch.iter().flat_map(|i| &i.alerts) {
            if *event == AlertEvent::Raised {
                *self.stats.opened.entry(alert.kind.as_str()).or_default() += 1;
            }
            if alert.state == crate::alert::AlertState::Resolved {
                *self.stats.resolved.entry(alert.kind.as_str()).or_default() += 1;
            }
        }
        let published: Vec<AlertChanged> = batch.iter_mut().flat_map(Item::published).collect();
        self.publish(published, ctx);
        for item in batch {
            if let Some((reply, alert)) = item.reply {
                let _ = reply.send(Ok(alert));
            }
            if let Some(done) = item.committed {
                done();
            }
        }
    }

    fn fence(item: &Item) -> Option<Fence> {
        item.fence
    }

    fn refused(&mut self, item: Item, error: &StoreError, ctx: &mut Context<Self>) {
        for (alert, _) in &item.alerts {
            if self.book.forget(alert) {
                log::warn!(
                    "alert forgotten id={} subject={}:{} kind={} reason=fenced",
                    alert.id,
                    alert.subject_type.as_str(),
                    alert.subject_id,
                    alert.kind.as_str()
                );
            }
        }
        self.dropped(item, error, ctx);
    }

    fn dropped(&mut self, item: Item, error: &StoreError, _: &mut Context<Self>) {
        if let Some((reply, _)) = item.reply {
            let _ = reply.send(Err(AlertError::Store(StoreError::Unavailable(error.to_string()))));
        }
    }
}

impl Actor for AlertService {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let check = (self.renotify_every / 10).clamp(Duration::from_millis(50), Duration::from_secs(10));
        ctx.run_interval(check, |act, ctx| act.renotify(ctx));
    }
}

impl Handler<Record> for AlertService {
    type Result = ();
    fn handle(&mut self, msg: Record, ctx: &mut Context<Self>) {
        let now = self.clock.now();
        let ids = &self.ids;
        let alerts: Vec<(Alert, AlertEvent)> = msg
            .intents
            .into_iter()
            .filter_map(|intent| self.book.apply(intent, now, || ids.next(now)))
            .map(|alert| {
                let event = AlertEvent::of_change(&alert);
                (alert, event)
            })
            .collect();
        for (alert, _) in &alerts {
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
        let mut item = self.item(msg.writes, alerts, None, None, msg.committed);
        item.state = msg.state;
        item.fence = msg.fence;
        // A record's deliveries are sent by the owner of its partition (`Fanout::deliveries`).
        let part = msg.fence.map(|f| i32::from(f.partition.0));
        for delivery in &mut item.deliveries {
            delivery.part = part;
        }
        self.enqueue(item, ctx);
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
        self.operator_change(change, &msg.by, "alert.resolve", msg.note, None, ctx)
    }
}

impl Handler<Listen<AlertsChanged>> for AlertService {
    type Result = ();
    fn handle(&mut self, msg: Listen<AlertsChanged>, _: &mut Context<Self>) {
        self.subscribers.push(msg.listener);
    }
}

impl Handler<ReplayOutbox> for AlertService {
    type Result = ();
    fn handle(&mut self, _: ReplayOutbox, ctx: &mut Context<Self>) {
        ctx.notify(ReplayFrom { after: i64::MIN });
    }
}

impl Handler<ReplayFrom> for AlertService {
    type Result = ();
    fn handle(&mut self, msg: ReplayFrom, ctx: &mut Context<Self>) {
        let after = msg.after;
        let read = self
            .store
            .read(move |conn| outbox::undelivered(conn, after, REPLAY_PAGE));
        ctx.spawn(read.into_actor(self).map(move |result, act, ctx| match result {
            Ok(rows) => {
                let full = i64::try_from(rows.len()).unwrap_or(0) == REPLAY_PAGE;
                let last = rows.last().map_or(after, |r| r.id);
                let events: Vec<AlertChanged> = rows
                    .into_iter()
                    .filter_map(|row| match serde_json::from_str::<AlertMessage>(&row.payload) {
                        Ok(m) => Some(AlertChanged {
                            alert: m.alert,
                            event: m.event,
                            outbox_id: row.id,
                            json: Arc::from(row.payload),
                        }),
                        Err(e) => {
                            log::error!("outbox row unreadable id={} error={e}", row.id);
                            None
                        }
                    })
                    .collect();
                if !events.is_empty() {
                    log::info!("outbox replay count={}", events.len());
                }
                act.stats.replayed += events.len() as u64;
                act.publish(events, ctx);
                if full {
                    ctx.notify(ReplayFrom { after: last });
                }
            }
            Err(e) => {
                log::warn!("outbox replay failed error={e}; retrying");
                ctx.run_later(RETRY_DELAY, move |_, ctx| ctx.notify(ReplayFrom { after }));
            }
        }));
    }
}

impl Handler<OpenAlertsOf> for AlertService {
    type Result = MessageResult<OpenAlertsOf>;
    fn handle(&mut self, msg: OpenAlertsOf, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.book.for_subject(&msg.subject).into_iter().cloned().collect())
    }
}

impl Handler<GetAlertStats> for AlertService {
    type Result = AlertStats;
    fn handle(&mut self, _: GetAlertStats, _: &mut Context<Self>) -> AlertStats {
        AlertStats {
            open: self.book.open_count(),
            queued: self.writer.len(),
            refused: self.writer.stats().refused,
            writer: self.writer.stats(),
            ..self.stats.clone()
        }
    }
}
