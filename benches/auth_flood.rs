//! Login flood (issue 17): 300 devices heartbeat while 40 clients without a token post wrong
//! passwords for `admin`. The release-build, full-size form of the hardening test
//! (`tests/it/hardening.rs`), printing figures and asserting nothing.
//!
//! The fleet: 150 devices through one gate PC's STOMP session (one `/app/heartbeat` frame for all
//! of them every 200 ms, with a receipt) and 150 through `POST /api/v1/devices/{id}/heartbeat`
//! from an HTTP gate PC (each device its own request on its own keep-alive connection, a round of
//! all of them at once every 200 ms; a round that runs late is followed at once by the next).
//! Interval 200 ms, tolerance 5: a device is down 1 s after its last heartbeat.
//!
//! Phases: a control phase with no flood, then the flood. For each it prints the HTTP heartbeat
//! round time (one round of all the HTTP devices) and per-request latency, the STOMP receipt
//! latency, the `heartbeat_missed` alerts opened, the login answers by status, the login attempts
//! per second and the server's CPU. After the flood: whether `auth_flood` was raised, and how long
//! the real admin took to log in, retrying as `Retry-After` says.
//!
//! Each run starts a fresh server twice: first as configured by default (password checks one at a
//! time, failed logins throttled), then with the old behaviour (`KWANJE_LOGIN_CONCURRENCY=512`,
//! `KWANJE_LOGIN_FREE_ATTEMPTS=1000000`: unbounded checks, no throttle).
//!
//! Run: `cargo bench --bench auth_flood`. Settings: `BENCH_FLOOD_SECS` (15),
//! `BENCH_FLOOD_CONTROL_SECS` (5), `BENCH_FLOOD_CLIENTS` (40), `BENCH_FLOOD_DEVICES` (devices per
//! gate PC, 150); `BENCH_FLOOD_UNBOUNDED=1` runs only the old behaviour, `=0` only the new. The
//! server is the `kwanje` binary in its own process; the bench's clients (two tokio workers) share
//! the machine's two cores with it, as an attacker on the same host would.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use kwanje::auth::{Keys, Role};
use kwanje::stomp::Command;
use kwanje::time::Millis;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

mod support;

use support::*;

const INTERVAL_MS: i64 = 200;
const TOLERANCE: i32 = 5;
/// A device is declared down this long after its last heartbeat.
const DEADLINE_MS: i64 = INTERVAL_MS * TOLERANCE as i64;
/// Longest any one request may take before it counts as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest the real admin keeps trying after the flood.
const LOGIN_GIVE_UP: Duration = Duration::from_secs(180);
const ADMIN_PASSWORD: &str = "bench-admin";

/// Which part of the run a measurement belongs to.
const WARMUP: usize = 0;
const CONTROL: usize = 1;
const FLOOD: usize = 2;
const AFTER: usize = 3;

/// One answer of the bare HTTP/1.1 client.
struct Answer {
    status: u16,
    retry_after: Option<u64>,
    body: String,
}

/// One keep-alive HTTP/1.1 connection, opened again whenever the server closes it.
struct Conn {
    addr: String,
    stream: Option<BufReader<TcpStream>>,
}

impl Conn {
    fn new(addr: &str) -> Conn {
        Conn {
            addr: addr.to_owned(),
            stream: None,
        }
    }

