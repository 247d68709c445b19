//! A device's life over HTTP, on every backend: register, heartbeat, silence until down, an
//! alert opened, recovery resolving it, acknowledgement, and all of it kept across a restart.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{backends, Backend, Server};

const WAIT: Duration = Duration::from_secs(10);

fn alerts_of(body: &Value) -> Vec<Value> {
    body["items"].as_array().cloned().unwrap_or_default()
}

async fn silence_raises_an_alert_and_recovery_resolves_it(backend: Backend) {
    let s = Server::start(backend).await;
    s.register("pc-1", &["cam-1"], 100, 2).await;
    let _gate_pc = s.gate_pc_online("pc-1").await;
    let (_, body) = s.get("/api/v1/devices/cam-1").await;
    assert_eq!(body["state"], "unknown", "{body}");

    let (status, body) = s.heartbeat("pc-1", "cam-1", "ok").await;
    assert_eq!((status, body["state"].as_str()), (200, Some("up")), "{body}");

    // Silent for more than 100 ms x 2: down, with one open heartbeat_missed alert.
    let down = s
        .wait_for("/api/v1/devices/cam-1", WAIT, |d| d["state"] == "down")
        .await;
    assert!(
        down["state_since_ms"].as_i64().unwrap() >= down["last_seen_ms"].as_i64().unwrap() + 200,
        "{down}"
    );
    let alerts = s
        .wait_for("/api/v1/alerts?state=open", WAIT, |b| !alerts_of(b).is_empty())
        .await;
    let alerts = alerts_of(&alerts);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let alert = &alerts[0];
    assert_eq!(
        (alert["kind"].as_str(), alert["severity"].as_str()),
        (Some("heartbeat_missed"), Some("major"))
    );
    assert_eq!(
        (alert["subject_type"].as_str(), alert["subject_id"].as_str()),
        (Some("device"), Some("cam-1"))
    );
    let alert_id = alert["id"].as_i64().unwrap();
    let (_, view) = s.get("/api/v1/devices/cam-1").await;
    assert_eq!(
        view["alerts"][0]["id"], alert_id,
        "the device view shows its open alert: {view}"
    );

    // A heartbeat brings it back and resolves the alert by recovery.
    let (_, body) = s.heartbeat("pc-1", "cam-1", "ok").await;
    assert_eq!(body["state"], "up");
    let resolved = s
        .wait_for(&format!("/api/v1/alerts/{alert_id}"), WAIT, |a| {
            a["state"] == "resolved"
        })
        .await;
    assert!(resolved["resolved_ms"].as_i64().is_some());
    assert!(
        resolved.get("resolved_by").is_none(),
        "resolved by recovery, not a person: {resolved}"
    );

    // A fault is down at once, with its own kind and the client's detail.
    let token = s.token("pc-1", kwanje::auth::Role::Client, Some("pc-1"));
    let (status, body) = s
        .call(
            "POST",
            "/api/v1/devices/cam-1/heartbeat",
            Some(&token),
            Some(json!({"status": "fault", "detail": "lens fogged"})),
        )
        .await;
    assert_eq!((status, body["state"].as_str()), (200, Some("down")));
    let open = s
        .wait_for("/api/v1/alerts?state=open&kind=device_fault", WAIT, |b| {
            !alerts_of(b).is_empty()
        })
        .await;
    let fault = alerts_of(&open).remove(0);
    assert_eq!(fault["detail"], "lens fogged");

    // An operator acknowledges it, once; a second acknowledgement changes nothing.
    let operator = s.token("kim", kwanje::auth::Role::Operator, None);
    let path = format!("/api/v1/alerts/{}/ack", fault["id"]);
    let (status, acked) = s
        .call(
            "POST",
            &path,
            Some(&operator),
            Some(json!({"note": "sent a technician"})),
        )
        .await;
    assert_eq!(status, 200, "{acked}");
    assert_eq!(
        (acked["state"].as_str(), acked["acked_by"].as_str()),
        (Some("acknowledged"), Some("kim"))
    );
    assert_eq!(acked["ack_note"], "sent a technician");
    let (status, again) = s.call("POST", &path, Some(&operator), None).await;
    assert_eq!((status, again["version"].clone()), (200, acked["version"].clone()));

    // Resolving by hand records who; a resolved alert cannot be acknowledged.
    let resolve = format!("/api/v1/alerts/{}/resolve", fault["id"]);
    let (status, done) = s.call("POST", &resolve, Some(&operator), None).await;
    assert_eq!(
        (status, done["state"].as_str(), done["resolved_by"].as_str()),
        (200, Some("resolved"), Some("kim"))
    );
    let (status, _) = s.call("POST", &path, Some(&operator), None).await;
    assert_eq!(status, 409);
    s.stop().await;
}

#[actix_web::test]
async fn a_device_lifecycle_over_http() {
    for backend in backends() {
        silence_raises_an_alert_and_recovery_resolves_it(backend).await;
    }
}

async fn state_survives_a_restart(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let url = crate::support::database_url(backend, &dir);
    let keep = tempfile::tempdir().unwrap();
    let s = Server::start_on(backend, &url, keep, |_| {}).await;
    s.register("pc-1", &["cam-1", "cam-2"], 100, 2).await;
    // An admin's heartbeats: pc-1 is never online, so silence is the device's alone.
    s.admin_heartbeat("cam-1", "ok").await;
    s.wait_for("/api/v1/alerts?state=open", WAIT, |b| !alerts_of(b).is_empty())
        .await;
    s.stop().await;
    drop(s);

    let again = Server::start_on(backend, &url, dir, |_| {}).await;
    let (_, devices) = again.get("/api/v1/devices").await;
    let states: Vec<(String, String)> = alerts_of(&devices)
        .iter()
        .map(|d| {
            (
                d["id"].as_str().unwrap().to_owned(),
                d["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("cam-1".to_owned(), "down".to_owned()),
            ("cam-2".to_owned(), "unknown".to_owned())
        ]
    );
    let (_, open) = again.get("/api/v1/alerts?state=open").await;
    assert_eq!(alerts_of(&open).len(), 1, "{open}");
    // The restored book still dedupes: recovery resolves the stored alert.
    again.admin_heartbeat("cam-1", "ok").await;
    again
        .wait_for("/api/v1/alerts?state=open", WAIT, |b| alerts_of(b).is_empty())
        .await;
    again.stop().await;
}

#[actix_web::test]
async fn devices_and_alerts_survive_a_restart() {
    for backend in backends() {
        state_survives_a_restart(backend).await;
    }
}

#[actix_web::test]
async fn a_device_that_flaps_is_reported_once() {
    let s = Server::start(Backend::Sqlite).await;
    s.register("pc-1", &["gate-1"], 5_000, 3).await;
    for _ in 0..8 {
        s.heartbeat("pc-1", "gate-1", "ok").await;
        s.heartbeat("pc-1", "gate-1", "fault").await;
    }
    let (_, device) = s.get("/api/v1/devices/gate-1").await;
    assert_eq!(device["state"], "flapping", "{device}");
    let open = s
        .wait_for("/api/v1/alerts?state=open&kind=flapping", WAIT, |b| {
            alerts_of(b).len() == 1
        })
        .await;
    assert_eq!(
        alerts_of(&open)[0]["count"],
        1,
        "one flapping alert, not a storm: {open}"
    );
    // Three faults came before the sixth change made it flapping; the five oscillations
    // after that raised nothing more.
    let (_, faults) = s.get("/api/v1/alerts?kind=device_fault").await;
    assert_eq!(alerts_of(&faults).len(), 3, "{faults}");
}
