//! Failover end to end: a simulated gate PC and an operator console speaking STOMP over real
//! WebSockets to the real server.

use std::time::Duration;

use kwanje::auth::Role;
use serde_json::{json, Value};

use super::client::{frame, Stomp};
use super::session;
use crate::support::{Backend, Server};

const WAIT: Duration = Duration::from_secs(10);

async fn register_pair(s: &Server) {
    s.register("pc-1", &[], 5_000, 3).await;
    for (id, standby) in [("lpr-1", Some("lpr-2")), ("lpr-2", None)] {
        let body = json!({"id": id, "kind": "lpr_camera", "client_id": "pc-1", "standby_id": standby,
            "heartbeat_interval_ms": 150, "miss_tolerance": 2, "auto_failover": true});
        assert_eq!(s.post("/api/v1/devices", body).await.0, 201);
    }
}

async fn gate_pc(s: &Server) -> Stomp {
    let mut pc = session(s, "pc-1", Role::Client).await;
    pc.subscribe("cmd", "/user/queue/commands", "auto").await;
    pc
}

async fn heartbeat(pc: &mut Stomp, devices: &[&str], receipt: &str) {
    let list: Vec<Value> = devices.iter().map(|d| json!({"id": d, "status": "ok"})).collect();
    let body = json!({ "devices": list }).to_string();
    pc.send_with_receipt(
        "/app/heartbeat",
        &[("content-type", "application/json")],
        &body,
        receipt,
    )
    .await;
}

#[actix_web::test]
async fn a_silent_device_fails_over_through_the_gate_pc_and_recovers() {
    let s = Server::start(Backend::Sqlite).await;
    register_pair(&s).await;
    let mut console = session(&s, "op-1", Role::Operator).await;
    console.subscribe("alerts", "/topic/alerts", "auto").await;
    let mut pc = gate_pc(&s).await;
    heartbeat(&mut pc, &["lpr-1", "lpr-2"], "hb-1").await;
    let stop = std::rc::Rc::new(std::cell::Cell::new(false));
    s.keep_alive("pc-1", "lpr-2", stop.clone());

    // lpr-1 goes silent: one alert for the console...
    let raised = console
        .recv_json_until(|m| m["type"] == "alert.raised" && m["subject_id"] == "lpr-1")
        .await;
    assert_eq!(raised["kind"], "heartbeat_missed");
    let alert_id = raised["id"].as_i64().unwrap();
    // ...and the switch for the gate PC.
    let (message, command) = pc.recv_json().await;
    assert_eq!(message.header("destination"), Some("/user/queue/commands"));
    assert_eq!(
        (
            command["type"].as_str(),
            command["command"].as_str(),
            command["device_id"].as_str(),
            command["standby_id"].as_str()
        ),
        (
            Some("command.issued"),
            Some("switch_to_standby"),
            Some("lpr-1"),
            Some("lpr-2")
        )
    );
    let id = command["command_id"].as_i64().unwrap();
    let ack = json!({"command_id": id, "ok": true, "detail": "switched to lpr-2"}).to_string();
    pc.send_with_receipt(
        "/app/commands/ack",
        &[("content-type", "application/json")],
        &ack,
        "ack-1",
    )
    .await;

    s.wait_for(&format!("/api/v1/commands/{id}"), WAIT, |c| c["state"] == "acked")
        .await;
    s.wait_for("/api/v1/devices/lpr-2", WAIT, |d| d["active"] == true).await;
    s.wait_for("/api/v1/devices/lpr-1", WAIT, |d| d["active"] == false)
        .await;

    // The primary recovers: its alert is resolved, and the console is told.
    heartbeat(&mut pc, &["lpr-1"], "hb-2").await;
    let resolved = console
        .recv_json_until(|m| m["id"].as_i64() == Some(alert_id) && m["state"] == "resolved")
        .await;
    assert_eq!(resolved["type"], "alert.updated");
    stop.set(true);
    // One alert for the outage, not one per missed interval.
    let (_, all) = s.get("/api/v1/alerts?kind=heartbeat_missed&subject_id=lpr-1").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 1, "{all}");
}

