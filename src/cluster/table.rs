//! The lease table: which partitions this node holds now, with which fencing token, and until
//! when it may act on each. The [`OwnerCheck`] every supervisor asks on every child start, so
//! it is two atomic loads per question: no lock, no message.
//!
//! A lease counts as held only until its local deadline, set from the moment its last renewal
//! was *sent* plus the lease time less one renewal period: a node whose renewals stall (paused,
//! cut from NATS) stops counting a partition as its own before the lease could have expired in
//! the KV bucket and been acquired elsewhere. Its own monotonic clock decides, not NATS's.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::ownership::{Fence, OwnerCheck, Partition, Partitions};

/// One partition's lease as this node sees it.
#[derive(Debug, Default)]
struct Slot {
    /// The fencing token plus one; 0: not held.
    token: AtomicU64,
    /// Milliseconds after the table's epoch past which the lease no longer counts.
    valid_until_ms: AtomicU64,
}

/// The leases this node holds.
#[derive(Debug)]
pub struct LeaseTable {
    partitions: Partitions,
    epoch: Instant,
    slots: Vec<Slot>,
}

impl LeaseTable {
    pub fn new(partitions: Partitions) -> LeaseTable {
        LeaseTable {
            partitions,
            epoch: Instant::now(),
            slots: partitions.all().map(|_| Slot::default()).collect(),
        }
    }

    pub fn partitions(&self) -> Partitions {
        self.partitions
    }

    fn slot(&self, partition: Partition) -> Option<&Slot> {
        self.slots.get(usize::from(partition.0))
    }

    fn ms(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX)
    }

    /// The partition is held with `token` until `until` (acquired or renewed).
    pub fn hold(&self, partition: Partition, token: u64, until: Instant) {
        if let Some(slot) = self.slot(partition) {
            slot.valid_until_ms.store(self.ms(until), Ordering::Release);
            slot.token.store(token.saturating_add(1), Ordering::Release);
        }
    }

    /// The partition is no longer held (released, lost, or expired locally).
    pub fn drop_lease(&self, partition: Partition) {
        if let Some(slot) = self.slot(partition) {
            slot.token.store(0, Ordering::Release);
        }
    }

    /// The fence held for `partition` at `now`, if its lease still counts.
    pub fn fence_at(&self, partition: Partition, now: Instant) -> Option<Fence> {
        let slot = self.slot(partition)?;
        let token = slot.token.load(Ordering::Acquire).checked_sub(1)?;
        (self.ms(now) < slot.valid_until_ms.load(Ordering::Acquire)).then_some(Fence { partition, token })
    }

    /// Partitions whose token is set but whose deadline passed at `now`: to give up.
    pub fn lapsed(&self, now: Instant) -> Vec<Partition> {
        self.partitions
            .all()
            .filter(|&p| {
                self.slot(p).is_some_and(|s| s.token.load(Ordering::Acquire) != 0) && self.fence_at(p, now).is_none()
            })
            .collect()
    }

    /// Every partition held now, with its fence.
    pub fn held(&self) -> Vec<Fence> {
        let now = Instant::now();
        self.partitions.all().filter_map(|p| self.fence_at(p, now)).collect()
    }
}

impl OwnerCheck for LeaseTable {
    fn fence(&self, partition: Partition) -> Option<Fence> {
        self.fence_at(partition, Instant::now())
    }
}

/// How long a lease counts locally after a renewal sent at `sent`: the lease less one renewal
/// period, so that it lapses here before it can expire in the bucket.
pub fn local_deadline(sent: Instant, lease: Duration, renew: Duration) -> Instant {
    sent + lease.saturating_sub(renew)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_held_at_first() {
        let t = LeaseTable::new(Partitions::new(4).unwrap());
        assert!(t.held().is_empty());
        assert_eq!(t.fence(Partition(1)), None);
        assert_eq!(t.fence(Partition(9)), None, "out of range");
    }

    #[test]
    fn a_held_lease_answers_its_token_until_its_deadline() {
        let t = LeaseTable::new(Partitions::new(4).unwrap());
        let now = Instant::now();
        t.hold(Partition(2), 0, now + Duration::from_secs(2));
        assert_eq!(
            t.fence_at(Partition(2), now),
            Some(Fence {
                partition: Partition(2),
                token: 0
            })
        );
        assert_eq!(t.fence_at(Partition(2), now + Duration::from_secs(3)), None);
        assert_eq!(t.lapsed(now + Duration::from_secs(3)), vec![Partition(2)]);
        assert!(t.lapsed(now).is_empty());
        t.drop_lease(Partition(2));
        assert_eq!(t.fence_at(Partition(2), now), None);
        assert!(t.lapsed(now + Duration::from_secs(3)).is_empty());
    }

    #[test]
    fn the_local_deadline_comes_one_renewal_before_the_lease_expires() {
        let sent = Instant::now();
        let d = local_deadline(sent, Duration::from_millis(3_000), Duration::from_millis(1_000));
        assert_eq!(d - sent, Duration::from_millis(2_000));
    }
}
