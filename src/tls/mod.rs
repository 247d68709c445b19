//! TLS on every listener, with rustls: the server's certificate and key from PEM files
//! (`KWANJE_TLS_CERT`, `KWANJE_TLS_KEY`), served to HTTP, WebSocket, SockJS and TCP STOMP alike,
//! and read again on SIGHUP without dropping a session.
//!
//! The one certificate lives in a [`CertSlot`], the resolver of every listener's rustls
//! configuration: a reload swaps what the slot holds, so the next handshake presents the new
//! certificate and connections already open keep theirs. A reload that fails (a half-written
//! file, a key that does not match) keeps the certificate being served and says why in the log.
//!
//! With `KWANJE_TLS_CLIENT_CA`, a client may present a certificate signed by that CA; one that
//! does is verified in the handshake and the client its CN names ([`CertifiedClient`]) goes with
//! the connection to the authentication (`auth::client_cert` decides what it is worth). A client
//! without a certificate still connects: operators' browsers have none.

mod cert_slot;
mod client_identity;
mod error;
mod listeners;
mod pem;
mod server_config;
mod sighup;

pub use cert_slot::CertSlot;
pub use client_identity::{client_named_by, CertifiedClient};
pub use error::TlsError;
pub use listeners::ListenerTls;
pub use pem::load_certified_key;
pub use server_config::{server_config, Alpn};
pub use sighup::reload_on_sighup;