    /// POSTs `body` (JSON); on a connection that was reused and turns out closed, once more on a
    /// new one.
    async fn post(&mut self, path: &str, token: Option<&str>, body: &str) -> anyhow::Result<Answer> {
        let reused = self.stream.is_some();
        match tokio::time::timeout(REQUEST_TIMEOUT, self.try_post(path, token, body)).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(_)) if reused => {
                self.stream = None;
                tokio::time::timeout(REQUEST_TIMEOUT, self.try_post(path, token, body))
                    .await
                    .context("timed out")?
            }
            Ok(Err(err)) => {
                self.stream = None;
                Err(err)
            }
            Err(_) => {
                self.stream = None;
                bail!("timed out")
            }
        }
    }

    async fn try_post(&mut self, path: &str, token: Option<&str>, body: &str) -> anyhow::Result<Answer> {
        if self.stream.is_none() {
            let stream = TcpStream::connect(&self.addr).await?;
            stream.set_nodelay(true)?;
            self.stream = Some(BufReader::new(stream));
        }
        let stream = self.stream.as_mut().context("connected")?;
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\n{auth}Content-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        stream.get_mut().write_all(request.as_bytes()).await?;
        let mut line = String::new();
        if stream.read_line(&mut line).await? == 0 {
            bail!("connection closed");
        }
        let status: u16 = line.split_whitespace().nth(1).context("status line")?.parse()?;
        let (mut length, mut retry_after, mut close) = (0, None, false);
        loop {
            line.clear();
            if stream.read_line(&mut line).await? == 0 {
                bail!("connection closed in the head");
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let Some((name, value)) = header.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse()?,
                "retry-after" => retry_after = value.parse().ok(),
                "connection" => close = value.eq_ignore_ascii_case("close"),
                _ => {}
            }
        }
        let mut body = vec![0; length];
        stream.read_exact(&mut body).await?;
        if close {
            self.stream = None;
        }
        Ok(Answer {
            status,
            retry_after,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }
}

/// One round of the HTTP gate PC.
struct Round {
    phase: usize,
    took_us: u64,
    requests_us: Vec<u64>,
    failed: usize,
}

/// The STOMP gate PC's receipts: (phase, latency).
type Receipts = Vec<(usize, u64)>;

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The HTTP gate PC: a round of one request per device every interval, all at once.
async fn http_gate(
    addr: String,
    token: String,
    devices: Vec<String>,
    phase: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
) -> Vec<Round> {
    let body = json!({"status": "ok"}).to_string();
    let mut conns: Vec<(Conn, String)> = devices
        .iter()
        .map(|d| (Conn::new(&addr), format!("/api/v1/devices/{d}/heartbeat")))
        .collect();
    let mut rounds = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(INTERVAL_MS as u64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        let at = phase.load(Ordering::Relaxed);
        let started = Instant::now();
        let requests = conns.iter_mut().map(|(conn, path)| {
            let (token, body) = (&token, &body);
            async move {
                let sent = Instant::now();
                let ok = matches!(conn.post(path, Some(token), body).await, Ok(a) if a.status == 200);
                (micros(sent.elapsed()), ok)
            }
        });
        let answers = futures_util::future::join_all(requests).await;
        rounds.push(Round {
            phase: at,
            took_us: micros(started.elapsed()),
            failed: answers.iter().filter(|(_, ok)| !ok).count(),
            requests_us: answers.into_iter().map(|(us, _)| us).collect(),
        });
    }
    rounds
}

/// The STOMP gate PC: one frame for all its devices every interval, each with a receipt.
async fn stomp_gate(
    mut session: Session,
    devices: Vec<String>,
    phase: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<Receipts> {
    let list: Vec<Value> = devices.iter().map(|d| json!({"id": d, "status": "ok"})).collect();
    let body = json!({ "devices": list }).to_string();
    let mut receipts = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(INTERVAL_MS as u64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        let at = phase.load(Ordering::Relaxed);
        let sent = Instant::now();
        session
            .send(frame_text(
                "SEND",
                &[
                    ("destination", "/app/heartbeat"),
                    ("content-type", "application/json"),
                    ("receipt", "hb"),
                ],
                &body,
            ))
            .await?;
        tokio::time::timeout(REQUEST_TIMEOUT, session.expect(Command::Receipt))
            .await
            .context("no receipt")??;
        receipts.push((at, micros(sent.elapsed())));
    }
    Ok(receipts)
}

/// Login answers by status.
#[derive(Default, Clone, Copy)]
struct Logins {
    s401: usize,
    s429: usize,
    s503: usize,
    other: usize,
}

impl Logins {
    fn total(&self) -> usize {
        self.s401 + self.s429 + self.s503 + self.other
    }
}

/// One flooding client: wrong passwords for `admin` as fast as they are answered, until `until`.
async fn flooder(addr: String, until: Instant) -> Logins {
    let mut conn = Conn::new(&addr);
    let body = json!({"username": "admin", "password": "guess"}).to_string();
    let mut logins = Logins::default();
    while Instant::now() < until {
        match conn.post("/api/v1/auth/token", None, &body).await.map(|a| a.status) {
            Ok(401) => logins.s401 += 1,
            Ok(429) => logins.s429 += 1,
            Ok(503) => logins.s503 += 1,
            _ => logins.other += 1,
        }
    }
    logins
}

/// The real admin after the flood: tries, waits what `Retry-After` says, tries again.
async fn admin_login(addr: &str) -> anyhow::Result<(Duration, usize, Option<u64>)> {
    let started = Instant::now();
    let mut conn = Conn::new(addr);
    let body = json!({"username": "admin", "password": ADMIN_PASSWORD}).to_string();
    let (mut tries, mut first_wait) = (0, None);
    while started.elapsed() < LOGIN_GIVE_UP {
        tries += 1;
        let answer = conn.post("/api/v1/auth/token", None, &body).await?;
        match answer.status {
            200 => return Ok((started.elapsed(), tries, first_wait)),
            429 | 503 => {
                let secs = answer.retry_after.unwrap_or(1);
                first_wait.get_or_insert(secs);
                tokio::time::sleep(Duration::from_secs(secs)).await;
            }
            status => bail!("admin login answered {status}: {}", answer.body),
        }
    }
    bail!("the admin could not log in within {LOGIN_GIVE_UP:?}")
}

/// Every alert, following `next_cursor`.
async fn all_alerts(addr: &str, token: &str) -> anyhow::Result<Vec<Value>> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/alerts?limit=1000&cursor={c}"),
            None => "/api/v1/alerts?limit=1000".to_owned(),
        };
        let page: Value = serde_json::from_str(&http_get(addr, &path, Some(token)).await?)?;
        items.extend(page["items"].as_array().context("items")?.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return Ok(items),
        }
    }
}

