//! Parking sessions over real sockets, on both backends: an entry gate PC reporting plate
//! readings over STOMP (and told on `/user/queue/parking` what each did: tickets in ticket
//! mode), an exit gate PC reporting over HTTP whose gate opens only through `open_gate`
//! commands it receives and acks, a kiosk finding sessions by plate or ticket and paying with
//! `Idempotency-Key`. Bad input gets a clear error and changes nothing.

use std::collections::HashSet;

use kwanje::auth::Role;
use serde_json::{json, Value};

use crate::realtime::client::frame;
use crate::realtime::session;
use crate::support::{backends, Backend, Server};

/// Entry lane E1 (camera and gate on gate-e), exit lane X1 (on gate-x), a kiosk, and zone
/// P1's tariff: 1,000 per minute begun, no free minutes, so every stay owes.
async fn car_park(s: &Server) {
    for client in ["gate-e", "gate-x", "kiosk-1", "gate-z"] {
        let (status, body) = s.post("/api/v1/clients", json!({"id": client, "name": client})).await;
        assert_eq!(status, 201, "{body}");
    }
    for (id, kind, client, lane) in [
        ("lpr-e1", "lpr_camera", "gate-e", Some("E1")),
        ("gate-e1", "gate", "gate-e", Some("E1")),
        ("lpr-x1", "lpr_camera", "gate-x", Some("X1")),
        ("gate-x1", "gate", "gate-x", Some("X1")),
        ("lpr-nolane", "lpr_camera", "gate-z", None),
        ("gcam-z", "guidance_camera", "gate-z", Some("Z1")),
    ] {
        let mut body = json!({"id": id, "kind": kind, "client_id": client, "site": "T1", "zone": "P1",
            "heartbeat_interval_ms": 60_000, "miss_tolerance": 3});
        if let Some(lane) = lane {
            body["lane"] = json!(lane);
        }
        let (status, body) = s.post("/api/v1/devices", body).await;
        assert_eq!(status, 201, "{body}");
    }
    let admin = s.token("root", Role::Admin, None);
    let tariff = json!({"free_minutes": 0, "period_minutes": 1, "rate_per_period": 1000, "daily_cap": null,
        "utc_offset_minutes": 540});
    let (status, body) = s
        .call("PUT", "/api/v1/parking/tariffs/P1", Some(&admin), Some(tariff))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["zone"], "P1");
}

fn client_token(s: &Server, client: &str) -> String {
    s.token(client, Role::Client, Some(client))
}

async fn exit(s: &Server, body: Value) -> (u16, Value) {
    let token = client_token(s, "gate-x");
    s.call("POST", "/api/v1/parking/lpr", Some(&token), Some(body)).await
}

/// `GET /api/v1/parking/sessions?{query}` as the kiosk; the query's values are escaped here.
async fn find(s: &Server, query: &str) -> (u16, Value) {
    let token = client_token(s, "kiosk-1");
    s.call(
        "GET",
        &format!("/api/v1/parking/sessions?{}", escape(query)),
        Some(&token),
        None,
    )
    .await
}

fn escape(query: &str) -> String {
    const VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'=')
        .remove(b'&')
        .remove(b'-');
    percent_encoding::utf8_percent_encode(query, VALUE).to_string()
}

