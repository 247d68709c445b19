//! The realtime benchmark, over real loopback sockets against the `kwanje` binary in its own
//! process (so its RSS is the server's alone). Prints:
//!
//! 1. RSS per idle STOMP session, at 10,000 sessions;
//! 2. fan-out of one message to 10,000 subscribers: delivery latency p50/p99 and messages
//!    delivered per second;
//! 3. heartbeat ingest from 1,000 client sessions: frames/s and device heartbeats/s.
//!
//! Run: `cargo bench --bench realtime` (sizes via `BENCH_SESSIONS`, `BENCH_FANOUT_MESSAGES`,
//! `BENCH_CLIENTS`, `BENCH_DEVICES_PER_CLIENT`, `BENCH_FRAMES_PER_CLIENT`). Needs an open-file
//! limit above the session count (`ulimit -n 20000`).

use std::io::Write as _;
use std::process::{Child, Command as Process, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use bytes::BytesMut;
use futures_util::{SinkExt, StreamExt};
use kwanje::auth::{Claims, Keys, Role};
use kwanje::stomp::{Command, Decoder, Frame, Inbound, Limits, Version};
use kwanje::store::models::{clients, devices};
use kwanje::store::Store;
use kwanje::time::Millis;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Barrier, Semaphore};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

const SECRET: &str = "realtime-bench-secret-0123456789abcdef";
/// Connections opened at once (the listen backlog must not overflow).
const CONNECT_CONCURRENCY: usize = 200;
const FANOUT_TOPIC: &str = "/topic/ops/bench";
const TOKEN_TTL: Duration = Duration::from_secs(3_600);
/// `sysconf(_SC_CLK_TCK)` on Linux.
const CLOCK_TICKS_PER_SEC: u64 = 100;
/// The bench client's WebSocket read buffer.
const CLIENT_READ_BUFFER: usize = 4 * 1024;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn out(line: &str) {
    let _ = writeln!(std::io::stdout(), "{line}");
}

