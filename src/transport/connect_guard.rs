//! Failed STOMP CONNECTs cost the attacker more: per client address, the same ladder as failed
//! logins ([`LoginThrottle`](crate::auth::throttle::LoginThrottle), the pure core, kept in
//! [`ConnectThrottle`]): `KWANJE_LOGIN_FREE_ATTEMPTS` bad tokens in a row
//! are free, then each CONNECT from that address waits 1 s, 2 s, 4 s, ... up to
//! `KWANJE_LOGIN_MAX_DELAY_MS`, answered `ERROR message:authentication failed` with the wait in
//! its body and closed, before the token is even looked at. A CONNECT that authenticates clears
//! the address's record.
//!
//! [`ThrottledGate`] wraps the server's gate for the CONNECT of one session from a known
//! address; everything but `authenticate` passes through.

use std::net::IpAddr;

use crate::auth::throttle::Admission;
use crate::auth::Principal;
use crate::broker::acl::SendTarget;
use crate::limit::connects::{key, ConnectThrottle};
use crate::stomp::{Authenticated, Connect, Denied, Gate};
use crate::time::Millis;

/// The server's gate, with the CONNECT of a session from `addr` throttled.
pub struct ThrottledGate<'a, G> {
    pub inner: &'a G,
    pub throttle: &'a ConnectThrottle,
    pub addr: IpAddr,
}

impl<G> Gate for ThrottledGate<'_, G>
where
    G: Gate<Principal = Principal, Target = SendTarget>,
{
    type Principal = Principal;
    type Target = SendTarget;

    fn authenticate(&self, connect: &Connect, now: Millis) -> Result<Authenticated<Principal>, Denied> {
        let key = key(self.addr);
        let (admission, _) = self.throttle.with(|t| t.admit(self.addr, &key, now));
        if let Admission::Throttled { retry_after } = admission {
            log::debug!(
                "stomp connect throttled addr={} retry_after_s={}",
                self.addr,
                retry_after.as_secs()
            );
            return Err(Denied::new(format!(
                "too many failed CONNECTs from {}: retry after {} s",
                self.addr,
                retry_after.as_secs()
            )));
        }
        match self.inner.authenticate(connect, now) {
            Ok(ok) => {
                self.throttle.with(|t| t.succeeded(self.addr, &key));
                Ok(ok)
            }
            Err(denied) => {
                self.throttle.with(|t| t.failed(self.addr, &key, now));
                self.throttle.prune(now);
                log::info!("stomp connect refused addr={} reason={:?}", self.addr, denied.reason);
                Err(denied)
            }
        }
    }

    fn may_subscribe(&self, who: &Principal, destination: &str) -> Result<(), Denied> {
        self.inner.may_subscribe(who, destination)
    }

    fn may_send(&self, who: &Principal, destination: &str) -> Result<SendTarget, Denied> {
        self.inner.may_send(who, destination)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::auth::throttle::ThrottleSettings;
    use crate::auth::Keys;
    use crate::stomp::{Command, Frame};
    use crate::transport::gate::StompGate;

    fn connect(token: &str) -> Connect {
        Connect::parse(&Frame::new(Command::Connect).with_header("passcode", token)).unwrap()
    }

    #[test]
    fn bad_tokens_from_one_address_are_refused_unchecked_after_the_free_attempts() {
        let keys = Arc::new(Keys::hs256(b"connect-guard-secret-connect-guard"));
        let inner = StompGate::new(keys);
        let settings = ThrottleSettings {
            free_attempts: 2,
            ..ThrottleSettings::default()
        };
        let throttle = ConnectThrottle::new(settings);
        let attacker = ThrottledGate {
            inner: &inner,
            throttle: &throttle,
            addr: "10.0.0.9".parse().unwrap(),
        };
        let now = Millis(1_000_000);
        for _ in 0..2 {
            let denied = attacker.authenticate(&connect("x.y.z"), now).unwrap_err();
            assert!(!denied.reason.contains("retry after"), "{}", denied.reason);
        }
        let denied = attacker.authenticate(&connect("x.y.z"), now).unwrap_err();
        assert_eq!(denied.reason, "too many failed CONNECTs from 10.0.0.9: retry after 1 s");
        // The wait grows with each failure once it has passed.
        let later = Millis(now.0 + 1_000);
        attacker.authenticate(&connect("x.y.z"), later).unwrap_err();
        let denied = attacker.authenticate(&connect("x.y.z"), later).unwrap_err();
        assert!(denied.reason.ends_with("retry after 2 s"), "{}", denied.reason);
        assert_eq!(throttle.refused(), (3, 2));

        // Another address is not affected.
        let other = ThrottledGate {
            addr: "10.0.0.10".parse().unwrap(),
            ..attacker
        };
        let denied = other.authenticate(&connect("x.y.z"), later).unwrap_err();
        assert!(!denied.reason.contains("retry after"), "{}", denied.reason);
    }
}
