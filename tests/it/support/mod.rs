//! Test support: start a server, mint tokens, call the API.

pub mod proxy;
pub mod receiver;
pub mod scrape;

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use actix_web::web;
use diesel::connection::SimpleConnection;
use diesel::Connection;
use kwanje::auth::{Claims, Role};
use kwanje::config::Config;
use kwanje::http::AppState;
use kwanje::time::{Clock, Millis, SystemClock};
use serde_json::Value;

/// Which database a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// SQLite always; PostgreSQL too when `TEST_DATABASE_URL` is set.
pub fn backends() -> Vec<Backend> {
    let mut all = vec![Backend::Sqlite];
    if pg_url().is_some() {
        all.push(Backend::Postgres);
    }
    all
}

pub fn pg_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty())
}

/// A database URL for one test: a fresh SQLite file, or a fresh PostgreSQL schema.
pub fn database_url(backend: Backend, dir: &tempfile::TempDir) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.path().join("kwanje.db").display()),
        Backend::Postgres => fresh_pg_schema(&pg_url().expect("TEST_DATABASE_URL")),
    }
}

/// Creates an empty schema and returns a URL whose connections use it.
pub fn fresh_pg_schema(base: &str) -> String {
    let schema = format!("kw_test_{}", rand::random::<u64>());
    let mut conn = diesel::PgConnection::establish(base).expect("connect to TEST_DATABASE_URL");
    conn.batch_execute(&format!("CREATE SCHEMA {schema}"))
        .expect("create schema");
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-csearch_path%3D{schema}")
}

pub struct Server {
    pub base: String,
    /// The plain TCP STOMP address, when the test set `stomp_tcp`.
    pub stomp_tcp: Option<std::net::SocketAddr>,
    pub state: web::Data<AppState>,
    pub admin: String,
    handle: ServerHandle,
    /// `Running::wait`, which ends once the actors are stopped and their state flushed.
    running: actix_web::rt::task::JoinHandle<std::io::Result<()>>,
    backend: Backend,
    url: String,
    clock: Arc<dyn Clock>,
    /// What `call` trusts when the server serves TLS (see [`Server::trusting`]).
    trust: Option<Arc<rustls::ClientConfig>>,
    _dir: tempfile::TempDir,
}

impl Server {
    pub async fn start(backend: Backend) -> Server {
        Server::start_with(backend, |_| {}).await
    }

    pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let url = database_url(backend, &dir);
        Server::start_on(backend, &url, dir, tweak).await
    }

    pub async fn start_on(
        backend: Backend,
        url: &str,
        dir: tempfile::TempDir,
        tweak: impl FnOnce(&mut Config),
    ) -> Server {
        Server::start_clocked_on(backend, url, dir, Arc::new(SystemClock), tweak).await
    }

    /// A server whose services read `clock` (a [`kwanje::time::ManualClock`] steps a morning).
    pub async fn start_clocked(backend: Backend, clock: Arc<dyn Clock>, tweak: impl FnOnce(&mut Config)) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let url = database_url(backend, &dir);
        Server::start_clocked_on(backend, &url, dir, clock, tweak).await
    }

    pub async fn start_clocked_on(
        backend: Backend,
        url: &str,
        dir: tempfile::TempDir,
        clock: Arc<dyn Clock>,
        tweak: impl FnOnce(&mut Config),
    ) -> Server {
        let mut config = Config::with_database(url);
        config.bind = "127.0.0.1:0".into();
        config.admin_password = Some("admin-pw".into());
        config.http_workers = Some(2);
        config.shutdown_timeout_secs = 1;
        // Tests that close a gate PC's session expect it offline at once; the grace has its own.
        config.client_disconnect_grace_ms = 0;
        tweak(&mut config);
        let running = kwanje::app::start_with_clock(config, false, clock.clone())
            .await
            .expect("server starts");
        let scheme = match running.state.config.tls_files() {
            Ok(Some(_)) => "https",
            _ => "http",
        };
        let base = format!("{scheme}://{}", running.addr);
        let stomp_tcp = running.stomp_tcp;
        let state = running.state.clone();
        let handle = running.handle();
        let running = actix_web::rt::spawn(running.wait());
        let admin = token_for(&state, "admin", Role::Admin, None);
        Server {
            base,
            stomp_tcp,
            state,
            admin,
            handle,
            running,
            backend,
            url: url.to_owned(),
            clock,
            trust: None,
            _dir: dir,
        }
    }

    /// `call` (and what uses it) over TLS trusting `tls` (a TLS server's test CA).
    pub fn trusting(mut self, tls: Arc<rustls::ClientConfig>) -> Server {
        self.trust = Some(tls);
        self
    }

    /// Stops this server gracefully and starts a new one on the same database and clock.
    pub async fn restart(self, tweak: impl FnOnce(&mut Config)) -> Server {
        let (backend, url, clock, dir) = self.shut_down().await;
        Server::start_clocked_on(backend, &url, dir, clock, tweak).await
    }

    /// Stops this server gracefully and waits until `Running::wait` has stopped its actors and
    /// flushed their state (it does so after the HTTP server ends).
    pub async fn shut_down(self) -> (Backend, String, Arc<dyn Clock>, tempfile::TempDir) {
        self.stop().await;
        let Server {
            backend,
            url,
            clock,
            _dir,
            running,
            ..
        } = self;
        running
            .await
            .expect("Running::wait does not panic")
            .expect("the server stops cleanly");
        (backend, url, clock, _dir)
    }

    /// The server's `DATABASE_URL`.
    pub fn database_url(&self) -> &str {
        &self.url
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn token(&self, sub: &str, role: Role, client: Option<&str>) -> String {
        token_for(&self.state, sub, role, client)
    }

    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }

    /// Sends a request and returns the status and the JSON body (Null when there is none).
    pub async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
        let client = match &self.trust {
            Some(tls) => awc::Client::builder()
                .connector(awc::Connector::new().rustls_0_23(tls.clone()))
                .timeout(Duration::from_secs(10))
                .finish(),
            None => awc::Client::builder().timeout(Duration::from_secs(10)).finish(),
        };
        let mut req = client.request(method.parse().unwrap(), self.url(path));
        if let Some(token) = token {
            req = req.insert_header(("Authorization", format!("Bearer {token}")));
        }
        let mut resp = match body {
            Some(body) => req.send_json(&body).await.unwrap(),
            None => req.send().await.unwrap(),
        };
        let status = resp.status().as_u16();
        let bytes = resp.body().await.unwrap();
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        (status, json)
    }

    /// `POST /api/v1/auth/token` with a username and password, no token.
    pub async fn login(&self, username: &str, password: &str) -> (u16, Value) {
        let body = serde_json::json!({"username": username, "password": password});
        self.call("POST", "/api/v1/auth/token", None, Some(body)).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let admin = self.admin.clone();
        self.call("GET", path, Some(&admin), None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let admin = self.admin.clone();
        self.call("POST", path, Some(&admin), Some(body)).await
    }

    /// Registers a client and the devices named, each with the given interval and tolerance.
    pub async fn register(&self, client: &str, devices: &[&str], interval_ms: u64, tolerance: u32) {
        let (status, body) = self
            .post("/api/v1/clients", serde_json::json!({"id": client, "name": client}))
            .await;
        assert!(status == 201 || status == 409, "client: {status} {body}");
        for id in devices {
            let (status, body) = self
                .post(
                    "/api/v1/devices",
                    serde_json::json!({
                        "id": id, "kind": "lpr_camera", "client_id": client,
                        "heartbeat_interval_ms": interval_ms, "miss_tolerance": tolerance
                    }),
                )
                .await;
            assert_eq!(status, 201, "device {id}: {body}");
        }
    }

    pub async fn heartbeat(&self, client: &str, device: &str, status: &str) -> (u16, Value) {
        let token = self.token(client, Role::Client, Some(client));
        let path = format!("/api/v1/devices/{device}/heartbeat");
        self.call(
            "POST",
            &path,
            Some(&token),
            Some(serde_json::json!({ "status": status })),
        )
        .await
    }

    /// A heartbeat for `device` sent by an admin: it feeds the device and says nothing of its
    /// gate PC's presence.
    pub async fn admin_heartbeat(&self, device: &str, status: &str) -> (u16, Value) {
        let path = format!("/api/v1/devices/{device}/heartbeat");
        self.post(&path, serde_json::json!({ "status": status })).await
    }

    /// A STOMP session of the gate PC `client`, held open while the result lives: the client is
    /// online whatever its devices do, so a device that falls silent is down (a gate PC that
    /// only heartbeats over HTTP would go offline with it, and its devices unreachable).
    pub async fn gate_pc_online(&self, client: &str) -> crate::realtime::client::Stomp {
        let token = self.token(client, Role::Client, Some(client));
        let mut session = crate::realtime::client::Stomp::open(&self.base, &["v12.stomp"]).await;
        session.connect(&token, "1.2").await;
        session
    }

    /// HTTP heartbeats (`ok`) for `device` as `client`, every 50 ms, until `stop` is set:
    /// keeps a device up (a standby) while the test does something else.
    pub fn keep_alive(
        &self,
        client: &str,
        device: &str,
        stop: std::rc::Rc<std::cell::Cell<bool>>,
    ) -> actix_web::rt::task::JoinHandle<()> {
        let url = self.url(&format!("/api/v1/devices/{device}/heartbeat"));
        let token = self.token(client, Role::Client, Some(client));
        actix_web::rt::spawn(async move {
            let http = awc::Client::default();
            while !stop.get() {
                let _ = http
                    .post(&url)
                    .bearer_auth(&token)
                    .send_json(&serde_json::json!({"status": "ok"}))
                    .await;
                actix_web::rt::time::sleep(Duration::from_millis(50)).await;
            }
        })
    }

    /// Polls `GET path` until `check` holds, or panics after `within`.
    pub async fn wait_for(&self, path: &str, within: Duration, check: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let (status, body) = self.get(path).await;
            if status == 200 && check(&body) {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting on {path}; last: {status} {body}"
            );
            actix_web::rt::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A driver token for the taxi `plate`.
pub fn driver_token(state: &AppState, plate: &str) -> String {
    let mut claims = Claims::new(
        &format!("driver-{plate}"),
        Role::Driver,
        Millis::now(),
        Duration::from_secs(600),
    );
    claims.taxi = Some(plate.to_owned());
    state.keys.issue(&claims).unwrap()
}

pub fn token_for(state: &AppState, sub: &str, role: Role, client: Option<&str>) -> String {
    let mut claims = Claims::new(sub, role, Millis::now(), Duration::from_secs(600));
    claims.client = client.map(str::to_owned);
    state.keys.issue(&claims).unwrap()
}

/// Waits until `fact` holds, checking every 50 ms; panics naming `what` after `within`.
pub async fn until(what: &str, within: Duration, fact: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + within;
    while !fact() {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}