async fn pay(s: &Server, session: i64, amount: u64, key: Option<&str>) -> (u16, Value) {
    // Longer than the server's wait for the store (awc's default is 5 s).
    let client = awc::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .finish();
    let mut req = client
        .post(s.url(&format!("/api/v1/parking/sessions/{session}/payments")))
        .insert_header(("Authorization", format!("Bearer {}", client_token(s, "kiosk-1"))));
    if let Some(key) = key {
        req = req.insert_header(("Idempotency-Key", key));
    }
    let mut resp = req
        .send_json(&json!({"amount": amount, "method": "card", "reference": format!("auth-{session}")}))
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

fn plate(n: usize) -> String {
    format!("12가{n:04}")
}

async fn a_morning_at_a_car_park(backend: Backend) {
    let s = Server::start(backend).await;
    car_park(&s).await;
    let mut entry_pc = session(&s, "gate-e", Role::Client).await;
    entry_pc.subscribe("p", "/user/queue/parking", "auto").await;
    let mut exit_pc = session(&s, "gate-x", Role::Client).await;
    exit_pc.subscribe("c", "/user/queue/commands", "auto").await;

    // 200 plates read well, 5 read below the threshold: ticket mode.
    for n in 0..200 {
        let reading = json!({"camera_id": "lpr-e1", "plate": plate(n), "direction": "entry", "confidence": 0.97});
        entry_pc
            .send_text(&frame("SEND", &[("destination", "/app/lpr")], &reading.to_string()))
            .await;
    }
    for n in 0..5 {
        let reading =
            json!({"camera_id": "lpr-e1", "plate": format!("9{n}?"), "direction": "entry", "confidence": 0.4});
        let reading = reading.to_string().replace('?', "");
        entry_pc
            .send_text(&frame("SEND", &[("destination", "/app/lpr")], &reading))
            .await;
    }
    let mut tickets = Vec::new();
    let mut entered = 0;
    while entered < 205 {
        let answer = entry_pc.recv_json_until(|m| m["type"] == "parking.lane").await;
        assert_eq!(answer["outcome"], "entered", "{answer}");
        assert_eq!(answer["lane"], "E1");
        if let Some(ticket) = answer["ticket"].as_str() {
            assert!(answer["plate"].is_null(), "{answer}");
            tickets.push(ticket.to_owned());
        }
        entered += 1;
    }
    assert_eq!(tickets.len(), 5, "the low-confidence readings got tickets");

    // A duplicate entry changes nothing.
    let reading = json!({"camera_id": "lpr-e1", "plate": plate(0), "direction": "entry"});
    entry_pc
        .send_text(&frame("SEND", &[("destination", "/app/lpr")], &reading.to_string()))
        .await;
    let dup = entry_pc.recv_json_until(|m| m["type"] == "parking.lane").await;
    assert_eq!(dup["outcome"], "already_inside", "{dup}");

    // 150 pay at the kiosk (one of them twice: a retry after a lost answer), then leave.
    let mut released = HashSet::new();
    for n in 0..150 {
        let (status, view) = find(&s, &format!("plate=12가 {n:04}")).await;
        assert_eq!(status, 200, "{view}");
        assert_eq!(view["state"], "open");
        let due = view["due"].as_u64().unwrap();
        assert!(due >= 1000, "{view}");
        let id = view["id"].as_i64().unwrap();
        let key = format!("kiosk-1-{n}");
        let (status, receipt) = pay(&s, id, due, Some(&key)).await;
        assert_eq!(status, 201, "{receipt}");
        assert_eq!(receipt["session"]["due"], 0, "{receipt}");
        if n == 0 {
            let (status, again) = pay(&s, id, due, Some(&key)).await;
            assert_eq!(status, 200, "{again}");
            assert_eq!(again["replay"], true);
            assert_eq!(again["payment"]["id"], receipt["payment"]["id"]);
            assert_eq!(again["session"]["paid"], due, "paid once, not twice");
        }
        let (status, answer) = exit(
            &s,
            json!({"camera_id": "lpr-x1", "plate": plate(n), "direction": "exit"}),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["outcome"], "released", "{answer}");
        assert_eq!(answer["gate_id"], "gate-x1");
        released.insert(answer["command_id"].as_i64().expect("an open_gate command"));
    }
    // 10 leave without paying: held, the gate stays closed, the fee shown.
    for n in 150..160 {
        let (status, answer) = exit(
            &s,
            json!({"camera_id": "lpr-x1", "plate": plate(n), "direction": "exit"}),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["outcome"], "held", "{answer}");
        assert!(answer["due"].as_u64().unwrap() >= 1000);
        assert!(answer["command_id"].is_null());
    }
    // The ticket cars pay by ticket and leave by scanning it.
    for ticket in &tickets {
        let (status, view) = find(&s, &format!("ticket={ticket}")).await;
        assert_eq!(status, 200, "{view}");
        let id = view["id"].as_i64().unwrap();
        let (status, _) = pay(&s, id, view["due"].as_u64().unwrap(), Some(&format!("t-{ticket}"))).await;
        assert_eq!(status, 201);
        let (_, answer) = exit(
            &s,
            json!({"camera_id": "lpr-x1", "ticket": ticket, "direction": "exit"}),
        )
        .await;
        assert_eq!(answer["outcome"], "released", "{answer}");
        released.insert(answer["command_id"].as_i64().unwrap());
    }
    // One held car pays at the exit: its gate opens without another reading.
    let (_, held) = find(&s, &format!("plate={}", plate(150))).await;
    assert_eq!(held["state"], "held");
    assert_eq!(held["exit_lane"], "X1");
    let (status, receipt) = pay(
        &s,
        held["id"].as_i64().unwrap(),
        held["due"].as_u64().unwrap(),
        Some("held-150"),
    )
    .await;
    assert_eq!(status, 201, "{receipt}");
    assert_eq!(receipt["session"]["state"], "exited");
    let releases = released.len() + 1;
    assert_eq!(released.len(), 155);

    // The exit gate PC gets every open_gate and acks it: the gate opens only by command.
    let mut acked = 0;
    let mut delivered = HashSet::new();
    while acked < releases {
        let cmd = exit_pc.recv_json_until(|m| m["type"] == "command.issued").await;
        assert_eq!(cmd["command"], "open_gate", "{cmd}");
        assert!(
            delivered.insert(cmd["command_id"].as_i64().unwrap()),
            "each command is delivered once: {cmd}"
        );
        assert_eq!(cmd["device_id"], "gate-x1");
        let ack = json!({"command_id": cmd["command_id"], "ok": true});
        exit_pc
            .send_text(&frame(
                "SEND",
                &[("destination", "/app/commands/ack")],
                &ack.to_string(),
            ))
            .await;
        acked += 1;
    }
    assert!(
        released.is_subset(&delivered),
        "every release's command reached the gate PC"
    );
    s.wait_for(
        "/api/v1/commands?device_id=gate-x1&state=acked&limit=1000",
        std::time::Duration::from_secs(10),
        |v| v["items"].as_array().map(Vec::len) == Some(releases),
    )
    .await;
    let (_, pending) = s.get("/api/v1/commands?device_id=gate-x1&state=pending").await;
    assert_eq!(
        pending["items"].as_array().unwrap().len(),
        0,
        "no gate opened for the held cars"
    );

    // What stays: 9 held, 40 inside, and a released session readable by id.
    let (_, gone) = find(&s, &format!("plate={}", plate(0))).await;
    assert!(gone.is_object());
    let (status, _) = find(&s, &format!("plate={}", plate(0))).await;
    assert_eq!(status, 404, "a car that left has no open session");
    for n in [151, 159] {
        let (_, v) = find(&s, &format!("plate={}", plate(n))).await;
        assert_eq!(v["state"], "held");
    }
    let (_, v) = find(&s, &format!("plate={}", plate(199))).await;
    assert_eq!(v["state"], "open");
    let session_id = receipt["session"]["id"].as_i64().unwrap();
    let (status, v) = s.get(&format!("/api/v1/parking/sessions/{session_id}")).await;
    assert_eq!(status, 200);
    assert_eq!(v["state"], "exited");
    assert_eq!(v["payments"].as_array().unwrap().len(), 1);
    s.stop().await;
}

#[actix_web::test]
async fn a_morning_at_a_car_park_opens_gates_only_by_acked_commands() {
    for backend in backends() {
        a_morning_at_a_car_park(backend).await;
    }
}

#[actix_web::test]
async fn sessions_and_payments_survive_a_restart_and_a_retried_key_is_still_the_same_payment() {
    for backend in backends() {
        let s = Server::start(backend).await;
        car_park(&s).await;
        let token = client_token(&s, "gate-e");
        let reading = json!({"camera_id": "lpr-e1", "plate": "34나5678", "direction": "entry"});
        let (status, answer) = s.call("POST", "/api/v1/parking/lpr", Some(&token), Some(reading)).await;
        assert_eq!(status, 200, "{answer}");
        let id = answer["session_id"].as_i64().unwrap();
        let (status, receipt) = pay(&s, id, 500, Some("k-restart")).await;
        assert_eq!(status, 201, "{receipt}");
        let s = s.restart(|_| {}).await;
        let (status, view) = find(&s, "plate=34나5678").await;
        assert_eq!(status, 200, "{view}");
        assert_eq!((view["id"].as_i64(), view["paid"].as_u64()), (Some(id), Some(500)));
        let (status, again) = pay(&s, id, 500, Some("k-restart")).await;
        assert_eq!(status, 200, "{again}");
        assert_eq!(again["replay"], true);
        assert_eq!(again["session"]["paid"], 500);
        // The tariff came back too: still 1,000 a minute, so 500 leaves the rest due.
        let (status, answer) = exit(
            &s,
            json!({"camera_id": "lpr-x1", "plate": "34나5678", "direction": "exit"}),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(answer["outcome"], "held", "{answer}");
        assert!(answer["due"].as_u64().unwrap() >= 500);
        // An operator closes it as a lost ticket: audited, and the held car is let out.
        let operator = s.token("kim", Role::Operator, None);
        let (status, closed) = s
            .call(
                "POST",
                &format!("/api/v1/parking/sessions/{id}/lost-ticket"),
                Some(&operator),
                Some(json!({"reason": "customer lost the receipt"})),
            )
            .await;
        assert_eq!(status, 200, "{closed}");
        assert_eq!(closed["state"], "lost");
        let (_, audit) = s.get("/api/v1/audit?action=parking.session.lost_ticket").await;
        assert_eq!(audit["items"][0]["actor"], "kim", "{audit}");
        s.wait_for(
            "/api/v1/commands?device_id=gate-x1",
            std::time::Duration::from_secs(10),
            |v| {
                v["items"]
                    .as_array()
                    .is_some_and(|items| items.iter().any(|c| c["kind"] == "open_gate"))
            },
        )
        .await;
        let (status, _) = pay(&s, id, 100, Some("after-close")).await;
        assert_eq!(status, 409, "a closed session takes no payment");
        s.stop().await;
    }
}

#[actix_web::test]
async fn bad_readings_payments_and_tariffs_get_clear_errors_and_change_nothing() {
    let s = Server::start(Backend::Sqlite).await;
    car_park(&s).await;
    let gate_e = client_token(&s, "gate-e");
    let lpr = |body: Value| {
        let token = gate_e.clone();
        let s = &s;
        async move { s.call("POST", "/api/v1/parking/lpr", Some(&token), Some(body)).await }
    };
    for (body, want) in [
        (json!({"camera_id": "lpr-e1", "direction": "sideways"}), 400),
        (
            json!({"camera_id": "lpr-e1", "plate": "A1", "direction": "entry", "speed": 3}),
            400,
        ),
        (json!({"camera_id": "lpr-x1", "plate": "A1", "direction": "entry"}), 403),
        (
            json!({"camera_id": "gate-e1", "plate": "A1", "direction": "entry"}),
            422,
        ),
        (json!({"camera_id": "nope", "plate": "A1", "direction": "entry"}), 422),
        (
            json!({"camera_id": "lpr-e1", "plate": "A;1", "direction": "entry"}),
            422,
        ),
        (
            json!({"camera_id": "lpr-e1", "plate": "A1", "direction": "entry", "confidence": 2}),
            422,
        ),
        (
            json!({"camera_id": "lpr-e1", "ticket": "T1", "direction": "entry"}),
            422,
        ),
    ] {
        let (status, problem) = lpr(body.clone()).await;
        assert_eq!(status, want, "{body}: {problem}");
        assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()), "{problem}");
    }
    let gate_z = client_token(&s, "gate-z");
    let (status, problem) = s
        .call(
            "POST",
            "/api/v1/parking/lpr",
            Some(&gate_z),
            Some(json!({"camera_id": "lpr-nolane", "plate": "A1", "direction": "entry"})),
        )
        .await;
    assert_eq!(status, 422);
    assert!(problem["detail"].as_str().unwrap().contains("lane"), "{problem}");
    let viewer = s.token("v", Role::Viewer, None);
    let (status, _) = s
        .call("POST", "/api/v1/parking/lpr", Some(&viewer), Some(json!({})))
        .await;
    assert_eq!(status, 403);
    let (status, _) = find(&s, "plate=A1").await;
    assert_eq!(status, 404, "no refused reading opened a session");

    let (_, answer) = lpr(json!({"camera_id": "lpr-e1", "plate": "A1", "direction": "entry"})).await;
    let id = answer["session_id"].as_i64().unwrap();
    assert_eq!(
        pay(&s, id, 100, None).await.0,
        400,
        "a payment needs an Idempotency-Key"
    );
    assert_eq!(pay(&s, id, 0, Some("zero")).await.0, 422);
    assert_eq!(pay(&s, 12345, 100, Some("none")).await.0, 409);
    let (status, first) = pay(&s, id, 100, Some("same")).await;
    assert_eq!(status, 201, "{first}");
    let (status, problem) = pay(&s, id, 900, Some("same")).await;
    assert_eq!(status, 422, "a key reused for another amount: {problem}");
    let (_, view) = find(&s, "plate=A1").await;
    assert_eq!(view["paid"], 100, "only the first payment counted");
    let (status, _) = s
        .call("GET", "/api/v1/parking/sessions?plate=A1", Some(&viewer), None)
        .await;
    assert_eq!(status, 403, "a viewer does not look up sessions by plate");
    let (status, _) = find(&s, "plate=A1&ticket=T1").await;
    assert_eq!(status, 400);
    let (status, _) = s.get("/api/v1/parking/sessions/999").await;
    assert_eq!(status, 404);

    let admin = s.token("root", Role::Admin, None);
    for (body, want) in [
        (
            json!({"free_minutes": 0, "period_minutes": 0, "rate_per_period": 1, "daily_cap": null, "utc_offset_minutes": 0}),
            422,
        ),
        (json!({"preset": "weekend"}), 422),
        (json!({"free_minutes": "ten"}), 400),
    ] {
        let (status, problem) = s
            .call("PUT", "/api/v1/parking/tariffs/P1", Some(&admin), Some(body.clone()))
            .await;
        assert_eq!(status, want, "{body}: {problem}");
    }
    let (status, _) = s
        .call(
            "PUT",
            "/api/v1/parking/tariffs/P1",
            Some(&gate_e),
            Some(json!({"preset": "long_term"})),
        )
        .await;
    assert_eq!(status, 403);
    let (status, list) = s.get("/api/v1/parking/tariffs").await;
    assert_eq!(status, 200);
    assert_eq!(
        list["zones"][0]["rate_per_period"], 1000,
        "the refused tariffs changed nothing: {list}"
    );
    assert_eq!(list["default"]["period_minutes"], 15);

    // Over STOMP a refused reading is an ERROR frame with the reason.
    let mut pc = session(&s, "gate-e", Role::Client).await;
    pc.send_text(&frame(
        "SEND",
        &[("destination", "/app/lpr")],
        "{\"camera_id\":\"lpr-x1\",\"direction\":\"entry\"}",
    ))
    .await;
    let error = pc.expect_error().await;
    let body = String::from_utf8_lossy(&error.body).to_string();
    assert!(body.contains("lpr-x1"), "{body}");
    s.stop().await;
}

