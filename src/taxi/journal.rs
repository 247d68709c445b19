//! The dispatch journal: stores every dispatch event as a record, each terminal's latest
//! snapshot and the taxis' own rows, in batches, in the order they were handed over, then tells
//! listeners (the broker) what was stored. The one writer of the taxi service's rows.
//!
//! Terminal actors hand over their events after each change and a snapshot every
//! [`super::terminal::SNAPSHOT_INTERVAL`]; they never wait for the store, so dispatch carries
//! on through a store outage. One batch is in flight at a time; a batch is one transaction:
//! its records, the curb slots of any `dispatch.configured` event, and the last snapshot of each
//! terminal it holds (serialised off the arbiter threads). A batch the store cannot take is
//! kept and retried; one that fails for another reason is retried record by record, and a
//! single item that still fails is logged and dropped, so it cannot block the others: the
//! store's one batching [`Writer`], as the alert service's. Records are inserted by id, skipping
//! one stored already, so a batch retried after a lost commit acknowledgement is not doubled.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use super::core::dispatch::DispatcherSnapshot;
use super::core::events::DispatchEvent;
use super::core::model::{DispatchMode, TerminalId};
use super::messages::DispatchRecorded;
use crate::ids::IdGen;
use crate::listen::Listen;
use crate::ownership::{Fence, Ownership};
use crate::store::models::dispatch::{self as rows, CurbSlotRow, DispatchRecord};
use crate::store::writer::{Owner, Settings, Writer};
use crate::store::{DbConnection, Store, WriteFn};
use crate::time::{Clock, Millis};

/// Most items (one change's events, or one snapshot) written in one transaction.
pub const MAX_BATCH: usize = 4_096;
/// Wait before retrying a batch the store could not take.
pub const RETRY_DELAY: Duration = Duration::from_millis(500);
/// How long the first item handed to an idle journal waits for others to share its
/// transaction: a few milliseconds of delay on the records and the live updates, for one
/// transaction per burst instead of one per change.
pub const GATHER: Duration = Duration::from_millis(5);
/// Items waiting beyond this are reported (once per crossing) as a store falling behind.
pub const BACKLOG_WARNING: usize = 100_000;
const SETTINGS: Settings = Settings {
    name: "dispatch_journal",
    max_batch: MAX_BATCH,
    gather: GATHER,
    backlog_warning: BACKLOG_WARNING,
    retry_delay: RETRY_DELAY,
};

/// A terminal's events from one change, in order.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Recorded {
    pub terminal: TerminalId,
    pub events: Vec<DispatchEvent>,
}

/// A terminal's whole state, to be stored as its snapshot.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Snapshotted {
    pub terminal: TerminalId,
    pub mode: DispatchMode,
    pub snapshot: Arc<DispatcherSnapshot>,
}

/// Other rows of the taxi service (a taxi's card, restart counts), written in order with the
/// records. Re-runnable, for retries.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Write {
    pub writes: WriteFn,
    /// The fence of the partition the writing actor was started under: a taxi's its
    /// terminal's (or its plate's, at none), a terminal's its own.
    pub fence: Fence,
}

/// Answers once everything handed over before it is stored (shutdown, tests, benchmarks).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Flush;

/// Ask for the journal's counters.
#[derive(Debug, Message)]
#[rtype(result = "JournalStats")]
pub struct GetJournalStats;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, MessageResponse)]
pub struct JournalStats {
    pub queued: usize,
    pub batches: u64,
    pub records: u64,
    pub snapshots: u64,
}

/// What waits in the journal's [`Writer`]: one change's events, a snapshot, or other rows.
pub enum Item {
    Events {
        terminal: TerminalId,
        /// Each event with its record id, made when handed over so a retry reuses it.
        events: Vec<(i64, Arc<DispatchEvent>)>,
        /// The fence of the terminal's partition the events were made under.
        fence: Fence,
    },
    Snapshot {
        terminal: TerminalId,
        mode: DispatchMode,
        snapshot: Arc<DispatcherSnapshot>,
        /// When it was handed over: the row's `updated_ms`.
        at: Millis,
        fence: Fence,
    },
    Write {
        writes: WriteFn,
        fence: Fence,
    },
}

pub struct Journal {
    ids: Arc<IdGen>,
    clock: Arc<dyn Clock>,
    writer: Writer<Item>,
    listeners: Vec<Recipient<DispatchRecorded>>,
    stats: JournalStats,
    /// A terminal's records are written under the fence of its partition.
    ownership: Ownership,
}

