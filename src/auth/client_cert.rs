//! Client certificates (mutual TLS) as credentials: who a gate PC is when the TLS layer has
//! verified a certificate naming it, and how that combines with a token, as the site chose
//! (`KWANJE_TLS_CLIENT_CERT`). Pure: the transports hand in what they saw.

use super::{AuthError, Principal, Role};

/// How a verified client certificate counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientCertMode {
    /// No client certificates (`KWANJE_TLS_CLIENT_CA` unset): tokens only.
    Off,
    /// A certificate naming a client is enough, in place of its token (a token still works).
    Instead,
    /// A client (role `client`) needs both: its token and a certificate naming the same client.
    Also,
}

impl ClientCertMode {
    /// `instead` or `also` (the setting's values).
    pub fn parse(text: &str) -> Result<ClientCertMode, String> {
        match text.trim() {
            "instead" | "" => Ok(ClientCertMode::Instead),
            "also" => Ok(ClientCertMode::Also),
            other => Err(format!(
                "KWANJE_TLS_CLIENT_CERT must be `instead` or `also`, not `{other}`"
            )),
        }
    }
}

/// The principal a certificate naming `client` stands for: that gate PC or kiosk, with no
/// expiry of its own (the certificate's validity was checked in the handshake).
pub fn certified_principal(client: &str) -> Principal {
    Principal {
        name: client.to_owned(),
        role: Role::Client,
        client: Some(client.to_owned()),
        taxi: None,
        expires_ms: i64::MAX,
        issued_ms: i64::MAX,
    }
}

/// Who is admitted, given the verified certificate's client (`cert`) and the verified token
/// (`token`; `None`: no token was given, `Some(Err)`: a token was given and refused).
pub fn admit(
    mode: ClientCertMode,
    cert: Option<&str>,
    token: Option<Result<Principal, AuthError>>,
) -> Result<Principal, AuthError> {
    let cert = cert.filter(|_| mode != ClientCertMode::Off);
    let principal = match (token, cert) {
        (Some(token), _) => token?,
        (None, Some(client)) if mode == ClientCertMode::Instead => return Ok(certified_principal(client)),
        (None, _) => return Err(AuthError::Missing),
    };
    if principal.role != Role::Client {
        return Ok(principal);
    }
    match (cert, principal.client.as_deref()) {
        (Some(cert), Some(token)) if cert != token => Err(AuthError::CertificateMismatch {
            certificate: cert.to_owned(),
            token: token.to_owned(),
        }),
        (None, _) if mode == ClientCertMode::Also => Err(AuthError::CertificateRequired),
        _ => Ok(principal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client_token(client: &str) -> Option<Result<Principal, AuthError>> {
        Some(Ok(certified_principal(client)))
    }

    fn operator() -> Option<Result<Principal, AuthError>> {
        Some(Ok(Principal {
            name: "kim".into(),
            role: Role::Operator,
            client: None,
            taxi: None,
            expires_ms: 1,
            issued_ms: 0,
        }))
    }

    #[test]
    fn off_is_tokens_only_whatever_the_handshake_saw() {
        let mode = ClientCertMode::Off;
        assert_eq!(admit(mode, Some("gate-1"), None), Err(AuthError::Missing));
        assert!(admit(mode, Some("gate-1"), client_token("gate-2")).is_ok());
    }

    #[test]
    fn instead_a_certificate_is_enough_and_a_token_still_works() {
        let mode = ClientCertMode::Instead;
        assert_eq!(
            admit(mode, Some("gate-1"), None).unwrap().client.as_deref(),
            Some("gate-1")
        );
        assert!(admit(mode, None, client_token("gate-1")).is_ok());
        assert!(admit(mode, Some("gate-1"), client_token("gate-1")).is_ok());
        assert_eq!(admit(mode, None, None), Err(AuthError::Missing));
        // A bad token is not rescued by a certificate: the client said who it is and was wrong.
        assert_eq!(
            admit(mode, Some("gate-1"), Some(Err(AuthError::Expired))),
            Err(AuthError::Expired)
        );
    }

    #[test]
    fn a_certificate_and_a_token_naming_different_clients_are_refused() {
        for mode in [ClientCertMode::Instead, ClientCertMode::Also] {
            assert!(matches!(
                admit(mode, Some("gate-1"), client_token("gate-2")),
                Err(AuthError::CertificateMismatch { .. })
            ));
        }
    }

    #[test]
    fn also_needs_both_for_clients_and_leaves_people_alone() {
        let mode = ClientCertMode::Also;
        assert_eq!(
            admit(mode, None, client_token("gate-1")),
            Err(AuthError::CertificateRequired)
        );
        assert_eq!(admit(mode, Some("gate-1"), None), Err(AuthError::Missing));
        assert!(admit(mode, Some("gate-1"), client_token("gate-1")).is_ok());
        // Operators log in from browsers without certificates.
        assert!(admit(mode, None, operator()).is_ok());
    }

    #[test]
    fn the_setting_parses_its_two_values() {
        assert_eq!(ClientCertMode::parse("also"), Ok(ClientCertMode::Also));
        assert_eq!(ClientCertMode::parse("instead"), Ok(ClientCertMode::Instead));
        assert!(ClientCertMode::parse("either").is_err());
    }
}
