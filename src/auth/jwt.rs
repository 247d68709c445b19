//! JSON Web Tokens: issue and verify, HS256 with the server's key, and RS256 or ES256 from an
//! outside identity provider when the site has one ([`super::outside`]).
//!
//! Verification pins the algorithm (a token claiming `none` or another algorithm is refused),
//! always checks `exp` with a small leeway for clock skew, and requires `sub` and `role`.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::outside::{OutsideIssuer, ALGORITHMS};
use super::roles::{Principal, Role};
use super::AuthError;
use crate::time::Millis;

/// Lifetime of a token when none is asked for.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3_600);
/// Clock skew tolerated on `exp`, in seconds (the same for outside tokens).
pub use super::outside::LEEWAY_SECS;
/// The `iss` claim of tokens this server signs and accepts.
pub const ISSUER: &str = "kwanje";

/// The claims of a kwanje token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taxi: Option<String>,
    pub iss: String,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expires at, seconds since the epoch.
    pub exp: i64,
    /// Issued at, in milliseconds (kwanje's own claim, so that a token issued a moment after its
    /// subject's earlier tokens were revoked is not taken for one of them; `iat` only has seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat_ms: Option<i64>,
}

impl Claims {
    /// Claims for `sub` in `role`, valid from `now` for `ttl`.
    pub fn new(sub: &str, role: Role, now: Millis, ttl: Duration) -> Claims {
        let iat = now.0 / 1_000;
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2);
        Claims {
            sub: sub.to_owned(),
            role,
            client: None,
            taxi: None,
            iss: ISSUER.to_owned(),
            iat,
            exp: iat.saturating_add(ttl),
            iat_ms: Some(now.0),
        }
    }
}

/// The server's signing and verifying keys, and the outside issuer's when there is one.
pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    outside: Option<Arc<OutsideIssuer>>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(HS256, redacted)")
    }
}

impl Keys {
    /// HS256 keys from a shared secret.
    pub fn hs256(secret: &[u8]) -> Keys {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        validation.set_issuer(&[ISSUER]);
        Keys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            outside: None,
        }
    }

    /// Also accepts RS256 and ES256 tokens of `issuer`.
    pub fn with_outside(self, issuer: Arc<OutsideIssuer>) -> Keys {
        Keys {
            outside: Some(issuer),
            ..self
        }
    }

    /// The outside issuer, when the site has one.
    pub fn outside(&self) -> Option<&Arc<OutsideIssuer>> {
        self.outside.as_ref()
    }

    /// Signs `claims`.
    pub fn issue(&self, claims: &Claims) -> Result<String, AuthError> {
        encode(&Header::new(Algorithm::HS256), claims, &self.encoding).map_err(|e| AuthError::Malformed(e.to_string()))
    }

    /// Verifies a token and returns the principal it names: the server's own (HS256), or the
    /// outside issuer's (RS256, ES256) when the site has one.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        if let Some(outside) = &self.outside {
            let header = decode_header(token).map_err(|e| AuthError::Malformed(e.to_string()))?;
            if ALGORITHMS.contains(&header.alg) {
                return outside.verify(token, &header);
            }
        }
        let data = decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => AuthError::Expired,
            ErrorKind::InvalidSignature => AuthError::BadSignature,
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => AuthError::WrongAlgorithm,
            ErrorKind::MissingRequiredClaim(c) => AuthError::BadClaims(format!("missing claim {c}")),
            ErrorKind::InvalidIssuer => AuthError::BadClaims("wrong issuer".into()),
            ErrorKind::Json(err) => AuthError::BadClaims(err.to_string()),
            _ => AuthError::Malformed(e.to_string()),
        })?;
        let c = data.claims;
        Ok(Principal {
            name: c.sub,
            role: c.role,
            client: c.client,
            taxi: c.taxi,
            expires_ms: c.exp.saturating_mul(1_000),
            issued_ms: c.iat_ms.unwrap_or(c.iat.saturating_mul(1_000)),
        })
    }
}

/// The token in an `Authorization: Bearer <token>` header value.
pub fn bearer(header: &str) -> Result<&str, AuthError> {
    let (scheme, token) = header.trim().split_once(' ').ok_or(AuthError::Missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AuthError::Malformed("expected `Authorization: Bearer <token>`".into()));
    }
    Ok(token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keys {
        Keys::hs256(b"test-secret-test-secret-test-secret")
    }

    #[test]
    fn an_issued_token_verifies_to_its_principal() {
        let mut claims = Claims::new("gate-pc-1", Role::Client, Millis::now(), DEFAULT_TTL);
        claims.client = Some("gate-pc-1".into());
        let p = keys().verify(&keys().issue(&claims).unwrap()).unwrap();
        assert_eq!(p.name, "gate-pc-1");
        assert_eq!(p.role, Role::Client);
        assert_eq!(p.client.as_deref(), Some("gate-pc-1"));
    }

    #[test]
    fn expired_forged_and_unsigned_tokens_are_refused() {
        let past = Millis::now() - Duration::from_secs(7_200);
        let expired = keys()
            .issue(&Claims::new("op", Role::Operator, past, DEFAULT_TTL))
            .unwrap();
        assert_eq!(keys().verify(&expired), Err(AuthError::Expired));

        let claims = Claims::new("op", Role::Admin, Millis::now(), DEFAULT_TTL);
        let forged = Keys::hs256(b"another-secret").issue(&claims).unwrap();
        assert_eq!(keys().verify(&forged), Err(AuthError::BadSignature));

        // `alg: none`: header {"alg":"none","typ":"JWT"}, no signature.
        let none = format!(
            "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.",
            forged.split('.').nth(1).unwrap()
        );
        assert!(keys().verify(&none).is_err());

        assert!(matches!(
            keys().verify("not.a.token"),
            Err(AuthError::Malformed(_) | AuthError::BadClaims(_))
        ));
    }

    #[test]
    fn a_token_signed_with_another_algorithm_is_refused() {
        let claims = Claims::new("op", Role::Admin, Millis::now(), DEFAULT_TTL);
        let hs512 = encode(
            &Header::new(Algorithm::HS512),
            &claims,
            &EncodingKey::from_secret(b"test-secret-test-secret-test-secret"),
        )
        .unwrap();
        assert_eq!(keys().verify(&hs512), Err(AuthError::WrongAlgorithm));
    }

    #[test]
    fn bearer_headers_are_parsed_strictly() {
        assert_eq!(bearer("Bearer abc").unwrap(), "abc");
        assert_eq!(bearer("bearer  abc ").unwrap(), "abc");
        assert!(bearer("Basic abc").is_err());
        assert!(bearer("Bearer").is_err());
    }
}
