//! The certificate chain and private key, read from PEM files and checked against each other.

use std::path::Path;

use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::TlsError;

/// The chain in `cert` (the server's certificate first, then any intermediates) with the key in
/// `key` (PKCS#8, PKCS#1 or SEC1), once the key is known to match the certificate.
pub fn load_certified_key(cert: &Path, key: &Path, provider: &CryptoProvider) -> Result<CertifiedKey, TlsError> {
    let chain = certificates(cert, "certificate")?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate { path: cert.to_owned() });
    }
    let private = PrivateKeyDer::from_pem_file(key).map_err(|source| TlsError::Read {
        what: "key",
        path: key.to_owned(),
        source,
    })?;
    CertifiedKey::from_der(chain, private, provider).map_err(|source| TlsError::Key {
        cert: cert.to_owned(),
        key: key.to_owned(),
        source,
    })
}

/// The CA certificates in the PEM file at `path` that client certificates must chain to.
pub fn client_roots(path: &Path) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(certificates(path, "client CA")?);
    if added == 0 {
        return Err(TlsError::NoClientCa { path: path.to_owned() });
    }
    Ok(roots)
}

/// Every certificate in the PEM file at `path` (`what` names the file in the error).
fn certificates(path: &Path, what: &'static str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|source| TlsError::Read {
            what,
            path: path.to_owned(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn provider() -> CryptoProvider {
        rustls::crypto::ring::default_provider()
    }

    fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
        let path = dir.path().join(name);
        std::fs::File::create(&path)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        path
    }

    fn self_signed() -> (String, String) {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        (cert.cert.pem(), cert.signing_key.serialize_pem())
    }

    #[test]
    fn a_matching_pair_loads() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = self_signed();
        let loaded = load_certified_key(&write(&dir, "c.pem", &cert), &write(&dir, "k.pem", &key), &provider());
        assert_eq!(loaded.unwrap().cert.len(), 1);
    }

    #[test]
    fn a_key_of_another_certificate_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, _) = self_signed();
        let (_, other_key) = self_signed();
        let err = load_certified_key(
            &write(&dir, "c.pem", &cert),
            &write(&dir, "k.pem", &other_key),
            &provider(),
        )
        .unwrap_err();
        assert!(matches!(err, TlsError::Key { .. }), "{err}");
    }

    #[test]
    fn missing_empty_and_swapped_files_are_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = self_signed();
        let cert_path = write(&dir, "c.pem", &cert);
        let key_path = write(&dir, "k.pem", &key);
        let missing = dir.path().join("absent.pem");
        let err = load_certified_key(&missing, &key_path, &provider()).unwrap_err();
        assert!(err.to_string().contains("absent.pem"), "{err}");
        let empty = write(&dir, "empty.pem", "");
        assert!(matches!(
            load_certified_key(&empty, &key_path, &provider()).unwrap_err(),
            TlsError::NoCertificate { .. }
        ));
        // The key where the certificate belongs: no certificate in it, and no key in the other.
        assert!(load_certified_key(&key_path, &cert_path, &provider()).is_err());
    }
}
