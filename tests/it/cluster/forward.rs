//! A gate PC connected to the node that does not own its partition: its heartbeats, its
//! command subscription, its acks and its presence reach the owner.

use std::time::Duration;

use kwanje::auth::Role;
use serde_json::{json, Value};

use super::bus::{alerts_raised, collect_until, device_states, messages_for, post, session};
use super::token;
use crate::realtime::client::frame;

/// `GET path` on `addr` from inside a running system, as a viewer.
async fn get(addr: &str, path: &str) -> (u16, Value) {
    let mut resp = awc::Client::default()
        .get(format!("http://{addr}{path}"))
        .bearer_auth(token(Role::Viewer, None))
        .send()
        .await
        .unwrap();
    let bytes = resp.body().await.unwrap_or_default();
    (
        resp.status().as_u16(),
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Whether `client` is online as `addr` lists it.
async fn online_at(addr: &str, client: &str) -> bool {
    let (_, clients) = get(addr, "/api/v1/clients").await;
    let list = clients
        .as_array()
        .or_else(|| clients["items"].as_array())
        .cloned()
        .unwrap_or_default();
    list.iter().any(|c| c["id"] == client && c["online"] == true)
}

fn beat_frame(device: &str) -> String {
    frame(
        "SEND",
        &[("destination", "/app/heartbeat"), ("content-type", "application/json")],
        &json!({"devices": [{"id": device, "status": "ok"}]}).to_string(),
    )
}

#[test]
fn a_gate_pc_on_the_other_node_keeps_its_devices_up_takes_its_commands_and_goes_offline_only_when_it_leaves() {
    let Some((one, two, client)) = super::two_nodes_split() else {
        return;
    };
    let (device, (status, body)) = two.register_camera(&client);
    assert_eq!(status, 201, "{body}");

    actix_web::rt::System::new().block_on(async {
        let mut operator = session(&one, Role::Viewer, None).await;
        operator.subscribe("devices", "/topic/devices", "auto").await;
        operator.subscribe("alerts", "/topic/alerts", "auto").await;
        // The gate PC's only session is on node 1, which does not own its partition.
        let mut gate = session(&one, Role::Client, Some(&client)).await;
        gate.subscribe("commands", "/user/queue/commands", "auto").await;

        // Beating for twice its deadline (3 s) through node 1: up, and never down.
        let mut seen = Vec::new();
        for _ in 0..12 {
            gate.send_text(&beat_frame(&device)).await;
            seen.extend(messages_for(&mut operator, Duration::from_millis(500)).await);
        }
        assert_eq!(device_states(&seen, &device), ["up"], "{seen:#?}\n{}", two.log_text());
        let (_, stored) = get(&two.addr, &format!("/api/v1/devices/{device}")).await;
        assert_eq!(stored["state"], "up", "{stored}");
        assert!(online_at(&two.addr, &client).await, "online at its owner");

        // An operator's command sent to node 1 is issued by the owner and reaches the gate PC on
        // node 1; its ack there completes it at the owner.
        let operator_token = token(Role::Operator, None);
        let path = format!("/api/v1/devices/{device}/commands");
        let (status, command) = post(&one.addr, &path, &operator_token, json!({"kind": "restart"})).await;
        assert_eq!(status, 202, "{command}");
        let (status, unknown) = post(&one.addr, &path, &operator_token, json!({"kind": "teleport"})).await;
        assert_eq!(status, 422, "the owner's refusal comes back as it is: {unknown}");
        assert!(
            unknown["detail"].as_str().unwrap_or_default().contains("restart"),
            "{unknown}"
        );
        let id = command["id"].as_u64().unwrap_or_else(|| panic!("{command}"));
        let mut delivered = Vec::new();
        collect_until(&mut gate, Duration::from_secs(10), &mut delivered, |s| !s.is_empty()).await;
        assert_eq!(delivered[0].1, Some(id.to_string()), "{delivered:?}");
        let ack = frame(
            "SEND",
            &[
                ("destination", "/app/commands/ack"),
                ("content-type", "application/json"),
            ],
            &json!({"command_id": id, "ok": true}).to_string(),
        );
        gate.send_text(&ack).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let (_, now) = get(&two.addr, &format!("/api/v1/commands/{id}")).await;
            if now["state"] == "acked" {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "not acked at the owner: {now}");
            gate.send_text(&beat_frame(&device)).await;
            seen.extend(messages_for(&mut operator, Duration::from_millis(200)).await);
        }

        // Silent but still connected: the device is down with one heartbeat_missed, and the
        // gate PC is not reported gone.
        collect_until(&mut operator, Duration::from_secs(15), &mut seen, |s| {
            device_states(s, &device).contains(&"down") && alerts_raised(s, &device) == 1
        })
        .await;
        seen.extend(messages_for(&mut operator, Duration::from_millis(1_500)).await);
        assert_eq!(device_states(&seen, &device), ["up", "down"], "{seen:#?}");
        assert_eq!(alerts_raised(&seen, &device), 1, "{seen:#?}");
        let kinds: Vec<&Value> = seen
            .iter()
            .filter(|(_, _, j)| j["type"] == "alert.raised")
            .map(|(_, _, j)| &j["kind"])
            .collect();
        assert_eq!(kinds, [&json!("heartbeat_missed")], "{seen:#?}");
        assert!(online_at(&two.addr, &client).await, "still online at its owner");

        // An operator on node 1 acknowledges it with a note: the owner keeps it, and says so.
        let alert_id = seen
            .iter()
            .find(|(_, _, j)| j["type"] == "alert.raised" && j["subject_id"] == device.as_str())
            .map(|(_, _, j)| j["id"].as_u64().unwrap_or_else(|| panic!("{j}")))
            .unwrap();
        let (status, acked) = post(
            &one.addr,
            &format!("/api/v1/alerts/{alert_id}/ack"),
            &operator_token,
            json!({"note": "crew sent"}),
        )
        .await;
        assert_eq!((status, &acked["state"]), (200, &json!("acknowledged")), "{acked}");
        let (_, at_owner) = get(&two.addr, &format!("/api/v1/alerts/{alert_id}")).await;
        assert_eq!(at_owner["state"], "acknowledged", "{at_owner}");

        // Its last session gone: offline at the owner, one client_disconnected.
        gate.drop_connection();
        collect_until(&mut operator, Duration::from_secs(10), &mut seen, |s| {
            alerts_raised(s, &client) == 1
        })
        .await;
        let parent = seen
            .iter()
            .find(|(_, _, j)| j["type"] == "alert.raised" && j["subject_id"] == client.as_str())
            .map(|(_, _, j)| j.clone())
            .unwrap();
        assert_eq!(parent["kind"], "client_disconnected", "{parent}");
        assert!(!online_at(&two.addr, &client).await, "offline at its owner");
    });

    let sent = super::metric(&one.text("/metrics"), "kwanje_cluster_forwarded_sent");
    let received = super::metric(&two.text("/metrics"), "kwanje_cluster_forwarded_received");
    assert!(sent >= 12, "sent {sent}");
    assert!(received >= 12, "received {received}");
}

#[test]
fn an_http_gate_pc_heartbeating_the_other_node_keeps_its_devices_up_at_the_owner() {
    let Some((one, two, client)) = super::two_nodes_split() else {
        return;
    };
    // Registered at node 1, which does not own it: node 2 starts it.
    let (device, (status, body)) = one.register_camera(&client);
    assert_eq!(status, 201, "{body}");
    let gate = token(Role::Client, Some(&client));

    // The batch endpoint and the one-device endpoint, both at node 1: handed to node 2.
    let batch = json!({"devices": [{"id": device, "status": "ok"}]});
    let (status, answer) = one.call(
        "POST",
        &format!("/api/v1/clients/{client}/heartbeats"),
        &gate,
        Some(batch),
    );
    assert_eq!((status, answer["applied"].as_u64()), (202, Some(1)), "{answer}");
    let state_at_owner = || {
        two.call(
            "GET",
            &format!("/api/v1/devices/{device}"),
            &token(Role::Viewer, None),
            None,
        )
        .1
    };
    // Beating every half second, as a gate PC would: the first batch may reach node 2 before
    // the announcement of the registration has (it is then skipped there as unregistered).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while state_at_owner()["state"] != "up" {
        assert!(std::time::Instant::now() < deadline, "{}", state_at_owner());
        std::thread::sleep(Duration::from_millis(500));
        let batch = json!({"devices": [{"id": device, "status": "ok"}]});
        let (status, _) = one.call(
            "POST",
            &format!("/api/v1/clients/{client}/heartbeats"),
            &gate,
            Some(batch),
        );
        assert_eq!(status, 202);
    }
    for _ in 0..8 {
        let (status, answer) = one.call(
            "POST",
            &format!("/api/v1/devices/{device}/heartbeat"),
            &gate,
            Some(json!({"status": "ok"})),
        );
        assert_eq!((status, &answer["forwarded"]), (202, &json!(true)), "{answer}");
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(
        state_at_owner()["state"],
        "up",
        "kept up through node 1 past its 3 s deadline"
    );

    // Another client's device in the batch is refused at node 1, nothing handed on: registered
    // at node 2, node 1 heard of it.
    let (_, other) = two.register_camera(&format!("{client}-b"));
    assert_eq!(other.0, 201, "{}", other.1);
    let viewer = token(Role::Viewer, None);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while one
        .call("GET", &format!("/api/v1/devices/{client}-b-cam"), &viewer, None)
        .0
        != 200
    {
        assert!(
            std::time::Instant::now() < deadline,
            "node 1 never heard of {client}-b-cam"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let stolen = json!({"devices": [{"id": format!("{client}-b-cam"), "status": "ok"}]});
    let (status, answer) = one.call(
        "POST",
        &format!("/api/v1/clients/{client}/heartbeats"),
        &gate,
        Some(stolen),
    );
    assert_eq!(status, 403, "{answer}");
    let refused = two
        .call(
            "GET",
            &format!("/api/v1/devices/{client}-b-cam"),
            &token(Role::Viewer, None),
            None,
        )
        .1;
    assert_ne!(refused["state"], "up", "{refused}");

    // A malformed batch is refused at node 1 with a clear error.
    let (status, answer) = one.call(
        "POST",
        &format!("/api/v1/clients/{client}/heartbeats"),
        &gate,
        Some(json!({"devices": "all of them"})),
    );
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("heartbeat batch"),
        "{answer}"
    );
}

fn beat_frame_of(devices: &[&str]) -> String {
    let devices: Vec<Value> = devices.iter().map(|d| json!({"id": d, "status": "ok"})).collect();
    frame(
        "SEND",
        &[("destination", "/app/heartbeat"), ("content-type", "application/json")],
        &json!({ "devices": devices }).to_string(),
    )
}

#[test]
fn an_automatic_failover_at_the_owner_reaches_the_gate_pc_on_the_other_node_and_its_ack_completes_it() {
    let Some((one, two, client)) = super::two_nodes_split() else {
        return;
    };
    let admin = token(Role::Admin, None);
    let (status, body) = two.call(
        "POST",
        "/api/v1/clients",
        &admin,
        Some(json!({"id": client, "name": client})),
    );
    assert_eq!(status, 201, "{body}");
    let (primary, standby) = (format!("{client}-lpr-1"), format!("{client}-lpr-2"));
    for (id, pair) in [(&primary, Some(&standby)), (&standby, None)] {
        // Registered at node 1, which owns neither: announced to the owner.
        let device = json!({"id": id, "kind": "lpr_camera", "client_id": client, "standby_id": pair,
            "heartbeat_interval_ms": 1_000, "miss_tolerance": 3, "auto_failover": true});
        let (status, body) = one.call("POST", "/api/v1/devices", &admin, Some(device));
        assert_eq!(status, 201, "{body}");
    }

    actix_web::rt::System::new().block_on(async {
        let mut operator = session(&one, Role::Viewer, None).await;
        operator.subscribe("devices", "/topic/devices", "auto").await;
        // The gate PC's only session is on node 1, which does not own its partition.
        let mut gate = session(&one, Role::Client, Some(&client)).await;
        gate.subscribe("commands", "/user/queue/commands", "auto").await;
        let mut seen = Vec::new();
        for _ in 0..8 {
            gate.send_text(&beat_frame_of(&[&primary, &standby])).await;
            seen.extend(messages_for(&mut operator, Duration::from_millis(500)).await);
        }
        assert_eq!(device_states(&seen, &primary), ["up"], "{seen:#?}\n{}", two.log_text());

        // The primary falls silent; the standby beats on. The owner (node 2) issues the
        // automatic switch, and it reaches the gate PC on node 1.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        let switch = loop {
            gate.send_text(&beat_frame_of(&[&standby])).await;
            let got = messages_for(&mut gate, Duration::from_millis(500)).await;
            if let Some((_, _, command)) = got.into_iter().find(|(_, _, j)| j["command"] == "switch_to_standby") {
                break command;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no automatic switch reached node 1\n{}",
                two.log_text()
            );
        };
        assert_eq!(
            (switch["device_id"].as_str(), switch["standby_id"].as_str()),
            (Some(primary.as_str()), Some(standby.as_str())),
            "{switch}"
        );
        let id = switch["command_id"].as_u64().unwrap_or_else(|| panic!("{switch}"));
        let (_, issued) = get(&two.addr, &format!("/api/v1/commands/{id}")).await;
        assert_eq!(
            issued["issued_by"], "policy:failover",
            "issued by the owner's failover policy: {issued}"
        );

        // Its ack on node 1 completes it at the owner, and the standby becomes the active one.
        let ack = frame(
            "SEND",
            &[
                ("destination", "/app/commands/ack"),
                ("content-type", "application/json"),
            ],
            &json!({"command_id": id, "ok": true, "detail": "switched"}).to_string(),
        );
        gate.send_text(&ack).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let (_, command) = get(&two.addr, &format!("/api/v1/commands/{id}")).await;
            let (_, active) = get(&two.addr, &format!("/api/v1/devices/{standby}")).await;
            if command["state"] == "acked" && active["active"] == true {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "not completed at the owner: {command} {active}"
            );
            gate.send_text(&beat_frame_of(&[&standby])).await;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        // Exactly one automatic switch, seen by the gate PC once.
        let (_, all) = get(&two.addr, &format!("/api/v1/commands?device_id={primary}")).await;
        let switches = all["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["kind"] == "switch_to_standby")
            .count();
        assert_eq!(switches, 1, "{all}");
    });
}
