//! Tokens from an outside identity provider (issue #16), on every backend: RS256 and ES256
//! tokens verified against a JWKS the test serves over HTTP with keys the test generates, on
//! HTTP and on STOMP CONNECT; the role taken from the configured claim; a wrong key id, issuer,
//! audience, signature or role refused; a rotated key picked up; the server's own tokens kept.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use serde_json::{json, Value};

use crate::realtime::client::Stomp;
use crate::support::{backends, Server};

const ISSUER: &str = "https://idp.airport.test";
const AUDIENCE: &str = "kwanje";

struct Key {
    kid: &'static str,
    alg: Algorithm,
    encoding: EncodingKey,
}

impl Key {
    fn rsa(kid: &'static str) -> Key {
        let private = rsa::RsaPrivateKey::new(&mut rand08::rngs::OsRng, 2048).unwrap();
        let der = private.to_pkcs1_der().unwrap();
        Key {
            kid,
            alg: Algorithm::RS256,
            encoding: EncodingKey::from_rsa_der(der.as_bytes()),
        }
    }

    fn ec(kid: &'static str) -> Key {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        Key {
            kid,
            alg: Algorithm::ES256,
            encoding: EncodingKey::from_ec_der(&pair.serialize_der()),
        }
    }

    /// The public half, as the identity provider publishes it.
    fn jwk(&self) -> Jwk {
        let mut jwk = Jwk::from_encoding_key(&self.encoding, self.alg).unwrap();
        jwk.common.key_id = Some(self.kid.to_owned());
        jwk
    }

    /// A token signed with this key, naming `kid`, with `claims` over the defaults.
    fn token_as(&self, kid: &str, claims: Value) -> String {
        let now = kwanje::time::Millis::now().0 / 1_000;
        let mut all = json!({"sub": "kim@airport.test", "iss": ISSUER, "aud": AUDIENCE,
            "iat": now, "exp": now + 600, "groups": ["staff", "operator"]});
        for (k, v) in claims.as_object().unwrap() {
            all[k] = v.clone();
        }
        let mut header = Header::new(self.alg);
        header.kid = Some(kid.to_owned());
        encode(&header, &all, &self.encoding).unwrap()
    }

    fn token(&self, claims: Value) -> String {
        self.token_as(self.kid, claims)
    }
}

