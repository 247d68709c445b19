//! An operator lifts a quarantine over HTTP: a taxi actor or a terminal dispatcher that crashed
//! too often runs again after `POST /api/v1/taxis/{plate}/restart` or
//! `POST /api/v1/terminals/{terminal}/restart`, without restarting the server.

use std::time::{Duration, Instant};

use kwanje::auth::Role;
use kwanje::taxi::core::model::TerminalId;
use serde_json::{json, Value};

use super::{lines, Airport, WAIT};
use crate::support::Backend;

/// Crashes `plate`'s actor until its supervisor gives up (default policy: the 6th crash
/// within 60 s escalates).
async fn quarantine_taxi(a: &Airport, plate: &str) {
    let path = format!("/api/v1/taxis/{plate}");
    let crash = format!("/api/v1/taxis/{plate}/faults/crash");
    for n in 1..=5u32 {
        let (status, body) = a.s.post(&crash, json!({})).await;
        assert_eq!(status, 202, "{body}");
        a.s.wait_for(&path, WAIT, |t| t["restarts"] == n && t["actor"] == "running")
            .await;
    }
    a.s.post(&crash, json!({})).await;
    a.s.wait_for(&path, WAIT, |t| t["actor"] == "quarantined").await;
}

/// Polls until `check` holds for terminal `id`'s slot and the terminal supervisor's restarts.
async fn wait_terminal(a: &Airport, id: &str, check: impl Fn(bool, bool, u64) -> bool) {
    let id = TerminalId::parse(id).unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        let entry = a.s.state.taxis.registry().terminal(&id).unwrap();
        let restarts = a.s.state.taxis.terminal_supervisor_stats().await.unwrap().restarts;
        if check(entry.slot.addr().is_some(), entry.slot.quarantined(), restarts) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting on terminal {id}");
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(super) async fn quarantine_terminal(a: &Airport, id: &str) {
    let crash = format!("/api/v1/terminals/{id}/faults/crash");
    for n in 1..=5u64 {
        let (status, body) = a.s.post(&crash, json!({})).await;
        assert_eq!(status, 202, "{body}");
        wait_terminal(a, id, |running, _, restarts| running && restarts == n).await;
    }
    a.s.post(&crash, json!({})).await;
    wait_terminal(a, id, |running, quarantined, _| !running && quarantined).await;
}

async fn crash_loop_alerts(a: &Airport, plate: &str) -> Vec<Value> {
    let (status, body) =
        a.s.get(&format!("/api/v1/alerts?kind=crash_loop&subject_id={plate}"))
            .await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

#[actix_web::test]
async fn an_operator_restarts_a_quarantined_taxi_and_its_crash_loop_alert_is_resolved() {
    let a = Airport::start(Backend::Sqlite).await;
    a.register("S1", "seoul", "standard").await;
    a.register("S2", "seoul", "standard").await;
    a.arrive("S1", "T1").await;
    a.arrive("S2", "T1").await;
    let before = lines(&a.queues("T1").await);
    quarantine_taxi(&a, "S2").await;
    let (status, body) = a.ping("S2").await;
    assert_eq!(status, 409, "{body}");
    let open = crash_loop_alerts(&a, "S2").await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["state"], "open", "{open:?}");

    // A viewer may not; the taxi stays quarantined.
    let viewer = a.s.token("v", Role::Viewer, None);
    let (status, body) = a.s.call("POST", "/api/v1/taxis/S2/restart", Some(&viewer), None).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["status"], 403, "problem+json: {body}");
    assert_eq!(a.ping("S2").await.0, 409);

    let op = a.operator.clone();
    let (status, body) = a.s.call("POST", "/api/v1/taxis/S2/restart", Some(&op), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"plate": "S2", "actor": "restarted", "quarantine_lifted": true})
    );
    let (status, body) = a.ping("S2").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(a.taxi("S2").await["actor"], "running");
    let alerts =
        a.s.wait_for("/api/v1/alerts?kind=crash_loop&subject_id=S2", WAIT, |b| {
            b["items"][0]["state"] == "resolved"
        })
        .await;
    assert_eq!(alerts["items"].as_array().unwrap().len(), 1, "{alerts}");
    assert_eq!(lines(&a.queues("T1").await), before, "the terminal kept its place");

    // Its restart history was forgotten: one more crash is restarted, not escalated.
    let (status, _) = a.s.post("/api/v1/taxis/S2/faults/crash", json!({})).await;
    assert_eq!(status, 202);
    a.s.wait_for("/api/v1/taxis/S2", WAIT, |t| {
        t["restarts"] == 6 && t["actor"] == "running"
    })
    .await;
    assert_eq!(a.ping("S2").await.0, 200);

    // A running taxi can be restarted too; nothing was lifted. Unknown plates are 404.
    let (status, body) = a.s.call("POST", "/api/v1/taxis/S1/restart", Some(&op), None).await;
    assert_eq!((status, &body["quarantine_lifted"]), (200, &json!(false)), "{body}");
    assert_eq!(a.ping("S1").await.0, 200);
    let (status, body) = a.s.call("POST", "/api/v1/taxis/NOPE/restart", Some(&op), None).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["status"], 404, "problem+json: {body}");
    assert_eq!(a.s.call("POST", "/api/v1/taxis/S2/restart", None, None).await.0, 401);
}