/// What one phase measured.
#[derive(Default)]
struct Phase {
    secs: f64,
    rounds_us: Vec<u64>,
    requests_us: Vec<u64>,
    failed: usize,
    receipts_us: Vec<u64>,
    /// `heartbeat_missed` alerts opened in the phase, and their raises (repeats included).
    missed: usize,
    missed_raises: u64,
    logins: Logins,
    cpu_ms: u64,
}

struct Outcome {
    control: Phase,
    flood: Phase,
    warmup_missed: usize,
    auth_flood: Option<String>,
    /// Time from the flood's end to the admin's token, tries, the first wait it was told.
    admin: (Duration, usize, Option<u64>),
}

async fn wait_all_up(addr: &str, token: &str, devices: usize) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let list: Value = serde_json::from_str(&http_get(addr, "/api/v1/devices?limit=1000", Some(token)).await?)?;
        let items = list["items"].as_array().context("items")?;
        if items.len() == devices && items.iter().all(|d| d["state"] == "up") {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the devices did not all come up");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn run(
    unbounded: bool,
    per_pc: usize,
    clients: usize,
    control: Duration,
    flood: Duration,
) -> anyhow::Result<Outcome> {
    let spec = ServerSpec {
        clients: 2,
        per_client: per_pc,
        interval_ms: INTERVAL_MS,
        tolerance: TOLERANCE,
        postgres: None,
    };
    let env: &[(&str, &str)] = if unbounded {
        &[
            ("KWANJE_LOGIN_CONCURRENCY", "512"),
            ("KWANJE_LOGIN_FREE_ATTEMPTS", "1000000"),
        ]
    } else {
        &[]
    };
    let server = start_server_with(spec, env).await?;
    let keys = Keys::hs256(SECRET.as_bytes());
    let admin = token(&keys, "admin", Role::Admin, None);
    let devices = |c: usize| (0..per_pc).map(|d| format!("dev-{c}-{d}")).collect::<Vec<_>>();
    let phase = Arc::new(AtomicUsize::new(WARMUP));
    let stop = Arc::new(AtomicBool::new(false));

    let session = Session::open(&server.addr, &token(&keys, "gate-0", Role::Client, Some("gate-0"))).await?;
    let stomp = tokio::spawn(stomp_gate(session, devices(0), phase.clone(), stop.clone()));
    let http = tokio::spawn(http_gate(
        server.addr.clone(),
        token(&keys, "gate-1", Role::Client, Some("gate-1")),
        devices(1),
        phase.clone(),
        stop.clone(),
    ));
    wait_all_up(&server.addr, &admin, 2 * per_pc).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;

    let control_start = Millis::now().0;
    let cpu0 = server.cpu_us()?;
    phase.store(CONTROL, Ordering::Relaxed);
    tokio::time::sleep(control).await;

    let flood_start = Millis::now().0;
    let cpu1 = server.cpu_us()?;
    phase.store(FLOOD, Ordering::Relaxed);
    let started = Instant::now();
    let until = started + flood;
    let flooders: Vec<_> = (0..clients)
        .map(|_| tokio::spawn(flooder(server.addr.clone(), until)))
        .collect();
    let mut logins = Logins::default();
    for f in flooders {
        let l = f.await?;
        logins.s401 += l.s401;
        logins.s429 += l.s429;
        logins.s503 += l.s503;
        logins.other += l.other;
    }
    let flood_secs = started.elapsed().as_secs_f64();
    let flood_end = Millis::now().0;
    let cpu2 = server.cpu_us()?;
    phase.store(AFTER, Ordering::Relaxed);

    let admin_login = admin_login(&server.addr).await?;
    let alerts = all_alerts(&server.addr, &admin).await?;
    let auth_flood = alerts.iter().find(|a| a["kind"] == "auth_flood").map(|a| {
        format!(
            "raised {} ms after the flood began, severity {}, state {} when the admin got in",
            a["opened_ms"].as_i64().unwrap_or(0) - flood_start,
            a["severity"].as_str().unwrap_or("?"),
            a["state"].as_str().unwrap_or("?")
        )
    });
    // Deadlines missed in the last second of the flood fire just after it.
    tokio::time::sleep(Duration::from_millis(DEADLINE_MS as u64)).await;
    stop.store(true, Ordering::Relaxed);
    let rounds = http.await?;
    let receipts = stomp.await??;
    let alerts = all_alerts(&server.addr, &admin).await?;

    let mut phases = [Phase::default(), Phase::default()];
    for round in rounds {
        if let Some(p) = round.phase.checked_sub(CONTROL).and_then(|i| phases.get_mut(i)) {
            p.rounds_us.push(round.took_us);
            p.requests_us.extend(round.requests_us);
            p.failed += round.failed;
        }
    }
    for (at, us) in receipts {
        if let Some(p) = at.checked_sub(CONTROL).and_then(|i| phases.get_mut(i)) {
            p.receipts_us.push(us);
        }
    }
    let mut warmup_missed = 0;
    for alert in alerts.iter().filter(|a| a["kind"] == "heartbeat_missed") {
        let opened = alert["opened_ms"].as_i64().unwrap_or(0);
        let raises = alert["count"].as_u64().unwrap_or(1);
        let p = if opened < control_start {
            warmup_missed += 1;
            continue;
        } else if opened < flood_start {
            &mut phases[0]
        } else if opened < flood_end + DEADLINE_MS {
            &mut phases[1]
        } else {
            continue;
        };
        p.missed += 1;
        p.missed_raises += raises;
    }
    let [mut control_phase, mut flood_phase] = phases;
    control_phase.secs = control.as_secs_f64();
    control_phase.cpu_ms = (cpu1 - cpu0) / 1_000;
    flood_phase.secs = flood_secs;
    flood_phase.cpu_ms = (cpu2 - cpu1) / 1_000;
    flood_phase.logins = logins;
    for p in [&mut control_phase, &mut flood_phase] {
        p.rounds_us.sort_unstable();
        p.requests_us.sort_unstable();
        p.receipts_us.sort_unstable();
    }
    Ok(Outcome {
        control: control_phase,
        flood: flood_phase,
        warmup_missed,
        auth_flood,
        admin: admin_login,
    })
}

