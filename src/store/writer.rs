//! The one batching writer: the actor loop of a service that stores what it is handed in
//! batches (the alert service, the dispatch journal), written once on top of the pure
//! [`WriteQueue`].
//!
//! The owning actor implements [`Owner`]: it holds a [`Writer`] and supplies only the rows of a
//! batch ([`Owner::write`], run on the blocking pool inside one transaction) and what follows a
//! commit ([`Owner::stored`]) or a drop ([`Owner::dropped`]). The loop is this:
//!
//! - an item handed to an idle writer waits [`Settings::gather`] for others to share its
//!   transaction (zero: written at once); one batch of at most [`Settings::max_batch`] items is
//!   in flight at a time, in the order the items were handed over;
//! - a batch the store could not take ([`StoreError::is_unavailable`]) goes back to the front
//!   and is retried after [`Settings::retry_delay`], as often as it takes: nothing is lost,
//!   nothing reordered;
//! - a batch that failed for another reason (or panicked) is retried one item per
//!   transaction; an item that still fails is poisoned: dropped alone, and handed to
//!   [`Owner::dropped`] with the error so its waiters are answered;
//! - more than [`Settings::backlog_warning`] items waiting is logged once per crossing;
//! - [`Owner::when_written`] answers once everything handed over before it is written;
//! - an item made for a partition names the [`Fence`] it was made under ([`Owner::fence`]): the
//!   batch's transaction first asks the store whether a newer token is recorded for any of
//!   those partitions ([`fences::superseded`]); the items of such a partition are not written
//!   and go to [`Owner::refused`] (another node owns the partition now: never retried), the
//!   rest of the batch is written as usual.
//!
//! A retry may follow a commit whose acknowledgement was lost (PostgreSQL: the connection
//! dropped after `COMMIT`), so the rows an owner writes must be re-runnable: updates, upserts,
//! and inserts that skip a row whose id is stored already.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use actix::prelude::*;
use tokio::sync::oneshot;

use super::models::fences;
use super::write_queue::{Outcome, Settled, WriteQueue};
use super::{DbConnection, Store, StoreError};
use crate::ownership::Fence;

/// How a [`Writer`] batches and retries.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Names the writer in its log lines (`writer=<name>`).
    pub name: &'static str,
    /// Most items written in one transaction.
    pub max_batch: usize,
    /// How long the first item handed to an idle writer waits for others; zero writes at once.
    pub gather: Duration,
    /// Items waiting beyond this are reported, once per crossing, as a store falling behind.
    pub backlog_warning: usize,
    /// Wait before retrying a batch the store could not take.
    pub retry_delay: Duration,
}

/// What a writer has done, for its owner's stats.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Batches committed.
    pub batches: u64,
    /// Items committed.
    pub items: u64,
    /// Times the store could not take a batch and the writer paused.
    pub pauses: u64,
    /// Batches split to be retried one item per transaction.
    pub splits: u64,
    /// Poisoned items dropped.
    pub dropped: u64,
    /// Items refused by their partition's fence (another node owns it now).
    pub refused: u64,
    /// Transactions attempted (committed or not) and the time they took, in microseconds.
    pub writes: u64,
    pub write_micros: u64,
}

/// The queue and the timers' state of one owner's writer.
pub struct Writer<T> {
    store: Store,
    settings: Settings,
    queue: WriteQueue<T>,
    /// A flush is due after [`Settings::gather`].
    gathering: bool,
    /// The backlog warning was logged and the queue has not drained since.
    warned: bool,
    idle_waiters: Vec<oneshot::Sender<()>>,
    stats: WriterStats,
}

impl<T> std::fmt::Debug for Writer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("settings", &self.settings)
            .field("queued", &self.queue.len())
            .field("stats", &self.stats)
            .finish()
    }
}

