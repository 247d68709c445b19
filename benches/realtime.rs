//! The realtime benchmark, over real loopback sockets against the `kwanje` binary in its own
//! process (so its RSS is the server's alone). Prints:
//!
//! 1. RSS per idle STOMP session, at 10,000 sessions;
//! 2. fan-out of one message to 10,000 subscribers: delivery latency p50/p99 and messages
//!    delivered per second, read first by the ordinary bench clients (a tokio task per session)
//!    and then, on the same sessions, by [`lean`](support::lean) readers, which cost the shared
//!    cores less (subscribers in the field are on other machines);
//! 3. heartbeat ingest from 1,000 client sessions: frames/s and device heartbeats/s;
//!
//! and first, for scale, this machine's floor for the fan-out: the same number of loopback
//! connections, no server and no protocol, two threads each writing one message to half of them
//! (one write per subscriber, the least any server must do), read by each kind of client.
//!
//! Phases 1 and 2 run once per transport: WebSocket (`/ws`) and plain TCP (`KWANJE_STOMP_TCP`).
//!
//! Run: `cargo bench --bench realtime` (sizes via `BENCH_SESSIONS`, `BENCH_FANOUT_MESSAGES`,
//! `BENCH_CLIENTS`, `BENCH_DEVICES_PER_CLIENT`, `BENCH_FRAMES_PER_CLIENT`; `BENCH_TRANSPORTS=ws`
//! or `tcp` for one of the two). Needs an open-file limit above the session count
//! (`ulimit -n 20000`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use kwanje::auth::{Keys, Role};
use kwanje::stomp::Command;
use kwanje::time::Millis;
use tokio::sync::{Barrier, Semaphore};

mod support;

use support::*;

const FANOUT_TOPIC: &str = "/topic/ops/bench";
/// Connects in flight at once to the floor's writer.
const FLOOR_CONNECT_CONCURRENCY: usize = 64;
/// About the size of a fan-out MESSAGE frame in its WebSocket frame.
const FLOOR_MESSAGE_BYTES: usize = 250;