fn ms(us: u64) -> String {
    format!("{:.1}", us as f64 / 1_000.0)
}

fn report_phase(name: &str, p: &Phase, per_pc: usize) {
    out(&format!(
        "  {name} ({:.1} s): HTTP round of {per_pc} p50 {} ms, p99 {} ms, max {} ms ({} rounds); \
         request p50 {} ms, p99 {} ms; {} failed; STOMP receipt p50 {} ms, p99 {} ms, max {} ms",
        p.secs,
        ms(percentile(&p.rounds_us, 0.5)),
        ms(percentile(&p.rounds_us, 0.99)),
        ms(p.rounds_us.last().copied().unwrap_or(0)),
        p.rounds_us.len(),
        ms(percentile(&p.requests_us, 0.5)),
        ms(percentile(&p.requests_us, 0.99)),
        p.failed,
        ms(percentile(&p.receipts_us, 0.5)),
        ms(percentile(&p.receipts_us, 0.99)),
        ms(p.receipts_us.last().copied().unwrap_or(0)),
    ));
    let l = p.logins;
    out(&format!(
        "    heartbeat_missed alerts: {} ({} raises); logins 401: {}, 429: {}, 503: {}, other: {}; \
         {:.0} attempts/s; server CPU {} ms ({:.0} % of one core)",
        p.missed,
        p.missed_raises,
        l.s401,
        l.s429,
        l.s503,
        l.other,
        l.total() as f64 / p.secs,
        p.cpu_ms,
        p.cpu_ms as f64 / 10.0 / p.secs,
    ));
}