impl<T> Writer<T> {
    pub fn new(store: Store, settings: Settings) -> Self {
        Writer {
            store,
            queue: WriteQueue::new(settings.max_batch),
            settings,
            gathering: false,
            warned: false,
            idle_waiters: Vec::new(),
            stats: WriterStats::default(),
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Items waiting (not those of the batch being written).
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    pub fn stats(&self) -> WriterStats {
        self.stats
    }

    /// Takes out the first waiting item that `matches` (one superseded by a newer one).
    pub fn remove_first(&mut self, matches: impl FnMut(&T) -> bool) -> Option<T> {
        self.queue.remove_first(matches)
    }

    /// Queues `item`; says whether the owner should start a flush now, after the gather
    /// time, or not at all (a batch is in flight or a flush is due already).
    fn push(&mut self, item: T) -> Start {
        self.queue.push(item);
        if self.queue.len() > self.settings.backlog_warning && !self.warned {
            self.warned = true;
            log::warn!(
                "store writer behind writer={} queued={}",
                self.settings.name,
                self.queue.len()
            );
        }
        if self.queue.is_busy() || self.gathering {
            Start::No
        } else if self.settings.gather.is_zero() {
            Start::Now
        } else {
            self.gathering = true;
            Start::After(self.settings.gather)
        }
    }

    /// The queue is empty and nothing is in flight: answer those waiting for it.
    fn drained(&mut self) {
        self.warned = false;
        for waiter in self.idle_waiters.drain(..) {
            let _ = waiter.send(());
        }
    }
}

enum Start {
    Now,
    After(Duration),
    No,
}

/// An actor that owns a [`Writer`] and says what its items are in the store.
///
/// Only [`Owner::writer`], [`Owner::write`] and [`Owner::stored`] are to be written; the
/// provided methods are the loop.
pub trait Owner: Actor<Context = Context<Self>> {
    /// What waits to be written. Sent to the blocking pool with its batch, and back.
    type Item: Send + 'static;

    fn writer(&mut self) -> &mut Writer<Self::Item>;

    /// The rows of `batch`, written in one transaction on the blocking pool. Re-runnable: it
    /// runs again when the store could not take the batch, or one item at a time after a
    /// failure.
    fn write(batch: &[Self::Item], conn: &mut DbConnection) -> diesel::QueryResult<()>;

    /// `batch` is committed: tell listeners, answer callers.
    fn stored(&mut self, batch: Vec<Self::Item>, ctx: &mut Context<Self>);

    /// `item` failed alone with `error` (not an outage) and is dropped: answer its waiters.
    fn dropped(&mut self, item: Self::Item, error: &StoreError, ctx: &mut Context<Self>) {
        let _ = (item, error, ctx);
    }

    /// The partition `item` is written for, with the fencing token it was made under; `None`
    /// for rows of no partition (an operator's audit entry, a node-wide alert).
    fn fence(item: &Self::Item) -> Option<Fence> {
        let _ = item;
        None
    }

    /// `item` was not written: a newer token than its fence's is recorded for its partition
    /// ([`StoreError::Fenced`]). Answered like a dropped item unless the owner says otherwise.
    fn refused(&mut self, item: Self::Item, error: &StoreError, ctx: &mut Context<Self>) {
        self.dropped(item, error, ctx);
    }

    /// Hands `item` to the writer: it is written after the items handed over before it.
    fn enqueue(&mut self, item: Self::Item, ctx: &mut Context<Self>) {
        match self.writer().push(item) {
            Start::Now => self.flush(ctx),
            Start::After(gather) => {
                ctx.run_later(gather, |act, ctx| {
                    act.writer().gathering = false;
                    act.flush(ctx);
                });
            }
            Start::No => {}
        }
    }

    /// Answers once every item handed over before it is written (or dropped); flushes at once,
    /// without waiting out the gather time.
    fn when_written(&mut self, ctx: &mut Context<Self>) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        self.writer().idle_waiters.push(tx);
        self.flush(ctx);
        rx
    }

    /// Writes the next batch, unless one is in flight or the writer waits out a pause.
    fn flush(&mut self, ctx: &mut Context<Self>) {
        let writer = self.writer();
        if writer.queue.is_busy() {
            return;
        }
        let Some(batch) = writer.queue.take_batch() else {
            writer.drained();
            return;
        };
        let job = write_on_blocking_pool(writer.store.clone(), batch, Self::write, Self::fence);
        let started = std::time::Instant::now();
        ctx.spawn(job.into_actor(self).map(move |(batch, refused, result), act, ctx| {
            let stats = &mut act.writer().stats;
            stats.writes += 1;
            stats.write_micros += u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            act.turn_away(refused, ctx);
            act.settle(batch, result, ctx);
        }));
    }

    /// Hands the items a fence refused to [`Owner::refused`].
    fn turn_away(&mut self, refused: Vec<(Self::Item, StoreError)>, ctx: &mut Context<Self>) {
        if refused.is_empty() {
            return;
        }
        let writer = self.writer();
        writer.stats.refused += refused.len() as u64;
        log::warn!(
            "store items refused by fence writer={} items={} error={}",
            writer.settings.name,
            refused.len(),
            refused[0].1
        );
        for (item, error) in refused {
            self.refused(item, &error, ctx);
        }
    }

    /// How the write of `batch` ended, and what follows: the loop's one decision point.
    fn settle(&mut self, batch: Vec<Self::Item>, result: Result<(), StoreError>, ctx: &mut Context<Self>) {
        let items = batch.len();
        let writer = self.writer();
        let name = writer.settings.name;
        match writer.queue.settle(batch, Outcome::of(&result)) {
            Settled::Stored(batch) => {
                writer.stats.batches += 1;
                writer.stats.items += items as u64;
                self.stored(batch, ctx);
            }
            Settled::Paused => {
                writer.stats.pauses += 1;
                let retry = writer.settings.retry_delay;
                log::warn!(
                    "store unavailable writer={name} items={items} retry_ms={} error={}",
                    retry.as_millis(),
                    error_text(&result)
                );
                ctx.run_later(retry, |act, ctx| {
                    act.writer().queue.resume();
                    act.flush(ctx);
                });
                return;
            }
            Settled::Split => {
                writer.stats.splits += 1;
                log::warn!(
                    "store batch failed writer={name} items={items} error={}; retrying one by one",
                    error_text(&result)
                );
            }
            Settled::Dropped(batch) => {
                writer.stats.dropped += batch.len() as u64;
                log::error!("store item dropped writer={name} error={}", error_text(&result));
                let error = result
                    .err()
                    .unwrap_or_else(|| StoreError::Query(diesel::result::Error::NotFound));
                for item in batch {
                    self.dropped(item, &error, ctx);
                }
            }
        }
        self.flush(ctx);
    }
}

fn error_text(result: &Result<(), StoreError>) -> String {
    result.as_ref().err().map(ToString::to_string).unwrap_or_default()
}

/// The fenced items of a batch whose partitions have a newer token recorded.
type Refused<T> = Vec<(T, StoreError)>;

/// Writes `batch` with `write` in one transaction on the blocking pool and gives back the batch
/// (the items written, or all of them when the transaction failed), the items refused by their
/// fence, and the result. A panic in `write` is caught and reported as
/// [`StoreError::Panicked`], so the batch comes back to be split like any other failure.
async fn write_on_blocking_pool<T: Send + 'static>(
    store: Store,
    batch: Vec<T>,
    write: fn(&[T], &mut DbConnection) -> diesel::QueryResult<()>,
    fence: fn(&T) -> Option<Fence>,
) -> (Vec<T>, Refused<T>, Result<(), StoreError>) {
    let job = tokio::task::spawn_blocking(move || {
        let mut batch = batch;
        let held = held_fences(&batch, fence);
        let written = catch_unwind(AssertUnwindSafe(|| {
            store.write_blocking(|conn| write_fenced(conn, &mut batch, &held, write, fence))
        }))
        .unwrap_or_else(|panic| Err(StoreError::Panicked(panic_text(panic.as_ref()))));
        match written {
            Ok(superseded) => {
                let refused = split_refused(&mut batch, &superseded, fence);
                (batch, refused, Ok(()))
            }
            Err(e) => (batch, Vec::new(), Err(e)),
        }
    });
    match job.await {
        Ok(done) => done,
        // Only a runtime shutting down cancels a blocking task: its items go with it.
        Err(e) => (
            Vec::new(),
            Vec::new(),
            Err(StoreError::Unavailable(format!("blocking task failed: {e}"))),
        ),
    }
}

