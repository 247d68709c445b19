//! A session's CONNECT with what its TLS handshake showed: [`CertifiedGate`] wraps the server's
//! gate for a session whose connection presented a verified client certificate (or none), and
//! lets `auth::client_cert` decide what that certificate is worth (`KWANJE_TLS_CLIENT_CERT`).
//! Everything but `authenticate` passes through.

use crate::auth::client_cert::{admit, certified_principal, ClientCertMode};
use crate::auth::Principal;
use crate::broker::acl::SendTarget;
use crate::stomp::{Authenticated, Connect, Denied, Gate};
use crate::time::Millis;

/// `inner`, for the CONNECT of a session whose connection's certificate named `cert`.
pub struct CertifiedGate<'a, G> {
    pub inner: &'a G,
    pub cert: Option<&'a str>,
    pub mode: ClientCertMode,
}

impl<G> Gate for CertifiedGate<'_, G>
where
    G: Gate<Principal = Principal, Target = SendTarget>,
{
    type Principal = Principal;
    type Target = SendTarget;

    fn authenticate(&self, connect: &Connect, now: Millis) -> Result<Authenticated<Principal>, Denied> {
        if connect.credential().is_none() {
            if let Some(client) = self.cert.filter(|_| self.mode == ClientCertMode::Instead) {
                log::debug!("stomp connect by client certificate client={client}");
                return Ok(Authenticated {
                    principal: certified_principal(client),
                    expires: None,
                });
            }
            // No token and no certificate that stands in for one: the gate says what is missing.
            return self.inner.authenticate(connect, now);
        }
        let authenticated = self.inner.authenticate(connect, now)?;
        admit(self.mode, self.cert, Some(Ok(authenticated.principal.clone())))
            .map_err(|err| Denied::new(err.to_string()))?;
        Ok(authenticated)
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
    use std::time::Duration;

    use super::*;
    use crate::auth::{Claims, Keys, Role};
    use crate::stomp::{Command, Frame};
    use crate::transport::gate::StompGate;

    fn connect(token: Option<&str>) -> Connect {
        let frame = Frame::new(Command::Connect);
        let frame = match token {
            Some(token) => frame.with_header("passcode", token),
            None => frame,
        };
        Connect::parse(&frame).unwrap()
    }

    fn setup() -> (StompGate, String) {
        let keys = Arc::new(Keys::hs256(b"cert-gate-test-secret-cert-gate-test"));
        let mut claims = Claims::new("gate-1", Role::Client, Millis::now(), Duration::from_secs(60));
        claims.client = Some("gate-1".into());
        let token = keys.issue(&claims).unwrap();
        (StompGate::new(keys), token)
    }

    #[test]
    fn a_certificate_stands_in_for_the_token_only_when_the_site_says_so() {
        let (inner, token) = setup();
        let now = Millis::now();
        let gate = |cert, mode| CertifiedGate {
            inner: &inner,
            cert,
            mode,
        };
        let by_cert = gate(Some("gate-1"), ClientCertMode::Instead)
            .authenticate(&connect(None), now)
            .unwrap();
        assert_eq!(by_cert.principal.client.as_deref(), Some("gate-1"));
        assert!(gate(Some("gate-1"), ClientCertMode::Off)
            .authenticate(&connect(None), now)
            .is_err());
        assert!(gate(Some("gate-1"), ClientCertMode::Also)
            .authenticate(&connect(None), now)
            .is_err());
        assert!(gate(None, ClientCertMode::Also)
            .authenticate(&connect(Some(&token)), now)
            .is_err());
        assert!(gate(Some("gate-1"), ClientCertMode::Also)
            .authenticate(&connect(Some(&token)), now)
            .is_ok());
        let mismatch = gate(Some("gate-2"), ClientCertMode::Instead)
            .authenticate(&connect(Some(&token)), now)
            .unwrap_err();
        assert!(mismatch.reason.contains("gate-2"), "{mismatch:?}");
    }
}
