//! The HTTP contract for bad input: every refusal is problem+json with API.md's status.

use std::time::Duration;

use kwanje::auth::{Claims, Keys, Role};
use kwanje::time::Millis;
use serde_json::{json, Value};

use crate::support::{Backend, Server};

fn assert_problem(status: u16, body: &Value, want: u16) {
    assert_eq!(status, want, "{body}");
    assert_eq!(body["status"], want, "{body}");
    assert!(
        body["type"].as_str().unwrap().starts_with("urn:kwanje:problem:"),
        "{body}"
    );
    assert!(!body["detail"].as_str().unwrap().is_empty(), "{body}");
}

#[actix_web::test]
async fn tokens_that_are_missing_expired_forged_or_unsigned_get_401() {
    let s = Server::start(Backend::Sqlite).await;
    let (status, body) = s.call("GET", "/api/v1/devices", None, None).await;
    assert_problem(status, &body, 401);

    let past = Millis::now() - Duration::from_secs(7_200);
    let expired = s
        .state
        .keys
        .issue(&Claims::new("op", Role::Admin, past, Duration::from_secs(60)))
        .unwrap();
    let (status, body) = s.call("GET", "/api/v1/devices", Some(&expired), None).await;
    assert_problem(status, &body, 401);
    assert!(body["detail"].as_str().unwrap().contains("expired"), "{body}");

    let forged = Keys::hs256(b"not-the-server-key")
        .issue(&Claims::new("op", Role::Admin, Millis::now(), Duration::from_secs(60)))
        .unwrap();
    let (status, body) = s.call("GET", "/api/v1/devices", Some(&forged), None).await;
    assert_problem(status, &body, 401);

    let payload = forged.split('.').nth(1).unwrap();
    let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
    let (status, body) = s.call("GET", "/api/v1/devices", Some(&unsigned), None).await;
    assert_problem(status, &body, 401);

    let (status, body) = s.call("GET", "/api/v1/devices", Some("garbage"), None).await;
    assert_problem(status, &body, 401);
}

#[actix_web::test]
async fn roles_are_enforced_with_403() {
    let s = Server::start(Backend::Sqlite).await;
    s.register("pc-1", &["cam-1"], 5_000, 3).await;
    let viewer = s.token("val", Role::Viewer, None);
    let operator = s.token("oli", Role::Operator, None);
    let client = s.token("pc-2", Role::Client, Some("pc-2"));
    let device = json!({"id": "cam-2", "kind": "gate", "client_id": "pc-1"});

    let (status, body) = s
        .call("POST", "/api/v1/devices", Some(&viewer), Some(device.clone()))
        .await;
    assert_problem(status, &body, 403);
    let (status, body) = s.call("POST", "/api/v1/devices", Some(&operator), Some(device)).await;
    assert_problem(status, &body, 403);
    let (status, body) = s.call("GET", "/api/v1/devices", Some(&client), None).await;
    assert_problem(status, &body, 403);
    // A client may only heartbeat the devices it hosts.
    let (status, body) = s
        .call(
            "POST",
            "/api/v1/devices/cam-1/heartbeat",
            Some(&client),
            Some(json!({"status": "ok"})),
        )
        .await;
    assert_problem(status, &body, 403);
    let (status, _) = s.call("GET", "/api/v1/devices", Some(&viewer), None).await;
    assert_eq!(status, 200);
}

#[actix_web::test]
async fn malformed_bodies_get_400_and_invalid_ones_422() {
    let s = Server::start(Backend::Sqlite).await;
    s.register("pc-1", &[], 5_000, 3).await;
    let admin = s.admin.clone();
    let client = awc::Client::default();
    let mut resp = client
        .post(s.url("/api/v1/devices"))
        .insert_header(("Authorization", format!("Bearer {admin}")))
        .insert_header(("Content-Type", "application/json"))
        .send_body("{\"id\": ")
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert_eq!(resp.headers().get("content-type").unwrap(), "application/problem+json");
    let body: Value = resp.json().await.unwrap();
    assert_problem(400, &body, 400);

    let (status, body) = s.post("/api/v1/devices", json!({"id": 5, "kind": "gate"})).await;
    assert_problem(status, &body, 400);
    let (status, body) = s
        .post(
            "/api/v1/devices",
            json!({"id": "x", "kind": "toaster", "client_id": "pc-1"}),
        )
        .await;
    assert_problem(status, &body, 422);
    assert!(
        body["detail"].as_str().unwrap().contains("lpr_camera"),
        "lists the known kinds: {body}"
    );
    let (status, body) = s
        .post(
            "/api/v1/devices",
            json!({"id": "has space", "kind": "gate", "client_id": "pc-1"}),
        )
        .await;
    assert_problem(status, &body, 422);
    let (status, body) = s
        .post(
            "/api/v1/devices",
            json!({"id": "g", "kind": "gate", "client_id": "nobody"}),
        )
        .await;
    assert_problem(status, &body, 422);
    let (status, body) = s
        .post(
            "/api/v1/devices",
            json!({"id": "g", "kind": "gate", "client_id": "pc-1", "heartbeat_interval_ms": 1}),
        )
        .await;
    assert_problem(status, &body, 422);
    let (status, body) = s.get("/api/v1/devices?limit=5000").await;
    assert_problem(status, &body, 422);
    // Nothing half-stored: the refused device does not exist.
    let (status, _) = s.get("/api/v1/devices/g").await;
    assert_eq!(status, 404);
}

