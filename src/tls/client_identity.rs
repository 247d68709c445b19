//! Which client a verified client certificate names: its subject's common name (CN), which must
//! be a valid client id (`ids::validate`). Held in an HTTP connection's data
//! ([`CertifiedClient`]) and handed to each STOMP session the connection carries.

use rustls_pki_types::CertificateDer;

/// The client a connection's verified certificate names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertifiedClient(pub String);

/// The client named by the first of `chain` (the peer's own certificate), if it names one.
pub fn client_named_by(chain: &[CertificateDer<'_>]) -> Option<CertifiedClient> {
    let cert = chain.first()?;
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let name = parsed.subject().iter_common_name().next()?.as_str().ok()?.to_owned();
    match crate::ids::validate("client", &name) {
        Ok(()) => Some(CertifiedClient(name)),
        Err(err) => {
            log::info!("tls client certificate names no valid client cn={name:?} error={err}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};

    use super::*;

    fn cert_with_cn(cn: Option<&str>) -> CertificateDer<'static> {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "Incheon Airport");
        if let Some(cn) = cn {
            dn.push(DnType::CommonName, cn);
        }
        params.distinguished_name = dn;
        params.self_signed(&KeyPair::generate().unwrap()).unwrap().der().clone()
    }

    #[test]
    fn the_common_name_names_the_client() {
        let chain = [cert_with_cn(Some("gate-pc-t1-p1"))];
        assert_eq!(client_named_by(&chain), Some(CertifiedClient("gate-pc-t1-p1".into())));
    }

    #[test]
    fn no_common_name_or_one_that_is_no_client_id_names_nobody() {
        assert_eq!(client_named_by(&[cert_with_cn(None)]), None);
        assert_eq!(client_named_by(&[cert_with_cn(Some("gate pc/1"))]), None);
        assert_eq!(client_named_by(&[]), None);
    }
}
