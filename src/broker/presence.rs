//! Presence: which clients (gate PCs, kiosks) are online.
//!
//! A client is online while it holds at least one STOMP session, or while its HTTP heartbeats
//! keep arriving: each one leases presence until a deadline (the device part says how long a
//! batch vouches for its sender, [`crate::device::beats::presence_lease`]). It goes offline when
//! its last session has ended and its lease has run out, whichever comes last. A last session
//! that closes leaves a lease of its own, the disconnect grace: a client back within it (a
//! network blink) was never offline. Pure: the broker
//! actor feeds it (and wakes it at [`Presence::next_expiry`]) and publishes the changes on
//! `/topic/presence`; it must not know sessions' addresses or publish anything.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::Duration;

use bytes::Bytes;

use crate::time::Millis;

/// A client's presence changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PresenceChange {
    Online(String),
    Offline(String),
}

/// What keeps one client online.
#[derive(Debug, Default)]
struct Holds {
    sessions: usize,
    /// Online until then on its HTTP heartbeats alone.
    lease_until: Option<Millis>,
}

#[derive(Debug, Default)]
pub struct Presence {
    /// How long a client stays online after its last session closed.
    grace: Duration,
    clients: HashMap<String, Holds>,
    /// Lease deadlines, earliest first; an entry whose client has renewed since is stale and
    /// skipped when it comes up.
    leases: BinaryHeap<Reverse<(Millis, String)>>,
}

impl Presence {
    /// Presence where a closed last session holds its client online `grace` longer.
    pub fn with_grace(grace: Duration) -> Self {
        Presence {
            grace,
            ..Presence::default()
        }
    }

    /// A session of `client` opened; `Some(Online)` when it is now online and was not.
    pub fn session_opened(&mut self, client: &str) -> Option<PresenceChange> {
        let holds = self.clients.entry(client.to_owned()).or_default();
        holds.sessions += 1;
        (holds.sessions == 1 && holds.lease_until.is_none()).then(|| PresenceChange::Online(client.to_owned()))
    }

    /// A session of `client` ended at `now`; `Some(Offline)` when it was the last thing holding
    /// it and there is no grace. With a grace its last session leases presence until
    /// `now + grace` (or a later lease it already had), ended by [`Presence::expire`].
    pub fn session_closed(&mut self, client: &str, now: Millis) -> Option<PresenceChange> {
        let holds = self.clients.get_mut(client)?;
        holds.sessions = holds.sessions.checked_sub(1)?;
        if holds.sessions == 0 && !self.grace.is_zero() {
            let until = now + self.grace;
            if holds.lease_until.is_none_or(|lease| lease < until) {
                holds.lease_until = Some(until);
                self.leases.push(Reverse((until, client.to_owned())));
            }
            return None;
        }
        self.release_if_free(client)
    }

    /// An HTTP heartbeat of `client`: online until `until` at least on this one (a later beat
    /// sets its own deadline, earlier or later). `Some(Online)` when it was offline.
    pub fn beat(&mut self, client: &str, until: Millis) -> Option<PresenceChange> {
        let holds = self.clients.entry(client.to_owned()).or_default();
        let was_online = holds.sessions > 0 || holds.lease_until.is_some();
        holds.lease_until = Some(until);
        self.leases.push(Reverse((until, client.to_owned())));
        (!was_online).then(|| PresenceChange::Online(client.to_owned()))
    }

    /// Leases that ran out by `now`: the clients that went offline with them.
    pub fn expire(&mut self, now: Millis) -> Vec<PresenceChange> {
        let mut changes = Vec::new();
        while let Some(Reverse((until, _))) = self.leases.peek() {
            if *until > now {
                break;
            }
            let Some(Reverse((until, client))) = self.leases.pop() else {
                break;
            };
            let Some(holds) = self.clients.get_mut(&client) else {
                continue;
            };
            if holds.lease_until != Some(until) {
                continue; // renewed since, or already gone
            }
            holds.lease_until = None;
            changes.extend(self.release_if_free(&client));
        }
        changes
    }

    /// When [`Presence::expire`] next has something to do, if ever.
    pub fn next_expiry(&self) -> Option<Millis> {
        self.leases.peek().map(|Reverse((until, _))| *until)
    }

    fn release_if_free(&mut self, client: &str) -> Option<PresenceChange> {
        let holds = self.clients.get(client)?;
        if holds.sessions > 0 || holds.lease_until.is_some() {
            return None;
        }
        self.clients.remove(client);
        Some(PresenceChange::Offline(client.to_owned()))
    }

    pub fn is_online(&self, client: &str) -> bool {
        self.clients.contains_key(client)
    }

    /// Every online client, sorted.
    pub fn online(&self) -> Vec<String> {
        let mut all: Vec<String> = self.clients.keys().cloned().collect();
        all.sort();
        all
    }

    /// The clients holding a session here now (sorted), whatever their leases: what this node
    /// vouches for to the owners of their partitions in a cluster.
    pub fn with_sessions(&self) -> Vec<String> {
        let mut held: Vec<String> = self
            .clients
            .iter()
            .filter(|(_, holds)| holds.sessions > 0)
            .map(|(client, _)| client.clone())
            .collect();
        held.sort();
        held
    }
}

