//! The nearest working payment kiosk over real sockets: a guidance sign (a client) watching
//! `/topic/parking/T1` is told when a zone's kiosk stops working and which one to send
//! customers to instead, and `GET /api/v1/parking/kiosks/nearest` gives the same answer.

use kwanje::auth::Role;
use serde_json::{json, Value};

use crate::realtime::session;
use crate::support::{backends, Backend, Server};

/// One kiosk PC hosting K-1 (silent after 2 × 100 ms) and K-2 in zone `short-term`, and K-5
/// in `long-term` (the last two with a minute's interval, so they stay up on one heartbeat).
async fn kiosks(s: &Server) {
    let (status, body) = s
        .post("/api/v1/clients", json!({"id": "kiosk-pc", "name": "kiosk-pc"}))
        .await;
    assert_eq!(status, 201, "{body}");
    for (id, zone, interval) in [
        ("K-1", "short-term", 100),
        ("K-2", "short-term", 60_000),
        ("K-5", "long-term", 60_000),
    ] {
        let (status, body) = s
            .post(
                "/api/v1/devices",
                json!({"id": id, "kind": "payment_kiosk", "client_id": "kiosk-pc", "site": "T1", "zone": zone,
                       "heartbeat_interval_ms": interval, "miss_tolerance": 2}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
}

fn zone<'a>(message: &'a Value, name: &str) -> &'a Value {
    message["zones"]
        .as_array()
        .unwrap_or_else(|| panic!("no zones in {message}"))
        .iter()
        .find(|z| z["zone"] == name)
        .unwrap_or_else(|| panic!("no zone {name} in {message}"))
}

fn names(message: &Value, zone_name: &str, kiosk: &str) -> bool {
    message["type"] == "parking.kiosks" && zone(message, zone_name)["kiosk"]["id"] == kiosk
}

async fn a_down_kiosk_sends_customers_to_the_nearest_working_one(backend: Backend) {
    let s = Server::start(backend).await;
    kiosks(&s).await;
    let mut sign = session(&s, "sign-1", Role::Client).await;
    sign.subscribe("t1", "/topic/parking/T1", "auto").await;
    // The kiosk PC holds its session: its kiosks are reachable.
    let _pc = session(&s, "kiosk-pc", Role::Client).await;

    // Nothing has been heard from: no kiosk works, so none is named.
    let (status, none) = s.get("/api/v1/parking/kiosks/nearest?zone=short-term").await;
    assert_eq!(status, 200, "{none}");
    assert!(none["kiosk"].is_null(), "{none}");
    assert_eq!(none["down"], json!(["K-1", "K-2"]));

    for id in ["K-5", "K-2", "K-1"] {
        assert_eq!(s.heartbeat("kiosk-pc", id, "ok").await.0, 200);
    }
    let own = sign.recv_json_until(|m| names(m, "short-term", "K-1")).await;
    assert_eq!(own["site"], "T1");
    assert_eq!(zone(&own, "short-term")["kiosk"]["placement"], "same_zone");
    assert_eq!(zone(&own, "long-term")["kiosk"]["id"], "K-5");

    // K-1 goes silent: down after its deadline, and the signs send its customers to K-2.
    let moved = sign
        .recv_json_until(|m| m["type"] == "parking.kiosks" && zone(m, "short-term")["down"] == json!(["K-1"]))
        .await;
    let short = zone(&moved, "short-term");
    assert_eq!(short["kiosk"]["id"], "K-2", "{moved}");
    assert_eq!(short["kiosk"]["placement"], "same_zone");
    let (status, nearest) = s.get("/api/v1/parking/kiosks/nearest?zone=short-term").await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            nearest["site"].as_str(),
            nearest["kiosk"]["id"].as_str(),
            nearest["down"].clone()
        ),
        (Some("T1"), Some("K-2"), json!(["K-1"])),
        "{nearest}"
    );

    // Back: the zone's lowest id is named again.
    assert_eq!(s.heartbeat("kiosk-pc", "K-1", "ok").await.0, 200);
    let back = sign.recv_json_until(|m| names(m, "short-term", "K-1")).await;
    assert_eq!(zone(&back, "short-term")["down"], json!([]));

    // Zone long-term's only kiosk is in maintenance: the site's next working one, K-1.
    let operator = s.token("op", Role::Operator, None);
    let (status, body) = s
        .call(
            "POST",
            "/api/v1/devices/K-5/commands",
            Some(&operator),
            Some(json!({"kind": "maintenance_on", "reason": "paper jam"})),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let other = sign.recv_json_until(|m| names(m, "long-term", "K-1")).await;
    assert_eq!(zone(&other, "long-term")["kiosk"]["placement"], "same_site");
    assert_eq!(zone(&other, "long-term")["down"], json!(["K-5"]));
    s.stop().await;
}

#[actix_web::test]
async fn a_down_payment_kiosk_moves_the_signs_and_the_answer_to_the_nearest_working_one() {
    for backend in backends() {
        a_down_kiosk_sends_customers_to_the_nearest_working_one(backend).await;
    }
}

#[actix_web::test]
async fn nearest_kiosk_questions_that_cannot_be_answered_get_a_clear_error() {
    let s = Server::start(Backend::Sqlite).await;
    kiosks(&s).await;
    let (status, body) = s
        .post(
            "/api/v1/devices",
            json!({"id": "K-9", "kind": "payment_kiosk", "client_id": "kiosk-pc", "site": "T2", "zone": "short-term"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    for (path, want) in [
        ("/api/v1/parking/kiosks/nearest?zone=nowhere", 404),
        ("/api/v1/parking/kiosks/nearest", 400),
        ("/api/v1/parking/kiosks/nearest?zone=short-term", 422),
    ] {
        let (status, problem) = s.get(path).await;
        assert_eq!(status, want, "{path} {problem}");
        assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()), "{problem}");
    }
    let (status, t2) = s.get("/api/v1/parking/kiosks/nearest?zone=short-term&site=T2").await;
    assert_eq!(status, 200, "{t2}");
    assert_eq!(t2["site"], "T2");
    assert_eq!(t2["down"], json!(["K-9"]));
    let driver = s.token("d-1", Role::Driver, None);
    let (status, _) = s
        .call(
            "GET",
            "/api/v1/parking/kiosks/nearest?zone=long-term",
            Some(&driver),
            None,
        )
        .await;
    assert_eq!(status, 403);
    let kiosk = s.token("kiosk-pc", Role::Client, Some("kiosk-pc"));
    let (status, answer) = s
        .call(
            "GET",
            "/api/v1/parking/kiosks/nearest?zone=long-term",
            Some(&kiosk),
            None,
        )
        .await;
    assert_eq!((status, answer["zone"].as_str()), (200, Some("long-term")), "{answer}");
    s.stop().await;
}
