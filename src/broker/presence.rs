//! Presence: which clients (gate PCs, kiosks) are online.
//!
//! A client is online while it holds at least one STOMP session, or while its HTTP heartbeats
//! keep arriving: each one leases presence until a deadline (the device part says how long a
//! batch vouches for its sender, [`crate::device::beats::presence_lease`]). It goes offline when
//! its last session has ended and its lease has run out, whichever comes last. Pure: the broker
//! actor feeds it (and wakes it at [`Presence::next_expiry`]) and publishes the changes on
//! `/topic/presence`; it must not know sessions' addresses or publish anything.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

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
    clients: HashMap<String, Holds>,
    /// Lease deadlines, earliest first; an entry whose client has renewed since is stale and
    /// skipped when it comes up.
    leases: BinaryHeap<Reverse<(Millis, String)>>,
}

impl Presence {
    /// A session of `client` opened; `Some(Online)` when it is now online and was not.
    pub fn session_opened(&mut self, client: &str) -> Option<PresenceChange> {
        let holds = self.clients.entry(client.to_owned()).or_default();
        holds.sessions += 1;
        (holds.sessions == 1 && holds.lease_until.is_none()).then(|| PresenceChange::Online(client.to_owned()))
    }

    /// A session of `client` ended; `Some(Offline)` when it was the last thing holding it.
    pub fn session_closed(&mut self, client: &str) -> Option<PresenceChange> {
        let holds = self.clients.get_mut(client)?;
        holds.sessions = holds.sessions.checked_sub(1)?;
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
        assert_eq!(p.session_closed("gate-1"), None);
        assert!(p.is_online("gate-1"));
        assert_eq!(
            p.session_closed("gate-1"),
            Some(PresenceChange::Offline("gate-1".into()))
        );
        assert!(!p.is_online("gate-1"));
        assert_eq!(p.session_closed("gate-1"), None);
        assert_eq!(p.session_closed("never"), None);
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
        p.session_closed("gate-3");
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
        assert_eq!(p.session_closed("gate-1"), offline("gate-1"));

        assert_eq!(p.beat("gate-2", Millis(500)), online("gate-2"));
        assert_eq!(p.session_opened("gate-2"), None);
        assert_eq!(p.session_closed("gate-2"), None, "the lease still holds it");
        assert_eq!(p.expire(Millis(500)), [PresenceChange::Offline("gate-2".into())]);
        assert_eq!(p.session_closed("gate-2"), None, "nothing left to close");
    }
}