#[actix_web::test]
async fn a_gate_pc_that_drops_raises_one_alert_and_all_resolve_on_its_return() {
    let s = Server::start(Backend::Sqlite).await;
    s.register("pc-1", &["a", "b", "c"], 150, 2).await;
    let mut console = session(&s, "op-1", Role::Operator).await;
    console.subscribe("alerts", "/topic/alerts", "auto").await;
    let mut pc = gate_pc(&s).await;
    heartbeat(&mut pc, &["a", "b", "c"], "hb-1").await;
    pc.drop_connection();

    let parent = console.recv_json_until(|m| m["type"] == "alert.raised").await;
    assert_eq!(
        (parent["kind"].as_str(), parent["subject_id"].as_str()),
        (Some("client_disconnected"), Some("pc-1"))
    );
    // The children's alerts are stored under the parent and not told to the console.
    console.expect_silence(Duration::from_millis(600)).await;
    let (_, children) = s.get("/api/v1/alerts?state=open&kind=heartbeat_missed").await;
    let children = children["items"].as_array().unwrap().clone();
    assert_eq!(children.len(), 3);
    assert!(children.iter().all(|c| c["suppressed_by"] == parent["id"]));

    // It returns and its devices heartbeat: the parent and every child resolve.
    let mut pc = gate_pc(&s).await;
    heartbeat(&mut pc, &["a", "b", "c"], "hb-2").await;
    let back = console.recv_json_until(|m| m["id"] == parent["id"]).await;
    assert_eq!(back["state"], "resolved");
    s.wait_for("/api/v1/alerts?state=open", WAIT, |b| {
        b["items"].as_array().is_some_and(Vec::is_empty)
    })
    .await;
}

#[actix_web::test]
async fn a_command_for_an_offline_gate_pc_is_delivered_on_reconnect_once() {
    let s = Server::start(Backend::Sqlite).await;
    register_pair(&s).await;
    let operator = s.token("kim", Role::Operator, None);
    let (status, command) = s
        .call(
            "POST",
            "/api/v1/devices/lpr-1/commands",
            Some(&operator),
            Some(json!({"kind": "fail_open"})),
        )
        .await;
    assert_eq!(status, 202);
    assert_eq!(command["state"], "pending");

    // The gate PC connects; as most clients do, it subscribes after CONNECTED arrives.
    let token = s.token("pc-1", Role::Client, Some("pc-1"));
    let mut pc = Stomp::open(&s.base, &["v12.stomp"]).await;
    pc.connect(&token, "1.2").await;
    actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    pc.send_text(&frame(
        "SUBSCRIBE",
        &[("id", "cmd"), ("destination", "/user/queue/commands")],
        "",
    ))
    .await;
    let (_, delivered) = pc.recv_json().await;
    assert_eq!(delivered["command_id"], command["id"]);
    assert_eq!(delivered["command"], "fail_open");
    pc.expect_silence(Duration::from_millis(300)).await;
    let ack = json!({"command_id": command["id"], "ok": true}).to_string();
    pc.send_with_receipt("/app/commands/ack", &[], &ack, "ack").await;
    s.wait_for(&format!("/api/v1/commands/{}", command["id"]), WAIT, |c| {
        c["state"] == "acked"
    })
    .await;
    pc.expect_silence(Duration::from_millis(300)).await;
}