#[actix_web::test]
async fn unknown_things_get_404_and_duplicates_409() {
    let s = Server::start(Backend::Sqlite).await;
    s.register("pc-1", &["cam-1"], 5_000, 3).await;
    for path in [
        "/api/v1/devices/nope",
        "/api/v1/alerts/123",
        "/api/v1/alerts/abc",
        "/api/v1/commands/9",
        "/api/v1/nothing",
    ] {
        let (status, body) = s.get(path).await;
        assert_problem(status, &body, 404);
    }
    let (status, body) = s.heartbeat("pc-1", "nope", "ok").await;
    assert_problem(status, &body, 404);
    let (status, body) = s
        .post(
            "/api/v1/devices",
            json!({"id": "cam-1", "kind": "gate", "client_id": "pc-1"}),
        )
        .await;
    assert_problem(status, &body, 409);
    let (status, body) = s.post("/api/v1/clients", json!({"id": "pc-1", "name": "again"})).await;
    assert_problem(status, &body, 409);
    // Fault injection is off unless KWANJE_FAULT_INJECTION=1.
    let (status, body) = s.post("/api/v1/devices/cam-1/faults/crash", json!({})).await;
    assert_problem(status, &body, 404);
}

async fn login(s: &Server, body: Value) -> (u16, Value) {
    s.call("POST", "/api/v1/auth/token", None, Some(body)).await
}

