//! Wiring to the runtime: heartbeats over STOMP drive the device actors, transitions and
//! alerts come back as MESSAGEs, and presence follows client sessions.

use std::time::Duration;

use kwanje::auth::Role;
use kwanje::stomp::Command;

use super::client::frame;
use super::session;
use crate::support::{backends, Server};

#[actix_web::test]
async fn a_device_transition_caused_by_heartbeats_going_silent_reaches_subscribers() {
    for backend in backends() {
        let s = Server::start(backend).await;
        // Down after 2 x 100 ms without a heartbeat.
        s.register("gate-1", &["cam-1", "gate-arm-1"], 100, 2).await;
        let mut viewer = session(&s, "viewer-1", Role::Viewer).await;
        viewer.subscribe("one", "/topic/devices/cam-1", "auto").await;
        viewer.subscribe("all", "/topic/devices", "auto").await;
        viewer.subscribe("alerts", "/topic/alerts", "auto").await;

        let mut gate = session(&s, "gate-1", Role::Client).await;
        let beat = r#"{"devices":[{"id":"cam-1","status":"ok"},{"id":"gate-arm-1","status":"ok"}]}"#;
        gate.send_with_receipt("/app/heartbeat", &[("content-type", "application/json")], beat, "hb")
            .await;

        let mut seen = Vec::new();
        let mut alerts = Vec::new();
        let mut ids = std::collections::HashSet::new();
        // cam-1 comes up (on both its topic and the all-devices topic), then goes down when
        // the gate stops sending; gate-arm-1 does the same on the all-devices topic.
        while !(seen.contains(&("one".to_owned(), "cam-1".to_owned(), "down".to_owned()))
            && seen.contains(&("all".to_owned(), "gate-arm-1".to_owned(), "down".to_owned())))
        {
            let message = viewer.expect(Command::Message).await;
            assert!(
                ids.insert(message.header("message-id").unwrap().to_owned()),
                "message ids are unique"
            );
            let json: serde_json::Value = serde_json::from_slice(&message.body).unwrap();
            let subscription = message.header("subscription").unwrap().to_owned();
            if subscription == "alerts" {
                alerts.push(json);
                continue;
            }
            assert_eq!(message.header("content-type"), Some("application/json"));
            assert_eq!(json["type"], "device.state", "{json}");
            assert_eq!(json["client_id"], "gate-1");
            let id = json["id"].as_str().unwrap().to_owned();
            let state = json["state"].as_str().unwrap().to_owned();
            if state == "down" {
                assert_eq!(json["reason"], "heartbeat_missed", "{json}");
                assert_eq!(json["from"], "up");
            }
            seen.push((subscription, id, state));
        }
        assert!(seen.contains(&("one".into(), "cam-1".into(), "up".into())), "{seen:?}");
        assert!(seen.contains(&("all".into(), "cam-1".into(), "up".into())), "{seen:?}");
        assert!(
            !seen.iter().any(|(sub, id, _)| sub == "one" && id != "cam-1"),
            "{seen:?}"
        );
        let raised = |j: &serde_json::Value| j["type"] == "alert.raised" && j["subject_id"] == "cam-1";
        let alert = match alerts.into_iter().find(raised) {
            Some(alert) => alert,
            None => viewer.recv_json_until(raised).await,
        };
        assert_eq!(alert["kind"], "heartbeat_missed");
        assert_eq!(alert["state"], "open");
        s.stop().await;
    }
}

