//! Revocation across nodes: a user disabled at one node is refused at the other, and its STOMP
//! session there is closed with an ERROR saying why, within about a second (each node reads
//! the revocations from the store every second).

use std::time::{Duration, Instant};

use kwanje::auth::Role;
use kwanje::stomp::Command;
use serde_json::{json, Value};

use super::token;
use crate::realtime::client::Stomp;

async fn call(addr: &str, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let method = awc::http::Method::from_bytes(method.as_bytes()).unwrap();
    let req = awc::Client::default()
        .request(method, format!("http://{addr}{path}"))
        .bearer_auth(token);
    let mut resp = match body {
        Some(b) => req.send_json(&b).await,
        None => req.send().await,
    }
    .unwrap();
    let bytes = resp.body().await.unwrap_or_default();
    (
        resp.status().as_u16(),
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[test]
fn a_user_disabled_at_one_node_is_refused_and_disconnected_at_the_other() {
    let Some((one, two, _)) = super::two_nodes_split() else {
        return;
    };
    let admin = token(Role::Admin, None);
    let body = json!({"username": "kim", "password": "kim-password", "role": "operator"});
    let (status, created) = one.call("POST", "/api/v1/users", &admin, Some(body));
    assert_eq!(status, 201, "{created}");
    let login = json!({"username": "kim", "password": "kim-password"});
    let (status, answer) = two.call("POST", "/api/v1/auth/token", "", Some(login));
    assert_eq!(status, 200, "{answer}");
    let kim = answer["access_token"].as_str().unwrap().to_owned();

    actix_web::rt::System::new().block_on(async {
        let mut session = Stomp::open(&two.addr, &["v12.stomp"]).await;
        session.connect(&kim, "1.2").await;
        session.subscribe("a", "/topic/alerts", "auto").await;
        assert_eq!(call(&two.addr, "GET", "/api/v1/alerts", &kim, None).await.0, 200);

        let started = Instant::now();
        let (status, body) = call(
            &one.addr,
            "PATCH",
            "/api/v1/users/kim",
            &admin,
            Some(json!({"disabled": true})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        // Refused at once where it was disabled.
        assert_eq!(call(&one.addr, "GET", "/api/v1/alerts", &kim, None).await.0, 401);
        // Closed at the other node within its next read of the store.
        let error = session.expect(Command::Error).await;
        let took = started.elapsed();
        assert_eq!(error.header("message"), Some("token revoked"), "{error:?}");
        assert!(
            String::from_utf8_lossy(&error.body).contains("the account kim is disabled"),
            "{error:?}"
        );
        assert!(took < Duration::from_secs(5), "closed after {took:?}");
        assert_eq!(call(&two.addr, "GET", "/api/v1/alerts", &kim, None).await.0, 401);
    });
}
