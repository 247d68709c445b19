//! Parking control over real sockets: areas configured through the API, a guidance camera's
//! client reporting over STOMP, a guidance sign (a client) watching `/topic/parking/{site}`;
//! a camera that goes silent turns its areas unknown at once, and its next report brings them
//! back. Bad input is refused whole with a clear error.

use kwanje::auth::Role;
use serde_json::{json, Value};

use crate::realtime::client::frame;
use crate::realtime::session;
use crate::support::{backends, Backend, Server};

/// A client hosting one guidance camera (silent after 2 × 100 ms), and one area it reports.
async fn car_park(s: &Server) {
    let (status, body) = s
        .post("/api/v1/clients", json!({"id": "gate-g", "name": "gate-g"}))
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = s
        .post("/api/v1/clients", json!({"id": "gate-x", "name": "gate-x"}))
        .await;
    assert_eq!(status, 201, "{body}");
    for (id, kind, client) in [
        ("gcam-1", "guidance_camera", "gate-g"),
        ("gcam-x", "guidance_camera", "gate-x"),
        ("lpr-1", "lpr_camera", "gate-g"),
    ] {
        let (status, body) = s
            .post(
                "/api/v1/devices",
                json!({"id": id, "kind": kind, "client_id": client, "heartbeat_interval_ms": 100, "miss_tolerance": 2}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    for (id, camera) in [("T1-P1-A03", "gcam-1"), ("T1-P1-X01", "gcam-x")] {
        let (status, body) = s
            .post(
                "/api/v1/parking/areas",
                json!({"id": id, "site": "T1", "zone": "short-term", "total": 40, "camera_id": camera}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["camera_id"], camera);
    }
}

fn area<'a>(site: &'a Value, id: &str) -> &'a Value {
    site["zones"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|z| z["areas"].as_array().unwrap())
        .find(|a| a["id"] == id)
        .unwrap_or_else(|| panic!("no area {id} in {site}"))
}

async fn silent_camera_turns_its_areas_unknown_and_back(backend: Backend) {
    let s = Server::start(backend).await;
    car_park(&s).await;
    let mut sign = session(&s, "sign-1", Role::Client).await;
    sign.subscribe("t1", "/topic/parking/T1", "auto").await;
    let mut camera = session(&s, "gate-g", Role::Client).await;
    assert_eq!(s.heartbeat("gate-g", "gcam-1", "ok").await.0, 200);

    let report = r#"{"areas":[{"id":"T1-P1-A03","free":12,"total":40}]}"#;
    camera.send_with_receipt("/app/occupancy", &[], report, "r1").await;
    let known = sign
        .recv_json_until(|m| m["type"] == "parking.occupancy" && area(m, "T1-P1-A03")["state"] == "known")
        .await;
    assert_eq!(known["site"], "T1");
    assert_eq!(area(&known, "T1-P1-A03")["free"], 12);
    // The other camera has not reported: its area counts as unknown bays.
    assert_eq!(
        (known["free"].as_u64(), known["unknown_bays"].as_u64()),
        (Some(12), Some(40))
    );

    // The camera goes silent: down after its deadline, and its area is unknown at once,
    // without its last numbers.
    let unknown = sign
        .recv_json_until(|m| area(m, "T1-P1-A03")["state"] == "unknown")
        .await;
    let a = area(&unknown, "T1-P1-A03");
    assert_eq!(a["unknown_reason"], "camera_out_of_service");
    assert!(a["free"].is_null(), "{a}");
    assert_eq!(
        (unknown["free"].as_u64(), unknown["unknown_areas"].as_u64()),
        (Some(0), Some(2))
    );
    let (_, view) = s.get("/api/v1/parking/occupancy?site=T1&zone=short-term").await;
    assert_eq!(area(&view["sites"][0], "T1-P1-A03")["state"], "unknown");

    // Back up and reporting: known again with the new count.
    assert_eq!(s.heartbeat("gate-g", "gcam-1", "ok").await.0, 200);
    let report = r#"{"areas":[{"id":"T1-P1-A03","free":7,"total":40}]}"#;
    camera.send_with_receipt("/app/occupancy", &[], report, "r2").await;
    let back = sign.recv_json_until(|m| area(m, "T1-P1-A03")["state"] == "known").await;
    assert_eq!(area(&back, "T1-P1-A03")["free"], 7);
    let (status, view) = s.get("/api/v1/parking/occupancy?site=T1").await;
    assert_eq!(status, 200);
    assert_eq!(view["sites"][0]["free"], 7);
    s.stop().await;
}

#[actix_web::test]
async fn a_silent_guidance_camera_turns_its_areas_unknown_on_the_site_topic_and_back() {
    for backend in backends() {
        silent_camera_turns_its_areas_unknown_and_back(backend).await;
    }
}

#[actix_web::test]
async fn bad_areas_and_reports_are_refused_whole_with_a_clear_error() {
    let s = Server::start(Backend::Sqlite).await;
    car_park(&s).await;
    let area = |id: &str, camera: &str, total: u32| json!({"id": id, "site": "T1", "zone": "short-term", "total": total, "camera_id": camera});
    for (body, want) in [
        (area("T1-P1-A03", "gcam-1", 40), 409),
        (area("A9", "nope", 40), 422),
        (area("A9", "lpr-1", 40), 422),
        (area("A9", "gcam-1", 0), 422),
        (area("has space", "gcam-1", 4), 422),
    ] {
        let (status, problem) = s.post("/api/v1/parking/areas", body.clone()).await;
        assert_eq!(status, want, "{body} {problem}");
        assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()), "{problem}");
    }
    let operator = s.token("op", Role::Operator, None);
    let (status, _) = s
        .call(
            "POST",
            "/api/v1/parking/areas",
            Some(&operator),
            Some(area("A9", "gcam-1", 4)),
        )
        .await;
    assert_eq!(status, 403);
    let (_, list) = s.get("/api/v1/parking/areas").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2, "{list}");

    let gate = s.token("gate-g", Role::Client, Some("gate-g"));
    let post = |body: Value| s.call("POST", "/api/v1/parking/occupancy", Some(&gate), Some(body));
    let counts = |areas: Value| json!({ "areas": areas });
    let (status, problem) = post(counts(
        json!([{"id": "T1-P1-A03", "free": 3, "total": 40}, {"id": "Z9", "free": 1, "total": 2}]),
    ))
    .await;
    assert_eq!(status, 422, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("Z9"), "{problem}");
    let (status, problem) = post(counts(json!([{"id": "T1-P1-A03", "free": 41, "total": 40}]))).await;
    assert_eq!(status, 422, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("more than total"),
        "{problem}"
    );
    let (status, problem) = post(counts(json!([{"id": "T1-P1-X01", "free": 1, "total": 40}]))).await;
    assert_eq!(status, 403, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("gcam-x"), "{problem}");
    let (status, _) = post(json!({"areas": "none"})).await;
    assert_eq!(status, 400);
    let viewer = s.token("v", Role::Viewer, None);
    let (status, _) = s
        .call(
            "POST",
            "/api/v1/parking/occupancy",
            Some(&viewer),
            Some(counts(json!([]))),
        )
        .await;
    assert_eq!(status, 403);
    // Nothing of a refused report counted.
    let (_, view) = s.get("/api/v1/parking/occupancy").await;
    assert_eq!(view["sites"][0]["unknown_areas"], 2, "{view}");

    // The good one counts, over HTTP too.
    let (status, body) = post(counts(json!([{"id": "T1-P1-A03", "free": 3, "total": 40}]))).await;
    assert_eq!((status, body["accepted"].as_u64()), (200, Some(1)), "{body}");
    let (_, view) = s.get("/api/v1/parking/occupancy").await;
    assert_eq!(view["sites"][0]["free"], 3, "{view}");

    // Over STOMP, another client's area ends the session with an ERROR naming the camera
    // (gate-x's session: closing it makes gate-x's own camera unreachable, not gcam-1).
    let mut camera = session(&s, "gate-x", Role::Client).await;
    let body = r#"{"areas":[{"id":"T1-P1-A03","free":1,"total":40}]}"#;
    camera
        .send_text(&frame("SEND", &[("destination", "/app/occupancy")], body))
        .await;
    let error = camera.expect_error().await;
    let text = String::from_utf8_lossy(&error.body).to_string() + error.header("message").unwrap_or("");
    assert!(text.contains("gcam-1"), "{text}");
    let (_, view) = s.get("/api/v1/parking/occupancy").await;
    assert_eq!(view["sites"][0]["free"], 3, "the refused frame counted nothing: {view}");
    s.stop().await;
}
