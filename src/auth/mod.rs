//! Authentication and authorisation: JWT issue and verify, roles, operator passwords.
//!
//! Pure: no actix, no database. The HTTP extractor and the STOMP gate call [`Keys::verify`]
//! and the role checks here; where the signing key comes from (configuration or the store) is
//! decided by the caller.
//!
//! Errors: [`AuthError`] says why a request is refused; the edges map `Forbidden` to 403 and
//! the rest to 401 (HTTP) or an ERROR frame (STOMP).

pub mod client_cert;
pub mod jwt;
pub mod outside;
pub mod password;
pub mod revocation;
pub mod roles;
pub mod throttle;

pub use jwt::{Claims, Keys, DEFAULT_TTL};
pub use revocation::{Revocations, Subject};
pub use roles::{Principal, Role};

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AuthError {
    #[error("no bearer token was given")]
    Missing,
    #[error("the token is malformed: {0}")]
    Malformed(String),
    #[error("the token has expired")]
    Expired,
    #[error("the token's signature is not valid")]
    BadSignature,
    #[error("the token is signed with an algorithm this server does not accept")]
    WrongAlgorithm,
    #[error("the token's claims are not valid: {0}")]
    BadClaims(String),
    /// An outside token signed with a key the identity provider's key set does not hold (yet:
    /// the set is fetched again soon after).
    #[error("the token's key {0:?} is not among the identity provider's keys")]
    UnknownKey(String),
    /// A verified token that no longer counts ([`Revocations`]).
    #[error("the token was revoked: {0}")]
    Revoked(String),
    #[error("wrong username or password")]
    BadCredentials,
    #[error("{0}")]
    Forbidden(String),
    #[error("this client must also present its client certificate (KWANJE_TLS_CLIENT_CERT=also)")]
    CertificateRequired,
    #[error("the client certificate names {certificate} but the token names {token}")]
    CertificateMismatch { certificate: String, token: String },
}
