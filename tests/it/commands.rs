//! Commands and failover over HTTP with the real server. The gate PC here is an in-process
//! delivery sink reached through the same messages the broker sends (presence, delivery, ack).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use kwanje::auth::Role;
use kwanje::command::messages::{AckCommand, ClientOffline, ClientOnline, DeliverCommand};
use kwanje::listen::Tells;
use serde_json::{json, Value};

use crate::support::{Backend, Server};

const WAIT: Duration = Duration::from_secs(10);

/// What was delivered to a gate PC, in order.
#[derive(Clone, Default)]
struct Delivered(Arc<Mutex<Vec<Value>>>);

struct FakeGatePc(Delivered);

impl Actor for FakeGatePc {
    type Context = Context<Self>;
}

impl Handler<DeliverCommand> for FakeGatePc {
    type Result = ();
    fn handle(&mut self, msg: DeliverCommand, _: &mut Context<Self>) {
        let mut body: Value = serde_json::from_str(&msg.body).unwrap();
        body["to"] = json!(msg.client_id);
        self.0 .0.lock().unwrap().push(body);
    }
}

/// Answered after every delivery sent to the gate PC before it.
#[derive(Message)]
#[rtype(result = "()")]
struct Barrier;

impl Handler<Barrier> for FakeGatePc {
    type Result = ();
    fn handle(&mut self, _: Barrier, _: &mut Context<Self>) {}
}

/// A gate PC's queue.
struct Inbox {
    delivered: Delivered,
    pc: Addr<FakeGatePc>,
}

impl Inbox {
    /// Everything delivered so far. The command service sends a delivery from within the
    /// handler of the message that causes it (an issue, a client coming online), so once that
    /// was answered the delivery is in the gate PC's mailbox: the barrier behind it makes a
    /// delivery that should not have happened show here, however late it is handled.
    async fn all(&self) -> Vec<Value> {
        self.pc.send(Barrier).await.unwrap();
        self.delivered.0.lock().unwrap().clone()
    }

