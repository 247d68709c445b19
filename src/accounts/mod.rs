//! Accounts and token revocation at run time (issue #16): the node's list of revoked tokens
//! and disabled users ([`Revocations`]), kept in step with the store, and the open STOMP
//! sessions it closes.
//!
//! A revocation made here counts at once on this node: the list every verifier reads is changed
//! before the answer goes out, and the broker tells the subject's open sessions
//! ([`RevokeSessions`]). Other nodes of a cluster read the store every
//! [`SYNC_EVERY`] ([`sync`]), so there it counts within that period.

pub mod jwks;
pub mod sync;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use actix::Addr;

use crate::auth::revocation::SharedRevocations;
use crate::auth::{Revocations, Subject};
use crate::broker::messages::RevokeSessions;
use crate::broker::Broker;
#[cfg(doc)]
use crate::store::models::revocations;
use crate::store::models::users;
use crate::store::{Store, StoreError};
use crate::time::{Clock, Millis};

pub use sync::SYNC_EVERY;

/// Revokes tokens and disables users, for the HTTP handlers.
#[derive(Clone)]
pub struct Accounts {
    store: Store,
    broker: Addr<Broker>,
    clock: Arc<dyn Clock>,
    revocations: SharedRevocations,
    /// Changes this node made to the list: a read of the store that began before one of them
    /// may not hold it yet, and is not taken ([`sync::run`]).
    local_changes: Arc<AtomicU64>,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts").finish_non_exhaustive()
    }
}

impl Accounts {
    /// With the list as the store holds it at start.
    pub fn new(store: Store, broker: Addr<Broker>, clock: Arc<dyn Clock>, known: Revocations) -> Accounts {
        let revocations = SharedRevocations::default();
        revocations.update(|r| *r = known);
        Accounts {
            store,
            broker,
            clock,
            revocations,
            local_changes: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The list the verifiers read.
    pub fn revocations(&self) -> SharedRevocations {
        self.revocations.clone()
    }

    /// The moment a revocation made now takes: tokens issued at or before it no longer count.
    pub fn now(&self) -> Millis {
        self.clock.now()
    }

    /// Takes a revocation the caller has stored (with [`revocations::revoke`], in the same
    /// transaction as the change that caused it and its audit entry) into the list every verifier
    /// reads, and closes the sessions opened with one of its tokens (`user`: the broker's user key
    /// of the subject, [`crate::broker::acl::user_of`]).
    pub fn revoked(&self, subject: Subject, user: &str, before: Millis, why: String) {
        self.local_changes.fetch_add(1, Ordering::AcqRel);
        self.revocations.update(|r| r.revoke(subject.clone(), before, &why));
        self.close_sessions(subject, user, before, why);
    }

    /// Marks `username` disabled or not in the list (the store was written by the caller); a
    /// disabled user's sessions close.
    pub fn set_disabled(&self, username: &str, disabled: bool) {
        self.local_changes.fetch_add(1, Ordering::AcqRel);
        self.revocations.update(|r| r.set_disabled(username, disabled));
        if disabled {
            let why = format!("the account {username} is disabled");
            self.close_sessions(Subject::user(username), username, Millis(i64::MAX), why);
        }
    }

    fn close_sessions(&self, subject: Subject, user: &str, before: Millis, why: String) {
        log::info!("accounts revoked subject={subject} before_ms={} why={why:?}", before.0);
        self.broker.do_send(RevokeSessions {
            user: user.to_owned(),
            subject,
            before,
            why,
        });
    }

    /// Reads the list from the store.
    pub async fn read(&self) -> Result<Revocations, StoreError> {
        self.store.read(sync::read_list).await
    }
}

/// The list as the store holds it (at start, before the actors run).
pub fn load_blocking(store: &Store) -> Result<Revocations, StoreError> {
    store.read_blocking(sync::read_list)
}

/// Enabled admins left if `username` lost its admin role or were disabled (the last one may not).
/// On PostgreSQL the admins' rows are locked until the transaction ends, so two demotions at
/// once cannot both see another admin left.
pub fn admins_left_without(conn: &mut crate::store::DbConnection, username: &str) -> diesel::QueryResult<i64> {
    let admins = users::enabled_with_role_locked(conn, crate::auth::Role::Admin.as_str())?;
    let is_one =
        users::find(conn, username)?.is_some_and(|u| !u.disabled && u.role == crate::auth::Role::Admin.as_str());
    Ok(if is_one { admins - 1 } else { admins })
}
