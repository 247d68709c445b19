//! The rustls configuration of a listener: TLS 1.3 and 1.2 with rustls's own (modern) cipher
//! suites, no client authentication, the certificate from the [`CertSlot`].

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::ServerConfig;

use super::{CertSlot, TlsError};

/// The application protocol a listener offers in ALPN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alpn {
    /// HTTP/1.1 (the HTTP listener: WebSocket and SockJS upgrade from it). actix-web adds it.
    Http,
    /// None offered: TCP STOMP has no registered ALPN name.
    None,
}

/// A configuration presenting `slot`'s certificate.
pub fn server_config(slot: Arc<CertSlot>, provider: Arc<CryptoProvider>, alpn: Alpn) -> Result<ServerConfig, TlsError> {
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_cert_resolver(slot);
    config.alpn_protocols = match alpn {
        Alpn::Http => vec![b"http/1.1".to_vec()],
        Alpn::None => Vec::new(),
    };
    Ok(config)
}