/// One batch may hold a session twice (an entry and its exit a few milliseconds apart): the
/// stored row is the later form, on both backends, and writing the batch again changes nothing.
#[test]
fn a_session_written_twice_in_one_batch_is_stored_in_its_later_form() {
    use kwanje::store::models::parking_sessions::{get, upsert_all, ParkingSession};
    let row = |id: i64, state: &str, closed: Option<i64>| ParkingSession {
        id,
        site: "T1".into(),
        zone: "P1".into(),
        entry_lane: "E1".into(),
        plate: Some(format!("12가{id:04}")),
        ticket: None,
        guess: None,
        entered_ms: 1_000,
        state: state.into(),
        paid: 0,
        paid_at_ms: None,
        exit_lane: closed.map(|_| "X1".into()),
        closed_ms: closed,
        fee: closed.map(|_| 0),
        last_at_ms: closed.unwrap_or(1_000),
    };
    for backend in backends() {
        let dir = tempfile::tempdir().unwrap();
        let url = match backend {
            Backend::Sqlite => format!("sqlite://{}", dir.path().join("t.db").display()),
            Backend::Postgres => crate::support::fresh_pg_schema(&crate::support::pg_url().unwrap()),
        };
        let store = kwanje::store::Store::open(&url).unwrap();
        store.migrate().unwrap();
        let batch = vec![
            row(1, "open", None),
            row(2, "open", None),
            row(1, "exited", Some(9_000)),
        ];
        for _ in 0..2 {
            let batch = batch.clone();
            store.write_blocking(move |c| upsert_all(c, &batch)).unwrap();
        }
        let (one, two) = store.read_blocking(|c| Ok((get(c, 1)?, get(c, 2)?))).unwrap();
        assert_eq!(one, Some(row(1, "exited", Some(9_000))), "{backend:?}");
        assert_eq!(two, Some(row(2, "open", None)), "{backend:?}");
    }
}

