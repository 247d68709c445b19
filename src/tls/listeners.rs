//! What the listeners take when TLS is on: the HTTP listener's rustls configuration and the TCP
//! STOMP listener's acceptor, both presenting the one [`CertSlot`].

use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

use super::pem::client_roots;
use super::{server_config, Alpn, CertSlot, TlsError};

/// TLS for every listener of one server.
pub struct ListenerTls {
    /// The certificate they all present; SIGHUP reloads it.
    pub slot: Arc<CertSlot>,
    /// The HTTP listener's (HTTP/1.1, WebSocket and SockJS).
    pub http: ServerConfig,
    /// The TCP STOMP listener's.
    pub tcp: TlsAcceptor,
}

impl std::fmt::Debug for ListenerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListenerTls").field("slot", &self.slot).finish()
    }
}

impl ListenerTls {
    /// Reads `cert` and `key` (and the client CA, when there is one) and builds both
    /// configurations (ring's provider).
    pub fn load(cert: &Path, key: &Path, client_ca: Option<&Path>) -> Result<ListenerTls, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let slot = Arc::new(CertSlot::load(cert, key, provider.clone())?);
        let roots = client_ca.map(client_roots).transpose()?.map(Arc::new);
        let http = server_config(slot.clone(), provider.clone(), roots.clone(), Alpn::Http)?;
        let tcp = TlsAcceptor::from(Arc::new(server_config(slot.clone(), provider, roots, Alpn::None)?));
        Ok(ListenerTls { slot, http, tcp })
    }
}
