//! Gate PCs that speak only HTTP (#15 item 3): their heartbeats keep them online, and when they
//! go silent they go offline before their devices' deadlines, so one `client_disconnected`
//! stands for the outage with the devices unreachable under it. With the real server and real
//! HTTP clients; `POST /api/v1/clients/{id}/heartbeats` carries a whole gate PC's batch.

use std::time::Duration;

use kwanje::auth::Role;
use serde_json::{json, Value};

use crate::support::{Backend, Server};

const WAIT: Duration = Duration::from_secs(10);

fn batch(devices: &[&str]) -> Value {
    json!({"devices": devices.iter().map(|id| json!({"id": id, "status": "ok"})).collect::<Vec<_>>()})
}

async fn beat_batch(s: &Server, client: &str, devices: &[&str]) -> (u16, Value) {
    let token = s.token(client, Role::Client, Some(client));
    let path = format!("/api/v1/clients/{client}/heartbeats");
    s.call("POST", &path, Some(&token), Some(batch(devices))).await
}

async fn online(s: &Server, client: &str) -> bool {
    let (status, body) = s.get("/api/v1/clients").await;
    assert_eq!(status, 200, "{body}");
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == client)
        .map(|c| c["online"] == true)
        .unwrap()
}

#[actix_web::test]
async fn an_http_gate_pc_that_goes_silent_raises_one_alert_and_its_devices_wait_under_it() {
    let s = Server::start(Backend::Sqlite).await;
    let devices = ["a", "b", "c"];
    s.register("pc-http", &devices, 200, 3).await;
    assert!(!online(&s, "pc-http").await, "no heartbeat yet");
    for _ in 0..8 {
        let (status, body) = beat_batch(&s, "pc-http", &devices).await;
        assert_eq!((status, &body), (200, &json!({"applied": 3, "skipped": 0})));
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(online(&s, "pc-http").await, "online on its heartbeats alone");
    s.wait_for("/api/v1/devices?state=up", WAIT, |b| {
        b["items"].as_array().is_some_and(|a| a.len() == 3)
    })
    .await;

    // The gate PC dies: it goes offline before any device's deadline.
    s.wait_for("/api/v1/devices?state=unreachable", WAIT, |b| {
        b["items"].as_array().is_some_and(|a| a.len() == 3)
    })
    .await;
    assert!(!online(&s, "pc-http").await);
    // Give every device's own deadline (600 ms) time to pass, twice over.
    actix_web::rt::time::sleep(Duration::from_millis(1_200)).await;
    let (_, open) = s.get("/api/v1/alerts?state=open").await;
    let items = open["items"].as_array().unwrap();
    let parents: Vec<&Value> = items.iter().filter(|a| a["kind"] == "client_disconnected").collect();
    assert_eq!(parents.len(), 1, "one alert for the outage: {open}");
    assert_eq!(parents[0]["subject_id"], "pc-http");
    let parent = parents[0]["id"].clone();
    assert!(
        items
            .iter()
            .filter(|a| a["kind"] != "client_disconnected")
            .all(|a| a["suppressed_by"] == parent),
        "every device alert waits under the gate PC's: {open}"
    );
    let (_, unreachable) = s.get("/api/v1/devices?state=unreachable").await;
    assert_eq!(unreachable["items"].as_array().unwrap().len(), 3, "{unreachable}");

    // It comes back: online again, the parent resolves, the devices are up.
    for _ in 0..5 {
        beat_batch(&s, "pc-http", &devices).await;
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(online(&s, "pc-http").await);
    let (_, parent_now) = s.get(&format!("/api/v1/alerts/{parent}")).await;
    assert_eq!(parent_now["state"], "resolved", "{parent_now}");
    let (_, up) = s.get("/api/v1/devices?state=up").await;
    assert_eq!(up["items"].as_array().unwrap().len(), 3, "{up}");
}

#[actix_web::test]
async fn a_single_device_heartbeat_keeps_its_client_online_but_an_admins_does_not() {
    let s = Server::start(Backend::Sqlite).await;
    s.register("pc-one", &["one"], 200, 3).await;
    s.register("pc-admin", &["two"], 200, 3).await;
    let (status, _) = s.heartbeat("pc-one", "one", "ok").await;
    assert_eq!(status, 200);
    let admin = s.token("root", Role::Admin, None);
    let (status, _) = s
        .call(
            "POST",
            "/api/v1/devices/two/heartbeat",
            Some(&admin),
            Some(json!({"status": "ok"})),
        )
        .await;
    assert_eq!(status, 200);
    assert!(online(&s, "pc-one").await, "the gate PC's own heartbeat vouches for it");
    assert!(!online(&s, "pc-admin").await, "an admin's says nothing of the gate PC");
    // Silent for longer than its lease (400 ms): offline.
    s.wait_for("/api/v1/clients", WAIT, |b| {
        b["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == "pc-one" && c["online"] == false)
    })
    .await;
}

#[actix_web::test]
async fn a_bad_heartbeat_batch_is_refused_whole_with_a_problem() {
    let s = Server::start(Backend::Sqlite).await;
    s.register("pc-1", &["mine"], 60_000, 3).await;
    s.register("pc-2", &["theirs"], 60_000, 3).await;
    let token = s.token("pc-1", Role::Client, Some("pc-1"));
    let post = |path: &'static str, token: Option<String>, body: Value| {
        let s = &s;
        async move { s.call("POST", path, token.as_deref(), Some(body)).await }
    };
    let path = "/api/v1/clients/pc-1/heartbeats";

    // A device that is not registered is skipped; the rest is applied.
    let (status, body) = post(path, Some(token.clone()), batch(&["mine", "gone"])).await;
    assert_eq!((status, body), (200, json!({"applied": 1, "skipped": 1})));

    // Another client's device refuses the whole batch: nothing of it is applied.
    let (status, body) = post(path, Some(token.clone()), batch(&["theirs"])).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("theirs"), "{body}");
    let (_, theirs) = s.get("/api/v1/devices/theirs").await;
    assert_eq!(theirs["state"], "unknown", "{theirs}");

    // Not a batch.
    for bad in [
        json!({"devices": [{"id": "mine", "status": "maybe"}]}),
        json!({}),
        json!([]),
    ] {
        let (status, body) = post(path, Some(token.clone()), bad).await;
        assert_eq!(status, 400, "{body}");
        assert!(
            body["detail"].as_str().unwrap().starts_with("not a heartbeat batch"),
            "{body}"
        );
    }
    // Too many in one batch.
    let many: Vec<&str> = vec!["mine"; 1_001];
    let (status, body) = post(path, Some(token.clone()), batch(&many)).await;
    assert_eq!(status, 422, "{body}");

    // Only the client itself: not another client, not an admin, not without a token.
    let other = s.token("pc-2", Role::Client, Some("pc-2"));
    let (status, _) = post(path, Some(other), batch(&["mine"])).await;
    assert_eq!(status, 403);
    let admin = s.token("root", Role::Admin, None);
    let (status, _) = post(path, Some(admin), batch(&["mine"])).await;
    assert_eq!(status, 403);
    let (status, _) = post(path, None, batch(&["mine"])).await;
    assert_eq!(status, 401);
}