/// The distinct fences the items of `batch` were made under.
fn held_fences<T>(batch: &[T], fence: fn(&T) -> Option<Fence>) -> Vec<Fence> {
    let mut held: Vec<Fence> = Vec::new();
    for f in batch.iter().filter_map(fence) {
        if !held.contains(&f) {
            held.push(f);
        }
    }
    held
}

/// In the write's transaction: asks which fences are superseded, then writes the other items.
/// The refused items are moved behind the admitted ones (a stable sort: each group keeps its
/// order); a refusal is final, since tokens only grow, so their place in a retry is moot.
fn write_fenced<T>(
    conn: &mut DbConnection,
    batch: &mut [T],
    held: &[Fence],
    write: fn(&[T], &mut DbConnection) -> diesel::QueryResult<()>,
    fence: fn(&T) -> Option<Fence>,
) -> diesel::QueryResult<Vec<(Fence, u64)>> {
    let superseded = fences::superseded(conn, held)?;
    if superseded.is_empty() {
        write(batch, conn)?;
        return Ok(superseded);
    }
    let is_refused = |item: &T| fence(item).is_some_and(|f| superseded.iter().any(|(s, _)| *s == f));
    batch.sort_by_key(|item| is_refused(item));
    let admitted = batch.iter().take_while(|item| !is_refused(item)).count();
    write(&batch[..admitted], conn)?;
    Ok(superseded)
}

/// Takes the items refused by `superseded` out of `batch`, each with its error.
fn split_refused<T>(batch: &mut Vec<T>, superseded: &[(Fence, u64)], fence: fn(&T) -> Option<Fence>) -> Refused<T> {
    if superseded.is_empty() {
        return Vec::new();
    }
    let mut refused = Vec::new();
    let mut admitted = Vec::with_capacity(batch.len());
    for item in std::mem::take(batch) {
        match fence(&item).and_then(|f| superseded.iter().find(|(s, _)| *s == f)) {
            Some((f, recorded)) => {
                let error = StoreError::Fenced {
                    partition: f.partition.0,
                    held: f.token,
                    recorded: *recorded,
                };
                refused.push((item, error));
            }
            None => admitted.push(item),
        }
    }
    *batch = admitted;
    refused
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a write panicked".to_owned())
}

#[cfg(test)]
#[path = "writer_tests.rs"]
mod tests;
