//! Webhook receivers (issue #16) over the real server, with a test receiver on a real socket:
//! routed by severity and kind, every change of an alert delivered in order through a receiver
//! outage (the receiver's health says so meanwhile), and none lost across a kill -9 of the
//! server while the receiver was down.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kwanje::auth::Role;
use serde_json::{json, Value};

use crate::cluster::{token, Node, SECRET};
use crate::support::receiver::TestReceiver;
use crate::support::{backends, until, Server};

const WAIT: Duration = Duration::from_secs(15);

fn items(body: &Value) -> Vec<Value> {
    body["items"].as_array().cloned().unwrap_or_default()
}

/// The keys of `alert_id`'s changes among `keys`, in order.
fn of_alert(keys: &[String], alert_id: i64) -> Vec<String> {
    keys.iter()
        .filter(|k| k.split(':').next() == Some(alert_id.to_string().as_str()))
        .cloned()
        .collect()
}

#[actix_web::test]
async fn every_change_reaches_a_webhook_in_order_through_its_outage() {
    for backend in backends() {
        let pager = TestReceiver::start();
        let crashes = TestReceiver::start();
        let s = Server::start(backend).await;
        let (status, made) = s
            .post(
                "/api/v1/receivers",
                json!({"name": "pager", "url": pager.url, "min_severity": "major"}),
            )
            .await;
        assert_eq!(status, 201, "{made}");
        assert_eq!((&made["health"], &made["pending"]), (&json!("healthy"), &json!(0)));
        let (status, _) = s
            .post(
                "/api/v1/receivers",
                json!({"name": "crashes", "url": crashes.url, "kinds": ["crash_loop"]}),
            )
            .await;
        assert_eq!(status, 201);
        // Bad receivers are refused with a reason.
        for (body, want) in [
            (json!({"name": "pager", "url": pager.url}), 409),
            (json!({"name": "x", "url": "ftp://host/x"}), 422),
            (json!({"name": "x", "url": pager.url, "min_severity": "urgent"}), 422),
            (json!({"name": "x", "url": pager.url, "kinds": ["meteor"]}), 422),
            (json!({"name": "x", "url": pager.url, "kinds": []}), 422),
            (json!({"name": "x", "url": pager.url, "colour": "red"}), 400),
        ] {
            let (status, problem) = s.post("/api/v1/receivers", body.clone()).await;
            assert_eq!(status, want, "{body}: {problem}");
        }
        let operator = s.token("kim", Role::Operator, None);
        assert_eq!(s.call("GET", "/api/v1/receivers", Some(&operator), None).await.0, 403);

        // An alert opens: the pager gets it.
        s.register("pc-1", &["cam-1"], 100, 2).await;
        let _gate_pc = s.gate_pc_online("pc-1").await;
        s.heartbeat("pc-1", "cam-1", "ok").await;
        let open = s
            .wait_for("/api/v1/alerts?state=open", WAIT, |b| !items(b).is_empty())
            .await;
        let alert_id = items(&open)[0]["id"].as_i64().unwrap();
        until("the pager is told of the alert", WAIT, || {
            pager.accepted_keys().contains(&format!("{alert_id}:1"))
        })
        .await;
        let first = pager.got().into_iter().find(|g| g.accepted).unwrap().body;
        assert_eq!(first["version"], "4", "{first}");
        assert_eq!(first["status"], "firing");
        assert_eq!(first["alerts"][0]["labels"]["alertname"], "heartbeat_missed");
        assert_eq!(first["alerts"][0]["labels"]["subject_id"], "cam-1");
        assert_eq!(first["kwanje"]["alert"]["id"], alert_id);

        // The pager goes down; the alert is acknowledged, then resolved by recovery.
        pager.set_up(false);
        let (status, _) = s
            .post(&format!("/api/v1/alerts/{alert_id}/ack"), json!({"note": "on it"}))
            .await;
        assert_eq!(status, 200);
        s.heartbeat("pc-1", "cam-1", "ok").await;
        s.wait_for(&format!("/api/v1/alerts/{alert_id}"), WAIT, |a| {
            a["state"] == "resolved"
        })
        .await;
        let failing = s
            .wait_for("/api/v1/receivers", WAIT, |list| {
                list.as_array()
                    .and_then(|l| l.iter().find(|r| r["name"] == "pager"))
                    .is_some_and(|r| r["health"] == "failing" && r["pending"].as_i64() >= Some(1))
            })
            .await;
        let pager_view = failing
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "pager")
            .unwrap()
            .clone();
        assert!(
            pager_view["last_error"].as_str().unwrap().contains("503"),
            "{pager_view}"
        );

        // Back up: it gets the acknowledgement and the resolution, in order, and is healthy.
        pager.set_up(true);
        until("the pager catches up", WAIT, || {
            of_alert(&pager.accepted_keys(), alert_id).len() == 3
        })
        .await;
        assert_eq!(
            of_alert(&pager.accepted_keys(), alert_id),
            [
                format!("{alert_id}:1"),
                format!("{alert_id}:2"),
                format!("{alert_id}:3")
            ]
        );
        let last = pager
            .got()
            .into_iter()
            .rev()
            .find(|g| g.accepted && g.key == format!("{alert_id}:3"))
            .unwrap()
            .body;
        assert_eq!(last["status"], "resolved", "{last}");
        s.wait_for("/api/v1/receivers", WAIT, |list| {
            list.as_array()
                .and_then(|l| l.iter().find(|r| r["name"] == "pager"))
                .is_some_and(|r| r["health"] == "healthy" && r["pending"] == 0)
        })
        .await;
        assert!(crashes.got().is_empty(), "routed by kind: {:?}", crashes.got());

        // Removed, it is sent nothing more.
        let id = pager_view["id"].as_i64().unwrap();
        let (status, _) = s
            .call("DELETE", &format!("/api/v1/receivers/{id}"), Some(&s.admin), None)
            .await;
        assert_eq!(status, 204);
        let (_, list) = s.get("/api/v1/receivers").await;
        assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
        let (status, problem) = s
            .call("DELETE", &format!("/api/v1/receivers/{id}"), Some(&s.admin), None)
            .await;
        assert_eq!(status, 404, "removed already: {problem}");
    }
}

