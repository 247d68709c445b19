//! A reconnect storm (#15 item 6): a terminal's network blinks, every gate-PC and console
//! session drops at once and all reconnect together. Against the `kwanje` binary in its own
//! process, over real loopback WebSockets (`/ws`). Prints:
//!
//! - how long until every session is connected again, counted from the moment they all try,
//!   and the sessions the server accepted per second over that time;
//! - the same for the first connection of the same sessions (64 at a time), for scale;
//! - whether each command issued while the gate PCs were away was delivered exactly once
//!   after they came back (each gate PC reads its queue for 5 s and acks what it gets);
//! - whether any device was reported down or unreachable, and which alerts were opened,
//!   although every gate PC came back well within its devices' deadline (60 s x 3).
//!
//! Run: `cargo bench --bench reconnect_storm` (sizes via `BENCH_GATES`, default 4,000 gate PCs
//! of one device each, `BENCH_CONSOLES`, default 1,000 operator consoles, and
//! `BENCH_COMMAND_EVERY`, default 10: one command for every 10th gate PC). Needs an open-file
//! limit above twice the session count (`ulimit -n 20000`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use kwanje::auth::{Keys, Role};
use kwanje::stomp::Command;
use tokio::sync::{Barrier, Semaphore};

mod support;

use support::*;

/// Connects in flight at once for the first connection (the storm has no such bound).
const FIRST_CONNECT_CONCURRENCY: usize = 64;
/// How long each gate PC reads its command queue after it is back.
const COMMAND_WINDOW: Duration = Duration::from_secs(5);