/// Phase 0: the fan-out floor of this machine (see the top of this file), read by `readers`.
/// The writing side is this bench binary again, in its own process as the server is
/// ([`floor_writer`]).
async fn fanout_floor(n: usize, rounds: usize, readers: Clients) -> anyhow::Result<()> {
    use std::io::{BufRead, Write};
    let mut writer = std::process::Command::new(std::env::current_exe()?)
        .env(FLOOR_WRITER_ENV, n.to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    let mut commands = writer.stdin.take().context("writer stdin")?;
    let mut answers = std::io::BufReader::new(writer.stdout.take().context("writer stdout")?);
    let mut line = String::new();
    answers.read_line(&mut line)?;
    let addr: std::net::SocketAddr = line.trim().parse()?;
    let epoch = Instant::now();
    let subscribers = match readers {
        Clients::Tokio => Subscribers::Tokio(floor_tasks(addr, n, rounds, epoch)),
        Clients::Lean => {
            // One at a time: the writer accepts them in turn, so the backlog never overflows.
            let streams = (0..n)
                .map(|_| std::net::TcpStream::connect(addr))
                .collect::<std::io::Result<Vec<_>>>()?;
            let wire = lean::Wire::Raw(FLOOR_MESSAGE_BYTES);
            Subscribers::Lean(lean::Readers::start(streams, LEAN_READERS, wire, rounds, epoch)?)
        }
    };
    line.clear();
    answers.read_line(&mut line)?; // "accepted"
    let delivered = subscribers.delivered();
    let mut starts = Vec::with_capacity(rounds);
    let (mut writes_us, mut writes_cpu_us) = (Vec::with_capacity(rounds), 0);
    for round in 0..rounds {
        tokio::time::sleep(Duration::from_millis(50)).await;
        starts.push(u64::try_from(epoch.elapsed().as_micros())?);
        writeln!(commands, "write")?;
        commands.flush()?;
        while delivered.load(Ordering::Relaxed) < n * (round + 1) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        line.clear();
        answers.read_line(&mut line)?;
        let (wall, cpu) = line.trim().split_once(' ').context("writer timing")?;
        writes_us.push(wall.parse::<u64>()?);
        writes_cpu_us += cpu.parse::<u64>()?;
    }
    writes_us.sort_unstable();
    drop(commands);
    let mut all = Vec::with_capacity(n * rounds);
    for arrivals in subscribers.join().await? {
        for (round, arrival) in arrivals.into_iter().enumerate() {
            all.push(arrival.at_us.saturating_sub(starts[round]));
        }
    }
    writer.wait()?;
    all.sort_unstable();
    out(&format!(
        "fan-out floor (no server, no protocol), {}: {rounds} writes x {n} loopback connections from 2 threads; \
         latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        readers.name(),
        percentile(&all, 0.50) as f64 / 1e3,
        percentile(&all, 0.99) as f64 / 1e3,
        all.last().copied().unwrap_or(0) as f64 / 1e3,
    ));
    out(&format!(
        "fan-out floor, the writes alone (the kernel's loopback delivery, no reader's work), {}: \
         {n} writes take p50 {:.1} ms, max {:.1} ms; writer CPU {:.1} us per write",
        readers.name(),
        percentile(&writes_us, 0.50) as f64 / 1e3,
        writes_us.last().copied().unwrap_or(0) as f64 / 1e3,
        writes_cpu_us as f64 / (n * rounds) as f64,
    ));
    Ok(())
}

/// The floor's tokio readers: one task per connection.
fn floor_tasks(addr: std::net::SocketAddr, n: usize, rounds: usize, epoch: Instant) -> TokioSubscribers {
    use tokio::io::AsyncReadExt;
    let delivered = Arc::new(AtomicUsize::new(0));
    // Fewer connects in flight than std's listen backlog (128): an overflowing accept queue can
    // leave a client connected to nothing, and a client that only reads would wait forever.
    let gate = Arc::new(Semaphore::new(FLOOR_CONNECT_CONCURRENCY));
    let tasks = (0..n)
        .map(|_| {
            let (gate, delivered) = (gate.clone(), delivered.clone());
            tokio::spawn(async move {
                let permit = gate.acquire_owned().await?;
                let mut stream = tokio::net::TcpStream::connect(addr).await?;
                drop(permit);
                let mut arrivals = Vec::with_capacity(rounds);
                let (mut total, mut buf) = (0, [0u8; 4096]);
                while arrivals.len() < rounds {
                    let got = stream.read(&mut buf).await?;
                    anyhow::ensure!(got > 0, "floor connection closed");
                    total += got;
                    while total >= FLOOR_MESSAGE_BYTES * (arrivals.len() + 1) {
                        let at_us = u64::try_from(epoch.elapsed().as_micros())?;
                        arrivals.push(lean::Arrival { at_us, sent_us: None });
                        delivered.fetch_add(1, Ordering::Relaxed);
                    }
                }
                anyhow::Ok((arrivals, None))
            })
        })
        .collect();
    TokioSubscribers { tasks, delivered }
}

/// Set (to the connection count) in the floor's writing process.
const FLOOR_WRITER_ENV: &str = "BENCH_FLOOR_WRITER";

/// The floor's writing side: accepts the connections, then on each line of stdin writes one
/// message to every connection, from two threads.
fn floor_writer(n: usize) -> anyhow::Result<()> {
    use std::io::{BufRead, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    out(&listener.local_addr()?.to_string());
    let streams = (0..n)
        .map(|_| {
            let (stream, _) = listener.accept()?;
            stream.set_nodelay(true)?;
            Ok(stream)
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    out("accepted");
    let message = [b'x'; FLOOR_MESSAGE_BYTES];
    for command in std::io::stdin().lock().lines() {
        command?;
        let (started, cpu_before) = (Instant::now(), cpu_us_of("self")?);
        std::thread::scope(|scope| {
            for half in streams.chunks(n.div_ceil(2)) {
                scope.spawn(move || {
                    for mut stream in half {
                        stream.write_all(&message).expect("a floor write");
                    }
                });
            }
        });
        // The writes alone: the kernel's loopback delivery (on loopback `write` also runs the
        // receiver's TCP stack), none of the readers' work.
        let cpu = cpu_us_of("self")?.saturating_sub(cpu_before);
        out(&format!("{} {cpu}", started.elapsed().as_micros()));
    }
    Ok(())
}

/// How the bench's STOMP sessions reach the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    /// `/ws`, what gate PCs and consoles use.
    WebSocket,
    /// `KWANJE_STOMP_TCP`.
    Tcp,
}

impl Transport {
    fn parse(name: &str) -> anyhow::Result<Self> {
        match name.trim() {
            "ws" => Ok(Transport::WebSocket),
            "tcp" => Ok(Transport::Tcp),
            other => anyhow::bail!("unknown transport {other:?} (ws or tcp)"),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Transport::WebSocket => "WebSocket",
            Transport::Tcp => "plain TCP",
        }
    }

    async fn open(self, server: &ServerAddrs, token: &str) -> anyhow::Result<Session> {
        match self {
            Transport::WebSocket => Session::open(&server.ws, token).await,
            Transport::Tcp => Session::open_tcp(&server.tcp, token).await,
        }
    }
}

/// The server's two STOMP addresses, for the session tasks.
#[derive(Debug, Clone)]
struct ServerAddrs {
    ws: String,
    tcp: String,
}

/// Who reads a fan-out: the ordinary bench clients, or [`lean`] readers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Clients {
    /// One tokio task per session (tokio-tungstenite for WebSocket), on two worker threads.
    Tokio,
    /// [`LEAN_READERS`] threads, each one epoll set over its share of the connections.
    Lean,
}

impl Clients {
    fn name(self) -> &'static str {
        match self {
            Clients::Tokio => "tokio clients",
            Clients::Lean => "lean readers",
        }
    }
}

/// Lean reader threads.
const LEAN_READERS: usize = 2;

type Arrivals = Vec<lean::Arrival>;
/// What a tokio subscriber task ends with: its arrivals and, for STOMP, its session.
type Subscriber = tokio::task::JoinHandle<anyhow::Result<(Arrivals, Option<Session>)>>;

/// Tokio subscriber tasks; each ends with its arrivals and, for STOMP, its session.
struct TokioSubscribers {
    tasks: Vec<Subscriber>,
    delivered: Arc<AtomicUsize>,
}

/// The subscribers of one fan-out run, of either kind.
enum Subscribers {
    Tokio(TokioSubscribers),
    Lean(lean::Readers),
}

impl Subscribers {
    /// Deliveries completed so far, over every subscriber.
    fn delivered(&self) -> Arc<AtomicUsize> {
        match self {
            Subscribers::Tokio(tokio) => tokio.delivered.clone(),
            Subscribers::Lean(lean) => lean.delivered.clone(),
        }
    }

    /// Each subscriber's arrivals.
    async fn join(self) -> anyhow::Result<Vec<Arrivals>> {
        Ok(self.join_keeping_sessions().await?.0)
    }

    /// Each subscriber's arrivals, and the STOMP sessions of tokio subscribers.
    async fn join_keeping_sessions(self) -> anyhow::Result<(Vec<Arrivals>, Vec<Session>)> {
        match self {
            Subscribers::Tokio(tokio) => {
                let (mut all, mut sessions) = (Vec::new(), Vec::new());
                for task in tokio.tasks {
                    let (arrivals, session) = task.await??;
                    all.push(arrivals);
                    sessions.extend(session);
                }
                Ok((all, sessions))
            }
            Subscribers::Lean(lean) => {
                let readers = tokio::task::spawn_blocking(move || lean.join());
                Ok((readers.await??, Vec::new()))
            }
        }
    }
}

/// Phases 1 and 2: idle RSS at `n` sessions, then fan-out of `messages` messages to them all,
/// read first by tokio clients, then by lean readers on the same sessions.
async fn idle_and_fanout(n: usize, messages: usize, transport: Transport) -> anyhow::Result<()> {
    let server = start_server(ServerSpec::devices(0, 0)).await?;
    let addrs = ServerAddrs {
        ws: server.addr.clone(),
        tcp: server.tcp_addr.clone(),
    };
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
        let (addrs, viewer) = (addrs.clone(), viewer.clone());
        let (gate, connected, subscribe, subscribed, delivered) = (
            connect_gate.clone(),
            connected.clone(),
            subscribe.clone(),
            subscribed.clone(),
            delivered.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let permit = gate.acquire_owned().await?;
            let mut session = transport.open(&addrs, &viewer).await?;
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
            let mut arrivals = Vec::with_capacity(messages);
            for _ in 0..messages {
                let message = session.expect(Command::Message).await?;
                let sent: u64 = message.header("x-sent-us").context("x-sent-us")?.parse()?;
                let at_us = u64::try_from(epoch.elapsed().as_micros())?;
                arrivals.push(lean::Arrival {
                    at_us,
                    sent_us: Some(sent),
                });
                delivered.fetch_add(1, Ordering::Relaxed);
            }
            anyhow::Ok((arrivals, Some(session)))
        }));
    }
    connected.wait().await;
    let open_secs = opened_at.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = server.rss_kib()?;
    let per_session = (rss_after.saturating_sub(rss_before)) as f64 * 1024.0 / n as f64;
    out(&format!(
        "{}: idle sessions: {n} opened in {open_secs:.1} s; server RSS {rss_before} KiB -> {rss_after} KiB = {:.1} KiB per idle session",
        transport.name(),
        per_session / 1024.0
    ));

    subscribe.wait().await;
    subscribed.wait().await;
    let operator = token(&keys, "bench-operator", Role::Operator, None);
    let mut publisher = transport.open(&addrs, &operator).await?;
    let run = FanOut {
        server: &server,
        n,
        messages,
        epoch,
        transport,
    };
    let tokio = Subscribers::Tokio(TokioSubscribers { tasks, delivered });
    let sessions = run.measure(&mut publisher, tokio, Clients::Tokio).await?;

    // The same sessions, now read by lean readers.
    let streams = sessions
        .into_iter()
        .map(Session::into_std)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let wire = match transport {
        Transport::WebSocket => lean::Wire::WebSocket,
        Transport::Tcp => lean::Wire::Stomp,
    };
    let lean = lean::Readers::start(streams, LEAN_READERS, wire, messages, epoch)?;
    run.measure(&mut publisher, Subscribers::Lean(lean), Clients::Lean)
        .await?;
    Ok(())
}

