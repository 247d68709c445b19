//! Parking: lane-camera readings sustained with their session writes, and the delay from a
//! guidance camera's report to the guidance signs' update.
//!
//! 1. **Readings.** An entry gate PC sends `BENCH_PARKING_READINGS` plate readings (distinct
//!    plates, default 20,000) pipelined over one STOMP session (`SEND /app/lpr`); the figure is
//!    readings per second until every answer is back on `/user/queue/parking` *and* every
//!    session row is in the database (the rows are written behind the answers, in shared
//!    transactions). Then the same cars leave through the exit lane inside their free minutes:
//!    each exit is a release, an `open_gate` command stored and sent to the exit gate PC, and
//!    the session row updated.
//! 2. **Guidance.** `BENCH_PARKING_SIGNS` guidance signs (default 200, each its own WebSocket
//!    session) subscribe to `/topic/parking/T1`; a guidance camera sends
//!    `BENCH_PARKING_REPORTS` reports (default 300) one after the other, each with a new free
//!    count, and the next only once every sign has the previous one. The figure is the delay
//!    from the report's SEND to each sign's `parking.occupancy` message (p50 / p99 / max).
//!
//! Run: `cargo bench --bench parking`; on SQLite, and on PostgreSQL too when
//! `TEST_DATABASE_URL` is set. The server is the `kwanje` binary in its own process over real
//! loopback sockets; the clients share the machine's two cores with it.

use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use diesel::prelude::*;
use kwanje::auth::{Keys, Role};
use kwanje::stomp::Command;
use kwanje::store::schema::parking_sessions;
use kwanje::store::Store;
use serde_json::json;
use tokio::sync::mpsc;

mod support;

use support::*;

/// Longest a phase may take before the bench gives up.
const GIVE_UP: Duration = Duration::from_secs(300);
/// Bays in the watched area: the free counts cycle below it.
const AREA_TOTAL: usize = 500;
/// Readings in flight at once on the lane's session.
const WINDOW: usize = 512;

fn plate(n: usize) -> String {
    format!("12가{n:05}")
}

/// Clients, devices, the tariff and the area, through the API as an operator team would.
async fn car_park(server: &ServerProcess, admin: &str) -> anyhow::Result<()> {
    for client in ["gate-e", "gate-x", "gate-g"] {
        http_ok(
            &server.addr,
            "POST",
            "/api/v1/clients",
            admin,
            json!({"id": client, "name": client}),
        )
        .await?;
    }
    for (id, kind, client, lane) in [
        ("lpr-e1", "lpr_camera", "gate-e", "E1"),
        ("gate-e1", "gate", "gate-e", "E1"),
        ("lpr-x1", "lpr_camera", "gate-x", "X1"),
        ("gate-x1", "gate", "gate-x", "X1"),
        ("gcam-1", "guidance_camera", "gate-g", "G1"),
    ] {
        let body = json!({"id": id, "kind": kind, "client_id": client, "site": "T1", "zone": "P1",
            "lane": lane, "heartbeat_interval_ms": 600_000, "miss_tolerance": 3});
        http_ok(&server.addr, "POST", "/api/v1/devices", admin, body).await?;
    }
    // Every car leaves inside its free minutes: each exit is a release.
    let tariff = json!({"free_minutes": 60, "period_minutes": 30, "rate_per_period": 1000,
        "daily_cap": null, "utc_offset_minutes": 540});
    http_ok(&server.addr, "PUT", "/api/v1/parking/tariffs/P1", admin, tariff).await?;
    let area = json!({"id": "T1-P1-A01", "site": "T1", "zone": "P1", "total": AREA_TOTAL,
        "camera_id": "gcam-1"});
    http_ok(&server.addr, "POST", "/api/v1/parking/areas", admin, area).await?;
    Ok(())
}

/// Reports `devices` of `client` up once over its session (and waits for the receipt).
async fn heartbeat(session: &mut Session, devices: &[&str]) -> anyhow::Result<()> {
    let beats: Vec<serde_json::Value> = devices.iter().map(|d| json!({"id": d, "status": "ok"})).collect();
    let body = json!({ "devices": beats }).to_string();
    session
        .send(frame_text(
            "SEND",
            &[("destination", "/app/heartbeat"), ("receipt", "hb")],
            &body,
        ))
        .await?;
    session.expect(Command::Receipt).await?;
    Ok(())
}