impl Journal {
    pub fn new(store: Store, ids: Arc<IdGen>, clock: Arc<dyn Clock>) -> Self {
        Journal {
            ids,
            clock,
            writer: Writer::new(store, SETTINGS),
            listeners: Vec::new(),
            stats: JournalStats::default(),
            ownership: Ownership::default(),
        }
    }

    /// Records are written under the fences `ownership` holds (token 0 everywhere by default).
    pub fn with_ownership(mut self, ownership: Ownership) -> Self {
        self.ownership = ownership;
        self
    }

    /// The fence of `terminal`'s partition, while this node owns it.
    fn fence_of(&self, terminal: &TerminalId) -> Option<Fence> {
        let fence = self.ownership.fence_for(terminal.as_str());
        if fence.is_none() {
            log::warn!("dispatch record not written terminal={terminal} reason=partition_not_owned");
        }
        fence
    }
}

impl Owner for Journal {
    type Item = Item;

    fn writer(&mut self) -> &mut Writer<Item> {
        &mut self.writer
    }

    fn write(batch: &[Item], conn: &mut DbConnection) -> diesel::QueryResult<()> {
        Batch::of(batch).run(conn)
    }

    fn fence(item: &Item) -> Option<Fence> {
        match item {
            Item::Events { fence, .. } | Item::Snapshot { fence, .. } | Item::Write { fence, .. } => Some(*fence),
        }
    }

    fn stored(&mut self, batch: Vec<Item>, _: &mut Context<Self>) {
        self.stats.batches += 1;
        for item in batch {
            match item {
                Item::Events { terminal, events, .. } => {
                    self.stats.records += events.len() as u64;
                    for (id, event) in events {
                        for listener in &self.listeners {
                            listener.do_send(DispatchRecorded {
                                id,
                                terminal: terminal.clone(),
                                event: event.clone(),
                            });
                        }
                    }
                }
                Item::Snapshot { .. } => self.stats.snapshots += 1,
                Item::Write { .. } => {}
            }
        }
    }
}

/// One transaction's worth of rows, built on the actor and written on the blocking pool.
struct Batch {
    writes: Vec<WriteFn>,
    records: Vec<DispatchRecord>,
    slots: Vec<(String, bool, Vec<CurbSlotRow>)>,
    snapshots: BTreeMap<TerminalId, (DispatchMode, Arc<DispatcherSnapshot>, Millis)>,
}

impl Batch {
    fn of(items: &[Item]) -> Batch {
        let mut batch = Batch {
            writes: Vec::new(),
            records: Vec::new(),
            slots: Vec::new(),
            snapshots: BTreeMap::new(),
        };
        for item in items {
            match item {
                Item::Events { terminal, events, .. } => {
                    for (id, event) in events {
                        batch.records.push(record(*id, terminal, event));
                        if let DispatchEvent::Configured { mode, curb_slots, .. } = event.as_ref() {
                            let rows = curb_slots
                                .iter()
                                .map(|(scope, n)| CurbSlotRow {
                                    terminal: terminal.to_string(),
                                    scope: scope.clone(),
                                    slots: i32::from(*n),
                                })
                                .collect();
                            let integrated = *mode == DispatchMode::Integrated;
                            batch.slots.push((terminal.to_string(), integrated, rows));
                        }
                    }
                }
                Item::Snapshot {
                    terminal,
                    mode,
                    snapshot,
                    at,
                    ..
                } => {
                    batch.snapshots.insert(terminal.clone(), (*mode, snapshot.clone(), *at));
                }
                Item::Write { writes, .. } => batch.writes.push(writes.clone()),
            }
        }
        batch
    }

    fn run(&self, conn: &mut DbConnection) -> diesel::QueryResult<()> {
        for write in &self.writes {
            write(conn)?;
        }
        rows::insert_records(conn, &self.records)?;
        for (terminal, integrated, slots) in &self.slots {
            rows::replace_curb_slots(conn, terminal, *integrated, slots)?;
        }
        for (terminal, (mode, snapshot, at)) in &self.snapshots {
            let text = serde_json::to_string(snapshot.as_ref())
                .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
            rows::save_snapshot(conn, terminal.as_str(), mode.as_str(), &text, at.0)?;
        }
        Ok(())
    }
}

