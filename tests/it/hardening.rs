//! Hardening: what a caller without a token can do to the server. A flood of wrong passwords
//! is throttled (429 with `Retry-After`), raises one `auth_flood` alert, and cannot make healthy
//! devices look down; the real admin logs in once the wait it was told has passed.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use kwanje::auth::Role;
use kwanje::time::{ManualClock, Millis};
use serde_json::{json, Value};

use crate::realtime::session;
use crate::support::{Backend, Server};

/// The fleet: half heartbeats over HTTP, half through a gate PC's STOMP session. The
/// issue's 200 ms beats with a 1 s deadline are the release bench's (`cargo bench --bench
/// auth_flood`); a debug build sharing the machine with the rest of the suite beats every
/// 500 ms with a 2 s deadline, still far inside the seconds a flood used to stall heartbeats.
const DEVICES_PER_PC: usize = 150;
const INTERVAL_MS: u64 = 500;
const TOLERANCE: u32 = 4;
const FLOOD_CLIENTS: usize = 40;
const FLOOD_FOR: Duration = Duration::from_secs(5);

fn ids(prefix: &str) -> Vec<String> {
    (0..DEVICES_PER_PC).map(|i| format!("{prefix}-{i:03}")).collect()
}

async fn register(s: &Server, client: &str, devices: &[String]) {
    let refs: Vec<&str> = devices.iter().map(String::as_str).collect();
    s.register(client, &refs, INTERVAL_MS, TOLERANCE).await;
}

/// One attempt with a wrong password: the status and the `Retry-After` header.
async fn wrong_password(http: &awc::Client, url: &str) -> (u16, Option<u64>) {
    match http
        .post(url)
        .send_json(&json!({"username": "admin", "password": "guess"}))
        .await
    {
        Ok(resp) => {
            let retry = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok());
            (resp.status().as_u16(), retry)
        }
        Err(_) => (0, None),
    }
}

async fn text(s: &Server, path: &str) -> String {
    let mut resp = awc::Client::default().get(s.url(path)).send().await.unwrap();
    String::from_utf8(resp.body().await.unwrap().to_vec()).unwrap()
}

