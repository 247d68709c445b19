//! What can go wrong reading the certificate and key, or building the TLS configuration.

use std::path::PathBuf;

/// A TLS setting that cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {what} {path}: {source}")]
    Read {
        what: &'static str,
        path: PathBuf,
        source: rustls_pki_types::pem::Error,
    },
    #[error("{path} holds no certificate (PEM `BEGIN CERTIFICATE`)")]
    NoCertificate { path: PathBuf },
    #[error("the key in {key} does not serve the certificate in {cert}: {source}")]
    Key {
        cert: PathBuf,
        key: PathBuf,
        source: rustls::Error,
    },
    #[error("KWANJE_TLS_CERT and KWANJE_TLS_KEY go together: {missing} is not set")]
    Half { missing: &'static str },
    #[error("{path} holds no CA certificate for client certificates (KWANJE_TLS_CLIENT_CA)")]
    NoClientCa { path: PathBuf },
    #[error("client CA (KWANJE_TLS_CLIENT_CA): {0}")]
    ClientCa(String),
    #[error("KWANJE_TLS_CLIENT_CA needs the server's own certificate: set KWANJE_TLS_CERT and KWANJE_TLS_KEY")]
    ClientCaWithoutTls,
    #[error("tls configuration: {0}")]
    Config(#[from] rustls::Error),
}
