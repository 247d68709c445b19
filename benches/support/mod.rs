//! What the benches share: the server as a separate process on a prepared database, a bare
//! HTTP GET, tokens, and a STOMP session over WebSocket or plain TCP. Included by each bench with
//! `mod support;`.
#![allow(dead_code)]

pub mod lean;

use std::io::Write as _;
use std::process::{Child, Command as Process, Stdio};
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
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

pub const SECRET: &str = "realtime-bench-secret-0123456789abcdef";
/// Connections opened at once (the listen backlog must not overflow).
pub const CONNECT_CONCURRENCY: usize = 200;
pub const TOKEN_TTL: Duration = Duration::from_secs(3_600);
/// `sysconf(_SC_CLK_TCK)` on Linux.
pub const CLOCK_TICKS_PER_SEC: u64 = 100;
/// The bench client's WebSocket read buffer.
pub const CLIENT_READ_BUFFER: usize = 4 * 1024;

pub fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

pub fn out(line: &str) {
    let _ = writeln!(std::io::stdout(), "{line}");
}

/// The server under test, killed on drop.
pub struct ServerProcess {
    pub child: Child,
    pub addr: String,
    /// Where the server listens for plain TCP STOMP.
    pub tcp_addr: String,
    /// The server's database, for a bench that counts what was stored.
    pub url: String,
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
    pub fn cpu_us(&self) -> anyhow::Result<u64> {
        cpu_us_of(&self.child.id().to_string())
    }

    pub fn rss_kib(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).context("no VmRSS")?;
        Ok(line.split_whitespace().nth(1).context("VmRSS value")?.parse()?)
    }
}

/// CPU time (user + system) process `pid` (or `self`) has used, in microseconds.
pub fn cpu_us_of(pid: &str) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which is in parentheses): utime is the 12th, stime the 13th.
    let after = stat.rsplit_once(')').context("stat format")?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    Ok(ticks * 1_000_000 / CLOCK_TICKS_PER_SEC)
}

pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// What [`start_server`] prepares.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    pub clients: usize,
    pub per_client: usize,
    pub interval_ms: i64,
    pub tolerance: i32,
    /// A PostgreSQL URL (a fresh schema is made in it); SQLite in a temporary file when `None`.
    pub postgres: Option<String>,
}

impl ServerSpec {
    pub fn devices(clients: usize, per_client: usize) -> ServerSpec {
        ServerSpec {
            clients,
            per_client,
            interval_ms: 60_000,
            tolerance: 3,
            postgres: None,
        }
    }
}

/// Creates an empty schema in `base` and returns a URL whose connections use it.
pub fn fresh_pg_schema(base: &str) -> anyhow::Result<String> {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let schema = format!("kw_bench_{}", std::process::id());
    let mut conn = diesel::PgConnection::establish(base)?;
    conn.batch_execute(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
    ))?;
    let sep = if base.contains('?') { '&' } else { '?' };
    Ok(format!("{base}{sep}options=-csearch_path%3D{schema}"))
}

/// Prepares a database with `spec.clients` clients of `spec.per_client` devices each, then
/// starts the binary on it.
pub async fn start_server(spec: ServerSpec) -> anyhow::Result<ServerProcess> {
    start_server_with(spec, &[]).await
}

/// [`start_server`] with more environment variables for the server (set after the bench's own,
/// so they may override them).
pub async fn start_server_with(spec: ServerSpec, env: &[(&str, &str)]) -> anyhow::Result<ServerProcess> {
    let ServerSpec {
        clients: clients_n,
        per_client,
        interval_ms,
        tolerance,
        postgres,
    } = spec;
    let (url, dir) = prepare_store(ServerSpec {
        clients: clients_n,
        per_client,
        interval_ms,
        tolerance,
        postgres,
    })?;
    spawn_server(url, dir, env).await
}

/// A database with `spec.clients` clients (`gate-{n}`) of `spec.per_client` devices each
/// (`dev-{n}-{d}`): its URL, and the directory a SQLite file lives in.
pub fn prepare_store(spec: ServerSpec) -> anyhow::Result<(String, tempfile::TempDir)> {
    let ServerSpec {
        clients: clients_n,
        per_client,
        interval_ms,
        tolerance,
        postgres,
    } = spec;
    let dir = tempfile::tempdir()?;
    let url = match postgres {
        Some(base) => fresh_pg_schema(&base)?,
        None => format!("sqlite://{}", dir.path().join("bench.db").display()),
    };
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
                    decommissioned_ms: None,
                },
            )?;
            for d in 0..per_client {
                devices::insert(
                    c,
                    &devices::Device::registered(
                        &format!("dev-{n}-{d}"),
                        "lpr_camera",
                        &id,
                        interval_ms,
                        tolerance,
                        now,
                    ),
                )?;
            }
        }
        Ok(())
    })?;
    drop(store);
    Ok((url, dir))
}

