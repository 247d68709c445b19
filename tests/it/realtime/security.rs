//! Security on the socket: every bad token is refused with an ERROR and a close, and every
//! SUBSCRIBE and SEND is checked against the ACL by role and scope.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use kwanje::auth::{Claims, Keys, Role};
use kwanje::time::{ManualClock, Millis};

use super::client::{frame, Stomp};
use super::session;
use crate::support::{Backend, Server};

const SECRET: &str = "realtime-security-test-secret-0123456789";

/// What a CONNECT without any credential is told (`transport::gate::NO_TOKEN`).
const NO_TOKEN: &str = "no token: send `Authorization: Bearer <jwt>` or the jwt as `passcode`";

/// CONNECT with `headers` and expect ERROR "authentication failed" whose body is `why`, then
/// the close.
async fn refused(s: &Server, headers: &[(&str, &str)], why: &str) {
    let mut stomp = Stomp::open(&s.base, &["v12.stomp"]).await;
    let mut all = vec![("accept-version", "1.2")];
    all.extend_from_slice(headers);
    stomp.send_text(&frame("CONNECT", &all, "")).await;
    let error = stomp.expect_error().await;
    assert_eq!(error.header("message"), Some("authentication failed"), "{headers:?}");
    assert_eq!(String::from_utf8_lossy(&error.body), why, "{headers:?}");
}

