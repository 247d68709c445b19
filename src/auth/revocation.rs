//! Which verified tokens no longer count: every token of a subject issued before a moment
//! (a client's or a driver's tokens revoked by an admin, a user's after a role or password
//! change), and every token of a disabled user. Pure: the accounts part keeps it in step with
//! the store, the HTTP extractor and the STOMP gate ask it.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use super::roles::{Principal, Role};
use super::AuthError;
use crate::time::Millis;

/// The kinds of subject a token speaks for, each with its own names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Kind {
    User,
    Client,
    Taxi,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::User, Kind::Client, Kind::Taxi];

    fn prefix(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Client => "client",
            Kind::Taxi => "taxi",
        }
    }
}

/// Who `who`'s token speaks for, borrowed from it (the per-request check allocates nothing).
fn key_of(who: &Principal) -> (Kind, &str) {
    match (who.role, &who.client, &who.taxi) {
        (Role::Client, Some(client), _) => (Kind::Client, client),
        (Role::Driver, _, Some(plate)) => (Kind::Taxi, plate),
        _ => (Kind::User, &who.name),
    }
}

/// Who a token speaks for, as revocations name it: `user:{username}`, `client:{id}` or
/// `taxi:{plate}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subject(String);

impl Subject {
    fn of_kind(kind: Kind, name: &str) -> Subject {
        Subject(format!("{}:{name}", kind.prefix()))
    }

    pub fn user(username: &str) -> Subject {
        Subject::of_kind(Kind::User, username)
    }

    pub fn client(id: &str) -> Subject {
        Subject::of_kind(Kind::Client, id)
    }

    pub fn taxi(plate: &str) -> Subject {
        Subject::of_kind(Kind::Taxi, plate)
    }

    /// The subject of `who`'s token.
    pub fn of(who: &Principal) -> Subject {
        let (kind, name) = key_of(who);
        Subject::of_kind(kind, name)
    }

    /// As stored (`token_revocations.subject`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its kind and name (every `Subject` is made with one of the kinds' prefixes).
    fn split(&self) -> (Kind, &str) {
        let (prefix, name) = self.0.split_once(':').unwrap_or(("user", &self.0));
        let kind = Kind::ALL
            .into_iter()
            .find(|k| k.prefix() == prefix)
            .unwrap_or(Kind::User);
        (kind, name)
    }

    /// A stored subject; `None` for a form this server never writes.
    pub fn parse(raw: &str) -> Option<Subject> {
        let (kind, name) = raw.split_once(':')?;
        (Kind::ALL.iter().any(|k| k.prefix() == kind) && !name.is_empty()).then(|| Subject(raw.to_owned()))
    }
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The revoked and the disabled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Revocations {
    /// Per kind, by name: tokens issued at or before this moment are refused, and why (a token
    /// issued in the very millisecond of the revocation may have been issued before it).
    before: [HashMap<String, (Millis, String)>; 3],
    /// Users whose every token is refused while they stay disabled.
    disabled: HashSet<String>,
}

impl Revocations {
    fn of_kind(&self, kind: Kind) -> &HashMap<String, (Millis, String)> {
        &self.before[kind as usize]
    }

    /// Refuses `who` when its token was revoked or its user is disabled.
    pub fn check(&self, who: &Principal) -> Result<(), AuthError> {
        let (kind, name) = key_of(who);
        if kind == Kind::User && self.disabled.contains(name) {
            return Err(AuthError::Revoked(format!("the account {name} is disabled")));
        }
        match self.of_kind(kind).get(name) {
            Some((before, why)) if who.issued_ms <= before.0 => Err(AuthError::Revoked(why.clone())),
            _ => Ok(()),
        }
    }

    /// Revokes `subject`'s tokens issued before `before`, for the reason `why` (what a refused
    /// caller is told). A moment earlier than one already recorded changes nothing (revocations
    /// only move forward); true when it changed.
    pub fn revoke(&mut self, subject: Subject, before: Millis, why: &str) -> bool {
        let (kind, name) = subject.split();
        let names = &mut self.before[kind as usize];
        match names.get(name) {
            Some((known, _)) if *known >= before => false,
            _ => {
                names.insert(name.to_owned(), (before, why.to_owned()));
                true
            }
        }
    }

    pub fn set_disabled(&mut self, username: &str, disabled: bool) {
        if disabled {
            self.disabled.insert(username.to_owned());
        } else {
            self.disabled.remove(username);
        }
    }

    /// Takes `fresh` (as read from the store) in place of what is known, and answers the
    /// subjects whose open sessions must now close, one entry each, with the moment before which
    /// their tokens no longer count and why: the users disabled since (every session,
    /// `Millis(i64::MAX)`), and the subjects revoked later than before.
    pub fn replace(&mut self, fresh: Revocations) -> Vec<(Subject, Millis, String)> {
        let mut closing: HashMap<Subject, (Millis, String)> = HashMap::new();
        for kind in Kind::ALL {
            let known = self.of_kind(kind);
            for (name, (at, why)) in fresh.of_kind(kind) {
                if known.get(name).is_none_or(|(was, _)| was < at) {
                    closing.insert(Subject::of_kind(kind, name), (*at, why.clone()));
                }
            }
        }
        for user in fresh.disabled.difference(&self.disabled) {
            let why = format!("the account {user} is disabled");
            closing.insert(Subject::user(user), (Millis(i64::MAX), why));
        }
        let mut closing: Vec<(Subject, Millis, String)> =
            closing.into_iter().map(|(s, (at, why))| (s, at, why)).collect();
        closing.sort();
        *self = fresh;
        closing
    }