#[actix_web::test]
async fn an_operator_restarts_a_terminal_dispatcher_that_is_down_after_a_crash_loop() {
    let a = Airport::start(Backend::Sqlite).await;
    a.register("S1", "seoul", "standard").await;
    a.arrive("S1", "T1").await;
    let before = lines(&a.queues("T1").await);
    quarantine_terminal(&a, "T1").await;
    let (status, body) = a.request("T1", "seoul", 5.0, None).await;
    assert_eq!(status, 503, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("down"), "{body}");
    // The operators are told: one critical crash_loop alert on the terminal.
    let raised =
        a.s.wait_for("/api/v1/alerts?kind=crash_loop&subject_id=T1", WAIT, |b| {
            b["items"][0]["state"] == "open"
        })
        .await;
    let alerts = raised["items"].as_array().unwrap();
    // Raised once: repeats would be merged into `count`, so that is what is checked.
    assert_eq!((alerts.len(), &alerts[0]["count"]), (1, &json!(1)), "{raised}");
    assert_eq!(
        (&alerts[0]["subject_type"], &alerts[0]["severity"]),
        (&json!("terminal"), &json!("critical")),
        "{raised}"
    );

    let viewer = a.s.token("v", Role::Viewer, None);
    let (status, body) =
        a.s.call("POST", "/api/v1/terminals/T1/restart", Some(&viewer), None)
            .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(a.request("T1", "seoul", 5.0, None).await.0, 503);

    let op = a.operator.clone();
    let (status, body) = a.s.call("POST", "/api/v1/terminals/T1/restart", Some(&op), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"terminal": "T1", "dispatcher": "restarted", "quarantine_lifted": true})
    );
    // Rebuilt from its snapshot: the line is as it was, and requests are served again.
    assert_eq!(lines(&a.queues("T1").await), before);
    let (status, body) = a.request("T1", "seoul", 5.0, None).await;
    assert_eq!((status, &body["plate"]), (201, &json!("S1")), "{body}");
    let lifted =
        a.s.wait_for("/api/v1/alerts?kind=crash_loop&subject_id=T1", WAIT, |b| {
            b["items"][0]["state"] == "resolved"
        })
        .await;
    assert_eq!(lifted["items"].as_array().unwrap().len(), 1, "{lifted}");

    let (status, body) = a.s.call("POST", "/api/v1/terminals/T9/restart", Some(&op), None).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["status"], 404, "problem+json: {body}");
}

#[actix_web::test]
async fn a_server_restart_starts_quarantined_taxis_and_terminals_afresh_and_resolves_their_alerts() {
    let a = Airport::start(Backend::Sqlite).await;
    a.register("S1", "seoul", "standard").await;
    a.arrive("S1", "T1").await;
    quarantine_taxi(&a, "S1").await;
    quarantine_terminal(&a, "T2").await;
    for subject in ["S1", "T2"] {
        let path = format!("/api/v1/alerts?kind=crash_loop&subject_id={subject}");
        a.s.wait_for(&path, WAIT, |b| b["items"][0]["state"] == "open").await;
    }

    let clock = a.clock.clone();
    let b = Airport::with(a.s.restart(super::settings).await, clock);
    // A quarantine lives in memory: both run again, and their alerts say so.
    for subject in ["S1", "T2"] {
        let path = format!("/api/v1/alerts?kind=crash_loop&subject_id={subject}");
        let alerts =
            b.s.wait_for(&path, WAIT, |b| b["items"][0]["state"] == "resolved")
                .await;
        assert_eq!(alerts["items"].as_array().unwrap().len(), 1, "{alerts}");
    }
    assert_eq!(b.ping("S1").await.0, 200);
    let (status, body) = b.request("T2", "seoul", 5.0, None).await;
    assert_ne!(status, 503, "T2's dispatcher is back: {body}");
}
