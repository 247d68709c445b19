//! The rustls configuration of a listener: TLS 1.3 and 1.2 with rustls's own (modern) cipher
//! suites, the certificate from the [`CertSlot`], and client certificates verified against the
//! client CA when there is one (offered, never required: the application decides who needs one).

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

use super::{CertSlot, TlsError};

/// The application protocol a listener offers in ALPN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alpn {
    /// HTTP/1.1 (the HTTP listener: WebSocket and SockJS upgrade from it). actix-web adds it.
    Http,
    /// None offered: TCP STOMP has no registered ALPN name.
    None,
}

/// A configuration presenting `slot`'s certificate; with `client_ca`, clients may present a
/// certificate it signed, verified in the handshake (one it did not sign fails the handshake).
pub fn server_config(
    slot: Arc<CertSlot>,
    provider: Arc<CryptoProvider>,
    client_ca: Option<Arc<RootCertStore>>,
    alpn: Alpn,
) -> Result<ServerConfig, TlsError> {
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(roots) => {
            let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider)
                .allow_unauthenticated()
                .build()
                .map_err(|err| TlsError::ClientCa(err.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_cert_resolver(slot);
    config.alpn_protocols = match alpn {
        Alpn::Http => vec![b"http/1.1".to_vec()],
        Alpn::None => Vec::new(),
    };
    Ok(config)
}