#[actix_web::test]
async fn a_login_flood_is_throttled_and_heartbeating_devices_stay_up() {
    let s = Server::start_with(Backend::Sqlite, |c| c.login_max_delay_ms = 2_000).await;
    let http_devices = ids("hb-http");
    let stomp_devices = ids("hb-stomp");
    register(&s, "pc-http", &http_devices).await;
    register(&s, "pc-stomp", &stomp_devices).await;
    let stop = Rc::new(Cell::new(false));

    // The STOMP gate PC: one frame for all its devices every interval.
    let mut pc = session(&s, "pc-stomp", Role::Client).await;
    let list: Vec<Value> = stomp_devices.iter().map(|d| json!({"id": d, "status": "ok"})).collect();
    let beat = crate::realtime::client::frame(
        "SEND",
        &[("destination", "/app/heartbeat"), ("content-type", "application/json")],
        &json!({ "devices": list }).to_string(),
    );
    let stomp_beats = {
        let stop = stop.clone();
        actix_web::rt::spawn(async move {
            while !stop.get() {
                pc.send_text(&beat).await;
                actix_web::rt::time::sleep(Duration::from_millis(INTERVAL_MS)).await;
            }
            pc
        })
    };
    // The HTTP gate PC: one request per device every interval, all at once.
    let http_beats = {
        let stop = stop.clone();
        let token = s.token("pc-http", Role::Client, Some("pc-http"));
        let urls: Vec<String> = http_devices
            .iter()
            .map(|d| s.url(&format!("/api/v1/devices/{d}/heartbeat")))
            .collect();
        actix_web::rt::spawn(async move {
            let http = awc::Client::builder().timeout(Duration::from_secs(10)).finish();
            let mut failed = 0;
            while !stop.get() {
                // Each answer is read to its end, so its connection goes back to the pool.
                let round = urls.iter().map(|url| {
                    let request = http.post(url).bearer_auth(&token).send_json(&json!({"status": "ok"}));
                    async move {
                        let mut resp = request.await.ok()?;
                        resp.body().await.ok()?;
                        Some(resp.status().as_u16())
                    }
                });
                failed += join_all(round).await.into_iter().filter(|s| *s != Some(200)).count();
                actix_web::rt::time::sleep(Duration::from_millis(INTERVAL_MS)).await;
            }
            failed
        })
    };
    // Every device up before the flood.
    s.wait_for("/api/v1/devices?limit=1000", Duration::from_secs(10), |b| {
        let items = b["items"].as_array().unwrap();
        items.len() == 2 * DEVICES_PER_PC && items.iter().all(|d| d["state"] == "up")
    })
    .await;

    // The flood: 40 clients posting wrong passwords for admin as fast as they are answered.
    let url = s.url("/api/v1/auth/token");
    let until = Instant::now() + FLOOD_FOR;
    let flood = (0..FLOOD_CLIENTS).map(|_| {
        let url = url.clone();
        actix_web::rt::spawn(async move {
            let http = awc::Client::builder().timeout(Duration::from_secs(10)).finish();
            let mut answers = Vec::new();
            while Instant::now() < until {
                answers.push(wrong_password(&http, &url).await);
            }
            answers
        })
    });
    let answers: Vec<(u16, Option<u64>)> = join_all(flood).await.into_iter().flat_map(Result::unwrap).collect();
    let refused = answers.iter().filter(|(status, _)| *status == 401).count();
    let throttled: Vec<u64> = answers
        .iter()
        .filter(|(status, _)| *status == 429)
        .map(|(_, retry)| retry.expect("a 429 says when to retry"))
        .collect();
    assert!(
        answers.iter().all(|(status, _)| matches!(status, 401 | 429)),
        "only wrong-password and throttled answers: {:?}",
        answers
            .iter()
            .filter(|(status, _)| !matches!(status, 401 | 429))
            .collect::<Vec<_>>()
    );
    // Five free attempts, then one after each wait (1 s, 2 s, 2 s at the 2 s cap) in 5 s.
    assert!(refused <= 10, "password checks run for the flood: {refused}");
    assert!(throttled.len() > 100, "the flood is answered 429: {}", throttled.len());
    assert!(throttled.iter().all(|&secs| (1..=2).contains(&secs)), "{throttled:?}");

    // The wait the server told passes; the real admin logs in.
    actix_web::rt::time::sleep(Duration::from_secs(2)).await;
    let (status, body) = s.login("admin", "admin-pw").await;
    assert_eq!(status, 200, "{body}");

    stop.set(true);
    let _pc = stomp_beats.await.unwrap();
    assert_eq!(http_beats.await.unwrap(), 0, "every HTTP heartbeat answered 200");
    let (_, alerts) = s.get("/api/v1/alerts?limit=1000").await;
    let kinds: Vec<&str> = alerts["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert!(
        !kinds.contains(&"heartbeat_missed"),
        "no device was declared down because of the flood: {kinds:?}"
    );
    let flood_alert = alerts["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "auth_flood")
        .expect("the flood raised auth_flood");
    assert_eq!(flood_alert["subject_type"], "server");
    assert_eq!(flood_alert["subject_id"], "login");
    assert_eq!(flood_alert["severity"], "minor");
    assert_eq!(
        kinds.iter().filter(|k| **k == "auth_flood").count(),
        1,
        "one alert while it lasts"
    );
}

#[actix_web::test]
async fn a_throttled_login_is_answered_429_problem_json_with_retry_after() {
    // The throttle reads the server's clock: the waits are stepped, not slept.
    let clock = ManualClock::new(Millis(1_800_000_000_000));
    let s = Server::start_clocked(Backend::Sqlite, Arc::new(clock.clone()), |_| {}).await;
    let http = awc::Client::default();
    let url = s.url("/api/v1/auth/token");
    for _ in 0..5 {
        assert_eq!(wrong_password(&http, &url).await.0, 401);
    }
    let mut resp = http
        .post(&url)
        .send_json(&json!({"username": "admin", "password": "admin-pw"}))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429, "even the right password waits its turn");
    assert_eq!(resp.headers().get("retry-after").unwrap(), "1");
    assert_eq!(resp.headers().get("content-type").unwrap(), "application/problem+json");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["type"], "urn:kwanje:problem:too-many-requests");
    assert_eq!(body["status"], 429);
    assert!(body["detail"].as_str().unwrap().contains("retry in 1 s"), "{body}");
    let metrics = text(&s, "/metrics").await;
    assert!(metrics.contains("kwanje_login_failures_total 5"), "{metrics}");
    assert!(metrics.contains("kwanje_login_throttled_total 1"), "{metrics}");

    // Not a moment before the wait is over; then the right password logs in and the count
    // starts again.
    clock.advance(Duration::from_millis(999));
    assert_eq!(wrong_password(&http, &url).await, (429, Some(1)));
    clock.advance(Duration::from_millis(1));
    let (status, body) = s.login("admin", "admin-pw").await;
    assert_eq!(status, 200, "{body}");
    for _ in 0..5 {
        assert_eq!(wrong_password(&http, &url).await.0, 401, "a success cleared the count");
    }
}

