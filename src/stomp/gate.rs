//! The session's view of authorisation: a [`Gate`] the server implements with its auth module.
//!
//! Owns only the contract, so `stomp` stays independent of `auth` (which depends on nothing
//! either). It must not verify tokens or know roles itself.

use super::client::Connect;
use crate::time::Millis;

/// What the session asks of the server's authorisation.
pub trait Gate {
    /// Who a session acts for once authenticated (e.g. subject, role, client or taxi claim).
    type Principal: Clone + std::fmt::Debug;
    /// What a permitted SEND goes to, as the gate classified its destination; carried in
    /// [`Action::Publish`](super::Action::Publish) so nothing downstream parses it again.
    type Target: Clone + std::fmt::Debug;

    /// Checks CONNECT credentials: an `Authorization: Bearer <jwt>` header, or the jwt as
    /// `passcode` (login may be anything); [`Connect::credential`] picks the one to check.
    fn authenticate(&self, connect: &Connect, now: Millis) -> Result<Authenticated<Self::Principal>, Denied>;

    fn may_subscribe(&self, who: &Self::Principal, destination: &str) -> Result<(), Denied>;

    fn may_send(&self, who: &Self::Principal, destination: &str) -> Result<Self::Target, Denied>;
}

/// A successful authentication. `expires` (the token's `exp`) is re-checked on every SUBSCRIBE,
/// SEND and tick; the session closes with a "token expired" ERROR once it has passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated<P> {
    pub principal: P,
    pub expires: Option<Millis>,
}

/// A refusal; `reason` goes to the client in the ERROR frame's body, so it must not leak secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    pub reason: String,
}

impl Denied {
    pub fn new(reason: impl Into<String>) -> Self {
        Denied { reason: reason.into() }
    }
}