/// A session of the storm: a gate PC (`Some(n)`) or a console (`None`).
async fn open(addr: &str, token: &str, gate: Option<usize>) -> anyhow::Result<(Session, Instant)> {
    let mut session = Session::open(addr, token).await?;
    let connected = Instant::now();
    let destination = if gate.is_some() {
        "/user/queue/commands"
    } else {
        "/topic/alerts"
    };
    let subscribe = frame_text(
        "SUBSCRIBE",
        &[("id", "0"), ("destination", destination), ("receipt", "s")],
        "",
    );
    session.send(subscribe).await?;
    session.expect(Command::Receipt).await?;
    if let Some(n) = gate {
        let heartbeat = frame_text(
            "SEND",
            &[
                ("destination", "/app/heartbeat"),
                ("content-type", "application/json"),
                ("receipt", "hb"),
            ],
            &format!(r#"{{"devices":[{{"id":"dev-{n}-0","status":"ok"}}]}}"#),
        );
        session.send(heartbeat).await?;
        // Commands may come before the receipt: the window below reads them.
    }
    Ok((session, connected))
}

/// What one gate PC read from its queue after it came back: command ids, in order.
async fn read_commands(session: &mut Session) -> anyhow::Result<Vec<String>> {
    let deadline = Instant::now() + COMMAND_WINDOW;
    let mut got = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(frame) = tokio::time::timeout(left, session.recv()).await else {
            return Ok(got);
        };
        let frame = frame?;
        if frame.command != Command::Message {
            continue;
        }
        let id = frame.header("command-id").context("command-id")?.to_owned();
        let ack = frame_text(
            "SEND",
            &[
                ("destination", "/app/commands/ack"),
                ("content-type", "application/json"),
            ],
            &format!(r#"{{"command_id":{id},"ok":true}}"#),
        );
        session.send(ack).await?;
        got.push(id);
    }
}

async fn storm(gates: usize, consoles: usize, command_every: usize) -> anyhow::Result<()> {
    let server = start_server(ServerSpec::devices(gates, 1)).await?;
    let keys = Keys::hs256(SECRET.as_bytes());
    let viewer = token(&keys, "bench-console", Role::Viewer, None);
    let operator = token(&keys, "bench-operator", Role::Operator, None);
    let total = gates + consoles;
    let first_gate = Arc::new(Semaphore::new(FIRST_CONNECT_CONCURRENCY));
    let up = Arc::new(Barrier::new(total + 1));
    let drop_now = Arc::new(Barrier::new(total + 1));
    let reconnect = Arc::new(Barrier::new(total + 1));
    let first_started = Instant::now();
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        let gate = (i < gates).then_some(i);
        let token = match gate {
            Some(n) => {
                let id = format!("gate-{n}");
                token(&keys, &id, Role::Client, Some(&id))
            }
            None => viewer.clone(),
        };
        let (addr, first_gate, up, drop_now, reconnect) = (
            server.addr.clone(),
            first_gate.clone(),
            up.clone(),
            drop_now.clone(),
            reconnect.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let permit = first_gate.acquire_owned().await?;
            let (session, _) = open(&addr, &token, gate).await?;
            drop(permit);
            up.wait().await;
            drop_now.wait().await;
            // The network blinks: the socket is gone without a word.
            drop(session);
            reconnect.wait().await;
            // As a gate PC does: a refused or reset attempt is tried again 100 ms later.
            let mut retries = 0;
            let (mut session, back) = loop {
                match open(&addr, &token, gate).await {
                    Ok(opened) => break opened,
                    Err(_) if retries < 50 => {
                        retries += 1;
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    Err(e) => return Err(e),
                }
            };
            let commands = match gate {
                Some(_) => read_commands(&mut session).await?,
                None => Vec::new(),
            };
            anyhow::Ok((gate, back, commands, session, retries))
        }));
    }
    up.wait().await;
    let first_secs = first_started.elapsed().as_secs_f64();
    // Every device up before the blink.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let scrape = http_get(&server.addr, "/metrics", None).await?;
        if metric(&scrape, "kwanje_devices{state=\"up\"}") as usize >= gates {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "devices never all up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let before = http_get(&server.addr, "/metrics", None).await?;
    let opened_before: Vec<String> = before
        .lines()
        .filter(|l| l.starts_with("kwanje_alerts_opened_total{") && !l.ends_with(" 0"))
        .map(str::to_owned)
        .collect();
    out(&format!("alerts opened before the blink: {opened_before:?}"));
    drop_now.wait().await;
    // The server notices every session gone (each socket closed) before commands are issued.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let scrape = http_get(&server.addr, "/metrics", None).await?;
        if metric(&scrape, "kwanje_stomp_sessions{transport=\"websocket\"}") == 0.0 {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "sessions never all noticed gone");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut issued: HashMap<usize, String> = HashMap::new();
    for n in (0..gates).step_by(command_every.max(1)) {
        let answer = http_ok(
            &server.addr,
            "POST",
            &format!("/api/v1/devices/dev-{n}-0/commands"),
            &operator,
            serde_json::json!({"kind": "restart", "reason": "reconnect storm bench"}),
        )
        .await?;
        let command: serde_json::Value = serde_json::from_str(&answer)?;
        issued.insert(n, command["id"].to_string());
    }

    let cpu_before = server.cpu_us()?;
    let storm_started = Instant::now();
    reconnect.wait().await;
    let mut last_back = storm_started;
    let mut delivered_once = 0;
    let mut duplicates = 0;
    let mut missing = 0;
    let mut strays = 0;
    let mut sessions = Vec::with_capacity(total);
    let mut waits_ms = Vec::with_capacity(total);
    let mut retried = 0;
    for task in tasks {
        let (gate, back, commands, session, tried) = task.await??;
        retried += usize::from(tried > 0);
        last_back = last_back.max(back);
        waits_ms.push(u64::try_from(back.duration_since(storm_started).as_millis())?);
        sessions.push(session);
        let Some(n) = gate else { continue };
        match issued.get(&n) {
            Some(id) => match commands.iter().filter(|c| *c == id).count() {
                0 => missing += 1,
                1 => delivered_once += 1,
                _ => duplicates += 1,
            },
            None => strays += commands.len(),
        }
    }
    let storm_secs = last_back.duration_since(storm_started).as_secs_f64();
    waits_ms.sort_unstable();
    let storm_cpu = server.cpu_us()?.saturating_sub(cpu_before) as f64 / 1e6;
    let scrape = http_get(&server.addr, "/metrics", None).await?;
    let down = metric(&scrape, "kwanje_devices{state=\"down\"}");
    let unreachable = metric(&scrape, "kwanje_devices{state=\"unreachable\"}");
    let alerts = metric(&scrape, "kwanje_alerts_open");
    let back_now = metric(&scrape, "kwanje_stomp_sessions{transport=\"websocket\"}");

    out(&format!(
        "first connection: {total} sessions ({gates} gate PCs, {consoles} consoles), 64 at a time: all connected and subscribed in {first_secs:.2} s = {:.0} sessions/s",
        total as f64 / first_secs
    ));
    out(&format!(
        "storm: {total} sessions dropped at once and all reconnecting together: all back in {storm_secs:.2} s = {:.0} sessions accepted/s (target: within 10 s, at least 2,000/s); each back after p50 {} ms, p90 {} ms, p99 {} ms; {retried} needed a second attempt; {back_now} connected after",
        total as f64 / storm_secs,
        percentile(&waits_ms, 0.5),
        percentile(&waits_ms, 0.9),
        percentile(&waits_ms, 0.99)
    ));
    out(&format!(
        "server CPU from the storm to the end of the command window: {storm_cpu:.2} s"
    ));
    let opened: Vec<&str> = scrape
        .lines()
        .filter(|l| l.starts_with("kwanje_alerts_opened_total{") && !l.ends_with(" 0"))
        .collect();
    out(&format!("alerts opened since start: {opened:?}"));
    out(&format!(
        "commands issued while away: {}; delivered exactly once {delivered_once}, twice or more {duplicates}, never {missing}; commands for gate PCs that had none: {strays}",
        issued.len()
    ));
    out(&format!(
        "after the storm: devices down {down}, unreachable {unreachable}, alerts still open {alerts} (each gate PC came back well within its 180 s deadline)"
    ));
    drop(sessions);
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let gates = env_or("BENCH_GATES", 4_000);
    let consoles = env_or("BENCH_CONSOLES", 1_000);
    let command_every = env_or("BENCH_COMMAND_EVERY", 10);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    out(&format!(
        "reconnect storm bench: kwanje {} on {} cores",
        env!("CARGO_PKG_VERSION"),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    ));
    runtime.block_on(storm(gates, consoles, command_every))
}