/// Sessions stored in `state`.
fn stored(store: &Store, state: &'static str) -> anyhow::Result<i64> {
    Ok(store.read_blocking(move |c| {
        parking_sessions::table
            .filter(parking_sessions::state.eq(state))
            .count()
            .get_result::<i64>(c)
    })?)
}

/// What one lane phase did.
struct LanePhase {
    answered: Duration,
    stored: Duration,
    server_cpu_ms: u64,
}

/// Sends `n` readings from `camera` in `direction` over `session`, counting `want` answers,
/// then waits until `n` rows are stored in `state`.
async fn lane_phase(
    server: &ServerProcess,
    store: &Store,
    session: &mut Session,
    (camera, direction, want, state): (&str, &str, &str, &'static str),
    n: usize,
) -> anyhow::Result<LanePhase> {
    let before = stored(store, state)?;
    let cpu = server.cpu_us()?;
    let start = Instant::now();
    // Pipelined in windows: a window of readings goes out in one flush, then its answers are
    // read (a client that never reads would only measure its own socket buffers).
    let needle = format!(r#""outcome":"{want}""#);
    let mut sent = 0;
    while sent < n {
        let window = WINDOW.min(n - sent);
        for i in sent..sent + window {
            let reading = json!({"camera_id": camera, "plate": plate(i), "direction": direction,
                "confidence": 0.95});
            session
                .feed(frame_text("SEND", &[("destination", "/app/lpr")], &reading.to_string()))
                .await?;
        }
        session.flush().await?;
        for _ in 0..window {
            let frame = tokio::time::timeout(GIVE_UP, session.recv())
                .await
                .context("the answers stopped")??;
            if frame.command != Command::Message {
                bail!("unexpected {frame:?}");
            }
            let body = std::str::from_utf8(&frame.body)?;
            if !body.contains(&needle) {
                bail!("expected {want}: {body}");
            }
        }
        sent += window;
    }
    let answered_at = start.elapsed();
    let deadline = Instant::now() + GIVE_UP;
    while stored(store, state)? - before < n as i64 {
        if Instant::now() > deadline {
            bail!("the session rows were not all stored");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(LanePhase {
        answered: answered_at,
        stored: start.elapsed(),
        server_cpu_ms: (server.cpu_us()? - cpu) / 1_000,
    })
}

fn print_lane(label: &str, n: usize, phase: &LanePhase) {
    let rate = n as f64 / phase.stored.as_secs_f64();
    out(&format!(
        "  {label}: {n} readings answered in {:.0} ms, stored in {:.0} ms: {rate:.0} readings/s sustained \
         (server CPU {} ms, {:.1} µs a reading)",
        phase.answered.as_secs_f64() * 1e3,
        phase.stored.as_secs_f64() * 1e3,
        phase.server_cpu_ms,
        phase.server_cpu_ms as f64 * 1e3 / n as f64,
    ));
}

/// A sign: for every `parking.occupancy` message, the free count it shows and when it came.
async fn sign(mut session: Session, base: Instant, tx: mpsc::UnboundedSender<(u64, u64)>) -> anyhow::Result<()> {
    loop {
        let frame = session.recv().await?;
        if frame.command != Command::Message {
            continue;
        }
        let at = base.elapsed().as_micros() as u64;
        let body = std::str::from_utf8(&frame.body)?;
        if !body.contains(r#""type":"parking.occupancy""#) {
            continue;
        }
        let free = field_u64(body, "free").context("free")?;
        if tx.send((free, at)).is_err() {
            return Ok(());
        }
    }
}

/// The first unsigned integer value of `"name":` in a JSON text.
fn field_u64(body: &str, name: &str) -> Option<u64> {
    let key = format!("\"{name}\":");
    let start = body.find(&key)? + key.len();
    let digits: String = body[start..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

async fn guidance(server: &ServerProcess, keys: &Keys, signs: usize, reports: usize) -> anyhow::Result<()> {
    let base = Instant::now();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut tasks = Vec::with_capacity(signs);
    for s in 0..signs {
        let name = format!("sign-{s}");
        let mut session = Session::open(&server.addr, &token(keys, &name, Role::Client, Some(&name))).await?;
        session
            .send(frame_text(
                "SUBSCRIBE",
                &[("id", "t1"), ("destination", "/topic/parking/T1"), ("receipt", "s")],
                "",
            ))
            .await?;
        session.expect(Command::Receipt).await?;
        tasks.push(tokio::spawn(sign(session, base, tx.clone())));
    }
    drop(tx);
    let mut camera = Session::open(&server.addr, &token(keys, "gate-g", Role::Client, Some("gate-g"))).await?;
    heartbeat(&mut camera, &["gcam-1"]).await?;

    let cpu = server.cpu_us()?;
    let mut latencies = Vec::with_capacity(signs * reports);
    // One warm-up report, not measured, then `reports` each with a new count.
    for r in 0..=reports {
        let free = (r % (AREA_TOTAL - 1) + 1) as u64;
        let body = json!({"areas": [{"id": "T1-P1-A01", "free": free, "total": AREA_TOTAL}]}).to_string();
        let sent = base.elapsed().as_micros() as u64;
        camera
            .send(frame_text("SEND", &[("destination", "/app/occupancy")], &body))
            .await?;
        let mut seen = 0;
        while seen < signs {
            let (shown, at) = tokio::time::timeout(GIVE_UP, rx.recv())
                .await
                .context("the signs stopped")?
                .context("a sign failed")?;
            if shown != free {
                continue;
            }
            seen += 1;
            if r > 0 {
                latencies.push(at.saturating_sub(sent));
            }
        }
    }
    let cpu_ms = (server.cpu_us()? - cpu) / 1_000;
    for task in tasks {
        task.abort();
    }
    latencies.sort_unstable();
    out(&format!(
        "  guidance: {reports} reports to {signs} signs: report → sign p50 {} µs, p99 {} µs, max {} µs \
         (server CPU {cpu_ms} ms, {:.1} µs a delivery)",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(0),
        cpu_ms as f64 * 1e3 / latencies.len().max(1) as f64,
    ));
    Ok(())
}

async fn run(postgres: Option<String>, readings: usize, signs: usize, reports: usize) -> anyhow::Result<()> {
    let backend = if postgres.is_some() { "PostgreSQL" } else { "SQLite" };
    let server = start_server(ServerSpec {
        postgres,
        ..ServerSpec::devices(0, 0)
    })
    .await?;
    let keys = Keys::hs256(SECRET.as_bytes());
    let admin = token(&keys, "root", Role::Admin, None);
    car_park(&server, &admin).await?;
    let store = Store::open(&server.url)?;
    out(&format!("{backend}:"));

    let mut entry = Session::open(&server.addr, &token(&keys, "gate-e", Role::Client, Some("gate-e"))).await?;
    heartbeat(&mut entry, &["lpr-e1", "gate-e1"]).await?;
    let mut exit = Session::open(&server.addr, &token(&keys, "gate-x", Role::Client, Some("gate-x"))).await?;
    heartbeat(&mut exit, &["lpr-x1", "gate-x1"]).await?;
    for session in [&mut entry, &mut exit] {
        session
            .send(frame_text(
                "SUBSCRIBE",
                &[("id", "p"), ("destination", "/user/queue/parking"), ("receipt", "s")],
                "",
            ))
            .await?;
        session.expect(Command::Receipt).await?;
    }
    let entries = lane_phase(
        &server,
        &store,
        &mut entry,
        ("lpr-e1", "entry", "entered", "open"),
        readings,
    )
    .await?;
    print_lane("entries", readings, &entries);
    let exits = lane_phase(
        &server,
        &store,
        &mut exit,
        ("lpr-x1", "exit", "released", "exited"),
        readings,
    )
    .await?;
    print_lane("exits (each an open_gate command)", readings, &exits);
    drop((entry, exit));

    guidance(&server, &keys, signs, reports).await
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let readings = env_or("BENCH_PARKING_READINGS", 20_000);
    let signs = env_or("BENCH_PARKING_SIGNS", 200);
    let reports = env_or("BENCH_PARKING_REPORTS", 300);
    out(&format!(
        "parking bench: {readings} entry and exit readings, {signs} guidance signs, {reports} reports"
    ));
    run(None, readings, signs, reports).await?;
    if let Ok(base) = std::env::var("TEST_DATABASE_URL") {
        run(Some(base), readings, signs, reports).await?;
    }
    Ok(())
}
