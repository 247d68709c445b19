//! Tokens from an outside identity provider (issue #16): signed RS256 or ES256 by the airport's
//! own issuer and checked against its published keys (a JWKS), besides the server's own HS256
//! tokens. The key named by the token's `kid` verifies it; the issuer and, when set, the audience
//! must match; the kwanje role is read from the claim the site names (a string, or a list whose
//! first kwanje role counts: `admin`, `operator` or `viewer`).
//!
//! Pure: the key set is given ([`OutsideIssuer::set_keys`]); fetching and refreshing it is the
//! accounts part's ([`crate::accounts::jwks`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, Algorithm, DecodingKey, Header, Validation};
use serde_json::Value;

use super::roles::{Principal, Role};
use super::AuthError;

/// Clock skew tolerated on `exp`, in seconds, for outside tokens and the server's own.
pub const LEEWAY_SECS: u64 = 5;

/// What an outside principal's name starts with, before the token's `sub`.
pub const OUTSIDE_PREFIX: &str = "idp:";

/// The algorithms an outside issuer may sign with.
pub const ALGORITHMS: [Algorithm; 2] = [Algorithm::RS256, Algorithm::ES256];

/// What the site says about its identity provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutsideSettings {
    /// `iss` the tokens must carry (`KWANJE_JWT_ISSUER`).
    pub issuer: String,
    /// `aud` the tokens must carry, when set (`KWANJE_JWT_AUDIENCE`).
    pub audience: Option<String>,
    /// The claim holding the kwanje role (`KWANJE_JWT_ROLE_CLAIM`, default `role`).
    pub role_claim: String,
}

/// The outside issuer: its settings and its current keys.
#[derive(Debug)]
pub struct OutsideIssuer {
    settings: OutsideSettings,
    keys: RwLock<JwkSet>,
    /// A token named a key the set does not hold: the set should be fetched again.
    wanted: AtomicBool,
}

impl OutsideIssuer {
    pub fn new(settings: OutsideSettings) -> OutsideIssuer {
        OutsideIssuer {
            settings,
            keys: RwLock::new(JwkSet { keys: Vec::new() }),
            wanted: AtomicBool::new(false),
        }
    }

    pub fn settings(&self) -> &OutsideSettings {
        &self.settings
    }

    /// Takes `keys` in place of the current set; answers how many it holds.
    pub fn set_keys(&self, keys: JwkSet) -> usize {
        let count = keys.keys.len();
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = keys;
        count
    }

    /// Whether a token named an unknown key since the last call (and so the set should be
    /// fetched again).
    pub fn take_wanted(&self) -> bool {
        self.wanted.swap(false, Ordering::Relaxed)
    }

    /// Whether a key with this id is known.
    pub fn knows(&self, kid: &str) -> bool {
        self.keys.read().unwrap_or_else(|e| e.into_inner()).find(kid).is_some()
    }

    /// Verifies `token`, whose header is `header` (already read, with an RS256 or ES256 `alg`).
    pub fn verify(&self, token: &str, header: &Header) -> Result<Principal, AuthError> {
        let kid = header
            .kid
            .as_deref()
            .ok_or_else(|| AuthError::BadClaims("an outside token must name its key (kid)".into()))?;
        let key = {
            let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
            let Some(jwk) = keys.find(kid) else {
                self.wanted.store(true, Ordering::Relaxed);
                return Err(AuthError::UnknownKey(kid.to_owned()));
            };
            DecodingKey::from_jwk(jwk).map_err(|e| AuthError::Malformed(format!("key {kid}: {e}")))?
        };
        let mut validation = Validation::new(header.alg);
        validation.leeway = LEEWAY_SECS;
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        validation.set_issuer(&[&self.settings.issuer]);
        match &self.settings.audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        let data = decode::<Value>(token, &key, &validation).map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => AuthError::Expired,
            ErrorKind::InvalidSignature => AuthError::BadSignature,
            ErrorKind::InvalidAlgorithm => AuthError::WrongAlgorithm,
            ErrorKind::InvalidIssuer => AuthError::BadClaims("wrong issuer".into()),
            ErrorKind::InvalidAudience => AuthError::BadClaims("wrong audience".into()),
            ErrorKind::MissingRequiredClaim(c) => AuthError::BadClaims(format!("missing claim {c}")),
            _ => AuthError::Malformed(e.to_string()),
        })?;
        principal(&data.claims, &self.settings.role_claim)
    }
}