/// The server under test, killed on drop.
struct ServerProcess {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServerProcess {
    /// User + system CPU time the server has used, in microseconds.
    fn cpu_us(&self) -> anyhow::Result<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))?;
        // Fields after the command name (which is in parentheses): utime is the 12th, stime the 13th.
        let after = stat.rsplit_once(')').context("stat format")?.1;
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
        Ok(ticks * 1_000_000 / CLOCK_TICKS_PER_SEC)
    }

    fn rss_kib(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).context("no VmRSS")?;
        Ok(line.split_whitespace().nth(1).context("VmRSS value")?.parse()?)
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Prepares a database with `clients` clients of `per_client` devices each, then starts the
/// binary on it.
async fn start_server(clients_n: usize, per_client: usize) -> anyhow::Result<ServerProcess> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = Store::open(&url)?;
    store.migrate()?;
    let now = Millis::now().0;
    store.write_blocking(move |c| {
        for n in 0..clients_n {
            let id = format!("gate-{n}");
            clients::insert(
                c,
                &clients::Client {
                    id: id.clone(),
                    name: id.clone(),
                    site: None,
                    created_ms: now,
                },
            )?;
            for d in 0..per_client {
                devices::insert(
                    c,
                    &devices::Device {
                        id: format!("dev-{n}-{d}"),
                        kind: "lpr_camera".into(),
                        client_id: id.clone(),
                        site: None,
                        zone: None,
                        lane: None,
                        standby_id: None,
                        heartbeat_interval_ms: 60_000,
                        miss_tolerance: 3,
                        auto_failover: false,
                        state: "unknown".into(),
                        state_since_ms: now,
                        last_seen_ms: None,
                        restarts: 0,
                        active: true,
                        created_ms: now,
                    },
                )?;
            }
        }
        Ok(())
    })?;
    drop(store);
    let addr = format!("127.0.0.1:{}", free_port()?);
    let child = Process::new(env!("CARGO_BIN_EXE_kwanje"))
        .arg("serve")
        .env("KWANJE_BIND", &addr)
        .env("DATABASE_URL", &url)
        .env("KWANJE_JWT_SECRET", SECRET)
        .env("KWANJE_ADMIN_PASSWORD", "bench-admin")
        .env(
            "RUST_LOG",
            std::env::var("BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::null())
        .spawn()
        .context("starting the kwanje binary")?;
    let server = ServerProcess { child, addr, _dir: dir };
    let deadline = Instant::now() + Duration::from_secs(60);
    while http_get(&server.addr, "/healthz", None).await.is_err() {
        if Instant::now() > deadline {
            bail!("the server did not come up");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(server)
}

/// A bare HTTP/1.1 GET (the body; the server answers with a content length).
async fn http_get(addr: &str, path: &str, token: Option<&str>) -> anyhow::Result<String> {
    let mut stream = TcpStream::connect(addr).await?;
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let (head, body) = response.split_once("\r\n\r\n").context("no header end")?;
    if !head.starts_with("HTTP/1.1 200") {
        bail!("GET {path}: {head}");
    }
    Ok(body.to_owned())
}

fn token(keys: &Keys, sub: &str, role: Role, client: Option<&str>) -> String {
    let mut claims = Claims::new(sub, role, Millis::now(), TOKEN_TTL);
    claims.client = client.map(str::to_owned);
    keys.issue(&claims).expect("a token")
}

fn frame_text(command: &str, headers: &[(&str, &str)], body: &str) -> String {
    let mut out = format!("{command}\n");
    for (name, value) in headers {
        out.push_str(name);
        out.push(':');
        out.push_str(value);
        out.push('\n');
    }
    out.push('\n');
    out.push_str(body);
    out.push('\0');
    out
}

/// A bench STOMP session.
struct Session {
    ws: WebSocketStream<TcpStream>,
    decoder: Decoder,
    buf: BytesMut,
}

impl Session {
    async fn open(addr: &str, token: &str) -> anyhow::Result<Session> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let mut request = format!("ws://{addr}/ws").into_client_request()?;
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", "v12.stomp".parse()?);
        // tungstenite zero-fills its read buffer on every read: the 128 KiB default would make
        // the load generator, not the server, the bottleneck.
        let config = WebSocketConfig::default().read_buffer_size(CLIENT_READ_BUFFER);
        let (ws, _) = tokio_tungstenite::client_async_with_config(request, stream, Some(config)).await?;
        let mut session = Session {
            ws,
            decoder: Decoder::new(Limits::default()),
            buf: BytesMut::new(),
        };
        let connect = frame_text(
            "CONNECT",
            &[("accept-version", "1.2"), ("heart-beat", "0,0"), ("passcode", token)],
            "",
        );
        session.send(connect).await?;
        let connected = session.recv().await?;
        if connected.command != Command::Connected {
            bail!("CONNECT refused: {connected:?}");
        }
        session.decoder.set_version(Version::V1_2);
        Ok(session)
    }

    async fn send(&mut self, text: String) -> anyhow::Result<()> {
        self.ws.send(Message::text(text)).await?;
        Ok(())
    }

    async fn recv(&mut self) -> anyhow::Result<Frame> {
        loop {
            while let Some(item) = self.decoder.decode(&mut self.buf)? {
                if let Inbound::Frame(frame) = item {
                    return Ok(frame);
                }
            }
            match self.ws.next().await {
                Some(Ok(Message::Text(text))) => self.buf.extend_from_slice(text.as_bytes()),
                Some(Ok(Message::Binary(data))) => self.buf.extend_from_slice(&data),
                Some(Ok(_)) => {}
                Some(Err(err)) => bail!("socket error: {err}"),
                None => bail!("socket closed"),
            }
        }
    }

    async fn expect(&mut self, command: Command) -> anyhow::Result<Frame> {
        let frame = self.recv().await?;
        if frame.command != command {
            bail!("expected {command}, got {frame:?}");
        }
        Ok(frame)
    }
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Phases 1 and 2: idle RSS at `n` sessions, then fan-out of `messages` messages to them all.
async fn idle_and_fanout(n: usize, messages: usize) -> anyhow::Result<()> {
    let server = start_server(0, 0).await?;
    let keys = Keys::hs256(SECRET.as_bytes());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = server.rss_kib()?;
    let viewer = token(&keys, "bench-viewer", Role::Viewer, None);

    let connect_gate = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let connected = Arc::new(Barrier::new(n + 1));
    let subscribe = Arc::new(Barrier::new(n + 1));
    let subscribed = Arc::new(Barrier::new(n + 1));
    let delivered = Arc::new(AtomicUsize::new(0));
    let epoch = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    let opened_at = Instant::now();
    for _ in 0..n {
        let (addr, viewer) = (server.addr.clone(), viewer.clone());
        let (gate, connected, subscribe, subscribed, delivered) = (
            connect_gate.clone(),
            connected.clone(),
            subscribe.clone(),
            subscribed.clone(),
            delivered.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let permit = gate.acquire_owned().await?;
            let mut session = Session::open(&addr, &viewer).await?;
            drop(permit);
            connected.wait().await;
            subscribe.wait().await;
            let sub = frame_text(
                "SUBSCRIBE",
                &[("id", "0"), ("destination", FANOUT_TOPIC), ("receipt", "s")],
                "",
            );
            session.send(sub).await?;
            session.expect(Command::Receipt).await?;
            subscribed.wait().await;
            let mut latencies = Vec::with_capacity(messages);
            for _ in 0..messages {
                let message = session.expect(Command::Message).await?;
                let sent: u64 = message.header("x-sent-us").context("x-sent-us")?.parse()?;
                let now = u64::try_from(epoch.elapsed().as_micros())?;
                latencies.push((now.saturating_sub(sent), now));
                delivered.fetch_add(1, Ordering::Relaxed);
            }
            anyhow::Ok((latencies, session))
        }));
    }
    connected.wait().await;
    let open_secs = opened_at.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = server.rss_kib()?;
    let per_session = (rss_after.saturating_sub(rss_before)) as f64 * 1024.0 / n as f64;
    out(&format!(
        "idle sessions: {n} opened in {open_secs:.1} s; server RSS {rss_before} KiB -> {rss_after} KiB = {:.1} KiB per idle session",
        per_session / 1024.0
    ));

    subscribe.wait().await;
    subscribed.wait().await;
    let operator = token(&keys, "bench-operator", Role::Operator, None);
    let mut publisher = Session::open(&server.addr, &operator).await?;
    let cpu_before = server.cpu_us()?;
    let mut sent_at = Vec::with_capacity(messages);
    for m in 0..messages {
        let sent = u64::try_from(epoch.elapsed().as_micros())?;
        sent_at.push(sent);
        let receipt = format!("p{m}");
        let sent_header = sent.to_string();
        let send = frame_text(
            "SEND",
            &[
                ("destination", FANOUT_TOPIC),
                ("x-sent-us", &sent_header),
                ("receipt", &receipt),
            ],
            r#"{"type":"notice","text":"shift handover at 18:00"}"#,
        );
        publisher.send(send).await?;
        publisher.expect(Command::Receipt).await?;
        // One message at a time: the next goes out once every subscriber has this one.
        while delivered.load(Ordering::Relaxed) < n * (m + 1) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Includes the publisher's own session and 50 ms idle gaps (negligible CPU).
    let fanout_cpu = server.cpu_us()?.saturating_sub(cpu_before);
    let mut all = Vec::with_capacity(n * messages);
    let mut last_arrival = vec![0u64; messages];
    let mut sessions = Vec::with_capacity(n);
    for task in tasks {
        let (latencies, session) = task.await??;
        for (m, (latency, at)) in latencies.into_iter().enumerate() {
            all.push(latency);
            last_arrival[m] = last_arrival[m].max(at);
        }
        sessions.push(session);
    }
    all.sort_unstable();
    let spans: Vec<f64> = sent_at
        .iter()
        .zip(&last_arrival)
        .map(|(sent, last)| (last - sent) as f64 / 1e6)
        .collect();
    let mean_span = spans.iter().sum::<f64>() / spans.len() as f64;
    out(&format!(
        "fan-out: {messages} messages x {n} subscribers = {} deliveries; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; \
         one message reaches all {n} in {:.1} ms on average = {:.0} messages delivered/s; \
         server CPU {:.1} us per delivery",
        all.len(),
        percentile(&all, 0.50) as f64 / 1e3,
        percentile(&all, 0.99) as f64 / 1e3,
        all.last().copied().unwrap_or(0) as f64 / 1e3,
        mean_span * 1e3,
        n as f64 / mean_span,
        fanout_cpu as f64 / (n * messages) as f64
    ));
    drop(sessions);
    Ok(())
}

/// Phase 3: `clients` client sessions each send `frames` heartbeat frames of `per_client`
/// devices, pipelined, the last with a receipt.
async fn heartbeat_ingest(clients_n: usize, per_client: usize, frames: usize) -> anyhow::Result<()> {
    let server = start_server(clients_n, per_client).await?;
    let keys = Keys::hs256(SECRET.as_bytes());
    let gate = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let ready = Arc::new(Barrier::new(clients_n + 1));
    let go = Arc::new(Barrier::new(clients_n + 1));
    let done = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::with_capacity(clients_n);
    for n in 0..clients_n {
        let id = format!("gate-{n}");
        let token = token(&keys, &id, Role::Client, Some(&id));
        let (addr, gate, ready, go, done) = (
            server.addr.clone(),
            gate.clone(),
            ready.clone(),
            go.clone(),
            done.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let permit = gate.acquire_owned().await?;
            let mut session = Session::open(&addr, &token).await?;
            drop(permit);
            let body = format!(
                r#"{{"devices":[{}]}}"#,
                (0..per_client)
                    .map(|d| format!(r#"{{"id":"dev-{n}-{d}","status":"ok"}}"#))
                    .collect::<Vec<_>>()
                    .join(",")
            );
            let plain = frame_text(
                "SEND",
                &[("destination", "/app/heartbeat"), ("content-type", "application/json")],
                &body,
            );
            let last = frame_text(
                "SEND",
                &[
                    ("destination", "/app/heartbeat"),
                    ("content-type", "application/json"),
                    ("receipt", "done"),
                ],
                &body,
            );
            ready.wait().await;
            go.wait().await;
            for _ in 1..frames {
                session.ws.feed(Message::text(plain.clone())).await?;
            }
            session.ws.feed(Message::text(last)).await?;
            session.ws.flush().await?;
            session.expect(Command::Receipt).await?;
            done.fetch_add(1, Ordering::Relaxed);
            anyhow::Ok(session)
        }));
    }
    ready.wait().await;
    let cpu_before = server.cpu_us()?;
    let started = Millis::now();
    let clock = Instant::now();
    go.wait().await;
    let mut sessions = Vec::with_capacity(clients_n);
    for task in tasks {
        sessions.push(task.await??);
    }
    let frames_secs = clock.elapsed().as_secs_f64();
    let ingest_cpu = server.cpu_us()?.saturating_sub(cpu_before);
    let total_frames = clients_n * frames;
    // Every heartbeat is processed once the device actors' last_seen stops moving.
    let admin = token(&keys, "bench-admin", Role::Admin, None);
    let mut last_seen = 0i64;
    let mut stable = 0;
    while stable < 3 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut newest = 0i64;
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v1/devices?limit=1000&cursor={c}"),
                None => "/api/v1/devices?limit=1000".to_owned(),
            };
            let page: serde_json::Value = serde_json::from_str(&http_get(&server.addr, &path, Some(&admin)).await?)?;
            for device in page["items"].as_array().context("items")? {
                newest = newest.max(device["last_seen_ms"].as_i64().unwrap_or(0));
            }
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        stable = if newest == last_seen { stable + 1 } else { 0 };
        last_seen = newest;
    }
    let devices_secs = (last_seen - started.0).max(1) as f64 / 1e3;
    out(&format!(
        "heartbeat ingest: {clients_n} client sessions x {frames} frames x {per_client} devices; \
         {total_frames} frames in {frames_secs:.2} s = {:.0} frames/s (server CPU {:.1} us per frame); \
         {} device heartbeats applied in {devices_secs:.2} s = {:.0} device heartbeats/s",
        total_frames as f64 / frames_secs,
        ingest_cpu as f64 / total_frames as f64,
        total_frames * per_client,
        (total_frames * per_client) as f64 / devices_secs
    ));
    drop(sessions);
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let sessions = env_or("BENCH_SESSIONS", 10_000);
    let messages = env_or("BENCH_FANOUT_MESSAGES", 20);
    let clients_n = env_or("BENCH_CLIENTS", 1_000);
    let per_client = env_or("BENCH_DEVICES_PER_CLIENT", 5);
    let frames = env_or("BENCH_FRAMES_PER_CLIENT", 200);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    out(&format!(
        "realtime bench: kwanje {} on {} cores",
        env!("CARGO_PKG_VERSION"),
        num_cores()
    ));
    runtime.block_on(async {
        idle_and_fanout(sessions, messages).await?;
        heartbeat_ingest(clients_n, per_client, frames).await
    })
}

fn num_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
