//! A bound on how many of something one key may hold at once: connections per client address,
//! STOMP sessions per principal.
//!
//! [`Tally`] is the pure core (counts per key, a limit, what was refused); [`Quota`] shares one
//! behind a lock and hands out [`Slot`]s that give their place back when dropped, so however a
//! connection or session ends, its place is freed exactly once.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};

/// Why a key may not take one more: it already holds `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{held} held, the limit is {limit}")]
pub struct OverLimit {
    pub limit: usize,
    pub held: usize,
}

/// Counts per key, at most `limit` each (0: no limit). Keys holding nothing are forgotten.
#[derive(Debug)]
pub struct Tally<K> {
    limit: usize,
    held: HashMap<K, usize>,
    total: usize,
    refused: u64,
}

impl<K: Hash + Eq> Tally<K> {
    pub fn new(limit: usize) -> Self {
        Tally {
            limit,
            held: HashMap::new(),
            total: 0,
            refused: 0,
        }
    }

    /// Takes one place for `key`, or says why not (and counts the refusal).
    pub fn take(&mut self, key: K) -> Result<(), OverLimit> {
        let held = self.held.entry(key).or_insert(0);
        if self.limit > 0 && *held >= self.limit {
            self.refused += 1;
            return Err(OverLimit {
                limit: self.limit,
                held: *held,
            });
        }
        *held += 1;
        self.total += 1;
        Ok(())
    }

    /// Gives back one place `key` took. Giving back more than was taken changes nothing.
    pub fn give_back(&mut self, key: &K) {
        let Some(held) = self.held.get_mut(key) else {
            return;
        };
        *held -= 1;
        self.total -= 1;
        if *held == 0 {
            self.held.remove(key);
        }
    }

    /// Places `key` holds.
    pub fn held(&self, key: &K) -> usize {
        self.held.get(key).copied().unwrap_or(0)
    }

    /// Places held by every key together.
    pub fn total(&self) -> usize {
        self.total
    }

    /// Keys holding at least one place.
    pub fn keys(&self) -> usize {
        self.held.len()
    }

    /// Takes refused since the start.
    pub fn refused(&self) -> u64 {
        self.refused
    }

    pub fn limit(&self) -> usize {
        self.limit
    }
}

/// A [`Tally`] shared by every thread that accepts connections or sessions.
#[derive(Debug)]
pub struct Quota<K> {
    tally: Arc<Mutex<Tally<K>>>,
}

impl<K> Clone for Quota<K> {
    fn clone(&self) -> Self {
        Quota {
            tally: self.tally.clone(),
        }
    }
}

/// The figures of a [`Quota`], for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QuotaStats {
    pub limit: usize,
    pub held: usize,
    pub keys: usize,
    pub refused: u64,
}

impl<K: Hash + Eq + Clone> Quota<K> {
    pub fn new(limit: usize) -> Self {
        Quota {
            tally: Arc::new(Mutex::new(Tally::new(limit))),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Tally<K>> {
        // A panic while counting leaves the counts as they were: keep using them.
        self.tally.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// One place for `key`, held until the slot is dropped.
    pub fn take(&self, key: K) -> Result<Slot<K>, OverLimit> {
        self.lock().take(key.clone())?;
        Ok(Slot {
            tally: self.tally.clone(),
            key,
        })
    }

    pub fn stats(&self) -> QuotaStats {
        let tally = self.lock();
        QuotaStats {
            limit: tally.limit(),
            held: tally.total(),
            keys: tally.keys(),
            refused: tally.refused(),
        }
    }

    /// Places `key` holds now.
    pub fn held(&self, key: &K) -> usize {
        self.lock().held(key)
    }
}

/// One place in a [`Quota`]; dropping it gives the place back.
#[derive(Debug)]
pub struct Slot<K: Hash + Eq> {
    tally: Arc<Mutex<Tally<K>>>,
    key: K,
}

impl<K: Hash + Eq> Slot<K> {
    pub fn key(&self) -> &K {
        &self.key
    }
}

impl<K: Hash + Eq> Drop for Slot<K> {
    fn drop(&mut self) {
        let mut tally = self.tally.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        tally.give_back(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_takes_up_to_its_limit_and_others_are_unaffected() {
        let mut tally = Tally::new(2);
        assert_eq!(tally.take("a"), Ok(()));
        assert_eq!(tally.take("a"), Ok(()));
        assert_eq!(tally.take("a"), Err(OverLimit { limit: 2, held: 2 }));
        assert_eq!(tally.take("b"), Ok(()));
        assert_eq!((tally.held(&"a"), tally.held(&"b"), tally.total()), (2, 1, 3));
        assert_eq!(tally.refused(), 1);
        tally.give_back(&"a");
        assert_eq!(tally.take("a"), Ok(()));
    }

    #[test]
    fn keys_holding_nothing_are_forgotten_and_extra_give_backs_ignored() {
        let mut tally = Tally::new(1);
        tally.take("a").unwrap();
        tally.give_back(&"a");
        tally.give_back(&"a");
        tally.give_back(&"never");
        assert_eq!((tally.keys(), tally.total()), (0, 0));
        assert_eq!(tally.take("a"), Ok(()));
    }

    #[test]
    fn zero_means_no_limit() {
        let mut tally = Tally::new(0);
        for _ in 0..10_000 {
            tally.take(1u8).unwrap();
        }
        assert_eq!((tally.held(&1), tally.refused()), (10_000, 0));
    }

    #[test]
    fn a_dropped_slot_gives_its_place_back() {
        let quota = Quota::new(1);
        let slot = quota.take("gate-1".to_owned()).unwrap();
        assert_eq!(slot.key(), "gate-1");
        assert!(quota.take("gate-1".to_owned()).is_err());
        drop(slot);
        let again = quota.take("gate-1".to_owned()).unwrap();
        let stats = quota.stats();
        assert_eq!((stats.limit, stats.held, stats.keys, stats.refused), (1, 1, 1, 1));
        drop(again);
        assert_eq!(quota.held(&"gate-1".to_owned()), 0);
    }
}