/// More alerts at once than a session's mailbox holds (1,024) reach a console whole, over a
/// real socket. (That a batch takes one mailbox place is proven at the broker level, in
/// `realtime::slow`, with a session that cannot keep up.)
#[actix_web::test]
async fn an_alert_storm_reaches_a_console_whole() {
    const DEVICES: usize = 1_500;
    let dir = tempfile::tempdir().unwrap();
    let url = crate::support::database_url(Backend::Sqlite, &dir);
    let store = kwanje::store::Store::open(&url).unwrap();
    store.migrate().unwrap();
    let now = kwanje::time::Millis::now().0;
    store
        .write_blocking(|c| {
            use kwanje::store::models::{clients, devices};
            clients::insert(
                c,
                &clients::Client {
                    id: "pc-1".into(),
                    name: "pc".into(),
                    site: None,
                    created_ms: now,
                    decommissioned_ms: None,
                },
            )?;
            for i in 0..DEVICES {
                devices::insert(
                    c,
                    &devices::Device::registered(&format!("d{i}"), "gate", "pc-1", 300, 2, now),
                )?;
            }
            Ok(())
        })
        .unwrap();
    drop(store);
    let s = Server::start_on(Backend::Sqlite, &url, dir, |_| {}).await;
    let mut console = session(&s, "op-1", Role::Operator).await;
    console.subscribe("alerts", "/topic/alerts", "auto").await;
    let mut pc = gate_pc(&s).await;
    let ids: Vec<String> = (0..DEVICES).map(|i| format!("d{i}")).collect();
    for (n, chunk) in ids.chunks(1_000).enumerate() {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        heartbeat(&mut pc, &refs, &format!("hb-{n}")).await;
    }
    let mut raised = std::collections::HashSet::new();
    while raised.len() < DEVICES {
        let alert = console.recv_json_until(|m| m["type"] == "alert.raised").await;
        raised.insert(alert["subject_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(raised.len(), DEVICES);
}

/// An unacknowledged critical alert is told again every re-notification interval, with the
/// same id and version, and not once it is acknowledged.
#[actix_web::test]
async fn an_unacknowledged_critical_alert_is_renotified_until_acknowledged() {
    let s = Server::start_with(Backend::Sqlite, |c| c.renotify_secs = 1).await;
    // A pager among the receivers is told again too.
    let pager = crate::support::receiver::TestReceiver::start();
    let (status, made) = s
        .post(
            "/api/v1/receivers",
            serde_json::json!({"name": "pager", "url": pager.url}),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    register_pair(&s).await;
    let mut console = session(&s, "op-1", Role::Operator).await;
    console.subscribe("alerts", "/topic/alerts", "auto").await;
    // The standby never came up: the primary's failover fails, a critical alert.
    let mut pc = gate_pc(&s).await;
    heartbeat(&mut pc, &["lpr-1"], "hb").await;
    let raised = console
        .recv_json_until(|m| m["type"] == "alert.raised" && m["kind"] == "failover_failed")
        .await;
    let again = console
        .recv_json_until(|m| m["type"] == "alert.renotified" && m["id"] == raised["id"])
        .await;
    assert_eq!(again["version"], raised["version"]);
    let renotified = format!("{}:{}:renotified:", raised["id"], raised["version"]);
    crate::support::until("the pager is told again", Duration::from_secs(10), || {
        pager.accepted_keys().iter().any(|k| k.starts_with(&renotified))
    })
    .await;
    let operator = s.token("kim", Role::Operator, None);
    let path = format!("/api/v1/alerts/{}/ack", raised["id"]);
    assert_eq!(s.call("POST", &path, Some(&operator), None).await.0, 200);
    console
        .recv_json_until(|m| m["type"] == "alert.updated" && m["state"] == "acknowledged")
        .await;
    // Acknowledged: nothing more about it within two intervals.
    let deadline = std::time::Instant::now() + Duration::from_millis(2_200);
    while std::time::Instant::now() < deadline {
        match console.next_within(Duration::from_millis(200)).await {
            Some(super::client::Event::Frame(f)) => {
                let m: Value = serde_json::from_slice(&f.body).unwrap();
                assert!(
                    !(m["type"] == "alert.renotified" && m["id"] == raised["id"]),
                    "renotified after ack: {m}"
                );
            }
            Some(other) => panic!("{other:?}"),
            None => {}
        }
    }
}