#[actix_web::test]
async fn a_fault_report_is_a_transition_with_its_detail() {
    let s = Server::start(crate::support::Backend::Sqlite).await;
    s.register("gate-1", &["cam-1"], 60_000, 3).await;
    let mut viewer = session(&s, "viewer-1", Role::Viewer).await;
    viewer.subscribe("d", "/topic/devices/cam-1", "auto").await;
    let mut gate = session(&s, "gate-1", Role::Client).await;
    gate.send_with_receipt(
        "/app/heartbeat",
        &[],
        r#"{"devices":[{"id":"cam-1","status":"ok"}]}"#,
        "1",
    )
    .await;
    let (_, up) = viewer.recv_json().await;
    assert_eq!(up["state"], "up");
    let fault = r#"{"devices":[{"id":"cam-1","status":"fault","detail":"lens fogged"},{"id":"gone","status":"ok"}]}"#;
    gate.send_with_receipt("/app/heartbeat", &[], fault, "2").await;
    let (_, down) = viewer.recv_json().await;
    assert_eq!(
        (down["state"].as_str(), down["reason"].as_str()),
        (Some("down"), Some("fault"))
    );
    assert_eq!(down["detail"], "lens fogged");
}

#[actix_web::test]
async fn fault_reports_on_app_faults_bring_devices_down_and_an_ok_status_is_refused() {
    let s = Server::start(crate::support::Backend::Sqlite).await;
    s.register("gate-1", &["cam-1", "gate-arm-1"], 60_000, 3).await;
    let mut viewer = session(&s, "viewer-1", Role::Viewer).await;
    viewer.subscribe("d", "/topic/devices", "auto").await;
    let mut gate = session(&s, "gate-1", Role::Client).await;
    let ok = r#"{"devices":[{"id":"cam-1","status":"ok"},{"id":"gate-arm-1","status":"ok"}]}"#;
    gate.send_with_receipt("/app/heartbeat", &[], ok, "1").await;
    for _ in 0..2 {
        let (_, up) = viewer.recv_json().await;
        assert_eq!(up["state"], "up", "{up}");
    }
    let faults = r#"{"devices":[{"id":"cam-1","detail":"lens fogged"},{"id":"gate-arm-1","status":"fault"}]}"#;
    gate.send_with_receipt("/app/faults", &[], faults, "2").await;
    let mut down = Vec::new();
    for _ in 0..2 {
        let (_, json) = viewer.recv_json().await;
        down.push((
            json["device_id"]
                .as_str()
                .or(json["id"].as_str())
                .unwrap_or("?")
                .to_owned(),
            json["state"].as_str().unwrap().to_owned(),
            json["reason"].as_str().unwrap().to_owned(),
            json["detail"].as_str().map(str::to_owned),
        ));
    }
    down.sort();
    assert_eq!(
        down,
        [
            (
                "cam-1".into(),
                "down".into(),
                "fault".into(),
                Some("lens fogged".into())
            ),
            (
                "gate-arm-1".into(),
                "down".into(),
                "fault".into(),
                Some("fault reported".into())
            ),
        ]
    );
    let (_, alerts) = s.get("/api/v1/alerts?kind=device_fault").await;
    assert_eq!(alerts["items"].as_array().unwrap().len(), 2, "{alerts}");

    // "ok" is a heartbeat, not a fault report: refused, and nothing of the frame applied.
    let wrong = r#"{"devices":[{"id":"cam-1","status":"ok"}]}"#;
    gate.send_text(&crate::realtime::client::frame(
        "SEND",
        &[("destination", "/app/faults"), ("receipt", "3")],
        wrong,
    ))
    .await;
    let error = gate.expect_error().await;
    assert!(
        String::from_utf8_lossy(&error.body).contains("a fault report's status is fault"),
        "{error:?}"
    );
    // The ERROR closed the gate PC's only session, so its devices become unreachable (waited
    // for on the topic, not read at once: presence changes after the close); the refused "ok"
    // did not bring cam-1 back up on the way.
    loop {
        let (_, change) = viewer.recv_json().await;
        if change["device_id"] == "cam-1" || change["id"] == "cam-1" {
            assert_ne!(change["state"], "up", "the refused ok applied nothing: {change}");
            if change["state"] == "unreachable" {
                break;
            }
        }
    }
    let (_, device) = s.get("/api/v1/devices/cam-1").await;
    assert_eq!(device["state"], "unreachable", "{device}");
    assert_eq!(device["alerts"][0]["kind"], "device_fault", "{device}");
}