fn report(name: &str, o: &Outcome, per_pc: usize) {
    out(&format!("{name}:"));
    if o.warmup_missed > 0 {
        out(&format!(
            "  ({} heartbeat_missed alerts before the control phase)",
            o.warmup_missed
        ));
    }
    report_phase("control", &o.control, per_pc);
    report_phase("flood", &o.flood, per_pc);
    let (took, tries, first_wait) = o.admin;
    out(&format!(
        "  after: auth_flood {}; the admin logged in {:.2} s after the flood's end ({tries} tries{})",
        o.auth_flood.as_deref().unwrap_or("NOT raised"),
        took.as_secs_f64(),
        first_wait
            .map(|s| format!(", first told to wait {s} s"))
            .unwrap_or_default(),
    ));
}

fn main() -> anyhow::Result<()> {
    let flood = Duration::from_secs(env_or("BENCH_FLOOD_SECS", 15) as u64);
    let control = Duration::from_secs(env_or("BENCH_FLOOD_CONTROL_SECS", 5) as u64);
    let clients = env_or("BENCH_FLOOD_CLIENTS", 40);
    let per_pc = env_or("BENCH_FLOOD_DEVICES", 150);
    let modes: &[bool] = match std::env::var("BENCH_FLOOD_UNBOUNDED").as_deref() {
        Ok("1") => &[true],
        Ok("0") => &[false],
        _ => &[false, true],
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    out(&format!(
        "login flood bench: {} devices ({per_pc} over STOMP, {per_pc} over HTTP), every {INTERVAL_MS} ms, \
         deadline {DEADLINE_MS} ms; control {} s, then {clients} wrong-password clients for {} s",
        2 * per_pc,
        control.as_secs(),
        flood.as_secs()
    ));
    runtime.block_on(async {
        for &unbounded in modes {
            let outcome = run(unbounded, per_pc, clients, control, flood).await?;
            let name = if unbounded {
                "old behaviour (KWANJE_LOGIN_CONCURRENCY=512, KWANJE_LOGIN_FREE_ATTEMPTS=1000000)"
            } else {
                "bounded (defaults)"
            };
            report(name, &outcome, per_pc);
        }
        Ok(())
    })
}
