//! Edits across nodes: a device edited and decommissioned at the node that does not run it is
//! taken up by the node that does (its owner): the live actor takes the new interval, and on
//! decommissioning stops and has its open alert resolved by the admin with the reason; a
//! provisioning sheet applied at one node starts its devices at their owner; a webhook added at
//! one node is told once of an alert raised at the other.

use std::time::{Duration, Instant};

use kwanje::auth::Role;
use serde_json::json;

use super::{token, Node};

/// Heartbeats `device` at `node` with `token` until the node takes them (it may not know the
/// device yet: it learns of it from another node's announcement) and answers `up`.
fn beat_until_up(node: &Node, device: &str, token: &str) {
    let path = format!("/api/v1/devices/{device}/heartbeat");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = node.call("POST", &path, token, Some(json!({"status": "ok"})));
        if status == 200 {
            assert_eq!(body["state"], "up", "{body}");
            return;
        }
        assert!(Instant::now() < deadline, "{status} {body}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_device_edited_and_decommissioned_at_one_node_changes_at_its_owner() {
    let Some((one, two, client)) = super::two_nodes_split() else {
        return;
    };
    let admin = token(Role::Admin, None);
    let (status, body) = one.call(
        "POST",
        "/api/v1/clients",
        &admin,
        Some(json!({"id": client, "name": client})),
    );
    assert_eq!(status, 201, "{body}");
    // 10 s × 3: it would stay up for the whole test.
    let (status, device) = one.call(
        "POST",
        "/api/v1/devices",
        &admin,
        Some(json!({"id": "cam-e", "kind": "lpr_camera", "client_id": client,
            "heartbeat_interval_ms": 10_000, "miss_tolerance": 3})),
    );
    assert_eq!((status, &device["owner_node"]), (201, &json!(2)), "{device}");
    let beat = token(Role::Client, Some(&client));
    // Node 2 learns of it from node 1's announcement.
    beat_until_up(&two, "cam-e", &beat);

    // Edited at node 1; node 2 runs it and takes the 400 ms window.
    let (status, edited) = one.call(
        "PATCH",
        "/api/v1/devices/cam-e",
        &admin,
        Some(json!({"heartbeat_interval_ms": 200, "miss_tolerance": 2, "lane": "7"})),
    );
    assert_eq!(status, 200, "{edited}");
    let down = two.wait_get("/api/v1/devices/cam-e", "down at its owner", |d| d["state"] == "down");
    assert_eq!((&down["restarts"], &down["lane"]), (&json!(0), &json!("7")), "{down}");
    one.wait_get("/api/v1/devices/cam-e", "node 1 sees the edit", |d| {
        d["heartbeat_interval_ms"] == 200
    });
    let open = one.wait_get("/api/v1/alerts?state=open", "its alert", |b| {
        b["items"]
            .as_array()
            .is_some_and(|a| a.iter().any(|a| a["subject_id"] == "cam-e"))
    });
    let alert_id = open["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["subject_id"] == "cam-e")
        .unwrap()["id"]
        .as_i64()
        .unwrap();

    // Decommissioned at node 1: node 2 stops it and resolves its alert, as the admin, saying why.
    let (status, done) = one.call("DELETE", "/api/v1/devices/cam-e?reason=moved%20to%20T2", &admin, None);
    assert_eq!(status, 200, "{done}");
    let resolved = one.wait_get(&format!("/api/v1/alerts/{alert_id}"), "resolved", |a| {
        a["state"] == "resolved"
    });
    assert_eq!(resolved["resolved_by"], "cluster-test", "{resolved}");
    assert!(
        resolved["detail"].as_str().unwrap().contains("moved to T2"),
        "{resolved}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while two.call("GET", "/api/v1/devices/cam-e", &admin, None).0 != 404 {
        assert!(Instant::now() < deadline, "still listed at node 2\n{}", two.log_text());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        two.log_text().contains("device retired id=cam-e alerts_resolved=1"),
        "{}",
        two.log_text()
    );
}

#[test]
fn a_sheet_provisioned_at_one_node_starts_its_devices_at_their_owner() {
    let Some((one, two, client)) = super::two_nodes_split() else {
        return;
    };
    let admin = token(Role::Admin, None);
    let sheet = json!({
        "clients": [{"id": client, "name": "provisioned"}],
        "devices": [{"id": "cam-p", "kind": "gate", "client_id": client, "heartbeat_interval_ms": 200, "miss_tolerance": 2}]
    });
    let (status, done) = one.call("POST", "/api/v1/provision", &admin, Some(sheet));
    assert_eq!((status, &done["devices_created"]), (200, &json!(["cam-p"])), "{done}");
    // Node 2 owns its gate PC's partition: it runs the device.
    let beat = token(Role::Client, Some(&client));
    beat_until_up(&two, "cam-p", &beat);
    // Silent, it leaves `up` at its owner (`unreachable`: its gate PC, heard over HTTP only,
    // went quiet with it).
    let silent = two.wait_get("/api/v1/devices/cam-p", "silent at its owner", |d| d["state"] != "up");
    assert_eq!(silent["owner_node"], 2, "{silent}");

    let taxis = json!({"taxis": [{"plate": "12가3456", "license_region": "seoul", "class": "standard"}]});
    let (status, problem) = one.call("POST", "/api/v1/provision", &admin, Some(taxis));
    assert_eq!(status, 422, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("POST /api/v1/taxis"),
        "{problem}"
    );
}

#[test]
fn a_webhook_added_at_one_node_is_told_once_of_an_alert_raised_at_the_other() {
    let Some((one, two, client)) = super::two_nodes_split() else {
        return;
    };
    let pager = crate::support::receiver::TestReceiver::start();
    let admin = token(Role::Admin, None);
    let (status, made) = one.call(
        "POST",
        "/api/v1/receivers",
        &admin,
        Some(json!({"name": "pager", "url": pager.url})),
    );
    assert_eq!(status, 201, "{made}");
    let (status, _) = one.call(
        "POST",
        "/api/v1/clients",
        &admin,
        Some(json!({"id": client, "name": "c"})),
    );
    assert_eq!(status, 201);
    let body =
        json!({"id": "cam-w", "kind": "gate", "client_id": client, "heartbeat_interval_ms": 200, "miss_tolerance": 2});
    assert_eq!(one.call("POST", "/api/v1/devices", &admin, Some(body)).0, 201);
    // Node 2 reads the receivers every second: let it, then make the device (node 2's) fall
    // silent. An admin's heartbeat says nothing of the gate PC, so the device's own alert is told.
    std::thread::sleep(Duration::from_millis(1_500));
    let deadline = Instant::now() + Duration::from_secs(10);
    while two
        .call(
            "POST",
            "/api/v1/devices/cam-w/heartbeat",
            &admin,
            Some(json!({"status": "ok"})),
        )
        .0
        != 200
    {
        assert!(Instant::now() < deadline, "{}", two.log_text());
        std::thread::sleep(Duration::from_millis(50));
    }
    let open = one.wait_get("/api/v1/alerts?state=open", "its alert", |b| {
        b["items"]
            .as_array()
            .is_some_and(|a| a.iter().any(|a| a["subject_id"] == "cam-w"))
    });
    let alert_id = open["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["subject_id"] == "cam-w")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let key = format!("{alert_id}:1");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !pager.accepted_keys().contains(&key) {
        assert!(Instant::now() < deadline, "{:?}\n{}", pager.got(), two.log_text());
        std::thread::sleep(Duration::from_millis(50));
    }
    // Sent by the owner only: once, not by both nodes.
    std::thread::sleep(Duration::from_millis(1_000));
    let sent = pager.got().iter().filter(|g| g.key == key).count();
    assert_eq!(sent, 1, "{:?}", pager.got());
}
