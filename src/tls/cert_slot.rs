//! The certificate every TLS listener presents, swapped in place when the files are read again.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::{load_certified_key, TlsError};

/// The server's certificate and key, read from their files, the resolver of every listener.
pub struct CertSlot {
    cert: PathBuf,
    key: PathBuf,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
}

impl fmt::Debug for CertSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertSlot")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .finish()
    }
}

impl CertSlot {
    /// Reads `cert` and `key` now: a server never starts with a certificate it cannot serve.
    pub fn load(cert: &Path, key: &Path, provider: Arc<CryptoProvider>) -> Result<CertSlot, TlsError> {
        let current = load_certified_key(cert, key, &provider)?;
        Ok(CertSlot {
            cert: cert.to_owned(),
            key: key.to_owned(),
            provider,
            current: RwLock::new(Arc::new(current)),
        })
    }

    /// Reads the files again and serves what they hold from the next handshake on. On an error
    /// the certificate being served stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let fresh = Arc::new(load_certified_key(&self.cert, &self.key, &self.provider)?);
        *self.current.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = fresh;
        Ok(())
    }

    /// The certificate chain served now (the server's own first).
    pub fn current(&self) -> Arc<CertifiedKey> {
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The certificate file's path, for the log.
    pub fn cert_path(&self) -> &Path {
        &self.cert
    }
}

impl ResolvesServerCert for CertSlot {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_pair(dir: &Path) -> Vec<u8> {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        std::fs::write(dir.join("cert.pem"), cert.cert.pem()).unwrap();
        std::fs::write(dir.join("key.pem"), cert.signing_key.serialize_pem()).unwrap();
        cert.cert.der().to_vec()
    }

    #[test]
    fn a_reload_serves_the_new_pair_and_a_failed_one_keeps_the_old() {
        let dir = tempfile::tempdir().unwrap();
        let first = write_pair(dir.path());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let slot = CertSlot::load(&dir.path().join("cert.pem"), &dir.path().join("key.pem"), provider).unwrap();
        assert_eq!(slot.current().cert[0].as_ref(), &first[..]);

        let second = write_pair(dir.path());
        slot.reload().unwrap();
        assert_eq!(slot.current().cert[0].as_ref(), &second[..]);

        // A half-written certificate: the reload fails and the second pair is still served.
        std::fs::write(dir.path().join("cert.pem"), "-----BEGIN CERTIFICATE-----\nAAAA").unwrap();
        assert!(slot.reload().is_err());
        assert_eq!(slot.current().cert[0].as_ref(), &second[..]);
    }
}
