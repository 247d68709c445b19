//! The server's STOMP [`Gate`]: CONNECT credentials checked with the server's [`Keys`], and
//! every SUBSCRIBE and SEND checked against the destination ACL.
//!
//! Owns the glue between `stomp` (which knows no auth) and `auth` + `broker::acl`. It must not
//! look at message bodies: rights that depend on data (a client heartbeating its own devices)
//! are checked by [`super::routes`](mod@super::routes).

use std::sync::Arc;

use crate::auth::revocation::SharedRevocations;
use crate::auth::{Keys, Principal};
use crate::broker::acl::{self, SendTarget};
use crate::stomp::{Authenticated, Connect, Denied, Gate};
use crate::time::Millis;

/// What a CONNECT without any credential is told.
pub const NO_TOKEN: &str = "no token: send `Authorization: Bearer <jwt>` or the jwt as `passcode`";

#[derive(Debug, Clone)]
pub struct StompGate {
    keys: Arc<Keys>,
    revocations: SharedRevocations,
}

impl StompGate {
    pub fn new(keys: Arc<Keys>) -> Self {
        StompGate {
            keys,
            revocations: SharedRevocations::default(),
        }
    }

    /// Refuses the tokens `revocations` revokes, and disabled users'.
    pub fn with_revocations(self, revocations: SharedRevocations) -> Self {
        StompGate { revocations, ..self }
    }

    /// Whether `who`'s token still counts (checked again once a session has registered with
    /// the broker: a revocation between CONNECT and the registration would otherwise miss it).
    pub fn still_valid(&self, who: &Principal) -> Result<(), crate::auth::AuthError> {
        self.revocations.check(who)
    }
}

impl Gate for StompGate {
    type Principal = Principal;
    type Target = SendTarget;

    fn authenticate(&self, connect: &Connect, _now: Millis) -> Result<Authenticated<Principal>, Denied> {
        let token = connect.credential().ok_or_else(|| Denied::new(NO_TOKEN))?;
        let principal = self.keys.verify(token).map_err(|err| Denied::new(err.to_string()))?;
        self.revocations
            .check(&principal)
            .map_err(|err| Denied::new(err.to_string()))?;
        acl::check_identity(&principal).map_err(|err| Denied::new(err.to_string()))?;
        Ok(Authenticated {
            expires: Some(Millis(principal.expires_ms)),
            principal,
        })
    }

    fn may_subscribe(&self, who: &Principal, destination: &str) -> Result<(), Denied> {
        acl::may_subscribe(who, destination).map_err(|err| Denied::new(err.to_string()))
    }

    fn may_send(&self, who: &Principal, destination: &str) -> Result<SendTarget, Denied> {
        acl::may_send(who, destination).map_err(|err| Denied::new(err.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::auth::{Claims, Role};
    use crate::stomp::{Command, Frame};

    fn connect(headers: &[(&str, &str)]) -> Connect {
        let frame = headers
            .iter()
            .fold(Frame::new(Command::Connect), |f, (k, v)| f.with_header(*k, *v));
        Connect::parse(&frame).unwrap()
    }

    #[test]
    fn tokens_are_verified_and_claims_required() {
        let keys = Arc::new(Keys::hs256(b"gate-test-secret-gate-test-secret"));
        let gate = StompGate::new(keys.clone());
        let now = Millis::now();
        let mut claims = Claims::new("gate-1", Role::Client, now, Duration::from_secs(60));
        claims.client = Some("gate-1".into());
        let token = keys.issue(&claims).unwrap();
        let bearer = format!("Bearer {token}");
        let ok = gate.authenticate(&connect(&[("Authorization", &bearer)]), now).unwrap();
        assert_eq!(ok.principal.client.as_deref(), Some("gate-1"));
        assert_eq!(ok.expires, Some(Millis(claims.exp * 1_000)));
        assert!(gate.authenticate(&connect(&[("passcode", &token)]), now).is_ok());

        let denied = gate.authenticate(&connect(&[]), now).unwrap_err();
        assert_eq!(denied.reason, NO_TOKEN);
        assert!(gate.authenticate(&connect(&[("passcode", "x.y.z")]), now).is_err());

        claims.client = None;
        let unnamed = keys.issue(&claims).unwrap();
        let denied = gate.authenticate(&connect(&[("passcode", &unnamed)]), now).unwrap_err();
        assert!(denied.reason.contains("\"client\" claim"), "{}", denied.reason);
    }
}