/// Starts the binary on the database at `url` (`dir` kept while it runs) and waits until it
/// answers.
pub async fn spawn_server(url: String, dir: tempfile::TempDir, env: &[(&str, &str)]) -> anyhow::Result<ServerProcess> {
    let addr = format!("127.0.0.1:{}", free_port()?);
    let tcp_addr = format!("127.0.0.1:{}", free_port()?);
    let mut server = Process::new(env!("CARGO_BIN_EXE_kwanje"));
    server
        .arg("serve")
        .env("KWANJE_BIND", &addr)
        .env("KWANJE_STOMP_TCP", &tcp_addr)
        .env("DATABASE_URL", &url)
        .env("KWANJE_JWT_SECRET", SECRET)
        .env("KWANJE_ADMIN_PASSWORD", "bench-admin")
        // Thousands of sessions from one loopback address, under one token: no limits.
        .env("KWANJE_MAX_CONNECTIONS_PER_ADDR", "0")
        .env("KWANJE_MAX_SESSIONS_PER_PRINCIPAL", "0")
        .env(
            "RUST_LOG",
            std::env::var("BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::null());
    for (name, value) in env {
        server.env(name, value);
    }
    let child = server.spawn().context("starting the kwanje binary")?;
    let server = ServerProcess {
        child,
        addr,
        tcp_addr,
        url,
        _dir: dir,
    };
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
pub async fn http_get(addr: &str, path: &str, token: Option<&str>) -> anyhow::Result<String> {
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

/// A bare HTTP/1.1 request with an optional JSON body: the status and the body.
pub async fn http_call(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&serde_json::Value>,
) -> anyhow::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr).await?;
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let (head, body) = response.split_once("\r\n\r\n").context("no header end")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("no status")?;
    Ok((status, body.to_owned()))
}

/// [`http_call`] that must answer 2xx.
pub async fn http_ok(
    addr: &str,
    method: &str,
    path: &str,
    token: &str,
    body: serde_json::Value,
) -> anyhow::Result<String> {
    let (status, answer) = http_call(addr, method, path, Some(token), Some(&body)).await?;
    if !(200..300).contains(&status) {
        bail!("{method} {path}: {status} {answer}");
    }
    Ok(answer)
}

pub fn token(keys: &Keys, sub: &str, role: Role, client: Option<&str>) -> String {
    let mut claims = Claims::new(sub, role, Millis::now(), TOKEN_TTL);
    claims.client = client.map(str::to_owned);
    keys.issue(&claims).expect("a token")
}

pub fn frame_text(command: &str, headers: &[(&str, &str)], body: &str) -> String {
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

/// What a bench STOMP session travels over.
pub enum Io {
    Ws(Box<WebSocketStream<TcpStream>>),
    Tcp(TcpStream),
}

/// A bench STOMP session.
pub struct Session {
    io: Io,
    decoder: Decoder,
    buf: BytesMut,
}

impl Session {
    /// A session over WebSocket at `addr` (`/ws`).
    pub async fn open(addr: &str, token: &str) -> anyhow::Result<Session> {
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
        Self::connect(Io::Ws(Box::new(ws)), token).await
    }

    /// A session over plain TCP at `tcp_addr` (`KWANJE_STOMP_TCP`).
    pub async fn open_tcp(tcp_addr: &str, token: &str) -> anyhow::Result<Session> {
        let stream = TcpStream::connect(tcp_addr).await?;
        stream.set_nodelay(true)?;
        Self::connect(Io::Tcp(stream), token).await
    }

    async fn connect(io: Io, token: &str) -> anyhow::Result<Session> {
        let mut session = Session {
            io,
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

    pub async fn send(&mut self, text: String) -> anyhow::Result<()> {
        self.feed(text).await?;
        self.flush().await
    }

    /// Queues a frame without flushing (WebSocket); writes it (TCP).
    pub async fn feed(&mut self, text: String) -> anyhow::Result<()> {
        match &mut self.io {
            Io::Ws(ws) => ws.feed(Message::text(text)).await?,
            Io::Tcp(tcp) => tcp.write_all(text.as_bytes()).await?,
        }
        Ok(())
    }

    pub async fn flush(&mut self) -> anyhow::Result<()> {
        match &mut self.io {
            Io::Ws(ws) => ws.flush().await?,
            Io::Tcp(tcp) => tcp.flush().await?,
        }
        Ok(())
    }

    pub async fn recv(&mut self) -> anyhow::Result<Frame> {
        loop {
            while let Some(item) = self.decoder.decode(&mut self.buf)? {
                if let Inbound::Frame(frame) = item {
                    return Ok(frame);
                }
            }
            match &mut self.io {
                Io::Ws(ws) => match ws.next().await {
                    Some(Ok(Message::Text(text))) => self.buf.extend_from_slice(text.as_bytes()),
                    Some(Ok(Message::Binary(data))) => self.buf.extend_from_slice(&data),
                    Some(Ok(_)) => {}
                    Some(Err(err)) => bail!("socket error: {err}"),
                    None => bail!("socket closed"),
                },
                Io::Tcp(tcp) => {
                    self.buf.reserve(CLIENT_READ_BUFFER);
                    if tcp.read_buf(&mut self.buf).await? == 0 {
                        bail!("socket closed");
                    }
                }
            }
        }
    }

    /// The session's socket, for a [`lean`] reader; only between frames (nothing buffered).
    pub fn into_std(self) -> anyhow::Result<std::net::TcpStream> {
        if !self.buf.is_empty() {
            bail!("{} bytes of a frame are still buffered", self.buf.len());
        }
        let stream = match self.io {
            Io::Ws(ws) => ws.into_inner(),
            Io::Tcp(tcp) => tcp,
        };
        Ok(stream.into_std()?)
    }

    pub async fn expect(&mut self, command: Command) -> anyhow::Result<Frame> {
        let frame = self.recv().await?;
        if frame.command != command {
            bail!("expected {command}, got {frame:?}");
        }
        Ok(frame)
    }
}

/// One sample of a `/metrics` scrape `text`: the line whose series is `series` exactly (labels
/// included, as `kwanje_devices{state="up"}`), or `series` with `_total` (a counter); 0 when
/// there is none.
pub fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            let counter = k.strip_suffix("_total").is_some_and(|k| k == series);
            (k == series || counter).then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0.0)
}

pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}
