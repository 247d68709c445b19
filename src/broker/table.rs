//! The subscription table: which session's which subscription receives which destination.
//!
//! Owns the broker's routing state and nothing else: a plain struct with a small API that a
//! unit test can step (no actix, no I/O, no clock). It must not decide who may subscribe (that
//! is [`super::acl`]) nor how a message reaches a session (that is the actor).
//!
//! Two kinds of destination:
//! - **topics** (`/topic/...`): every subscription to the destination receives a message;
//! - **user destinations** (`/user/queue/...`): a session subscribes to `/user/queue/x` and
//!   receives what is sent to *its principal's* `/user/queue/x`; a message for a principal
//!   reaches every session of that principal, and no one else's. The resolution happens here,
//!   at subscribe time, from the user the session was opened with; a session cannot name
//!   another user.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

/// Prefix of user destinations, resolved per principal.
pub const USER_PREFIX: &str = "/user/";

/// A live session, unique for the server's lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionKey(pub u64);

impl fmt::Display for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:x}", self.0)
    }
}

/// One subscription of one session: where to deliver.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Subscriber {
    pub session: SessionKey,
    /// The session's subscription id, shared with every delivery (no copy per message).
    pub subscription: Arc<str>,
}

/// Where a subscription was filed, so it can be removed without a search.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    Topic(String),
    User(String),
}

#[derive(Debug)]
struct SessionEntry {
    user: Arc<str>,
    subscriptions: HashMap<Arc<str>, Route>,
}

/// What the table refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    #[error("session {0} is not open")]
    UnknownSession(SessionKey),
    #[error("subscription id {id:?} is already in use on session {session}")]
    DuplicateSubscription { session: SessionKey, id: String },
}

/// What closing a session removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    pub user: Arc<str>,
    pub subscriptions: usize,
}

/// The routing state.
#[derive(Debug, Default)]
pub struct Table {
    topics: HashMap<String, HashSet<Subscriber>>,
    /// user > destination as subscribed (`/user/queue/x`) > subscribers.
    users: HashMap<Arc<str>, HashMap<String, HashSet<Subscriber>>>,
    sessions: HashMap<SessionKey, SessionEntry>,
    subscriptions: usize,
}

/// True for `/user/...` destinations.
pub fn is_user_destination(destination: &str) -> bool {
    destination.starts_with(USER_PREFIX)
}

impl Table {
    /// Opens `session` for `user` (the principal's user key). Reopening replaces nothing: the
    /// first open wins, so a racing duplicate cannot change a session's user.
    pub fn open(&mut self, session: SessionKey, user: &str) {
        self.sessions.entry(session).or_insert_with(|| SessionEntry {
            user: Arc::from(user),
            subscriptions: HashMap::new(),
        });
    }

    /// The open sessions of `user`.
    pub fn sessions_of(&self, user: &str) -> Vec<SessionKey> {
        self.sessions
            .iter()
            .filter(|(_, entry)| &*entry.user == user)
            .map(|(key, _)| *key)
            .collect()
    }

    pub fn is_open(&self, session: SessionKey) -> bool {
        self.sessions.contains_key(&session)
    }

    /// Files subscription `id` of `session` under `destination` (resolved to the session's
    /// user for `/user/...`).
    pub fn subscribe(&mut self, session: SessionKey, id: Arc<str>, destination: &str) -> Result<(), TableError> {
        let entry = self
            .sessions
            .get_mut(&session)
            .ok_or(TableError::UnknownSession(session))?;
        if entry.subscriptions.contains_key(&id) {
            return Err(TableError::DuplicateSubscription {
                session,
                id: id.to_string(),
            });
        }
        let subscriber = Subscriber {
            session,
            subscription: id.clone(),
        };
        let route = if is_user_destination(destination) {
            self.users
                .entry(entry.user.clone())
                .or_default()
                .entry(destination.to_owned())
                .or_default()
                .insert(subscriber);
            Route::User(destination.to_owned())
        } else {
            self.topics
                .entry(destination.to_owned())
                .or_default()
                .insert(subscriber);
            Route::Topic(destination.to_owned())
        };
        entry.subscriptions.insert(id, route);
        self.subscriptions += 1;
        Ok(())
    }

    /// Removes subscription `id` of `session`; false when there was none.
    pub fn unsubscribe(&mut self, session: SessionKey, id: &str) -> bool {
        let Some(entry) = self.sessions.get_mut(&session) else {
            return false;
        };
        let Some((id, route)) = entry.subscriptions.remove_entry(id) else {
            return false;
        };
        let user = entry.user.clone();
        self.unfile(&user, session, id, route);
        true
    }

    /// Closes `session` and removes all its subscriptions; `None` when it was not open.
    pub fn close(&mut self, session: SessionKey) -> Option<Closed> {
        let entry = self.sessions.remove(&session)?;
        let count = entry.subscriptions.len();
        for (id, route) in entry.subscriptions {
            self.unfile(&entry.user, session, id, route);
        }
        Some(Closed {
            user: entry.user,
            subscriptions: count,
        })
    }

