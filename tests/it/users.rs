//! Accounts and revocation (issue #16) over the real server, on every backend: the role rules of
//! `/api/v1/users`, a role change and a disabling that revoke tokens at once (HTTP 401, an open
//! STOMP session, over WebSocket or TCP, closed with an ERROR saying why), the last admin kept, a password change that
//! hands out a fresh token, and client and driver tokens revoked by an admin.

use kwanje::auth::Role;
use kwanje::stomp::Command;
use serde_json::{json, Value};

use crate::realtime::client::Stomp;
use crate::support::{backends, Server};

async fn create(s: &Server, token: &str, username: &str, password: &str, role: &str) -> (u16, Value) {
    let body = json!({"username": username, "password": password, "role": role});
    s.call("POST", "/api/v1/users", Some(token), Some(body)).await
}

async fn patch(s: &Server, token: &str, username: &str, body: Value) -> (u16, Value) {
    let path = format!("/api/v1/users/{username}");
    s.call("PATCH", &path, Some(token), Some(body)).await
}

async fn token_of(s: &Server, username: &str, password: &str) -> String {
    let (status, body) = s.login(username, password).await;
    assert_eq!(status, 200, "login {username}: {body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// A STOMP session over `/ws` with `token`, subscribed to the alerts topic.
async fn session(s: &Server, token: &str) -> Stomp {
    let mut stomp = Stomp::open(&s.base, &["v12.stomp"]).await;
    stomp.connect(token, "1.2").await;
    stomp.subscribe("a", "/topic/alerts", "auto").await;
    stomp
}

async fn expect_revoked(stomp: &mut Stomp, reason: &str) {
    let error = stomp.expect_error().await;
    assert_eq!(error.header("message"), Some("token revoked"), "{error:?}");
    let body = String::from_utf8_lossy(&error.body).into_owned();
    assert!(body.contains(reason), "{body}");
}

#[actix_web::test]
async fn an_admin_manages_users_and_nobody_else_may() {
    for backend in backends() {
        let s = Server::start(backend).await;
        let (status, kim) = create(&s, &s.admin, "kim", "kim-password", "operator").await;
        assert_eq!(status, 201, "{kim}");
        assert_eq!(
            (&kim["username"], &kim["role"], &kim["disabled"]),
            (&json!("kim"), &json!("operator"), &json!(false))
        );
        assert!(kim.get("password_hash").is_none(), "{kim}");
        let operator = token_of(&s, "kim", "kim-password").await;
        let (status, _) = create(&s, &s.admin, "lee", "lee-password", "viewer").await;
        assert_eq!(status, 201);
        let viewer = token_of(&s, "lee", "lee-password").await;

        // Only an admin creates, lists and changes users.
        for token in [&operator, &viewer] {
            let (status, body) = create(&s, token, "park", "park-password", "viewer").await;
            assert_eq!(status, 403, "{body}");
            assert_eq!(s.call("GET", "/api/v1/users", Some(token), None).await.0, 403);
            let (status, body) = patch(&s, token, "lee", json!({"role": "admin"})).await;
            assert_eq!(status, 403, "{body}");
        }
        // Bad input is refused with a reason and changes nothing.
        for (name, password, role, why) in [
            ("kim", "another-password", "viewer", "exists already"),
            ("park", "short", "viewer", "at least 8"),
            ("park", "park-password", "driver", "admin, operator or viewer"),
            ("has space", "park-password", "viewer", "username must be"),
        ] {
            let (status, body) = create(&s, &s.admin, name, password, role).await;
            let want = if why == "exists already" { 409 } else { 422 };
            assert_eq!(status, want, "{name}: {body}");
            assert!(body["detail"].as_str().unwrap().contains(why), "{body}");
        }
        let (status, body) = patch(&s, &s.admin, "kim", json!({})).await;
        assert_eq!(status, 422, "{body}");
        let (status, body) = patch(&s, &s.admin, "kim", json!({"colour": "red"})).await;
        assert_eq!(status, 400, "{body}");
        let (status, _) = patch(&s, &s.admin, "nobody", json!({"role": "viewer"})).await;
        assert_eq!(status, 404);

        let (status, list) = s.get("/api/v1/users").await;
        assert_eq!(status, 200);
        let names: Vec<(&str, &str)> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| (u["username"].as_str().unwrap(), u["role"].as_str().unwrap()))
            .collect();
        assert_eq!(names, [("admin", "admin"), ("kim", "operator"), ("lee", "viewer")]);

        // The changes are audited.
        let (_, audit) = s.get("/api/v1/audit?action=user.*").await;
        let actions: Vec<&str> = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions.iter().filter(|a| **a == "user.created").count(), 2, "{audit}");
        s.stop().await;
    }
}

