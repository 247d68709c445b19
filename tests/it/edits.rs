//! Changing what is registered (issue #16) over the real server, on every backend: a PATCHed
//! interval taken by the live actor without a restart, bad edits refused with nothing changed,
//! a device moved to another gate PC, a decommissioned device's alerts resolved with the reason
//! and its history kept (across a restart too), and a gate PC renamed and decommissioned, its
//! open session closed.

use std::time::Duration;

use kwanje::auth::Role;
use serde_json::{json, Value};

use crate::support::{backends, Server};

const WAIT: Duration = Duration::from_secs(10);

async fn patch(s: &Server, path: &str, body: Value) -> (u16, Value) {
    s.call("PATCH", path, Some(&s.admin), Some(body)).await
}

async fn delete(s: &Server, path: &str) -> (u16, Value) {
    s.call("DELETE", path, Some(&s.admin), None).await
}

fn items(body: &Value) -> Vec<Value> {
    body["items"].as_array().cloned().unwrap_or_default()
}

async fn audit_of(s: &Server, target: &str) -> Vec<String> {
    let (status, body) = s.get(&format!("/api/v1/audit?target={target}")).await;
    assert_eq!(status, 200, "{body}");
    items(&body)
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["action"].as_str().unwrap(),
                e["detail"].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[actix_web::test]
async fn a_patched_interval_takes_effect_on_the_live_actor_without_a_restart() {
    for backend in backends() {
        let s = Server::start(backend).await;
        // 5 s × 3: silent for the whole test, it would stay up.
        s.register("pc-1", &["cam-1", "cam-2"], 5_000, 3).await;
        let _gate_pc = s.gate_pc_online("pc-1").await;
        let (_, up) = s.heartbeat("pc-1", "cam-1", "ok").await;
        assert_eq!(up["state"], "up", "{up}");

        let (status, edited) = patch(
            &s,
            "/api/v1/devices/cam-1",
            json!({"heartbeat_interval_ms": 100, "miss_tolerance": 2, "zone": "B", "standby_id": "cam-2"}),
        )
        .await;
        assert_eq!(status, 200, "{edited}");
        assert_eq!(
            edited["changed"],
            json!(["zone", "standby_id", "heartbeat_interval_ms", "miss_tolerance"])
        );
        assert_eq!(
            (
                &edited["heartbeat_interval_ms"],
                &edited["miss_tolerance"],
                &edited["standby_id"]
            ),
            (&json!(100), &json!(2), &json!("cam-2"))
        );
        assert_eq!(edited["state"], "up", "the edit keeps the state: {edited}");
        assert_eq!(edited["kind"], "lpr_camera");

        // The new 200 ms window, not the old 15 s one: down well within the wait.
        let down = s
            .wait_for("/api/v1/devices/cam-1", WAIT, |d| d["state"] == "down")
            .await;
        assert_eq!(down["restarts"], 0, "taken without a restart: {down}");
        assert_eq!(down["zone"], "B");
        let history = s
            .wait_for("/api/v1/devices/cam-1/transitions", WAIT, |h| items(h).len() >= 2)
            .await;
        let moves: Vec<String> = items(&history)
            .iter()
            .map(|t| {
                format!(
                    "{}>{}",
                    t["from_state"].as_str().unwrap(),
                    t["to_state"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(moves, ["up>down", "unknown>up"], "no restart in between: {history}");

        // `null` clears; a field left out stays.
        let (status, cleared) = patch(&s, "/api/v1/devices/cam-1", json!({"standby_id": null})).await;
        assert_eq!(status, 200, "{cleared}");
        assert_eq!((&cleared["standby_id"], &cleared["zone"]), (&Value::Null, &json!("B")));
        assert_eq!(cleared["changed"], json!(["standby_id"]));
        let (status, same) = patch(&s, "/api/v1/devices/cam-1", json!({"zone": "B"})).await;
        assert_eq!((status, &same["changed"]), (200, &json!([])), "{same}");

        let audit = audit_of(&s, "device:cam-1").await;
        assert!(
            audit.contains(&"device.update zone,standby_id,heartbeat_interval_ms,miss_tolerance".to_owned()),
            "{audit:?}"
        );
        assert_eq!(
            audit.iter().filter(|a| a.starts_with("device.update")).count(),
            2,
            "{audit:?}"
        );

        // A restarted server has the edit from the store.
        let s = s.restart(|_| {}).await;
        let (_, stored) = s.get("/api/v1/devices/cam-1").await;
        assert_eq!(
            (&stored["heartbeat_interval_ms"], &stored["zone"], &stored["standby_id"]),
            (&json!(100), &json!("B"), &Value::Null),
            "{stored}"
        );
    }
}

#[actix_web::test]
async fn a_bad_edit_is_refused_with_a_reason_and_changes_nothing() {
    for backend in backends() {
        let s = Server::start(backend).await;
        s.register("pc-1", &["cam-1"], 5_000, 3).await;
        for (body, want, why) in [
            (json!({"kind": "gate"}), 400, "unknown field `kind`"),
            (
                json!({"heartbeat_interval_ms": 10}),
                422,
                "heartbeat_interval_ms must be between",
            ),
            (json!({"miss_tolerance": 0}), 422, "miss_tolerance must be between"),
            (json!({"client_id": "pc-404"}), 422, "client pc-404 is not registered"),
            (json!({"standby_id": "cam-1"}), 422, "its own standby"),
            (json!({"zone": "z".repeat(201)}), 422, "longer than 200"),
            (json!({"client_id": "has space"}), 422, "invalid"),
        ] {
            let (status, problem) = patch(&s, "/api/v1/devices/cam-1", body.clone()).await;
            assert_eq!(status, want, "{body}: {problem}");
            assert!(problem["detail"].as_str().unwrap().contains(why), "{body}: {problem}");
        }
        let (status, _) = patch(&s, "/api/v1/devices/cam-404", json!({"zone": "B"})).await;
        assert_eq!(status, 404);
        let operator = s.token("kim", Role::Operator, None);
        let (status, _) = s
            .call(
                "PATCH",
                "/api/v1/devices/cam-1",
                Some(&operator),
                Some(json!({"zone": "B"})),
            )
            .await;
        assert_eq!(status, 403, "editing is an admin's");
        let (status, _) = s.call("DELETE", "/api/v1/devices/cam-1", Some(&operator), None).await;
        assert_eq!(status, 403, "decommissioning is an admin's");

        let (_, device) = s.get("/api/v1/devices/cam-1").await;
        assert_eq!(
            (
                &device["heartbeat_interval_ms"],
                &device["miss_tolerance"],
                &device["zone"],
                &device["client_id"]
            ),
            (&json!(5_000), &json!(3), &Value::Null, &json!("pc-1")),
            "{device}"
        );
        assert!(audit_of(&s, "device:cam-1")
            .await
            .iter()
            .all(|a| !a.starts_with("device.update")));
    }
}

#[actix_web::test]
async fn a_device_moved_to_another_gate_pc_is_that_gate_pcs() {
    for backend in backends() {
        let s = Server::start(backend).await;
        s.register("pc-1", &["cam-1"], 5_000, 3).await;
        s.register("pc-2", &[], 5_000, 3).await;
        let (status, moved) = patch(&s, "/api/v1/devices/cam-1", json!({"client_id": "pc-2"})).await;
        assert_eq!((status, &moved["client_id"]), (200, &json!("pc-2")), "{moved}");
        let (status, body) = s.heartbeat("pc-1", "cam-1", "ok").await;
        assert_eq!(status, 403, "its old gate PC no longer speaks for it: {body}");
        let (status, body) = s.heartbeat("pc-2", "cam-1", "ok").await;
        assert_eq!((status, &body["state"]), (200, &json!("up")), "{body}");
        let (_, listed) = s.get("/api/v1/devices?client_id=pc-2").await;
        assert_eq!(items(&listed).len(), 1, "{listed}");
    }
}

#[actix_web::test]
async fn a_decommissioned_device_has_its_alerts_resolved_and_its_history_kept() {
    for backend in backends() {
        let s = Server::start(backend).await;
        s.register("pc-1", &["cam-1", "cam-2"], 100, 2).await;
        let _gate_pc = s.gate_pc_online("pc-1").await;
        s.heartbeat("pc-1", "cam-1", "ok").await;
        s.wait_for("/api/v1/devices/cam-1", WAIT, |d| d["state"] == "down")
            .await;
        let open = s
            .wait_for("/api/v1/alerts?state=open", WAIT, |b| {
                items(b).iter().any(|a| a["subject_id"] == "cam-1")
            })
            .await;
        let alert = items(&open).into_iter().find(|a| a["subject_id"] == "cam-1").unwrap();
        let alert_id = alert["id"].as_i64().unwrap();

        // Not while another device names it as its standby.
        assert_eq!(
            patch(&s, "/api/v1/devices/cam-2", json!({"standby_id": "cam-1"}))
                .await
                .0,
            200
        );
        let (status, problem) = delete(&s, "/api/v1/devices/cam-1").await;
        assert_eq!(status, 409, "{problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains("standby of cam-2"),
            "{problem}"
        );
        assert_eq!(
            patch(&s, "/api/v1/devices/cam-2", json!({"standby_id": null})).await.0,
            200
        );

        let (status, done) = delete(&s, "/api/v1/devices/cam-1?reason=replaced%20by%20cam-9").await;
        assert_eq!(status, 200, "{done}");
        assert_eq!((&done["id"], &done["alerts_resolved"]), (&json!("cam-1"), &json!(1)));
        let resolved = s
            .wait_for(&format!("/api/v1/alerts/{alert_id}"), WAIT, |a| {
                a["state"] == "resolved"
            })
            .await;
        assert_eq!(resolved["resolved_by"], "admin", "{resolved}");
        let detail = resolved["detail"].as_str().unwrap();
        assert!(
            detail.contains("decommissioned by admin: replaced by cam-9"),
            "{resolved}"
        );

        // Out of the live view, the lists and the heartbeat path; nothing more is raised.
        assert_eq!(s.get("/api/v1/devices/cam-1").await.0, 404);
        let (_, listed) = s.get("/api/v1/devices").await;
        let ids: Vec<String> = items(&listed)
            .iter()
            .map(|d| d["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(ids, ["cam-2"], "{listed}");
        assert_eq!(s.heartbeat("pc-1", "cam-1", "ok").await.0, 404);
        assert_eq!(delete(&s, "/api/v1/devices/cam-1").await.0, 404, "once only");
        actix_web::rt::time::sleep(Duration::from_millis(500)).await;
        let (_, open) = s.get("/api/v1/alerts?state=open").await;
        assert!(items(&open).iter().all(|a| a["subject_id"] != "cam-1"), "{open}");
        // Its history stays.
        let (status, history) = s.get("/api/v1/devices/cam-1/transitions").await;
        assert_eq!(status, 200, "{history}");
        assert_eq!(items(&history).len(), 2, "{history}");
        assert!(audit_of(&s, "device:cam-1")
            .await
            .contains(&"device.decommission device decommissioned by admin: replaced by cam-9".to_owned()));

        // Still gone after a restart; registering the id again brings it back as new.
        let s = s.restart(|_| {}).await;
        assert_eq!(s.get("/api/v1/devices/cam-1").await.0, 404);
        let (status, again) = s
            .post(
                "/api/v1/devices",
                json!({"id": "cam-1", "kind": "gate", "client_id": "pc-1"}),
            )
            .await;
        assert_eq!(status, 201, "{again}");
        assert_eq!((&again["state"], &again["kind"]), (&json!("unknown"), &json!("gate")));
        let (_, history) = s.get("/api/v1/devices/cam-1/transitions").await;
        assert_eq!(items(&history).len(), 2, "the old history is still there: {history}");
    }
}

#[actix_web::test]
async fn a_gate_pc_is_renamed_and_decommissioned_once_it_hosts_nothing() {
    for backend in backends() {
        let s = Server::start(backend).await;
        s.register("pc-1", &["cam-1"], 5_000, 3).await;
        let (status, renamed) = patch(&s, "/api/v1/clients/pc-1", json!({"name": "Gate 7 PC", "site": "T2"})).await;
        assert_eq!(status, 200, "{renamed}");
        assert_eq!(
            (&renamed["name"], &renamed["site"]),
            (&json!("Gate 7 PC"), &json!("T2"))
        );
        for (body, want) in [(json!({"name": " "}), 422), (json!({"id": "pc-9"}), 400)] {
            let (status, problem) = patch(&s, "/api/v1/clients/pc-1", body.clone()).await;
            assert_eq!(status, want, "{body}: {problem}");
        }
        assert_eq!(patch(&s, "/api/v1/clients/pc-404", json!({"name": "x"})).await.0, 404);
        let (status, cleared) = patch(&s, "/api/v1/clients/pc-1", json!({"site": null})).await;
        assert_eq!(
            (status, &cleared["site"], &cleared["name"]),
            (200, &Value::Null, &json!("Gate 7 PC"))
        );

        // Not while it hosts a device in service.
        let mut session = s.gate_pc_online("pc-1").await;
        let (status, problem) = delete(&s, "/api/v1/clients/pc-1").await;
        assert_eq!(status, 409, "{problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains("still hosts 1 devices"),
            "{problem}"
        );
        assert_eq!(delete(&s, "/api/v1/devices/cam-1").await.0, 200);

        let (status, done) = delete(&s, "/api/v1/clients/pc-1").await;
        assert_eq!(status, 200, "{done}");
        let error = session.expect_error().await;
        assert_eq!(error.header("message"), Some("token revoked"), "{error:?}");
        assert!(
            String::from_utf8_lossy(&error.body).contains("decommissioned"),
            "{error:?}"
        );
        let (_, listed) = s.get("/api/v1/clients").await;
        assert!(items(&listed).is_empty(), "{listed}");
        let (status, problem) = s
            .post(
                "/api/v1/devices",
                json!({"id": "cam-5", "kind": "gate", "client_id": "pc-1"}),
            )
            .await;
        assert_eq!(status, 422, "no devices on a decommissioned gate PC: {problem}");
        assert_eq!(delete(&s, "/api/v1/clients/pc-1").await.0, 404);
        assert!(audit_of(&s, "client:pc-1")
            .await
            .iter()
            .any(|a| a.starts_with("client.decommission")));

        // Registered again, it is back.
        let (status, back) = s.post("/api/v1/clients", json!({"id": "pc-1", "name": "new pc"})).await;
        assert_eq!((status, &back["name"]), (201, &json!("new pc")), "{back}");
    }
}

/// A gate PC that dropped leaves its own `client_disconnected` open; decommissioned once its
/// devices are, that alert is resolved with the reason (it can never come back to resolve it).
#[actix_web::test]
async fn a_decommissioned_gate_pc_has_its_own_alert_resolved() {
    for backend in backends() {
        let s = Server::start(backend).await;
        s.register("pc-2", &["cam-2"], 150, 2).await;
        // No HTTP heartbeat: one would lease the gate PC's presence and resolve the alert.
        s.state.devices.client_presence("pc-2", false);
        let open = s
            .wait_for("/api/v1/alerts?state=open&kind=client_disconnected", WAIT, |b| {
                !items(b).is_empty()
            })
            .await;
        let id = items(&open)[0]["id"].clone();
        assert_eq!(delete(&s, "/api/v1/devices/cam-2").await.0, 200);
        assert_eq!(delete(&s, "/api/v1/clients/pc-2").await.0, 200);
        let resolved = s
            .wait_for(&format!("/api/v1/alerts/{id}"), WAIT, |a| a["state"] == "resolved")
            .await;
        assert!(
            resolved["detail"]
                .as_str()
                .is_some_and(|d| d.contains("client pc-2 was decommissioned by admin")),
            "{resolved}"
        );
    }
}

/// A crash between storing a decommissioning and resolving the device's alerts leaves them
/// open on a device nobody supervises: the next start resolves them.
#[actix_web::test]
async fn alerts_a_crash_left_open_on_a_decommissioned_device_are_resolved_at_start() {
    for backend in backends() {
        let s = Server::start(backend).await;
        s.register("pc-1", &["cam-1"], 100, 2).await;
        let _gate_pc = s.gate_pc_online("pc-1").await;
        s.heartbeat("pc-1", "cam-1", "ok").await;
        let open = s
            .wait_for("/api/v1/alerts?state=open", WAIT, |b| {
                items(b).iter().any(|a| a["subject_id"] == "cam-1")
            })
            .await;
        let alert_id = items(&open)[0]["id"].clone();
        let (backend, url, clock, dir) = s.shut_down().await;
        // The decommissioning was stored; the server died before it resolved anything.
        let store = kwanje::store::Store::open(&url).unwrap();
        store
            .write_blocking(|c| kwanje::store::models::devices::decommission(c, "cam-1", 1).map(|_| ()))
            .unwrap();
        drop(store);
        let s = Server::start_clocked_on(backend, &url, dir, clock, |_| {}).await;
        let resolved = s
            .wait_for(&format!("/api/v1/alerts/{alert_id}"), WAIT, |a| {
                a["state"] == "resolved"
            })
            .await;
        assert!(
            resolved["detail"]
                .as_str()
                .is_some_and(|d| d.contains("decommissioned")),
            "{resolved}"
        );
    }
}