    /// Subjects with a revocation, and disabled users.
    pub fn counts(&self) -> (usize, usize) {
        (self.before.iter().map(HashMap::len).sum(), self.disabled.len())
    }
}

/// The list every verifier of a node reads (HTTP workers and STOMP sessions), written by the
/// accounts part when an admin revokes and when it reads the store.
#[derive(Debug, Clone, Default)]
pub struct SharedRevocations(Arc<RwLock<Revocations>>);

impl SharedRevocations {
    pub fn check(&self, who: &Principal) -> Result<(), AuthError> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).check(who)
    }

    /// Changes the list under its lock.
    pub fn update<R>(&self, change: impl FnOnce(&mut Revocations) -> R) -> R {
        change(&mut self.0.write().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Whether an open session of `who` must close for a revocation of `subject` before `before`.
pub fn closes(who: &Principal, subject: &Subject, before: Millis) -> bool {
    key_of(who) == subject.split() && who.issued_ms <= before.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(name: &str, role: Role, issued_ms: i64) -> Principal {
        Principal {
            name: name.into(),
            role,
            client: (role == Role::Client).then(|| name.to_owned()),
            taxi: (role == Role::Driver).then(|| name.to_owned()),
            expires_ms: i64::MAX,
            issued_ms,
        }
    }

    #[test]
    fn tokens_issued_before_the_revocation_are_refused_later_ones_pass() {
        let mut r = Revocations::default();
        assert!(r.revoke(Subject::client("gpc-1"), Millis(1_000), "revoked by admin"));
        assert!(matches!(
            r.check(&who("gpc-1", Role::Client, 999)),
            Err(AuthError::Revoked(_))
        ));
        assert!(
            r.check(&who("gpc-1", Role::Client, 1_000)).is_err(),
            "the same millisecond counts as before"
        );
        assert_eq!(r.check(&who("gpc-1", Role::Client, 1_001)), Ok(()));
        // Another subject, or the same name in another role, is not touched.
        assert_eq!(r.check(&who("gpc-2", Role::Client, 0)), Ok(()));
        assert_eq!(r.check(&who("gpc-1", Role::Operator, 0)), Ok(()));
        assert_eq!(r.check(&who("gpc-1", Role::Driver, 0)), Ok(()));
    }

    #[test]
    fn revocations_only_move_forward() {
        let mut r = Revocations::default();
        assert!(r.revoke(Subject::taxi("S1"), Millis(2_000), "later"));
        assert!(!r.revoke(Subject::taxi("S1"), Millis(1_000), "earlier"));
        assert!(matches!(
            r.check(&who("S1", Role::Driver, 1_500)),
            Err(AuthError::Revoked(_))
        ));
    }

    #[test]
    fn a_disabled_user_is_refused_whenever_the_token_was_issued_until_enabled_again() {
        let mut r = Revocations::default();
        r.set_disabled("kim", true);
        let err = r.check(&who("kim", Role::Operator, i64::MAX - 1)).unwrap_err();
        assert_eq!(err, AuthError::Revoked("the account kim is disabled".into()));
        // A client with the same name is another subject.
        assert_eq!(r.check(&who("kim", Role::Client, 0)), Ok(()));
        r.set_disabled("kim", false);
        assert_eq!(r.check(&who("kim", Role::Operator, 0)), Ok(()));
    }

    #[test]
    fn replacing_from_the_store_names_the_sessions_that_must_close() {
        let mut known = Revocations::default();
        known.revoke(Subject::client("a"), Millis(10), "a");
        known.revoke(Subject::client("b"), Millis(10), "b");
        let mut fresh = known.clone();
        fresh.revoke(Subject::client("b"), Millis(20), "b again");
        fresh.revoke(Subject::taxi("S1"), Millis(5), "s1");
        // Disabled and revoked at once: one entry, the disabling's.
        fresh.revoke(Subject::user("kim"), Millis(30), "kim revoked");
        fresh.set_disabled("kim", true);
        let closing = known.replace(fresh.clone());
        assert_eq!(
            closing,
            [
                (Subject::client("b"), Millis(20), "b again".to_owned()),
                (Subject::taxi("S1"), Millis(5), "s1".to_owned()),
                (
                    Subject::user("kim"),
                    Millis(i64::MAX),
                    "the account kim is disabled".to_owned()
                ),
            ]
        );
        assert_eq!(known, fresh);
        assert!(known.replace(fresh).is_empty());
    }

    #[test]
    fn a_session_closes_only_for_its_own_subject_and_an_older_token() {
        let s = who("gpc-1", Role::Client, 100);
        assert!(closes(&s, &Subject::client("gpc-1"), Millis(100)));
        assert!(!closes(&s, &Subject::client("gpc-1"), Millis(99)));
        assert!(!closes(&s, &Subject::user("gpc-1"), Millis(i64::MAX)));
    }

    #[test]
    fn stored_subjects_parse_back_and_strangers_do_not() {
        assert_eq!(Subject::parse("user:kim"), Some(Subject::user("kim")));
        assert_eq!(Subject::parse("taxi:12가3456"), Some(Subject::taxi("12가3456")));
        assert_eq!(Subject::parse("device:x"), None);
        assert_eq!(Subject::parse("user:"), None);
        assert_eq!(Subject::parse("nobody"), None);
    }
}
