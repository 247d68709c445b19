//! The discipline of a queued, batching writer (the alert service, the dispatch journal): items
//! wait in the order they were handed over; one batch is written at a time, in one transaction;
//! a batch the store could not take goes back to the front and waits out a pause; a batch that
//! failed for another reason is retried one item per transaction, so that a single bad item is
//! dropped alone and cannot block the others.
//!
//! Pure: the owning actor runs the write and the pause timer, and says how the write ended
//! ([`Outcome`]); [`WriteQueue::settle`] says what follows.

use std::collections::VecDeque;

use super::StoreError;

/// How writing a batch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Stored,
    /// The store could not be reached (`StoreError::is_unavailable`): worth retrying as is.
    Unavailable,
    /// Any other failure: something in the batch is wrong.
    Failed,
}

impl Outcome {
    pub fn of<T>(result: &Result<T, StoreError>) -> Outcome {
        match result {
            Ok(_) => Outcome::Stored,
            Err(e) if e.is_unavailable() => Outcome::Unavailable,
            Err(_) => Outcome::Failed,
        }
    }
}

/// What follows a written batch, per [`WriteQueue::settle`].
#[derive(Debug, PartialEq, Eq)]
pub enum Settled<T> {
    /// Committed: act on the items (tell listeners, answer callers).
    Stored(Vec<T>),
    /// Back at the front of the queue, which stays paused until [`WriteQueue::resume`].
    Paused,
    /// Back at the front, to be written one item per transaction.
    Split,
    /// A lone item failed: dropped, and given back so its callers can be told.
    Dropped(Vec<T>),
}

#[derive(Debug)]
pub struct WriteQueue<T> {
    items: VecDeque<T>,
    max_batch: usize,
    /// A batch is being written, or the queue waits out a pause.
    busy: bool,
    /// Items still to write one per transaction.
    solo: usize,
    /// The batch in flight is one of those items.
    solo_in_flight: bool,
}

impl<T> WriteQueue<T> {
    /// A queue writing at most `max_batch` items per transaction.
    pub fn new(max_batch: usize) -> Self {
        WriteQueue {
            items: VecDeque::new(),
            max_batch: max_batch.max(1),
            busy: false,
            solo: 0,
            solo_in_flight: false,
        }
    }

    pub fn push(&mut self, item: T) {
        self.items.push_back(item);
    }

    /// Items waiting (not those of the batch being written).
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// A batch is being written or the queue is paused: [`WriteQueue::take_batch`] gives nothing.
    pub fn is_busy(&self) -> bool {
        self.busy
    }

    /// Takes out the first waiting item that `matches` (one superseded by a newer one).
    pub fn remove_first(&mut self, matches: impl FnMut(&T) -> bool) -> Option<T> {
        let index = self.items.iter().position(matches)?;
        self.items.remove(index)
    }

    /// The next batch to write, unless one is being written, the queue is paused or empty. The
    /// queue is busy until the batch is [settled](WriteQueue::settle).
    pub fn take_batch(&mut self) -> Option<Vec<T>> {
        if self.busy || self.items.is_empty() {
            return None;
        }
        self.solo_in_flight = self.solo > 0;
        let take = if self.solo_in_flight {
            self.solo -= 1;
            1
        } else {
            self.items.len().min(self.max_batch)
        };
        self.busy = true;
        Some(self.items.drain(..take).collect())
    }

    /// How the write of `batch` (from [`WriteQueue::take_batch`]) ended, and what follows.
    pub fn settle(&mut self, batch: Vec<T>, outcome: Outcome) -> Settled<T> {
        self.busy = false;
        match outcome {
            Outcome::Stored => Settled::Stored(batch),
            Outcome::Unavailable => {
                // Back in front: a solo item is still to be written alone after the pause.
                if self.solo_in_flight {
                    self.solo += 1;
                }
                self.requeue(batch);
                self.busy = true;
                Settled::Paused
            }
            Outcome::Failed if batch.len() > 1 => {
                self.solo += batch.len();
                self.requeue(batch);
                Settled::Split
            }
            Outcome::Failed => Settled::Dropped(batch),
        }
    }

