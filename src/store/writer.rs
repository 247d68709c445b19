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
//! - [`Owner::when_written`] answers once everything handed over before it is written.
//!
//! A retry may follow a commit whose acknowledgement was lost (PostgreSQL: the connection
//! dropped after `COMMIT`), so the rows an owner writes must be re-runnable: updates, upserts,
//! and inserts that skip a row whose id is stored already.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use actix::prelude::*;
use tokio::sync::oneshot;

use super::write_queue::{Outcome, Settled, WriteQueue};
use super::{DbConnection, Store, StoreError};

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
        let job = write_on_blocking_pool(writer.store.clone(), batch, Self::write);
        ctx.spawn(
            job.into_actor(self)
                .map(|(batch, result), act, ctx| act.settle(batch, result, ctx)),
        );
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

/// Writes `batch` with `write` in one transaction on the blocking pool and gives the batch
/// back with the result. A panic in `write` is caught and reported as
/// [`StoreError::Panicked`], so the batch comes back to be split like any other failure.
async fn write_on_blocking_pool<T: Send + 'static>(
    store: Store,
    batch: Vec<T>,
    write: fn(&[T], &mut DbConnection) -> diesel::QueryResult<()>,
) -> (Vec<T>, Result<(), StoreError>) {
    let job = tokio::task::spawn_blocking(move || {
        let result = catch_unwind(AssertUnwindSafe(|| store.write_blocking(|conn| write(&batch, conn))))
            .unwrap_or_else(|panic| Err(StoreError::Panicked(panic_text(panic.as_ref()))));
        (batch, result)
    });
    match job.await {
        Ok(done) => done,
        // Only a runtime shutting down cancels a blocking task: its items go with it.
        Err(e) => (
            Vec::new(),
            Err(StoreError::Unavailable(format!("blocking task failed: {e}"))),
        ),
    }
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