/// A kiosk that pays while the database is briefly gone is told 503, not a receipt for a
/// payment that might be lost; its retry with the same `Idempotency-Key` is 503 too while the
/// database stays gone, and once it is back the retry is the same payment, stored once, and the
/// car's exit is released (PostgreSQL through a proxy the test cuts: SQLite is in-process).
#[actix_web::test]
#[cfg_attr(not(pg_tests), ignore = "needs TEST_DATABASE_URL")]
async fn a_payment_while_the_database_is_gone_is_503_and_its_retry_is_the_same_payment_once() {
    let (proxy, proxied) = crate::support::proxy::proxied_postgres().await;
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_on(Backend::Postgres, &proxied, dir, |_| {}).await;
    car_park(&s).await;
    let token = client_token(&s, "gate-e");
    let reading = json!({"camera_id": "lpr-e1", "plate": "56다7890", "direction": "entry"});
    let (status, answer) = s.call("POST", "/api/v1/parking/lpr", Some(&token), Some(reading)).await;
    assert_eq!(status, 200, "{answer}");
    let id = answer["session_id"].as_i64().unwrap();
    // The session's row reaches the store before the cut.
    actix_web::rt::time::sleep(std::time::Duration::from_millis(300)).await;

    proxy.cut();
    let (status, problem) = pay(&s, id, 60_000, Some("k-outage")).await;
    assert_eq!(status, 503, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("same Idempotency-Key"),
        "{problem}"
    );
    let (status, problem) = pay(&s, id, 60_000, Some("k-outage")).await;
    assert_eq!(status, 503, "a repeat is not answered before it is stored: {problem}");

    proxy.restore();
    let (status, receipt) = pay(&s, id, 60_000, Some("k-outage")).await;
    assert_eq!(status, 200, "{receipt}");
    assert_eq!(receipt["replay"], true);
    assert_eq!(receipt["session"]["paid"], 60_000, "paid once: {receipt}");
    let (status, answer) = exit(
        &s,
        json!({"camera_id": "lpr-x1", "plate": "56다7890", "direction": "exit"}),
    )
    .await;
    assert_eq!(
        (status, answer["outcome"].as_str()),
        (200, Some("released")),
        "{answer}"
    );
    // What was stored, read back by a restarted server: one payment.
    let s = s.restart(|_| {}).await;
    let (status, view) = s.get(&format!("/api/v1/parking/sessions/{id}")).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["state"], "exited");
    assert_eq!(view["payments"].as_array().map(Vec::len), Some(1), "{view}");
    drop(proxy);
}
