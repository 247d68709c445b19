//! Alert storm: a zone loses power and 10,000 devices go down at once while 100 operator
//! consoles watch `/topic/alerts`. Prints the time until every alert is stored and delivered to
//! every operator, and the delivery latency (p50/p99, from the alert's raise to its arrival at
//! an operator), on SQLite and, when `TEST_DATABASE_URL` is set, on PostgreSQL.
//!
//! Run: `cargo bench --bench alert_storm` (sizes via `BENCH_STORM_DEVICES`,
//! `BENCH_STORM_OPERATORS`). The server is the `kwanje` binary in its own process, over real
//! loopback sockets; the operators' clients share the machine's two cores with it.

use std::time::Duration;

use anyhow::{bail, Context as _};
use kwanje::auth::{Keys, Role};
use kwanje::stomp::Command;
use kwanje::time::Millis;

mod support;

use support::*;

/// Devices per gate PC: one `/app/heartbeat` frame carries them all.
const PER_CLIENT: usize = 1_000;
const INTERVAL_MS: i64 = 1_000;
const TOLERANCE: i32 = 2;
/// Longest a storm may take before the bench gives up.
const GIVE_UP: Duration = Duration::from_secs(180);

struct Outcome {
    stored: u64,
    first_raise_ms: i64,
    last_raise_ms: i64,
    last_delivery_ms: i64,
    latencies_ms: Vec<u64>,
    /// CPU the server process used from the heartbeats to the last delivery.
    server_cpu_ms: u64,
}

/// One operator console: counts `alert.raised` messages until it has `want` of them.
async fn watch(mut session: Session, want: usize) -> anyhow::Result<(Vec<u64>, i64, i64, i64)> {
    let mut latencies = Vec::with_capacity(want);
    let (mut first_raise, mut last_raise, mut last) = (i64::MAX, 0, 0);
    while latencies.len() < want {
        let frame = session.recv().await?;
        if frame.command != Command::Message {
            continue;
        }
        let now = Millis::now().0;
        // The client must not be what is measured: a substring test and one number, no JSON tree.
        let body = std::str::from_utf8(&frame.body)?;
        if !body.contains(r#""type":"alert.raised""#) {
            continue;
        }
        let opened = field_i64(body, "opened_ms").context("opened_ms")?;
        first_raise = first_raise.min(opened);
        last_raise = last_raise.max(opened);
        last = now;
        latencies.push(u64::try_from(now - opened).unwrap_or(0));
    }
    Ok((latencies, first_raise, last_raise, last))
}

/// The integer value of `"name":` in a flat JSON object.
fn field_i64(body: &str, name: &str) -> Option<i64> {
    let key = format!("\"{name}\":");
    let start = body.find(&key)? + key.len();
    let digits: String = body[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '-')
        .collect();
    digits.parse().ok()
}

async fn storm(postgres: Option<String>, devices: usize, operators: usize) -> anyhow::Result<Outcome> {
    let clients = devices.div_ceil(PER_CLIENT);
    let spec = ServerSpec {
        clients,
        per_client: PER_CLIENT,
        interval_ms: INTERVAL_MS,
        tolerance: TOLERANCE,
        postgres,
    };
    let server = start_server(spec).await?;
    let keys = Keys::hs256(SECRET.as_bytes());
    let devices = clients * PER_CLIENT;

    let mut watchers = Vec::with_capacity(operators);
    for n in 0..operators {
        let mut session = Session::open(&server.addr, &token(&keys, &format!("op-{n}"), Role::Operator, None)).await?;
        session
            .send(frame_text(
                "SUBSCRIBE",
                &[("id", "a"), ("destination", "/topic/alerts"), ("receipt", "s")],
                "",
            ))
            .await?;
        session.expect(Command::Receipt).await?;
        watchers.push(tokio::spawn(watch(session, devices)));
    }
    let cpu_before = server.cpu_us()?;
    // Every gate PC reports all its devices up once, then the zone loses power: silence. The
    // sessions stay open (a closed session would make the devices unreachable instead).
    let mut gates = Vec::with_capacity(clients);
    for c in 0..clients {
        let client = format!("gate-{c}");
        let mut gate = Session::open(&server.addr, &token(&keys, &client, Role::Client, Some(&client))).await?;
        let beats: Vec<serde_json::Value> = (0..PER_CLIENT)
            .map(|d| serde_json::json!({"id": format!("dev-{c}-{d}"), "status": "ok"}))
            .collect();
        let body = serde_json::json!({ "devices": beats }).to_string();
        gate.send(frame_text(
            "SEND",
            &[("destination", "/app/heartbeat"), ("receipt", "hb")],
            &body,
        ))
        .await?;
        gate.expect(Command::Receipt).await?;
        gates.push(gate);
    }
    let mut latencies = Vec::with_capacity(devices * operators);
    let (mut first_raise, mut last_raise, mut last_delivery) = (i64::MAX, 0, 0);
    for watcher in watchers {
        let (mut l, first, raised, last) = tokio::time::timeout(GIVE_UP, watcher)
            .await
            .context("storm timed out")???;
        latencies.append(&mut l);
        first_raise = first_raise.min(first);
        last_raise = last_raise.max(raised);
        last_delivery = last_delivery.max(last);
    }
    let server_cpu_ms = (server.cpu_us()? - cpu_before) / 1_000;
    let metrics = http_get(&server.addr, "/metrics", None).await?;
    let stored: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("kwanje_alerts_open "))
        .and_then(|v| v.trim().parse().ok())
        .context("kwanje_alerts_open")?;
    if stored != devices as u64 {
        bail!("{stored} alerts open, expected {devices}");
    }
    drop(gates);
    latencies.sort_unstable();
    Ok(Outcome {
        stored,
        first_raise_ms: first_raise,
        last_raise_ms: last_raise,
        last_delivery_ms: last_delivery,
        latencies_ms: latencies,
        server_cpu_ms,
    })
}

fn report(backend: &str, o: &Outcome) {
    out(&format!(
        "  {backend}: {} alerts stored; {} deliveries; all delivered {} ms after the first was raised \
         (raises spread over {} ms); latency raise>operator p50 {} ms, p99 {} ms, max {} ms; \
         server CPU {} ms",
        o.stored,
        o.latencies_ms.len(),
        o.last_delivery_ms - o.first_raise_ms,
        o.last_raise_ms - o.first_raise_ms,
        percentile(&o.latencies_ms, 0.5),
        percentile(&o.latencies_ms, 0.99),
        o.latencies_ms.last().copied().unwrap_or(0),
        o.server_cpu_ms,
    ));
}

fn main() -> anyhow::Result<()> {
    let devices = env_or("BENCH_STORM_DEVICES", 10_000);
    let operators = env_or("BENCH_STORM_OPERATORS", 100);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    out(&format!(
        "alert storm bench: {devices} devices down at once, {operators} operator sessions on /topic/alerts"
    ));
    runtime.block_on(async {
        let sqlite = storm(None, devices, operators).await?;
        report("sqlite", &sqlite);
        if let Some(pg) = std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) {
            let pg = storm(Some(pg), devices, operators).await?;
            report("postgres", &pg);
        }
        Ok(())
    })
}
