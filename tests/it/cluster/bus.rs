//! Publications across nodes: what the owner of a device publishes reaches the sessions of the
//! other node once (no echo back, no duplicate), topics and user destinations alike.

use std::time::Duration;

use kwanje::auth::Role;
use kwanje::stomp::Command;
use serde_json::{json, Value};

use super::{token, Node};
use crate::realtime::client::{frame, Event, Stomp};

/// `POST path` on `addr` from inside a running system.
pub(super) async fn post(addr: &str, path: &str, token: &str, body: Value) -> (u16, Value) {
    let mut resp = awc::Client::default()
        .post(format!("http://{addr}{path}"))
        .bearer_auth(token)
        .send_json(&body)
        .await
        .unwrap();
    let bytes = resp.body().await.unwrap_or_default();
    (
        resp.status().as_u16(),
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// A session of `role` (as `client` for a gate PC) on `node`.
pub(super) async fn session(node: &Node, role: Role, client: Option<&str>) -> Stomp {
    let mut s = Stomp::open(&node.addr, &["v12.stomp"]).await;
    s.connect(&token(role, client), "1.2").await;
    s
}

/// Every MESSAGE `s` receives within `within`, as (subscription, command-id header, JSON body).
pub(super) async fn messages_for(s: &mut Stomp, within: Duration) -> Vec<(String, Option<String>, Value)> {
    let deadline = tokio::time::Instant::now() + within;
    let mut got = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match s.next_within(left).await {
            None => return got,
            Some(Event::Frame(f)) if f.command == Command::Message => {
                let json = serde_json::from_slice(&f.body).unwrap();
                got.push((
                    f.header("subscription").unwrap_or_default().to_owned(),
                    f.header("command-id").map(str::to_owned),
                    json,
                ));
            }
            Some(Event::Frame(_)) => {}
            Some(Event::Closed(code)) => panic!("session closed ({code:?}) while collecting {got:?}"),
        }
    }
}

/// Collects from `s` until `done` holds over what has arrived (panics after `within`).
pub(super) async fn collect_until(
    s: &mut Stomp,
    within: Duration,
    seen: &mut Vec<(String, Option<String>, Value)>,
    done: impl Fn(&[(String, Option<String>, Value)]) -> bool,
) {
    let deadline = tokio::time::Instant::now() + within;
    while !done(seen) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not within {within:?}: {seen:#?}"
        );
        seen.extend(messages_for(s, Duration::from_millis(200)).await);
    }
}

pub(super) fn device_states<'a>(seen: &'a [(String, Option<String>, Value)], device: &'a str) -> Vec<&'a str> {
    seen.iter()
        .filter(|(_, _, j)| j["type"] == "device.state" && j["id"] == device)
        .filter_map(|(_, _, j)| j["state"].as_str())
        .collect()
}

pub(super) fn alerts_raised(seen: &[(String, Option<String>, Value)], device: &str) -> usize {
    seen.iter()
        .filter(|(_, _, j)| j["type"] == "alert.raised" && j["subject_id"] == device)
        .count()
}

#[test]
fn operators_on_the_other_node_see_the_owners_changes_once_and_a_command_reaches_the_gate_pc_there() {
    let Some((one, two, client)) = super::two_nodes_split() else {
        return;
    };
    let (device, (status, body)) = two.register_camera(&client);
    assert_eq!(status, 201, "{body}");

    actix_web::rt::System::new().block_on(async {
        // An operator on each node; the gate PC with a session on each, both on its queue.
        let mut far = session(&one, Role::Viewer, None).await;
        far.subscribe("devices", "/topic/devices", "auto").await;
        far.subscribe("alerts", "/topic/alerts", "auto").await;
        let mut near = session(&two, Role::Viewer, None).await;
        near.subscribe("devices", "/topic/devices", "auto").await;
        let mut gate_far = session(&one, Role::Client, Some(&client)).await;
        gate_far.subscribe("commands", "/user/queue/commands", "auto").await;
        let mut gate = session(&two, Role::Client, Some(&client)).await;
        gate.subscribe("commands", "/user/queue/commands", "auto").await;

        // The owner hears the camera: both operators see it come up, each once.
        let beat = frame(
            "SEND",
            &[("destination", "/app/heartbeat"), ("content-type", "application/json")],
            &json!({"devices": [{"id": device, "status": "ok"}]}).to_string(),
        );
        gate.send_text(&beat).await;
        let mut far_seen = Vec::new();
        collect_until(&mut far, Duration::from_secs(10), &mut far_seen, |s| {
            device_states(s, &device).contains(&"up")
        })
        .await;
        let mut near_seen = Vec::new();
        collect_until(&mut near, Duration::from_secs(10), &mut near_seen, |s| {
            device_states(s, &device).contains(&"up")
        })
        .await;

        // An operator's command, issued at the owner, reaches the gate PC's session on the
        // other node as well as the one beside it, with its id.
        let operator = token(Role::Operator, None);
        let path = format!("/api/v1/devices/{device}/commands");
        let (status, command) = post(&two.addr, &path, &operator, json!({"kind": "restart"})).await;
        assert_eq!(status, 202, "{command}");
        let id = command["id"].as_u64().unwrap_or_else(|| panic!("{command}"));
        for (name, s) in [("far", &mut gate_far), ("near", &mut gate)] {
            let mut seen = Vec::new();
            collect_until(s, Duration::from_secs(10), &mut seen, |s| !s.is_empty()).await;
            assert_eq!(seen.len(), 1, "{name}: {seen:?}");
            assert_eq!(seen[0].1, Some(id.to_string()), "{name}: {seen:?}");
        }
        let ack = frame(
            "SEND",
            &[
                ("destination", "/app/commands/ack"),
                ("content-type", "application/json"),
            ],
            &json!({"command_id": id, "ok": true}).to_string(),
        );
        gate.send_text(&ack).await;

        // Silence: one down and one alert, seen on the other node.
        collect_until(&mut far, Duration::from_secs(15), &mut far_seen, |s| {
            device_states(s, &device).contains(&"down") && alerts_raised(s, &device) == 1
        })
        .await;
        far_seen.extend(messages_for(&mut far, Duration::from_millis(1_500)).await);
        near_seen.extend(messages_for(&mut near, Duration::from_millis(500)).await);
        assert_eq!(device_states(&far_seen, &device), ["up", "down"], "{far_seen:#?}");
        assert_eq!(device_states(&near_seen, &device), ["up", "down"], "{near_seen:#?}");
        assert_eq!(alerts_raised(&far_seen, &device), 1, "{far_seen:#?}");
        let alert = far_seen
            .iter()
            .find(|(_, _, j)| j["type"] == "alert.raised" && j["subject_id"] == device.as_str())
            .map(|(sub, _, j)| (sub.clone(), j.clone()))
            .unwrap();
        assert_eq!(alert.0, "alerts");
        assert_eq!(alert.1["kind"], "heartbeat_missed", "{alert:?}");
        // Nothing the gate PC's far session did not ask for.
        assert!(messages_for(&mut gate_far, Duration::from_millis(300)).await.is_empty());
    });

    let sent = super::metric(&two.text("/metrics"), "kwanje_cluster_bus_sent");
    let received = super::metric(&one.text("/metrics"), "kwanje_cluster_bus_received");
    assert!(sent >= 4, "sent {sent}");
    assert!(received >= 4, "received {received}");
}