/// The principal of verified outside claims.
fn principal(claims: &Value, role_claim: &str) -> Result<Principal, AuthError> {
    let sub = claims["sub"]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| AuthError::BadClaims("sub must be a string".into()))?;
    let role = role_of(&claims[role_claim]).ok_or_else(|| {
        AuthError::Forbidden(format!(
            "the token's {role_claim:?} claim names no kwanje role (admin, operator or viewer)"
        ))
    })?;
    let seconds = |k: &str| claims[k].as_i64();
    Ok(Principal {
        // Apart from the server's own users: a local account "kim" and the provider's "kim" are
        // two principals (revoking or disabling one does not touch the other; the audit log
        // tells them apart).
        name: format!("{OUTSIDE_PREFIX}{sub}"),
        role,
        client: None,
        taxi: None,
        expires_ms: seconds("exp").unwrap_or(0).saturating_mul(1_000),
        issued_ms: seconds("iat").map_or(0, |s| s.saturating_mul(1_000)),
    })
}

/// A kwanje ladder role from a claim: a string, or the first such string of a list.
fn role_of(claim: &Value) -> Option<Role> {
    let ladder = |s: &str| match s.parse::<Role>() {
        Ok(r @ (Role::Admin | Role::Operator | Role::Viewer)) => Some(r),
        _ => None,
    };
    match claim {
        Value::String(s) => ladder(s),
        Value::Array(items) => items.iter().filter_map(Value::as_str).find_map(ladder),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_role_is_a_string_or_the_first_kwanje_role_of_a_list() {
        assert_eq!(role_of(&json!("operator")), Some(Role::Operator));
        assert_eq!(role_of(&json!(["staff", "viewer", "admin"])), Some(Role::Viewer));
        assert_eq!(
            role_of(&json!("client")),
            None,
            "field roles are never taken from outside"
        );
        assert_eq!(role_of(&json!(["staff"])), None);
        assert_eq!(role_of(&Value::Null), None);
    }

    #[test]
    fn claims_without_a_kwanje_role_are_forbidden_not_unauthorised() {
        let claims = json!({"sub": "kim", "groups": ["ops"], "exp": 10, "iat": 5});
        assert!(matches!(principal(&claims, "groups"), Err(AuthError::Forbidden(_))));
        let claims = json!({"sub": "kim", "groups": ["ops", "admin"], "exp": 10, "iat": 5});
        let p = principal(&claims, "groups").unwrap();
        assert_eq!(
            (p.name.as_str(), p.role, p.expires_ms, p.issued_ms),
            ("idp:kim", Role::Admin, 10_000, 5_000)
        );
    }

    #[test]
    fn a_token_without_a_key_id_or_with_an_unknown_one_is_refused() {
        let issuer = OutsideIssuer::new(OutsideSettings {
            issuer: "https://idp".into(),
            audience: None,
            role_claim: "role".into(),
        });
        let mut header = Header::new(Algorithm::RS256);
        assert!(matches!(issuer.verify("x.y.z", &header), Err(AuthError::BadClaims(_))));
        header.kid = Some("k1".into());
        assert_eq!(issuer.verify("x.y.z", &header), Err(AuthError::UnknownKey("k1".into())));
        assert!(!issuer.knows("k1"));
        assert!(issuer.take_wanted(), "an unknown key asks for the set again");
        assert!(!issuer.take_wanted());
    }
}