/// The `/topic/presence` message: `{"type":"presence","client_id":..,"online":..,"at_ms":..}`.
pub fn presence_json(client: &str, online: bool, at: Millis) -> Bytes {
    let value = serde_json::json!({
        "type": "presence",
        "client_id": client,
        "online": online,
        "at_ms": at.0,
    });
    Bytes::from(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn online_with_the_first_session_offline_with_the_last() {
        let mut p = Presence::default();
        assert_eq!(
            p.session_opened("gate-1"),
            Some(PresenceChange::Online("gate-1".into()))
        );
        assert_eq!(p.session_opened("gate-1"), None);
        assert_eq!(
            p.session_opened("kiosk-1"),
            Some(PresenceChange::Online("kiosk-1".into()))
        );
        assert_eq!(p.online(), vec!["gate-1".to_owned(), "kiosk-1".to_owned()]);
        assert_eq!(p.session_closed("gate-1", Millis(0)), None);
        assert!(p.is_online("gate-1"));
        assert_eq!(
            p.session_closed("gate-1", Millis(0)),
            Some(PresenceChange::Offline("gate-1".into()))
        );
        assert!(!p.is_online("gate-1"));
        assert_eq!(p.session_closed("gate-1", Millis(0)), None);
        assert_eq!(p.session_closed("never", Millis(0)), None);
    }

    fn online(client: &str) -> Option<PresenceChange> {
        Some(PresenceChange::Online(client.into()))
    }

    fn offline(client: &str) -> Option<PresenceChange> {
        Some(PresenceChange::Offline(client.into()))
    }

    #[test]
    fn only_clients_with_a_session_are_vouched_for() {
        let mut p = Presence::default();
        p.session_opened("gate-2");
        p.beat("gate-1", Millis(400));
        p.session_opened("gate-3");
        p.session_closed("gate-3", Millis(0));
        assert_eq!(p.with_sessions(), ["gate-2"]);
        assert_eq!(p.online(), ["gate-1", "gate-2"]);
    }

    #[test]
    fn http_heartbeats_lease_presence_until_their_deadline() {
        let mut p = Presence::default();
        assert_eq!(p.beat("gate-1", Millis(400)), online("gate-1"));
        assert_eq!(p.beat("gate-1", Millis(600)), None, "renewed, still online");
        assert_eq!(p.next_expiry(), Some(Millis(400)));
        assert_eq!(p.expire(Millis(599)), [], "the first deadline was renewed");
        assert!(p.is_online("gate-1"));
        assert_eq!(p.next_expiry(), Some(Millis(600)));
        assert_eq!(p.expire(Millis(600)), [PresenceChange::Offline("gate-1".into())]);
        assert!(!p.is_online("gate-1"));
        assert_eq!(p.next_expiry(), None);
        // A later beat may set an earlier deadline (a faster device): that one counts.
        p.beat("gate-1", Millis(2_000));
        p.beat("gate-1", Millis(1_000));
        assert_eq!(p.expire(Millis(1_000)), [PresenceChange::Offline("gate-1".into())]);
        assert_eq!(p.expire(Millis(2_000)), [], "the stale deadline is skipped");
    }

    #[test]
    fn a_client_with_a_session_and_a_lease_is_offline_when_both_have_ended() {
        let mut p = Presence::default();
        assert_eq!(p.session_opened("gate-1"), online("gate-1"));
        assert_eq!(p.beat("gate-1", Millis(500)), None, "already online");
        assert_eq!(p.expire(Millis(500)), [], "the session still holds it");
        assert_eq!(p.session_closed("gate-1", Millis(0)), offline("gate-1"));

        assert_eq!(p.beat("gate-2", Millis(500)), online("gate-2"));
        assert_eq!(p.session_opened("gate-2"), None);
        assert_eq!(p.session_closed("gate-2", Millis(0)), None, "the lease still holds it");
        assert_eq!(p.expire(Millis(500)), [PresenceChange::Offline("gate-2".into())]);
        assert_eq!(p.session_closed("gate-2", Millis(0)), None, "nothing left to close");
    }

    #[test]
    fn a_client_back_within_the_grace_was_never_offline() {
        let mut p = Presence::with_grace(Duration::from_millis(1_000));
        assert_eq!(p.session_opened("gate-1"), online("gate-1"));
        assert_eq!(p.session_closed("gate-1", Millis(100)), None, "the grace holds it");
        assert!(p.is_online("gate-1"));
        assert_eq!(p.with_sessions(), Vec::<String>::new(), "no session to vouch for");
        assert_eq!(p.session_opened("gate-1"), None, "back within the grace: no change");
        assert_eq!(p.expire(Millis(1_100)), [], "the session holds it past the grace");
        assert!(p.is_online("gate-1"));

        // Gone for good: offline when the grace ends, not before.
        assert_eq!(p.session_closed("gate-1", Millis(2_000)), None);
        assert_eq!(p.next_expiry(), Some(Millis(3_000)));
        assert_eq!(p.expire(Millis(2_999)), []);
        assert_eq!(p.expire(Millis(3_000)), [PresenceChange::Offline("gate-1".into())]);
    }

    #[test]
    fn the_grace_does_not_shorten_a_longer_heartbeat_lease() {
        let mut p = Presence::with_grace(Duration::from_millis(1_000));
        p.beat("gate-1", Millis(5_000));
        p.session_opened("gate-1");
        assert_eq!(p.session_closed("gate-1", Millis(100)), None);
        assert_eq!(p.expire(Millis(1_100)), [], "the heartbeat lease still holds it");
        assert_eq!(p.expire(Millis(5_000)), [PresenceChange::Offline("gate-1".into())]);
    }
}