    async fn wait_len(&self, n: usize) -> Vec<Value> {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let all = self.all().await;
            if all.len() >= n {
                return all;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "expected {n} deliveries, got {all:?}"
            );
            actix_web::rt::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

async fn with_gate_pc(s: &Server) -> Inbox {
    let delivered = Delivered::default();
    let pc = FakeGatePc(delivered.clone()).start();
    s.state.commands.listen(pc.clone().recipient::<DeliverCommand>());
    Inbox { delivered, pc }
}

async fn online(s: &Server, client: &str) {
    s.state
        .commands
        .send(ClientOnline {
            client_id: client.into(),
        })
        .await
        .unwrap();
}

async fn ack(s: &Server, id: i64, client: &str, ok: bool) {
    let msg = AckCommand {
        command_id: id,
        client_id: client.into(),
        ok,
        detail: Some("done".into()),
    };
    s.state.commands.send(msg).await.unwrap().unwrap();
}

async fn command(s: &Server, device: &str, body: Value, key: Option<&str>) -> (u16, Value) {
    let client = awc::Client::default();
    let mut req = client
        .post(s.url(&format!("/api/v1/devices/{device}/commands")))
        .insert_header((
            "Authorization",
            format!("Bearer {}", s.token("kim", Role::Operator, None)),
        ));
    if let Some(key) = key {
        req = req.insert_header(("Idempotency-Key", key));
    }
    let mut resp = req.send_json(&body).await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

async fn register_pair(s: &Server, auto: bool) {
    s.register("pc-1", &[], 5_000, 3).await;
    for (id, standby) in [("lpr-1", Some("lpr-2")), ("lpr-2", None)] {
        let body = json!({"id": id, "kind": "lpr_camera", "client_id": "pc-1", "standby_id": standby,
            "heartbeat_interval_ms": 100, "miss_tolerance": 2, "auto_failover": auto});
        let (status, body) = s.post("/api/v1/devices", body).await;
        assert_eq!(status, 201, "{body}");
    }
}

#[actix_web::test]
async fn a_command_for_an_offline_client_waits_and_is_delivered_once_on_reconnect() {
    let s = Server::start(Backend::Sqlite).await;
    register_pair(&s, false).await;
    let inbox = with_gate_pc(&s).await;
    let (status, cmd) = command(
        &s,
        "lpr-1",
        json!({"kind": "switch_to_standby", "reason": "drill"}),
        None,
    )
    .await;
    assert_eq!(status, 202, "{cmd}");
    assert_eq!(cmd["state"], "pending");
    assert_eq!(cmd["issued_by"], "kim");
    assert!(inbox.all().await.is_empty(), "the client is offline");

    online(&s, "pc-1").await;
    let got = inbox.wait_len(1).await;
    assert_eq!(
        (got[0]["command_id"].clone(), got[0]["command"].clone()),
        (cmd["id"].clone(), json!("switch_to_standby"))
    );
    assert_eq!(
        (got[0]["standby_id"].as_str(), got[0]["to"].as_str()),
        (Some("lpr-2"), Some("pc-1"))
    );
    let id = cmd["id"].as_i64().unwrap();
    s.wait_for(&format!("/api/v1/commands/{id}"), WAIT, |c| c["state"] == "delivered")
        .await;

    // A reconnect before the ack gets the same command again, with the same id.
    s.state
        .commands
        .send(ClientOffline {
            client_id: "pc-1".into(),
        })
        .await
        .unwrap();
    online(&s, "pc-1").await;
    let got = inbox.wait_len(2).await;
    assert_eq!(got[1]["command_id"], got[0]["command_id"]);

    ack(&s, id, "pc-1", true).await;
    let done = s
        .wait_for(&format!("/api/v1/commands/{id}"), WAIT, |c| c["state"] == "acked")
        .await;
    assert_eq!(done["detail"], "done");
    // Once acked it is never delivered again.
    online(&s, "pc-1").await;
    assert_eq!(inbox.all().await.len(), 2);
    let (_, listed) = s.get("/api/v1/commands?device_id=lpr-1&state=acked").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn the_same_idempotency_key_returns_the_same_command() {
    let s = Server::start(Backend::Sqlite).await;
    register_pair(&s, false).await;
    let body = json!({"kind": "fail_open"});
    let (_, first) = command(&s, "lpr-1", body.clone(), Some("op-42")).await;
    let (status, again) = command(&s, "lpr-1", body.clone(), Some("op-42")).await;
    assert_eq!(status, 202);
    assert_eq!(first["id"], again["id"]);
    let (_, other) = command(&s, "lpr-1", body, None).await;
    assert_ne!(other["id"], first["id"]);
    let (_, all) = s.get("/api/v1/commands?device_id=lpr-1").await;
    assert_eq!(
        all["items"].as_array().unwrap().len(),
        2,
        "two commands, not three: {all}"
    );
    // The audit log names the operator.
    let entries = s
        .state
        .store
        .read(|c| kwanje::store::models::audit::for_target(c, "device:lpr-1"))
        .await
        .unwrap();
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.action == "command.issue" && e.principal == "kim")
            .count(),
        2
    );
}

#[actix_web::test]
async fn an_ack_that_never_comes_times_out_with_an_alert() {
    let s = Server::start_with(Backend::Sqlite, |c| c.command_ack_timeout_ms = 200).await;
    register_pair(&s, false).await;
    let inbox = with_gate_pc(&s).await;
    online(&s, "pc-1").await;
    let (_, cmd) = command(&s, "lpr-1", json!({"kind": "restart"}), None).await;
    inbox.wait_len(1).await;
    let id = cmd["id"].as_i64().unwrap();
    s.wait_for(&format!("/api/v1/commands/{id}"), WAIT, |c| c["state"] == "timed_out")
        .await;
    let open = s
        .wait_for("/api/v1/alerts?state=open&kind=command_timed_out", WAIT, |b| {
            b["items"].as_array().is_some_and(|a| a.len() == 1)
        })
        .await;
    assert_eq!(open["items"][0]["subject_id"], "lpr-1");
}

#[actix_web::test]
async fn an_undelivered_command_expires_at_its_ttl() {
    let s = Server::start(Backend::Sqlite).await;
    register_pair(&s, false).await;
    let (_, cmd) = command(&s, "lpr-1", json!({"kind": "fail_closed", "ttl_ms": 1_000}), None).await;
    let id = cmd["id"].as_i64().unwrap();
    s.wait_for(&format!("/api/v1/commands/{id}"), WAIT, |c| c["state"] == "expired")
        .await;
}

#[actix_web::test]
async fn a_silent_primary_fails_over_to_its_standby_when_the_client_confirms() {
    let s = Server::start(Backend::Sqlite).await;
    register_pair(&s, true).await;
    let inbox = with_gate_pc(&s).await;
    online(&s, "pc-1").await;
    s.heartbeat("pc-1", "lpr-1", "ok").await;
    // Keep the standby up while the primary goes silent.
    let keep = async {
        for _ in 0..40 {
            s.heartbeat("pc-1", "lpr-2", "ok").await;
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let watch = async {
        let got = inbox.wait_len(1).await;
        assert_eq!(
            (got[0]["command"].as_str(), got[0]["device_id"].as_str()),
            (Some("switch_to_standby"), Some("lpr-1"))
        );
        let id = got[0]["command_id"].as_i64().unwrap();
        let (_, c) = s.get(&format!("/api/v1/commands/{id}")).await;
        assert_eq!(c["issued_by"], "policy:failover");
        ack(&s, id, "pc-1", true).await;
    };
    futures_util::future::join(keep, watch).await;
    s.wait_for("/api/v1/devices/lpr-2", WAIT, |d| d["active"] == true).await;
    let primary = s
        .wait_for("/api/v1/devices/lpr-1", WAIT, |d| d["active"] == false)
        .await;
    let kinds: Vec<&str> = primary["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"heartbeat_missed") && kinds.contains(&"failover_executed"),
        "{primary}"
    );
}

#[actix_web::test]
async fn a_failover_that_cannot_happen_raises_failover_failed() {
    let s = Server::start(Backend::Sqlite).await;
    register_pair(&s, true).await;
    let _gate_pc = s.gate_pc_online("pc-1").await;
    // The standby never came up.
    s.heartbeat("pc-1", "lpr-1", "ok").await;
    let open = s
        .wait_for("/api/v1/alerts?state=open&kind=failover_failed", WAIT, |b| {
            b["items"].as_array().is_some_and(|a| a.len() == 1)
        })
        .await;
    assert_eq!(open["items"][0]["severity"], "critical");
    assert!(open["items"][0]["detail"].as_str().unwrap().contains("lpr-2"));
    let (_, cmds) = s.get("/api/v1/commands?device_id=lpr-1").await;
    assert!(
        cmds["items"].as_array().unwrap().is_empty(),
        "no switch was ordered: {cmds}"
    );
}

#[actix_web::test]
async fn command_requests_are_checked() {
    let s = Server::start(Backend::Sqlite).await;
    register_pair(&s, false).await;
    let (status, body) = command(&s, "lpr-1", json!({"kind": "self_destruct"}), None).await;
    assert_eq!(status, 422, "{body}");
    let (status, _) = command(&s, "lpr-2", json!({"kind": "switch_to_standby"}), None).await;
    assert_eq!(status, 422, "lpr-2 has no standby");
    let (status, _) = command(&s, "lpr-1", json!({"kind": "restart", "ttl_ms": 10}), None).await;
    assert_eq!(status, 422);
    let (status, _) = command(&s, "nope", json!({"kind": "restart"}), None).await;
    assert_eq!(status, 404);
    let viewer = s.token("val", Role::Viewer, None);
    let (status, _) = s
        .call(
            "POST",
            "/api/v1/devices/lpr-1/commands",
            Some(&viewer),
            Some(json!({"kind": "restart"})),
        )
        .await;
    assert_eq!(status, 403);
    // maintenance_on silences the device on the server at once.
    let (status, _) = command(&s, "lpr-1", json!({"kind": "maintenance_on"}), None).await;
    assert_eq!(status, 202);
    let (_, d) = s.get("/api/v1/devices/lpr-1").await;
    assert_eq!(d["state"], "maintenance");
}

#[actix_web::test]
async fn a_gate_pc_that_drops_raises_one_alert_and_its_devices_wait_under_it() {
    let s = Server::start(Backend::Sqlite).await;
    s.register("pc-1", &["a", "b", "c"], 150, 2).await;
    for d in ["a", "b", "c"] {
        s.heartbeat("pc-1", d, "ok").await;
    }
    // Presence (from the broker when a session closes) says pc-1 is gone.
    s.state.devices.client_presence("pc-1", false);
    s.wait_for("/api/v1/devices?state=unreachable", WAIT, |b| {
        b["items"].as_array().is_some_and(|a| a.len() == 3)
    })
    .await;
    let open = s
        .wait_for("/api/v1/alerts?state=open", WAIT, |b| {
            b["items"].as_array().is_some_and(|a| a.len() == 4)
        })
        .await;
    let items = open["items"].as_array().unwrap();
    let parent = items
        .iter()
        .find(|a| a["kind"] == "client_disconnected")
        .expect("one parent alert");
    assert_eq!(parent["subject_id"], "pc-1");
    let children: Vec<&Value> = items.iter().filter(|a| a["kind"] == "heartbeat_missed").collect();
    assert_eq!(children.len(), 3);
    assert!(children.iter().all(|c| c["suppressed_by"] == parent["id"]), "{open}");
    // Silence while gone raises nothing more.
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    let (_, still) = s.get("/api/v1/alerts?state=open").await;
    assert_eq!(still["items"].as_array().unwrap().len(), 4);

    // It comes back: the parent resolves; a and b heartbeat and recover, c stays silent and
    // raises its own (no longer suppressed) alert.
    s.state.devices.client_presence("pc-1", true);
    let keep = async {
        for _ in 0..10 {
            s.heartbeat("pc-1", "a", "ok").await;
            s.heartbeat("pc-1", "b", "ok").await;
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
    };
    keep.await;
    let open = s
        .wait_for("/api/v1/alerts?state=open", WAIT, |b| {
            b["items"]
                .as_array()
                .is_some_and(|a| a.len() == 1 && a[0]["subject_id"] == "c" && a[0]["suppressed_by"].is_null())
        })
        .await;
    assert_eq!(open["items"][0]["kind"], "heartbeat_missed");
    let (_, parent_now) = s.get(&format!("/api/v1/alerts/{}", parent["id"])).await;
    assert_eq!(parent_now["state"], "resolved");
}

#[actix_web::test]
async fn a_primary_that_stays_up_fails_back_automatically_when_configured() {
    let s = Server::start_with(Backend::Sqlite, |c| c.auto_failback_secs = 1).await;
    register_pair(&s, true).await;
    let inbox = with_gate_pc(&s).await;
    online(&s, "pc-1").await;
    s.heartbeat("pc-1", "lpr-1", "ok").await;
    let stop = std::rc::Rc::new(std::cell::Cell::new(false));
    let standby = s.keep_alive("pc-1", "lpr-2", stop.clone());
    // The primary goes silent: the policy switches to the standby, the gate PC confirms.
    let got = inbox.wait_len(1).await;
    ack(&s, got[0]["command_id"].as_i64().unwrap(), "pc-1", true).await;
    s.wait_for("/api/v1/devices/lpr-1", WAIT, |d| d["active"] == false)
        .await;
    // The primary comes back and stays up: after the stable second, a failback.
    let keep = async {
        for _ in 0..40 {
            s.heartbeat("pc-1", "lpr-1", "ok").await;
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let failback = async {
        let got = inbox.wait_len(2).await;
        assert_eq!(
            (got[1]["command"].as_str(), got[1]["device_id"].as_str()),
            (Some("failback"), Some("lpr-1"))
        );
        ack(&s, got[1]["command_id"].as_i64().unwrap(), "pc-1", true).await;
    };
    futures_util::future::join(keep, failback).await;
    s.wait_for("/api/v1/devices/lpr-1", WAIT, |d| d["active"] == true).await;
    s.wait_for("/api/v1/devices/lpr-2", WAIT, |d| d["active"] == false)
        .await;
    s.wait_for("/api/v1/alerts?state=open&kind=failover_executed", WAIT, |b| {
        b["items"].as_array().is_some_and(Vec::is_empty)
    })
    .await;
    stop.set(true);
    let _ = standby.await;
}