/// One fan-out run's setting.
struct FanOut<'a> {
    server: &'a ServerProcess,
    n: usize,
    messages: usize,
    epoch: Instant,
    transport: Transport,
}

impl FanOut<'_> {
    /// Publishes the messages one at a time (the next once every subscriber has this one),
    /// prints what `subscribers` measured, and hands back the sessions of tokio subscribers.
    async fn measure(
        &self,
        publisher: &mut Session,
        subscribers: Subscribers,
        clients: Clients,
    ) -> anyhow::Result<Vec<Session>> {
        let FanOut { n, messages, epoch, .. } = *self;
        let delivered = subscribers.delivered();
        let cpu_before = self.server.cpu_us()?;
        let clients_cpu_before = cpu_us_of("self")?;
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
            while delivered.load(Ordering::Relaxed) < n * (m + 1) {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Includes the publisher's own session and 50 ms idle gaps (negligible CPU).
        let fanout_cpu = self.server.cpu_us()?.saturating_sub(cpu_before);
        let clients_cpu = cpu_us_of("self")?.saturating_sub(clients_cpu_before);
        let (subscribers, sessions) = subscribers.join_keeping_sessions().await?;
        let mut all = Vec::with_capacity(n * messages);
        let mut last_arrival = vec![0u64; messages];
        for arrivals in subscribers {
            for (m, arrival) in arrivals.into_iter().enumerate() {
                let sent = arrival.sent_us.context("a STOMP arrival has x-sent-us")?;
                all.push(arrival.at_us.saturating_sub(sent));
                last_arrival[m] = last_arrival[m].max(arrival.at_us);
            }
        }
        all.sort_unstable();
        let spans: Vec<f64> = sent_at
            .iter()
            .zip(&last_arrival)
            .map(|(sent, last)| last.saturating_sub(*sent) as f64 / 1e6)
            .collect();
        let mean_span = spans.iter().sum::<f64>() / spans.len() as f64;
        out(&format!(
            "{}: fan-out, {}: {messages} messages x {n} subscribers = {} deliveries; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; \
             one message reaches all {n} in {:.1} ms on average = {:.0} messages delivered/s; \
             server CPU {:.1} us per delivery, clients' CPU {:.1} us per delivery",
            self.transport.name(),
            clients.name(),
            all.len(),
            percentile(&all, 0.50) as f64 / 1e3,
            percentile(&all, 0.99) as f64 / 1e3,
            all.last().copied().unwrap_or(0) as f64 / 1e3,
            mean_span * 1e3,
            n as f64 / mean_span,
            fanout_cpu as f64 / (n * messages) as f64,
            clients_cpu as f64 / (n * messages) as f64
        ));
        Ok(sessions)
    }
}