#[actix_web::test]
async fn a_password_buys_a_token_and_a_wrong_one_does_not() {
    let s = Server::start(Backend::Sqlite).await;
    let (status, body) = login(&s, json!({"username": "admin", "password": "nope"})).await;
    assert_problem(status, &body, 401);
    let (status, body) = login(&s, json!({"username": "ghost", "password": "x"})).await;
    assert_problem(status, &body, 401);
    let (status, body) = login(&s, json!({"username": "admin", "password": "admin-pw"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3_600);
    let token = body["access_token"].as_str().unwrap();
    let (status, _) = s.call("GET", "/api/v1/devices", Some(token), None).await;
    assert_eq!(status, 200);
}

#[actix_web::test]
async fn lists_page_with_a_cursor() {
    let s = Server::start(Backend::Sqlite).await;
    s.register("pc-1", &["a", "b", "c"], 5_000, 3).await;
    let (_, first) = s.get("/api/v1/devices?limit=2").await;
    let ids: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["a", "b"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, rest) = s.get(&format!("/api/v1/devices?limit=2&cursor={cursor}")).await;
    assert_eq!(rest["items"][0]["id"], "c");
    assert_eq!(rest["next_cursor"], Value::Null);
    let (_, clients) = s.get("/api/v1/clients").await;
    assert_eq!(clients["items"][0]["id"], "pc-1");
    assert_eq!(clients["items"][0]["online"], false);
}

#[actix_web::test]
async fn health_and_readiness_answer() {
    let s = Server::start(Backend::Sqlite).await;
    let (status, _) = s.call("GET", "/healthz", None, None).await;
    assert_eq!(status, 200);
    let (status, body) = s.call("GET", "/readyz", None, None).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ready")));
}

#[actix_web::test]
async fn metrics_are_prometheus_text_for_loopback() {
    let s = Server::start(Backend::Sqlite).await;
    s.register("pc-1", &["a", "b"], 5_000, 3).await;
    s.heartbeat("pc-1", "a", "ok").await;
    let client = awc::Client::default();
    let mut resp = client.get(s.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let body = String::from_utf8(resp.body().await.unwrap().to_vec()).unwrap();
    assert!(body.contains("kwanje_devices{state=\"up\"} 1"), "{body}");
    assert!(body.contains("kwanje_devices{state=\"unknown\"} 1"), "{body}");
    assert!(body.contains("kwanje_device_actor_restarts_total 0"), "{body}");
    assert!(body.contains("kwanje_alerts_open 0"), "{body}");
}

/// Found by schemathesis: `POST /alerts/{id}/ack` took any body it could not read for no body,
/// and acknowledged the alert with its note silently dropped. A malformed body is now 400 and
/// changes nothing; no body at all still acknowledges without a note.
#[actix_web::test]
async fn a_malformed_acknowledgement_is_refused_and_changes_nothing() {
    let s = Server::start(Backend::Sqlite).await;
    s.register("pc-1", &["cam-1"], 5_000, 3).await;
    let (status, _) = s.heartbeat("pc-1", "cam-1", "fault").await;
    assert_eq!(status, 200);
    let open = s
        .wait_for(
            "/api/v1/alerts?state=open&kind=device_fault",
            Duration::from_secs(10),
            |b| b["items"].as_array().is_some_and(|a| !a.is_empty()),
        )
        .await;
    let id = open["items"][0]["id"].as_i64().unwrap();
    let path = format!("/api/v1/alerts/{id}/ack");
    let operator = s.token("kim", Role::Operator, None);

    for (content_type, malformed) in [
        ("application/json", "{\"note\": \"sent a tech"),
        ("application/json", "\u{0}"),
        ("text/plain", "{\"note\": \"sent a technician\"}"),
    ] {
        let mut resp = awc::Client::default()
            .post(s.url(&path))
            .bearer_auth(&operator)
            .insert_header(("Content-Type", content_type))
            .send_body(malformed)
            .await
            .unwrap();
        let body: Value = resp.json().await.unwrap();
        assert_problem(resp.status().as_u16(), &body, 400);
        let (_, alert) = s.get(&format!("/api/v1/alerts/{id}")).await;
        assert_eq!(alert["state"], "open", "{content_type} {malformed:?}: {alert}");
    }

    let (status, alert) = s.call("POST", &path, Some(&operator), None).await;
    assert_eq!(status, 200, "{alert}");
    assert_eq!(alert["state"], "acknowledged");
    assert!(alert.get("ack_note").is_none(), "{alert}");
    // The document allows `null` for the optional body.
    let (status, alert) = s.call("POST", &path, Some(&operator), Some(Value::Null)).await;
    assert_eq!(
        (status, alert["state"].as_str()),
        (200, Some("acknowledged")),
        "{alert}"
    );
}

#[actix_web::test]
async fn a_wrong_method_gets_405_with_allow_and_an_unknown_path_404() {
    let s = Server::start(Backend::Sqlite).await;
    let resp = awc::Client::default()
        .put(s.url("/api/v1/devices"))
        .bearer_auth(&s.admin)
        .send_json(&json!({"id": "cam-1"}))
        .await;
    let mut resp = resp.unwrap();
    assert_eq!(resp.status().as_u16(), 405);
    assert_eq!(resp.headers().get("allow").unwrap(), "POST, GET");
    let content_type = resp.headers().get("content-type").unwrap().to_str().unwrap().to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = serde_json::from_slice(&resp.body().await.unwrap()).unwrap();
    assert_problem(405, &body, 405);
    assert!(body["detail"].as_str().unwrap().contains("POST, GET"), "{body}");

    let (status, body) = s.call("DELETE", "/api/v1/alerts/7/ack", Some(&s.admin), None).await;
    assert_problem(status, &body, 405);
    // Nothing was done on the way: the path's real method still answers as before.
    let (status, body) = s.call("POST", "/api/v1/alerts/7/ack", Some(&s.admin), None).await;
    assert_problem(status, &body, 404);

    let (status, body) = s.call("GET", "/api/v1/no-such-thing", Some(&s.admin), None).await;
    assert_problem(status, &body, 404);
    assert!(
        body["detail"].as_str().unwrap().starts_with("no such endpoint"),
        "{body}"
    );
}

/// `/metrics` read back with a Prometheus text-format parser: it parses whole, and HTTP requests
/// are counted by route pattern (not raw path), method and status, with their latency.
#[actix_web::test]
async fn metrics_parse_as_prometheus_text_and_count_requests_by_route_and_status() {
    use openmetrics_parser::OpenMetricsValue as PrometheusValue;
    let s = Server::start(Backend::Sqlite).await;
    let pager = crate::support::receiver::TestReceiver::start();
    let (status, _) = s
        .post(
            "/api/v1/receivers",
            serde_json::json!({"name": "pager", "url": pager.url}),
        )
        .await;
    assert_eq!(status, 201);
    s.register("pc-1", &["cam-1", "cam-f"], 5_000, 3).await;
    s.heartbeat("pc-1", "cam-1", "ok").await;
    // One device_fault alert opened and resolved, and told to the pager.
    s.heartbeat("pc-1", "cam-f", "fault").await;
    s.heartbeat("pc-1", "cam-f", "ok").await;
    let within = std::time::Duration::from_secs(10);
    s.wait_for("/api/v1/alerts?state=resolved", within, |b| {
        b["items"].as_array().is_some_and(|a| !a.is_empty())
    })
    .await;
    let deadline = std::time::Instant::now() + within;
    while pager.accepted_keys().len() < 2 {
        assert!(std::time::Instant::now() < deadline, "{:?}", pager.got());
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (status, command) = s
        .post("/api/v1/devices/cam-1/commands", serde_json::json!({"kind": "restart"}))
        .await;
    assert_eq!(status, 202, "{command}");
    // One more, for a gate PC that never comes: it expires after its second.
    let (status, brief) = s
        .post(
            "/api/v1/devices/cam-f/commands",
            serde_json::json!({"kind": "restart", "ttl_ms": 1_000}),
        )
        .await;
    assert_eq!(status, 202, "{brief}");
    s.wait_for(&format!("/api/v1/commands/{}", brief["id"]), within, |c| {
        c["state"] == "expired"
    })
    .await;
    assert_eq!(s.get("/api/v1/devices/cam-1").await.0, 200);
    assert_eq!(s.get("/api/v1/devices/cam-1").await.0, 200);
    assert_eq!(s.get("/api/v1/devices/nope").await.0, 404);
    let scrape = crate::support::scrape::Scrape::of(&s).await;
    let text = &scrape.text;
    let device = [("route", "/api/v1/devices/{id}"), ("method", "GET")];
    let ok = scrape.number("kwanje_http_requests", &[device[0], device[1], ("status", "200")]);
    assert_eq!(ok, Some(2.0), "{text}");
    let missing = scrape.number("kwanje_http_requests", &[device[0], device[1], ("status", "404")]);
    assert_eq!(missing, Some(1.0), "{text}");
    assert!(!text.contains("cam-1\""), "raw paths never become labels: {text}");
    match scrape
        .values("kwanje_http_request_duration_seconds", &device)
        .as_slice()
    {
        [PrometheusValue::Histogram(h)] => assert_eq!(h.count, Some(3), "{text}"),
        other => panic!("{other:?}\n{text}"),
    }
    assert_eq!(scrape.number("kwanje_devices", &[("state", "up")]), Some(2.0), "{text}");
    assert_eq!(scrape.number("kwanje_token_revocations", &[]), Some(0.0), "{text}");
    // Alerts by kind, the alert writer's transactions, the broker, webhook deliveries.
    let fault = [("kind", "device_fault")];
    assert_eq!(scrape.number("kwanje_alerts_opened", &fault), Some(1.0), "{text}");
    assert_eq!(scrape.number("kwanje_alerts_resolved", &fault), Some(1.0), "{text}");
    assert!(
        scrape
            .number("kwanje_alert_store_writes", &[])
            .is_some_and(|n| n >= 2.0),
        "{text}"
    );
    assert!(
        scrape
            .number("kwanje_alert_store_write_seconds", &[])
            .is_some_and(|s| s > 0.0),
        "{text}"
    );
    assert_eq!(scrape.number("kwanje_alert_store_pauses", &[]), Some(0.0), "{text}");
    assert!(
        scrape.number("kwanje_broker_published", &[]).is_some_and(|n| n >= 2.0),
        "{text}"
    );
    assert!(scrape.number("kwanje_broker_delivered", &[]).is_some(), "{text}");
    let open_commands: f64 = ["pending", "delivered"]
        .iter()
        .filter_map(|state| scrape.number("kwanje_commands_open", &[("state", state)]))
        .sum();
    assert_eq!(open_commands, 1.0, "{text}");
    let expired = scrape.number("kwanje_commands_finished", &[("state", "expired")]);
    assert_eq!(expired, Some(1.0), "{text}");
    let pager_label = [("receiver", "pager")];
    assert!(
        scrape
            .number("kwanje_receiver_deliveries", &pager_label)
            .is_some_and(|n| n >= 2.0),
        "{text}"
    );
    // The process's own figures, under the names stock dashboards use.
    let rss = scrape.number("process_resident_memory_bytes", &[]).unwrap_or(0.0);
    assert!(rss > 1_000_000.0, "{text}");
    assert!(
        scrape.number("process_cpu_seconds", &[]).is_some_and(|s| s > 0.0),
        "{text}"
    );
    assert!(
        scrape.number("process_open_fds", &[]).is_some_and(|n| n >= 3.0),
        "{text}"
    );
    assert!(
        scrape.number("process_threads", &[]).is_some_and(|n| n >= 2.0),
        "{text}"
    );
    let started = scrape.number("process_start_time_seconds", &[]).unwrap_or(0.0);
    let now = kwanje::time::Millis::now().0 as f64 / 1_000.0;
    assert!(
        (now - 3_600.0..=now + 5.0).contains(&started),
        "{started} vs {now}\n{text}"
    );
    s.stop().await;
}