/// Serves `keys` (as JWKS JSON) at `/jwks` on a port of its own; the test may change them.
async fn identity_provider(keys: Arc<Mutex<String>>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = actix_web::HttpServer::new(move || {
        let keys = keys.clone();
        actix_web::App::new().route(
            "/jwks",
            actix_web::web::get().to(move || {
                let body = keys.lock().unwrap().clone();
                async move {
                    actix_web::HttpResponse::Ok()
                        .content_type("application/json")
                        .body(body)
                }
            }),
        )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    actix_web::rt::spawn(server);
    format!("http://{addr}/jwks")
}

fn set_of(keys: &[&Key]) -> String {
    serde_json::to_string(&JwkSet {
        keys: keys.iter().map(|k| k.jwk()).collect(),
    })
    .unwrap()
}

async fn get(s: &Server, path: &str, token: &str) -> (u16, Value) {
    s.call("GET", path, Some(token), None).await
}

#[actix_web::test]
async fn rs256_and_es256_tokens_of_the_sites_identity_provider_are_accepted_and_checked() {
    let rsa = Key::rsa("rsa-1");
    let ec = Key::ec("ec-1");
    let stranger = Key::rsa("rsa-1");
    for backend in backends() {
        let served = Arc::new(Mutex::new(set_of(&[&rsa, &ec])));
        let url = identity_provider(served.clone()).await;
        let s = Server::start_with(backend, |c| {
            c.jwks_url = Some(url.clone());
            c.jwt_issuer = Some(ISSUER.into());
            c.jwt_audience = Some(AUDIENCE.into());
            c.jwt_role_claim = "groups".into();
        })
        .await;

        // RS256, role from the list claim: an operator (watches, not an admin).
        let operator = rsa.token(json!({}));
        assert_eq!(get(&s, "/api/v1/alerts", &operator).await.0, 200);
        assert_eq!(get(&s, "/api/v1/users", &operator).await.0, 403);
        // ES256 naming admin: an admin.
        let admin = ec.token(json!({"groups": ["admin"]}));
        let (status, body) = get(&s, "/api/v1/users", &admin).await;
        assert_eq!(status, 200, "{body}");
        // Named apart from local users: what it does is audited under `idp:{sub}`.
        let new_user = json!({"username": "lee", "password": "lee-password", "role": "viewer"});
        let (status, body) = s.call("POST", "/api/v1/users", Some(&admin), Some(new_user)).await;
        assert_eq!(status, 201, "{body}");
        let (_, audit) = s.get("/api/v1/audit?action=user.created").await;
        assert_eq!(audit["items"][0]["actor"], "idp:kim@airport.test", "{audit}");
        // On STOMP CONNECT too.
        let mut stomp = Stomp::open(&s.base, &["v12.stomp"]).await;
        stomp.connect(&admin, "1.2").await;
        // The server's own tokens still work.
        assert_eq!(get(&s, "/api/v1/users", &s.admin).await.0, 200);

        // Refused, each with its reason.
        let now = kwanje::time::Millis::now().0 / 1_000;
        for (token, status, why) in [
            (
                rsa.token_as("rsa-9", json!({})),
                401,
                "not among the identity provider's keys",
            ),
            (rsa.token(json!({"iss": "https://evil.test"})), 401, "wrong issuer"),
            (rsa.token(json!({"aud": "another-app"})), 401, "wrong audience"),
            (rsa.token(json!({"exp": now - 600})), 401, "expired"),
            (stranger.token(json!({})), 401, "signature"),
            (ec.token(json!({"groups": ["staff"]})), 403, "no kwanje role"),
            (ec.token(json!({"groups": "client"})), 403, "no kwanje role"),
        ] {
            let (got, body) = get(&s, "/api/v1/alerts", &token).await;
            assert_eq!(got, status, "{why}: {body}");
            assert!(
                body["detail"].as_str().unwrap_or_default().contains(why),
                "{why}: {body}"
            );
        }
        let mut refused = Stomp::open(&s.base, &["v12.stomp"]).await;
        refused
            .send_text(&crate::realtime::client::frame(
                "CONNECT",
                &[("accept-version", "1.2"), ("passcode", &rsa.token(json!({"iss": "x"})))],
                "",
            ))
            .await;
        let error = refused.expect(kwanje::stomp::Command::Error).await;
        assert!(format!("{error:?}").contains("wrong issuer"), "{error:?}");

        // The provider rotates in a new key: a token naming it is accepted soon after.
        let rotated = Key::ec("ec-2");
        *served.lock().unwrap() = set_of(&[&rsa, &ec, &rotated]);
        let token = rotated.token(json!({}));
        let started = Instant::now();
        loop {
            if get(&s, "/api/v1/alerts", &token).await.0 == 200 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the rotated key was never fetched"
            );
            actix_web::rt::time::sleep(Duration::from_millis(200)).await;
        }
        s.stop().await;
    }
}

/// The keys may be a file, and an identity provider setting without its issuer is refused at
/// start.
#[actix_web::test]
async fn a_jwks_file_works_and_a_jwks_without_an_issuer_is_refused() {
    let ec = Key::ec("ec-file");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jwks.json");
    std::fs::write(&file, set_of(&[&ec])).unwrap();
    let path = file.display().to_string();
    let s = Server::start_with(crate::support::Backend::Sqlite, |c| {
        c.jwks_url = Some(path.clone());
        c.jwt_issuer = Some(ISSUER.into());
    })
    .await;
    // No audience configured: not checked. The role claim defaults to `role`.
    let token = ec.token(json!({"aud": "whatever", "role": "viewer"}));
    assert_eq!(get(&s, "/api/v1/alerts", &token).await.0, 200);
    s.stop().await;

    let mut config = kwanje::config::Config::with_database("sqlite://unused.db");
    config.jwks_url = Some("/nowhere.json".into());
    let err = config.outside_issuer().unwrap_err();
    assert!(err.contains("KWANJE_JWT_ISSUER"), "{err}");
}
