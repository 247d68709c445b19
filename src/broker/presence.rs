//! Presence: which clients (gate PCs, kiosks) have at least one STOMP session open.
//!
//! Owns a count of open sessions per client id and says when a client comes online (its first
//! session) or goes offline (its last one ends). Pure: the broker actor feeds it and publishes
//! the changes on `/topic/presence`; it must not know sessions' addresses or publish anything.

use std::collections::HashMap;

use bytes::Bytes;

use crate::time::Millis;

/// A client's presence changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PresenceChange {
    Online(String),
    Offline(String),
}

#[derive(Debug, Default)]
pub struct Presence {
    sessions: HashMap<String, usize>,
}

impl Presence {
    /// A session of `client` opened; `Some(Online)` when it is the client's first.
    pub fn session_opened(&mut self, client: &str) -> Option<PresenceChange> {
        let count = self.sessions.entry(client.to_owned()).or_insert(0);
        *count += 1;
        (*count == 1).then(|| PresenceChange::Online(client.to_owned()))
    }

    /// A session of `client` ended; `Some(Offline)` when it was the client's last.
    pub fn session_closed(&mut self, client: &str) -> Option<PresenceChange> {
        let count = self.sessions.get_mut(client)?;
        *count -= 1;
        if *count > 0 {
            return None;
        }
        self.sessions.remove(client);
        Some(PresenceChange::Offline(client.to_owned()))
    }

    pub fn is_online(&self, client: &str) -> bool {
        self.sessions.contains_key(client)
    }

    /// Every online client, sorted.
    pub fn online(&self) -> Vec<String> {
        let mut all: Vec<String> = self.sessions.keys().cloned().collect();
        all.sort();
        all
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
}