/// The time an event happened.
pub fn event_at(event: &DispatchEvent) -> Millis {
    match event {
        DispatchEvent::Queued { at, .. }
        | DispatchEvent::Held { at, .. }
        | DispatchEvent::RemovedFromLine { at, .. }
        | DispatchEvent::Suspended { at, .. }
        | DispatchEvent::Resumed { at, .. }
        | DispatchEvent::ServiceRegionChanged { at, .. }
        | DispatchEvent::Configured { at, .. }
        | DispatchEvent::Called { at, .. }
        | DispatchEvent::PickedUp { at, .. }
        | DispatchEvent::NoShow { at, .. }
        | DispatchEvent::RequestDropped { at, .. }
        | DispatchEvent::TripCompleted { at, .. }
        | DispatchEvent::TripAbandoned { at, .. } => *at,
        DispatchEvent::Assigned { assignment } => assignment.at,
        DispatchEvent::PriorityLapsed { expired_at, .. } => *expired_at,
    }
}

/// Metres, for the portable integer column.
fn metres(km: f64) -> Option<i64> {
    let m = (km * 1_000.0).round();
    // Distances are checked to be finite and within range before they reach a dispatcher.
    (0.0..1e15).contains(&m).then_some(m as i64)
}

fn record(id: i64, terminal: &TerminalId, event: &DispatchEvent) -> DispatchRecord {
    let (request, distance) = match event {
        DispatchEvent::Assigned { assignment } => (Some(assignment.request), metres(assignment.distance_km)),
        DispatchEvent::TripCompleted {
            request, distance_km, ..
        } => (Some(*request), metres(*distance_km)),
        DispatchEvent::Called { request, .. } => (*request, None),
        DispatchEvent::PickedUp { request, .. }
        | DispatchEvent::NoShow { request, .. }
        | DispatchEvent::RequestDropped { request, .. }
        | DispatchEvent::TripAbandoned { request, .. } => (Some(*request), None),
        _ => (None, None),
    };
    DispatchRecord {
        id,
        terminal: terminal.to_string(),
        kind: event.message_type().to_owned(),
        plate: event.plate().map(ToString::to_string),
        request_id: request.map(|r| r.0),
        distance_m: distance,
        detail: serde_json::to_string(event).unwrap_or_else(|e| format!("{{\"unserialisable\":\"{e}\"}}")),
        at_ms: event_at(event).0,
    }
}

impl Actor for Journal {
    type Context = Context<Self>;
}

impl Handler<Recorded> for Journal {
    type Result = ();
    fn handle(&mut self, msg: Recorded, ctx: &mut Context<Self>) {
        if msg.events.is_empty() {
            return;
        }
        let Some(fence) = self.fence_of(&msg.terminal) else {
            return;
        };
        let events = msg
            .events
            .into_iter()
            .map(|e| (self.ids.next(event_at(&e)), Arc::new(e)))
            .collect();
        self.enqueue(
            Item::Events {
                terminal: msg.terminal,
                events,
                fence,
            },
            ctx,
        );
    }
}

impl Handler<Snapshotted> for Journal {
    type Result = ();
    fn handle(&mut self, msg: Snapshotted, ctx: &mut Context<Self>) {
        // A newer snapshot of the same terminal still waiting makes an older one pointless.
        self.writer
            .remove_first(|i| matches!(i, Item::Snapshot { terminal, .. } if *terminal == msg.terminal));
        let Some(fence) = self.fence_of(&msg.terminal) else {
            return;
        };
        let at = self.clock.now();
        self.enqueue(
            Item::Snapshot {
                terminal: msg.terminal,
                mode: msg.mode,
                snapshot: msg.snapshot,
                at,
                fence,
            },
            ctx,
        );
    }
}

impl Handler<Write> for Journal {
    type Result = ();
    fn handle(&mut self, msg: Write, ctx: &mut Context<Self>) {
        self.enqueue(
            Item::Write {
                writes: msg.writes,
                fence: msg.fence,
            },
            ctx,
        );
    }
}

impl Handler<Flush> for Journal {
    type Result = ResponseFuture<()>;
    fn handle(&mut self, _: Flush, ctx: &mut Context<Self>) -> Self::Result {
        let rx = self.when_written(ctx);
        Box::pin(async move {
            let _ = rx.await;
        })
    }
}

impl Handler<Listen<DispatchRecorded>> for Journal {
    type Result = ();
    fn handle(&mut self, msg: Listen<DispatchRecorded>, _: &mut Context<Self>) {
        self.listeners.push(msg.listener);
    }
}

impl Handler<GetJournalStats> for Journal {
    type Result = JournalStats;
    fn handle(&mut self, _: GetJournalStats, _: &mut Context<Self>) -> JournalStats {
        JournalStats {
            queued: self.writer.len(),
            ..self.stats
        }
    }
}