#[actix_web::test]
async fn logins_past_the_check_queue_are_answered_503_at_once() {
    // No throttle in the way: only the bound on password checks (one at a time, 16 waiting).
    let s = Server::start_with(Backend::Sqlite, |c| {
        c.login_free_attempts = 1_000_000;
        c.login_concurrency = 1;
    })
    .await;
    let url = s.url("/api/v1/auth/token");
    let http = awc::Client::builder().timeout(Duration::from_secs(30)).finish();
    let attempts = (0..60).map(|_| async {
        let mut resp = http
            .post(&url)
            .send_json(&json!({"username": "admin", "password": "guess"}))
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let retry = resp
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        let body: Value = resp.json().await.unwrap();
        (status, retry, body)
    });
    let answers = join_all(attempts).await;
    let busy: Vec<&(u16, Option<String>, Value)> = answers.iter().filter(|(status, ..)| *status == 503).collect();
    assert!(
        answers.iter().all(|(status, ..)| matches!(status, 401 | 503)),
        "{answers:?}"
    );
    assert!(!busy.is_empty(), "60 at once overflow one running check and 16 waiting");
    assert!(
        answers.len() - busy.len() >= 17,
        "the running check and the queue are served"
    );
    for (_, retry, body) in &busy {
        assert_eq!(retry.as_deref(), Some("1"));
        assert_eq!(body["type"], "urn:kwanje:problem:unavailable");
        assert_eq!(
            body["detail"],
            "too many logins are being checked at once; retry shortly"
        );
    }
    let metrics = text(&s, "/metrics").await;
    assert!(
        metrics.contains(&format!("kwanje_login_busy_total {}", busy.len())),
        "{metrics}"
    );
}

#[actix_web::test]
async fn the_flood_alert_resolves_once_the_refusals_stop() {
    let clock = ManualClock::new(Millis(1_800_000_000_000));
    let s = Server::start_clocked(Backend::Sqlite, Arc::new(clock.clone()), |c| {
        c.login_flood_threshold = 3;
    })
    .await;
    let http = awc::Client::default();
    let url = s.url("/api/v1/auth/token");
    for _ in 0..3 {
        assert_eq!(wrong_password(&http, &url).await.0, 401);
    }
    let open = |b: &Value| {
        b["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "auth_flood" && a["state"] == "open")
    };
    s.wait_for("/api/v1/alerts?state=open", Duration::from_secs(5), open)
        .await;
    // 30 s without a refusal: the guard's next tick resolves it.
    clock.advance(Duration::from_secs(30));
    s.wait_for("/api/v1/alerts?state=open", Duration::from_secs(5), |b| !open(b))
        .await;
    let (_, all) = s.get("/api/v1/alerts?limit=1000").await;
    let flood: Vec<&Value> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "auth_flood")
        .collect();
    assert_eq!(flood.len(), 1, "{all}");
    assert_eq!(flood[0]["state"], "resolved");
}