    fn unfile(&mut self, user: &Arc<str>, session: SessionKey, id: Arc<str>, route: Route) {
        let subscriber = Subscriber {
            session,
            subscription: id,
        };
        match route {
            Route::Topic(destination) => {
                if let Some(set) = self.topics.get_mut(&destination) {
                    set.remove(&subscriber);
                    if set.is_empty() {
                        self.topics.remove(&destination);
                    }
                }
            }
            Route::User(destination) => {
                if let Some(queues) = self.users.get_mut(user) {
                    if let Some(set) = queues.get_mut(&destination) {
                        set.remove(&subscriber);
                        if set.is_empty() {
                            queues.remove(&destination);
                        }
                    }
                    if queues.is_empty() {
                        self.users.remove(user);
                    }
                }
            }
        }
        self.subscriptions -= 1;
    }

    /// Every subscriber of topic `destination`.
    pub fn subscribers(&self, destination: &str) -> impl Iterator<Item = &Subscriber> + '_ {
        self.topics.get(destination).into_iter().flatten()
    }

    /// Every subscriber, in any session of `user`, of the user destination `destination`
    /// (`/user/queue/x`).
    pub fn user_subscribers<'a>(&'a self, user: &str, destination: &str) -> impl Iterator<Item = &'a Subscriber> + 'a {
        self.users
            .get(user)
            .and_then(|queues| queues.get(destination))
            .into_iter()
            .flatten()
    }

    /// The user a session was opened for.
    pub fn user_of(&self, session: SessionKey) -> Option<&Arc<str>> {
        self.sessions.get(&session).map(|entry| &entry.user)
    }

    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }

    pub fn subscriptions(&self) -> usize {
        self.subscriptions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u64) -> SessionKey {
        SessionKey(n)
    }

    fn ids(subs: impl Iterator<Item = impl std::borrow::Borrow<Subscriber>>) -> Vec<(u64, String)> {
        let mut all: Vec<_> = subs
            .map(|s| {
                let s = s.borrow();
                (s.session.0, s.subscription.to_string())
            })
            .collect();
        all.sort();
        all
    }

    #[test]
    fn topics_reach_every_subscription_and_unsubscribe_removes_one() {
        let mut t = Table::default();
        t.open(key(1), "alice");
        t.open(key(2), "bob");
        t.subscribe(key(1), "a".into(), "/topic/devices").unwrap();
        t.subscribe(key(1), "b".into(), "/topic/devices").unwrap();
        t.subscribe(key(2), "a".into(), "/topic/devices").unwrap();
        t.subscribe(key(2), "c".into(), "/topic/alerts").unwrap();
        assert_eq!(
            ids(t.subscribers("/topic/devices")),
            vec![(1, "a".into()), (1, "b".into()), (2, "a".into())]
        );
        assert!(t.unsubscribe(key(1), "b"));
        assert!(!t.unsubscribe(key(1), "b"));
        assert_eq!(ids(t.subscribers("/topic/devices")).len(), 2);
        assert_eq!(t.subscriptions(), 3);
        assert_eq!(ids(t.subscribers("/topic/nothing")), vec![]);
    }

    #[test]
    fn user_destinations_reach_every_session_of_that_user_only() {
        let mut t = Table::default();
        t.open(key(1), "gate-1");
        t.open(key(2), "gate-1");
        t.open(key(3), "gate-2");
        for n in 1..=3 {
            t.subscribe(key(n), "q".into(), "/user/queue/commands").unwrap();
        }
        assert_eq!(
            ids(t.user_subscribers("gate-1", "/user/queue/commands")),
            vec![(1, "q".into()), (2, "q".into())]
        );
        assert_eq!(
            ids(t.user_subscribers("gate-2", "/user/queue/commands")),
            vec![(3, "q".into())]
        );
        assert_eq!(ids(t.user_subscribers("gate-3", "/user/queue/commands")), vec![]);
        // A user destination is not a topic: nothing is filed under the literal name.
        assert_eq!(ids(t.subscribers("/user/queue/commands")), vec![]);
        t.close(key(1));
        assert_eq!(
            ids(t.user_subscribers("gate-1", "/user/queue/commands")),
            vec![(2, "q".into())]
        );
    }

    #[test]
    fn close_removes_everything_of_a_session_and_leaves_no_empty_sets() {
        let mut t = Table::default();
        t.open(key(7), "op");
        t.subscribe(key(7), "1".into(), "/topic/a").unwrap();
        t.subscribe(key(7), "2".into(), "/user/queue/commands").unwrap();
        assert_eq!(
            t.close(key(7)),
            Some(Closed {
                user: "op".into(),
                subscriptions: 2
            })
        );
        assert_eq!(t.close(key(7)), None);
        assert_eq!((t.sessions(), t.subscriptions()), (0, 0));
        assert!(t.topics.is_empty() && t.users.is_empty());
    }

    #[test]
    fn unknown_sessions_and_duplicate_ids_are_refused() {
        let mut t = Table::default();
        assert_eq!(
            t.subscribe(key(1), "a".into(), "/topic/a"),
            Err(TableError::UnknownSession(key(1)))
        );
        t.open(key(1), "op");
        t.subscribe(key(1), "a".into(), "/topic/a").unwrap();
        assert!(matches!(
            t.subscribe(key(1), "a".into(), "/topic/b"),
            Err(TableError::DuplicateSubscription { .. })
        ));
        t.open(key(1), "someone-else");
        assert_eq!(t.user_of(key(1)).map(|u| u.as_ref()), Some("op"));
    }
}