#[actix_web::test]
async fn a_role_change_or_a_disabling_revokes_the_users_tokens_at_once() {
    for backend in backends() {
        let s = Server::start(backend).await;
        create(&s, &s.admin, "kim", "kim-password", "operator").await;
        let old = token_of(&s, "kim", "kim-password").await;
        let mut live = session(&s, &old).await;
        assert_eq!(s.call("GET", "/api/v1/alerts", Some(&old), None).await.0, 200);

        // Demoted to viewer: the operator token stops at once, the open session closes.
        let (status, body) = patch(&s, &s.admin, "kim", json!({"role": "viewer"})).await;
        assert_eq!((status, &body["role"]), (200, &json!("viewer")), "{body}");
        let (status, body) = s.call("GET", "/api/v1/alerts", Some(&old), None).await;
        assert_eq!(status, 401, "{body}");
        assert!(body["detail"].as_str().unwrap().contains("revoked"), "{body}");
        expect_revoked(&mut live, "the role of kim changed to viewer").await;
        // Logging in again gives a viewer's token.
        let viewer = token_of(&s, "kim", "kim-password").await;
        assert_eq!(s.call("GET", "/api/v1/alerts", Some(&viewer), None).await.0, 200);
        let mut live = session(&s, &viewer).await;

        // Disabled: every token refused, the session closed, the login refused (with the
        // right password only: a wrong one is just wrong).
        let (status, body) = patch(&s, &s.admin, "kim", json!({"disabled": true})).await;
        assert_eq!((status, &body["disabled"]), (200, &json!(true)), "{body}");
        assert_eq!(s.call("GET", "/api/v1/alerts", Some(&viewer), None).await.0, 401);
        expect_revoked(&mut live, "the account kim is disabled").await;
        let (status, body) = s.login("kim", "kim-password").await;
        assert_eq!(status, 403, "{body}");
        assert!(body["detail"].as_str().unwrap().contains("disabled"), "{body}");
        assert_eq!(s.login("kim", "wrong-password").await.0, 401);
        // A CONNECT with the revoked token is refused too.
        let mut again = Stomp::open(&s.base, &["v12.stomp"]).await;
        let bearer = format!("Bearer {viewer}");
        again
            .send_text(&crate::realtime::client::frame(
                "CONNECT",
                &[
                    ("accept-version", "1.2"),
                    ("host", "kwanje"),
                    ("Authorization", &bearer),
                ],
                "",
            ))
            .await;
        let error = again.expect(Command::Error).await;
        assert!(
            String::from_utf8_lossy(&error.body).contains("disabled")
                || error.header("message").unwrap_or_default().contains("disabled"),
            "{error:?}"
        );

        // Enabled again: a new login works, the tokens from before the disabling stay revoked.
        let (status, _) = patch(&s, &s.admin, "kim", json!({"disabled": false})).await;
        assert_eq!(status, 200);
        assert_eq!(s.call("GET", "/api/v1/alerts", Some(&viewer), None).await.0, 401);
        let fresh = token_of(&s, "kim", "kim-password").await;
        assert_eq!(s.call("GET", "/api/v1/alerts", Some(&fresh), None).await.0, 200);

        // A restarted server still refuses them: revocations are stored.
        let (status, _) = patch(&s, &s.admin, "kim", json!({"disabled": true})).await;
        assert_eq!(status, 200);
        let restarted = s.restart(|_| {}).await;
        assert_eq!(restarted.call("GET", "/api/v1/alerts", Some(&fresh), None).await.0, 401);
        assert_eq!(restarted.call("GET", "/api/v1/alerts", Some(&old), None).await.0, 401);
        restarted.stop().await;
    }
}