/// Phase 3: `clients` client sessions each send `frames` heartbeat frames of `per_client`
/// devices, pipelined, the last with a receipt.
async fn heartbeat_ingest(clients_n: usize, per_client: usize, frames: usize) -> anyhow::Result<()> {
    let server = start_server(ServerSpec::devices(clients_n, per_client)).await?;
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
                session.feed(plain.clone()).await?;
            }
            session.feed(last).await?;
            session.flush().await?;
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
    if let Ok(n) = std::env::var(FLOOR_WRITER_ENV) {
        return floor_writer(n.parse()?);
    }
    let sessions = env_or("BENCH_SESSIONS", 10_000);
    let messages = env_or("BENCH_FANOUT_MESSAGES", 20);
    let clients_n = env_or("BENCH_CLIENTS", 1_000);
    let per_client = env_or("BENCH_DEVICES_PER_CLIENT", 5);
    let frames = env_or("BENCH_FRAMES_PER_CLIENT", 200);
    let transports = std::env::var("BENCH_TRANSPORTS")
        .unwrap_or_else(|_| "ws,tcp".to_owned())
        .split(',')
        .map(Transport::parse)
        .collect::<anyhow::Result<Vec<_>>>()?;
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
        fanout_floor(sessions, messages, Clients::Tokio).await?;
        fanout_floor(sessions, messages, Clients::Lean).await?;
        for transport in &transports {
            idle_and_fanout(sessions, messages, *transport).await?;
        }
        heartbeat_ingest(clients_n, per_client, frames).await
    })
}

fn num_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