    /// The pause after [`Settled::Paused`] is over: batches may be taken again.
    pub fn resume(&mut self) {
        self.busy = false;
    }

    fn requeue(&mut self, batch: Vec<T>) {
        for item in batch.into_iter().rev() {
            self.items.push_front(item);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(items: impl IntoIterator<Item = u32>, max_batch: usize) -> WriteQueue<u32> {
        let mut q = WriteQueue::new(max_batch);
        items.into_iter().for_each(|i| q.push(i));
        q
    }

    #[test]
    fn batches_keep_order_are_capped_and_one_is_in_flight_at_a_time() {
        let mut q = queue(1..=5, 3);
        let first = q.take_batch().unwrap();
        assert_eq!(first, vec![1, 2, 3]);
        assert!(q.is_busy() && q.take_batch().is_none(), "one batch in flight");
        q.push(6);
        assert_eq!(q.settle(first, Outcome::Stored), Settled::Stored(vec![1, 2, 3]));
        assert_eq!(q.take_batch().unwrap(), vec![4, 5, 6]);
    }

    #[test]
    fn an_unavailable_store_puts_the_batch_back_in_front_and_pauses() {
        let mut q = queue(1..=3, 2);
        let batch = q.take_batch().unwrap();
        q.push(4);
        assert_eq!(q.settle(batch, Outcome::Unavailable), Settled::Paused);
        assert!(q.take_batch().is_none(), "paused until resumed");
        q.resume();
        assert_eq!(q.take_batch().unwrap(), vec![1, 2], "nothing lost, nothing reordered");
    }

    #[test]
    fn a_failed_batch_is_retried_one_by_one_and_only_the_bad_item_is_dropped() {
        let mut q = queue(1..=3, 10);
        let batch = q.take_batch().unwrap();
        assert_eq!(q.settle(batch, Outcome::Failed), Settled::Split);
        let one = q.take_batch().unwrap();
        assert_eq!(one, vec![1]);
        assert_eq!(q.settle(one, Outcome::Stored), Settled::Stored(vec![1]));
        let bad = q.take_batch().unwrap();
        assert_eq!(q.settle(bad, Outcome::Failed), Settled::Dropped(vec![2]));
        let last = q.take_batch().unwrap();
        assert_eq!(last, vec![3], "still one by one");
        q.push(4);
        q.push(5);
        assert_eq!(q.settle(last, Outcome::Stored), Settled::Stored(vec![3]));
        assert_eq!(q.take_batch().unwrap(), vec![4, 5], "batches again after the split");
    }

    #[test]
    fn an_outage_during_a_split_keeps_writing_one_by_one_after_the_pause() {
        let mut q = queue(1..=3, 10);
        let batch = q.take_batch().unwrap();
        assert_eq!(q.settle(batch, Outcome::Failed), Settled::Split);
        let one = q.take_batch().unwrap();
        assert_eq!(q.settle(one, Outcome::Unavailable), Settled::Paused);
        q.push(4);
        q.resume();
        for item in 1..=3 {
            let alone = q.take_batch().unwrap();
            assert_eq!(alone, vec![item], "the split goes on where it was");
            assert_eq!(q.settle(alone, Outcome::Stored), Settled::Stored(vec![item]));
        }
        assert_eq!(q.take_batch().unwrap(), vec![4]);
    }

    #[test]
    fn a_superseded_item_can_be_taken_out() {
        let mut q = queue([1, 2, 3, 2], 10);
        assert_eq!(q.remove_first(|&i| i == 2), Some(2));
        assert_eq!(q.len(), 3);
        assert_eq!(q.take_batch().unwrap(), vec![1, 3, 2]);
        assert!(q.remove_first(|_| true).is_none() && q.is_empty());
    }
}