#[actix_web::test]
async fn presence_follows_client_sessions_on_the_topic_and_in_the_api() {
    let s = Server::start(crate::support::Backend::Sqlite).await;
    s.register("gate-1", &[], 60_000, 3).await;
    s.register("gate-2", &[], 60_000, 3).await;
    let online = |body: &serde_json::Value, id: &str| {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()["online"]
            .as_bool()
            .unwrap()
    };
    let (_, body) = s.get("/api/v1/clients").await;
    assert!(!online(&body, "gate-1") && !online(&body, "gate-2"), "{body}");

    let mut viewer = session(&s, "viewer-1", Role::Viewer).await;
    viewer.subscribe("p", "/topic/presence", "auto").await;
    let first = session(&s, "gate-1", Role::Client).await;
    let (_, json) = viewer.recv_json().await;
    assert_eq!(
        (
            json["type"].as_str(),
            json["client_id"].as_str(),
            json["online"].as_bool()
        ),
        (Some("presence"), Some("gate-1"), Some(true))
    );
    let (_, body) = s.get("/api/v1/clients").await;
    assert!(online(&body, "gate-1") && !online(&body, "gate-2"), "{body}");

    // A second session of the same client changes nothing; the last one ending does.
    let mut second = session(&s, "gate-1", Role::Client).await;
    viewer.expect_silence(Duration::from_millis(150)).await;
    first.drop_connection();
    viewer.expect_silence(Duration::from_millis(150)).await;
    assert!(online(&s.get("/api/v1/clients").await.1, "gate-1"));
    second.send_text(&frame("DISCONNECT", &[("receipt", "bye")], "")).await;
    second.await_receipt("bye").await;
    viewer.expect_presence("gate-1", false).await;
    assert!(!online(&s.get("/api/v1/clients").await.1, "gate-1"));

    // A connection that just drops is noticed at once, without waiting for a heart-beat.
    let gone = session(&s, "gate-2", Role::Client).await;
    assert_eq!(viewer.recv_json().await.1["online"], true);
    let dropped_at = std::time::Instant::now();
    gone.drop_connection();
    viewer.expect_presence("gate-2", false).await;
    assert!(
        dropped_at.elapsed() < Duration::from_secs(2),
        "{:?}",
        dropped_at.elapsed()
    );
}

#[actix_web::test]
async fn a_gate_pc_back_within_the_disconnect_grace_was_never_offline() {
    let s = Server::start_with(crate::support::Backend::Sqlite, |c| {
        c.client_disconnect_grace_ms = 1_500;
    })
    .await;
    s.register("gate-1", &["cam-1"], 60_000, 3).await;
    let mut viewer = session(&s, "viewer-1", Role::Viewer).await;
    viewer.subscribe("p", "/topic/presence", "auto").await;
    let first = session(&s, "gate-1", Role::Client).await;
    assert_eq!(viewer.recv_json().await.1["online"], true);

    // A blink: the connection drops and the gate PC is back well within the grace.
    first.drop_connection();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let second = session(&s, "gate-1", Role::Client).await;
    viewer.expect_silence(Duration::from_millis(2_500)).await;
    let (_, alerts) = s.get("/api/v1/alerts?kind=client_disconnected").await;
    assert_eq!(alerts["items"], serde_json::json!([]), "{alerts}");
    let (_, device) = s.get("/api/v1/devices/cam-1").await;
    assert_ne!(device["state"], "unreachable", "{device}");

    // Gone for good: offline once the grace has run out, and then one alert.
    let dropped_at = std::time::Instant::now();
    second.drop_connection();
    viewer.expect_presence("gate-1", false).await;
    assert!(
        dropped_at.elapsed() >= Duration::from_millis(1_400),
        "offline before the grace ended: {:?}",
        dropped_at.elapsed()
    );
    s.wait_for("/api/v1/alerts?kind=client_disconnected", Duration::from_secs(5), |b| {
        b["items"].as_array().map(Vec::len) == Some(1)
    })
    .await;
}
