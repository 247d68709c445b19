//! One session's subscriptions and the messages they still await an ACK or NACK for.
//!
//! Owns the per-session bookkeeping only: ids, destinations, ack modes, and unacknowledged sequence
//! numbers (the `{seq}` of `{session}-{seq}` message ids). It must not talk to the broker; the
//! session turns changes into actions.

use std::collections::{BTreeSet, HashMap};

use super::client::AckMode;
use super::error::ProtocolError;

/// Cap on live subscriptions per session, so one client cannot grow the broker's table without
/// bound.
pub const MAX_SUBSCRIPTIONS: usize = 256;

#[derive(Debug, Clone)]
pub(crate) struct Subscription {
    pub destination: String,
    pub ack: AckMode,
    unacked: BTreeSet<u64>,
}

/// The subscriptions of one session.
#[derive(Debug, Default)]
pub(crate) struct Subscriptions {
    by_id: HashMap<String, Subscription>,
    /// Every unacknowledged message: sequence number to subscription id.
    owner: HashMap<u64, String>,
}

impl Subscriptions {
    pub fn add(&mut self, id: &str, destination: &str, ack: AckMode) -> Result<(), ProtocolError> {
        if self.by_id.contains_key(id) {
            return Err(ProtocolError::DuplicateSubscription { id: id.to_owned() });
        }
        if self.by_id.len() >= MAX_SUBSCRIPTIONS {
            return Err(ProtocolError::TooManySubscriptions {
                limit: MAX_SUBSCRIPTIONS,
            });
        }
        self.by_id.insert(
            id.to_owned(),
            Subscription {
                destination: destination.to_owned(),
                ack,
                unacked: BTreeSet::new(),
            },
        );
        Ok(())
    }

    /// Removes a subscription and forgets its unacknowledged messages; returns its destination.
    pub fn remove(&mut self, id: &str) -> Option<String> {
        let subscription = self.by_id.remove(id)?;
        for seq in &subscription.unacked {
            self.owner.remove(seq);
        }
        Some(subscription.destination)
    }

    pub fn get(&self, id: &str) -> Option<&Subscription> {
        self.by_id.get(id)
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Removes every subscription, returning `(id, destination)` pairs in id order.
    pub fn drain(&mut self) -> Vec<(String, String)> {
        self.owner.clear();
        let mut all: Vec<_> = self
            .by_id
            .drain()
            .map(|(id, subscription)| (id, subscription.destination))
            .collect();
        all.sort();
        all
    }

    pub fn unacked(&self) -> usize {
        self.owner.len()
    }

    /// Notes a delivery that awaits an ACK (the caller checked the subscription exists and is not
    /// auto).
    pub fn record(&mut self, id: &str, seq: u64) {
        if let Some(subscription) = self.by_id.get_mut(id) {
            subscription.unacked.insert(seq);
            self.owner.insert(seq, id.to_owned());
        }
    }

    /// Whether `seq` awaits an ACK, on `subscription` when one is named (1.1).
    pub fn is_pending(&self, seq: u64, subscription: Option<&str>) -> bool {
        match self.owner.get(&seq) {
            Some(owner) => subscription.is_none_or(|named| named == owner),
            None => false,
        }
    }

    /// Settles (ACK or NACK alike) message `seq`: in `client` mode with every earlier pending
    /// message of its subscription, in `client-individual` mode alone. Returns how many were
    /// settled; 0 when `seq` was not pending.
    pub fn settle(&mut self, seq: u64) -> usize {
        let Some(id) = self.owner.get(&seq) else {
            return 0;
        };
        let Some(subscription) = self.by_id.get_mut(id) else {
            return 0;
        };
        let settled = match subscription.ack {
            AckMode::Client => {
                let later = subscription.unacked.split_off(&seq.saturating_add(1));
                std::mem::replace(&mut subscription.unacked, later)
            }
            AckMode::Auto | AckMode::ClientIndividual => {
                subscription.unacked.remove(&seq);
                BTreeSet::from([seq])
            }
        };
        for done in &settled {
            self.owner.remove(done);
        }
        settled.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_mode_settles_cumulatively_and_individual_mode_one_by_one() {
        let mut subs = Subscriptions::default();
        subs.add("c", "/topic/a", AckMode::Client).unwrap();
        subs.add("i", "/topic/a", AckMode::ClientIndividual).unwrap();
        for seq in 0..3 {
            subs.record("c", seq);
        }
        for seq in 10..13 {
            subs.record("i", seq);
        }
        assert_eq!(subs.unacked(), 6);
        assert_eq!(subs.settle(1), 2);
        assert!(!subs.is_pending(0, None) && subs.is_pending(2, Some("c")));
        assert!(!subs.is_pending(2, Some("i")));
        assert_eq!(subs.settle(11), 1);
        assert!(subs.is_pending(10, None) && subs.is_pending(12, None));
        assert_eq!(subs.settle(11), 0);
        assert_eq!(subs.remove("i").as_deref(), Some("/topic/a"));
        assert_eq!(subs.unacked(), 1);
        assert_eq!(subs.drain(), vec![("c".to_owned(), "/topic/a".to_owned())]);
        assert_eq!((subs.len(), subs.unacked()), (0, 0));
    }

    #[test]
    fn duplicate_ids_and_the_cap_are_refused() {
        let mut subs = Subscriptions::default();
        subs.add("a", "/x", AckMode::Auto).unwrap();
        assert!(matches!(
            subs.add("a", "/y", AckMode::Auto),
            Err(ProtocolError::DuplicateSubscription { .. })
        ));
        for n in 1..MAX_SUBSCRIPTIONS {
            subs.add(&n.to_string(), "/x", AckMode::Auto).unwrap();
        }
        assert!(matches!(
            subs.add("over", "/x", AckMode::Auto),
            Err(ProtocolError::TooManySubscriptions { .. })
        ));
    }
}