#[actix_web::test]
async fn the_last_enabled_admin_is_neither_demoted_nor_disabled() {
    for backend in backends() {
        let s = Server::start(backend).await;
        for change in [json!({"role": "operator"}), json!({"disabled": true})] {
            let (status, body) = patch(&s, &s.admin, "admin", change).await;
            assert_eq!(status, 409, "{body}");
            assert!(
                body["detail"].as_str().unwrap().contains("last enabled admin"),
                "{body}"
            );
        }
        // With a second admin, the first may step down.
        create(&s, &s.admin, "root2", "root2-password", "admin").await;
        let (status, body) = patch(&s, &s.admin, "admin", json!({"role": "operator"})).await;
        assert_eq!(status, 200, "{body}");
        let second = token_of(&s, "root2", "root2-password").await;
        let (status, _) = patch(&s, &second, "root2", json!({"disabled": true})).await;
        assert_eq!(status, 409);
        s.stop().await;
    }
}

/// Two admins demoted at the same moment: exactly one demotion passes, the other is refused as
/// the last admin's (on PostgreSQL the admins' rows are locked while it is checked).
#[actix_web::test]
async fn two_demotions_at_once_leave_one_admin() {
    for backend in backends() {
        let s = Server::start(backend).await;
        create(&s, &s.admin, "root2", "root2-password", "admin").await;
        // An admin token whose name has no account: demoting the two accounts does not touch it.
        let ops = s.token("ops", Role::Admin, None);
        for _ in 0..5 {
            let (a, b) = tokio::join!(
                patch(&s, &ops, "admin", json!({"role": "operator"})),
                patch(&s, &ops, "root2", json!({"role": "operator"}))
            );
            let mut statuses = [a.0, b.0];
            statuses.sort_unstable();
            assert_eq!(statuses, [200, 409], "{a:?} {b:?}");
            let (_, list) = s.call("GET", "/api/v1/users", Some(&ops), None).await;
            let admins = list["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|u| u["role"] == "admin")
                .count();
            assert_eq!(admins, 1, "{list}");
            // Both admins again for the next round.
            for name in ["admin", "root2"] {
                let (status, body) = patch(&s, &ops, name, json!({"role": "admin"})).await;
                assert_eq!(status, 200, "{body}");
            }
        }
        s.stop().await;
    }
}

#[actix_web::test]
async fn a_user_changes_their_own_password_and_earlier_tokens_stop() {
    for backend in backends() {
        let s = Server::start(backend).await;
        create(&s, &s.admin, "kim", "kim-password", "viewer").await;
        let old = token_of(&s, "kim", "kim-password").await;
        let change = |token: String, old_pw: &str, new_pw: &str| {
            let body = json!({"old_password": old_pw, "new_password": new_pw});
            let s = &s;
            async move {
                s.call("POST", "/api/v1/users/me/password", Some(&token), Some(body))
                    .await
            }
        };
        let (status, body) = change(old.clone(), "wrong-password", "new-password-1").await;
        assert_eq!(status, 403, "{body}");
        let (status, body) = change(old.clone(), "kim-password", "short").await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(s.call("GET", "/api/v1/alerts", Some(&old), None).await.0, 200);

        let (status, body) = change(old.clone(), "kim-password", "new-password-1").await;
        assert_eq!(status, 200, "{body}");
        let fresh = body["access_token"].as_str().unwrap().to_owned();
        assert_eq!(s.call("GET", "/api/v1/alerts", Some(&old), None).await.0, 401);
        assert_eq!(s.call("GET", "/api/v1/alerts", Some(&fresh), None).await.0, 200);
        assert_eq!(s.login("kim", "kim-password").await.0, 401);
        assert_eq!(s.login("kim", "new-password-1").await.0, 200);

        // A client's or driver's token has no password; a `kwanje token` name has no account.
        let gate = s.token("gate-1", Role::Client, Some("gate-1"));
        assert_eq!(change(gate, "x", "new-password-2").await.0, 403);
        let ghost = s.token("ghost", Role::Operator, None);
        assert_eq!(change(ghost, "x", "new-password-2").await.0, 404);
        s.stop().await;
    }
}

#[actix_web::test]
async fn an_admin_revokes_a_clients_and_a_drivers_tokens() {
    for backend in backends() {
        let s = Server::start_with(backend, |c| c.stomp_tcp = Some("127.0.0.1:0".into())).await;
        let (status, body) = s
            .post("/api/v1/clients", json!({"id": "gpc-1", "name": "gate 1"}))
            .await;
        assert_eq!(status, 201, "{body}");
        let (status, body) = s
            .post(
                "/api/v1/taxis",
                json!({"plate": "S1", "license_region": "seoul", "class": "standard"}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let issue = |path: &'static str| {
            let s = &s;
            async move {
                let (status, body) = s.post(path, json!({"ttl_ms": 600_000})).await;
                assert_eq!(status, 200, "{body}");
                body["access_token"].as_str().unwrap().to_owned()
            }
        };
        let gate = issue("/api/v1/clients/gpc-1/token").await;
        let driver = issue("/api/v1/taxis/S1/token").await;
        let mut gate_session = Stomp::open(&s.base, &["v12.stomp"]).await;
        gate_session.connect(&gate, "1.2").await;
        // The same gate PC also over plain TCP STOMP: revoked the same way.
        let mut gate_tcp = Stomp::open_tcp(s.stomp_tcp.unwrap()).await;
        gate_tcp.connect(&gate, "1.2").await;
        let mut driver_session = Stomp::open(&s.base, &["v12.stomp"]).await;
        driver_session.connect(&driver, "1.2").await;
        let client_beat = json!({"devices": []});
        let (status, body) = s
            .call(
                "POST",
                "/api/v1/clients/gpc-1/heartbeats",
                Some(&gate),
                Some(client_beat.clone()),
            )
            .await;
        assert_ne!(status, 401, "{body}");

        // Only an admin revokes.
        let operator = s.token("op", Role::Operator, None);
        assert_eq!(
            s.call("DELETE", "/api/v1/clients/gpc-1/token", Some(&operator), None)
                .await
                .0,
            403
        );
        assert_eq!(
            s.call("DELETE", "/api/v1/clients/nobody/token", Some(&s.admin), None)
                .await
                .0,
            404
        );

        let (status, body) = s
            .call("DELETE", "/api/v1/clients/gpc-1/token", Some(&s.admin), None)
            .await;
        assert_eq!((status, &body["subject"]), (200, &json!("client:gpc-1")), "{body}");
        expect_revoked(&mut gate_session, "the tokens of client:gpc-1 were revoked by admin").await;
        expect_revoked(&mut gate_tcp, "the tokens of client:gpc-1 were revoked by admin").await;
        let (status, _) = s
            .call(
                "POST",
                "/api/v1/clients/gpc-1/heartbeats",
                Some(&gate),
                Some(client_beat.clone()),
            )
            .await;
        assert_eq!(status, 401);
        // The driver is another subject: untouched until revoked in turn.
        let ping = "/api/v1/taxis/S1/heartbeat";
        assert_ne!(s.call("POST", ping, Some(&driver), None).await.0, 401);
        let (status, body) = s.call("DELETE", "/api/v1/taxis/S1/token", Some(&s.admin), None).await;
        assert_eq!((status, &body["subject"]), (200, &json!("taxi:S1")), "{body}");
        expect_revoked(&mut driver_session, "the tokens of taxi:S1 were revoked").await;
        assert_eq!(s.call("POST", ping, Some(&driver), None).await.0, 401);

        // A token issued after the revocation works.
        let new_gate = issue("/api/v1/clients/gpc-1/token").await;
        let (status, body) = s
            .call(
                "POST",
                "/api/v1/clients/gpc-1/heartbeats",
                Some(&new_gate),
                Some(client_beat),
            )
            .await;
        assert_ne!(status, 401, "{body}");
        let mut again = Stomp::open(&s.base, &["v12.stomp"]).await;
        again.connect(&new_gate, "1.2").await;
        let (_, audit) = s.get("/api/v1/audit?target=client:gpc-1").await;
        let actions: Vec<&str> = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert!(actions.contains(&"client.token.revoked"), "{audit}");
        s.stop().await;
    }
}