#[actix_web::test]
async fn every_bad_token_gets_an_error_then_a_close() {
    let s = Server::start_with(Backend::Sqlite, |c| {
        c.jwt_secret = Some(SECRET.into());
        // Each bad token's own reason is the point here, not the throttle that follows many.
        c.login_free_attempts = 1_000;
    })
    .await;
    let now = Millis::now();
    let claims = Claims::new("op", Role::Operator, now, Duration::from_secs(600));

    refused(&s, &[], NO_TOKEN).await;
    refused(&s, &[("login", "op")], NO_TOKEN).await;
    refused(&s, &[("Authorization", "Basic b3A6cHc=")], NO_TOKEN).await;
    refused(&s, &[("passcode", "not-a-jwt")], "the token is malformed: InvalidToken").await;
    refused(
        &s,
        &[("Authorization", "Bearer a.b.c")],
        "the token is malformed: Base64 error: Invalid input length: 1",
    )
    .await;

    let past = now - Duration::from_secs(7_200);
    let expired = s
        .state
        .keys
        .issue(&Claims::new("op", Role::Operator, past, Duration::from_secs(60)))
        .unwrap();
    refused(&s, &[("passcode", &expired)], "the token has expired").await;

    let forged = Keys::hs256(b"someone-elses-secret").issue(&claims).unwrap();
    refused(&s, &[("passcode", &forged)], "the token's signature is not valid").await;

    // `alg: none`, no signature: refused whatever the payload says, since `none` is no
    // algorithm the server knows (the header does not even parse).
    let payload = forged.split('.').nth(1).unwrap();
    let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
    refused(
        &s,
        &[("passcode", &unsigned)],
        "the token's claims are not valid: unknown variant `none`, expected one of `HS256`, \
         `HS384`, `HS512`, `ES256`, `ES384`, `RS256`, `RS384`, `RS512`, `PS256`, `PS384`, \
         `PS512`, `EdDSA` at line 1 column 13",
    )
    .await;

    let hs512 = encode(
        &Header::new(Algorithm::HS512),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    refused(
        &s,
        &[("passcode", &hs512)],
        "the token is signed with an algorithm this server does not accept",
    )
    .await;

    // A client token without its client claim cannot hold a session.
    let nameless = s.token("gate-9", Role::Client, None);
    refused(
        &s,
        &[("passcode", &nameless)],
        "a client token must carry a \"client\" claim",
    )
    .await;

    // The same server accepts a good token, as bearer header or passcode.
    let good = s.token("op", Role::Operator, None);
    let mut stomp = Stomp::open(&s.base, &["v12.stomp"]).await;
    stomp.connect(&good, "1.2").await;
}

#[actix_web::test]
async fn a_session_whose_token_expires_is_closed_with_an_error_saying_so() {
    let s = Server::start(Backend::Sqlite).await;
    // Expires in about a second (`exp` is in whole seconds).
    let claims = Claims::new("viewer-1", Role::Viewer, Millis::now(), Duration::from_secs(1));
    let token = s.state.keys.issue(&claims).unwrap();
    let mut stomp = Stomp::open(&s.base, &["v12.stomp"]).await;
    stomp.connect(&token, "1.2").await;
    let error = stomp.expect_error().await;
    assert_eq!(error.header("message"), Some("token expired"));
    let at = claims.exp * 1_000;
    assert_eq!(
        String::from_utf8_lossy(&error.body),
        format!("the access token expired at {at} ms; reconnect with a fresh token")
    );
}

#[actix_web::test]
async fn a_viewer_may_not_send() {
    let s = Server::start(Backend::Sqlite).await;
    let mut viewer = session(&s, "viewer-1", Role::Viewer).await;
    viewer
        .send_text(&frame(
            "SEND",
            &[("destination", "/topic/ops/handover"), ("receipt", "r")],
            "hello",
        ))
        .await;
    let error = viewer.expect_error().await;
    assert_eq!(
        error.header("message"),
        Some("not allowed to send to /topic/ops/handover")
    );
    assert_eq!(error.header("receipt-id"), Some("r"));
    assert!(String::from_utf8_lossy(&error.body).contains("operator"));

    let mut viewer = session(&s, "viewer-1", Role::Viewer).await;
    viewer
        .send_text(&frame(
            "SEND",
            &[("destination", "/app/heartbeat")],
            r#"{"devices":[]}"#,
        ))
        .await;
    assert_eq!(
        viewer.expect_error().await.header("message"),
        Some("not allowed to send to /app/heartbeat")
    );
}

#[actix_web::test]
async fn nobody_subscribes_to_another_principals_queue_or_outside_their_role() {
    let s = Server::start(Backend::Sqlite).await;
    let mut gate = session(&s, "gate-1", Role::Client).await;
    gate.subscribe("own", "/user/queue/commands", "auto").await;
    gate.send_text(&frame(
        "SUBSCRIBE",
        &[("id", "x"), ("destination", "/user/gate-2/queue/commands")],
        "",
    ))
    .await;
    let error = gate.expect_error().await;
    assert_eq!(
        error.header("message"),
        Some("not allowed to subscribe to /user/gate-2/queue/commands")
    );

    let mut gate = session(&s, "gate-1", Role::Client).await;
    gate.send_text(&frame(
        "SUBSCRIBE",
        &[("id", "x"), ("destination", "/topic/alerts")],
        "",
    ))
    .await;
    assert!(String::from_utf8_lossy(&gate.expect_error().await.body).contains("viewer"));

    let mut op = session(&s, "op-1", Role::Operator).await;
    op.send_text(&frame(
        "SUBSCRIBE",
        &[("id", "x"), ("destination", "/user/queue/commands")],
        "",
    ))
    .await;
    assert_eq!(
        op.expect_error().await.header("message"),
        Some("not allowed to subscribe to /user/queue/commands")
    );

    let mut op = session(&s, "op-1", Role::Operator).await;
    op.send_text(&frame(
        "SUBSCRIBE",
        &[("id", "x"), ("destination", "/queue/anything")],
        "",
    ))
    .await;
    assert!(String::from_utf8_lossy(&op.expect_error().await.body).contains("not a destination"));
}

#[actix_web::test]
async fn a_client_may_heartbeat_only_devices_it_hosts() {
    // The server's time moves only when told: what happened before the refusal is told apart
    // from what happened after it by the time it was stamped with.
    let refused_at = Millis::now();
    let clock = ManualClock::new(refused_at);
    let s = Server::start_clocked(Backend::Sqlite, Arc::new(clock.clone()), |_| {}).await;
    s.register("gate-1", &["cam-1"], 60_000, 3).await;
    s.register("gate-2", &["cam-2"], 60_000, 3).await;
    let mut gate = session(&s, "gate-1", Role::Client).await;
    let body = r#"{"devices":[{"id":"cam-1","status":"ok"},{"id":"cam-2","status":"ok"}]}"#;
    gate.send_text(&frame(
        "SEND",
        &[("destination", "/app/heartbeat"), ("receipt", "hb")],
        body,
    ))
    .await;
    let error = gate.expect_error().await;
    assert_eq!(error.header("message"), Some("not allowed to send to /app/heartbeat"));
    assert_eq!(
        String::from_utf8_lossy(&error.body),
        "device cam-2 is not hosted by client gate-1"
    );
    // Nothing of the refused batch was applied, not even the device it does host. Each device
    // now gets a heartbeat of its own, later: it reaches the device's actor behind anything the
    // refused batch sent it, and the device is up since then, not since the refusal. (cam-1
    // is unreachable now: its client's only session was closed by the ERROR.)
    let later = refused_at + Duration::from_secs(10);
    clock.set(later);
    let (status, _) = s.heartbeat("gate-2", "cam-2", "ok").await;
    assert_eq!(status, 200);
    // Its own device alone is fine.
    let mut gate = session(&s, "gate-1", Role::Client).await;
    let own = r#"{"devices":[{"id":"cam-1","status":"ok"}]}"#;
    gate.send_with_receipt("/app/heartbeat", &[], own, "hb").await;
    s.wait_for("/api/v1/devices/cam-1", Duration::from_secs(5), |d| d["state"] == "up")
        .await;
    for id in ["cam-1", "cam-2"] {
        let (_, device) = s.get(&format!("/api/v1/devices/{id}")).await;
        assert_eq!(
            (device["state_since_ms"].as_i64(), device["last_seen_ms"].as_i64()),
            (Some(later.0), Some(later.0)),
            "{device}"
        );
    }
}

#[actix_web::test]
async fn a_send_whose_body_is_not_json_gets_an_error() {
    let s = Server::start(Backend::Sqlite).await;
    let mut gate = session(&s, "gate-1", Role::Client).await;
    gate.send_text(&frame("SEND", &[("destination", "/app/heartbeat")], "{\"devices\": ["))
        .await;
    let error = gate.expect_error().await;
    assert_eq!(error.header("message"), Some("message to /app/heartbeat refused"));
    assert!(String::from_utf8_lossy(&error.body).contains("not what it takes"));
}