fn serve(db: &str) -> Node {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kwanje"));
    cmd.arg("serve")
        .env("KWANJE_BIND", "127.0.0.1:0")
        .env("DATABASE_URL", db)
        .env("KWANJE_JWT_SECRET", SECRET)
        .env("KWANJE_ADMIN_PASSWORD", "admin-pw")
        .env("KWANJE_HTTP_WORKERS", "1")
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null());
    Node::start(cmd).unwrap_or_else(|(_, log)| panic!("{log}"))
}

#[test]
fn a_receiver_down_across_a_kill_9_still_gets_every_change() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("kwanje.db").display());
    let pager = TestReceiver::start();
    let admin = token(Role::Admin, None);
    let node = serve(&db);
    let (status, made) = node.call(
        "POST",
        "/api/v1/receivers",
        &admin,
        Some(json!({"name": "pager", "url": pager.url})),
    );
    assert_eq!(status, 201, "{made}");
    pager.set_up(false);
    let (status, _) = node.call(
        "POST",
        "/api/v1/clients",
        &admin,
        Some(json!({"id": "pc-1", "name": "pc"})),
    );
    assert_eq!(status, 201);
    for cam in ["cam-1", "cam-2"] {
        let body =
            json!({"id": cam, "kind": "gate", "client_id": "pc-1", "heartbeat_interval_ms": 100, "miss_tolerance": 2});
        assert_eq!(node.call("POST", "/api/v1/devices", &admin, Some(body)).0, 201);
    }
    // Heartbeats from an admin: they say nothing of the gate PC, so each silent device's own
    // alert is told (not suppressed under its gate PC's).
    for cam in ["cam-1", "cam-2"] {
        let path = format!("/api/v1/devices/{cam}/heartbeat");
        assert_eq!(node.call("POST", &path, &admin, Some(json!({"status": "ok"}))).0, 200);
    }
    // Two alerts open (both devices silent), the pager down: their changes wait in the store.
    let open = node.wait_get("/api/v1/alerts?state=open", "two alerts", |b| items(b).len() >= 2);
    let ids: Vec<i64> = items(&open).iter().map(|a| a["id"].as_i64().unwrap()).collect();
    let (status, _) = node.call(
        "POST",
        &format!("/api/v1/alerts/{}/ack", ids[0]),
        &admin,
        Some(json!({})),
    );
    assert_eq!(status, 200);
    node.wait_get("/api/v1/receivers", "owed three changes", |l| {
        l[0]["pending"].as_i64() >= Some(3)
    });
    assert!(pager.accepted_keys().is_empty());

    node.signal("-KILL");
    drop(node);
    let node = serve(&db);
    pager.set_up(true);
    let deadline = Instant::now() + WAIT;
    let want: Vec<Vec<String>> = vec![
        vec![format!("{}:1", ids[0]), format!("{}:2", ids[0])],
        vec![format!("{}:1", ids[1])],
    ];
    loop {
        let keys = pager.accepted_keys();
        let got: Vec<Vec<String>> = ids.iter().map(|id| of_alert(&keys, *id)).collect();
        if got == want {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "got {got:?}, want {want:?}\n{}",
            node.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    node.wait_get("/api/v1/receivers", "nothing owed", |l| {
        l[0]["pending"] == 0 && l[0]["health"] == "healthy"
    });
}
