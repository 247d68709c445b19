//! Cluster mode with the real binary: 2 nodes as separate processes on one PostgreSQL schema and
//! one NATS server, each test under its own `KWANJE_CLUSTER` name. Run only when both
//! `TEST_NATS_URL` and `TEST_DATABASE_URL` are set (the SQLite refusal needs neither).

mod accounts;
mod bus;
mod edits;
mod forward;
mod taxis;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use kwanje::auth::{Claims, Keys, Role};
use kwanje::ownership::{Partition, Partitions};
use kwanje::time::Millis;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_kwanje");
pub(crate) const SECRET: &str = "cluster-test-secret";
const PARTITIONS: u16 = 16;

fn nats_url() -> Option<String> {
    std::env::var("TEST_NATS_URL").ok().filter(|u| !u.is_empty())
}

/// Both engines, or `None` (the test is skipped).
fn engines() -> Option<(String, String)> {
    let nats = nats_url()?;
    let pg = super::support::pg_url()?;
    Some((nats, super::support::fresh_pg_schema(&pg)))
}

fn cluster_name() -> String {
    format!("kwt{}", rand::random::<u32>())
}

pub(crate) fn token(role: Role, client: Option<&str>) -> String {
    let mut claims = Claims::new("cluster-test", role, Millis::now(), Duration::from_secs(3_600));
    claims.client = client.map(str::to_owned);
    Keys::hs256(SECRET.as_bytes()).issue(&claims).unwrap()
}

/// One node: the process, its address, and the log lines it wrote.
pub(crate) struct Node {
    child: Child,
    pub(crate) addr: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Node {
    fn command(db: &str, nats: &str, cluster: &str, id: u16, lease_ms: u64) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .env("KWANJE_BIND", "127.0.0.1:0")
            .env("DATABASE_URL", db)
            .env("KWANJE_NATS_URL", nats)
            .env("KWANJE_CLUSTER", cluster)
            .env("KWANJE_NODE_ID", id.to_string())
            .env("KWANJE_PARTITIONS", PARTITIONS.to_string())
            .env("KWANJE_LEASE_MS", lease_ms.to_string())
            .env("KWANJE_LEASE_RENEW_MS", "500")
            .env("KWANJE_JWT_SECRET", SECRET)
            .env("KWANJE_ADMIN_PASSWORD", "admin-pw")
            .env("KWANJE_HTTP_WORKERS", "1")
            .env("KWANJE_DEVICE_THREADS", "1")
            .env("KWANJE_SHUTDOWN_TIMEOUT_SECS", "1")
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .stdout(Stdio::null());
        cmd
    }

    /// Starts a node and waits for its `serving` line; `Err` with its log when it exits first.
    pub(crate) fn start(mut cmd: Command) -> Result<Node, (Child, String)> {
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("serving addr=").nth(1) {
                    let _ = tx.send(rest.split_whitespace().next().unwrap_or_default().to_owned());
                }
                lines.lock().unwrap().push(line);
            }
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => Ok(Node { child, addr, log }),
            Err(_) => {
                let _ = child.wait();
                let text = log.lock().unwrap().join("\n");
                Err((child, text))
            }
        }
    }

    /// Registers gate PC `client` (asserting 201) and one camera `{client}-cam` on it, beating
    /// every second with a tolerance of 3: the camera's id and the answer to its registration.
    fn register_camera(&self, client: &str) -> (String, (u16, Value)) {
        let admin = token(Role::Admin, None);
        let (s, body) = self.call(
            "POST",
            "/api/v1/clients",
            &admin,
            Some(serde_json::json!({"id": client, "name": client})),
        );
        assert_eq!(s, 201, "{body}");
        let device = format!("{client}-cam");
        let answer = self.call(
            "POST",
            "/api/v1/devices",
            &admin,
            Some(
                serde_json::json!({"id": device, "kind": "lpr_camera", "client_id": client,
                "heartbeat_interval_ms": 1_000, "miss_tolerance": 3}),
            ),
        );
        (device, answer)
    }

    pub(crate) fn call(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("http://{}{path}", self.addr);
        let token = token.to_owned();
        let method = method.to_owned();
        actix_web::rt::System::new().block_on(async move {
            let client = awc::Client::builder().timeout(Duration::from_secs(10)).finish();
            let method = awc::http::Method::from_bytes(method.as_bytes()).expect("an HTTP method");
            let req = client.request(method, url).bearer_auth(token);
            let sent = match body {
                Some(b) => req.send_json(&b).await,
                None => req.send().await,
            };
            let Ok(mut resp) = sent else {
                return (0, Value::Null);
            };
            let bytes = resp.body().await.unwrap_or_default();
            (
                resp.status().as_u16(),
                serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            )
        })
    }

    fn cluster(&self) -> Value {
        self.call("GET", "/api/v1/cluster", &token(Role::Viewer, None), None).1
    }

    pub(crate) fn signal(&self, sig: &str) {
        Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap();
    }

    /// Polls `GET path` as an admin until `fact` holds; after 15 s, panics saying `what`, with
    /// the last answer and the node's log.
    pub(crate) fn wait_get(&self, path: &str, what: &str, fact: impl Fn(&Value) -> bool) -> Value {
        let admin = token(Role::Admin, None);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let (status, body) = self.call("GET", path, &admin, None);
            if status == 200 && fact(&body) {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: {status} {body}\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(crate) fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How many partitions each node owns in `view`, and how many have no owner.
fn owned_by(view: &Value, node: u64) -> usize {
    view["partitions"]
        .as_array()
        .map_or(0, |ps| ps.iter().filter(|p| p["owner"].as_u64() == Some(node)).count())
}

/// Polls `node`'s view until `fact` holds; panics with the last view at `within`.
fn wait_for(node: &Node, within: Duration, what: &str, fact: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let view = node.cluster();
        if fact(&view) {
            return view;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within {within:?}; last view {view}\n{}",
            node.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn split_evenly(view: &Value) -> bool {
    let half = usize::from(PARTITIONS / 2);
    owned_by(view, 1) == half && owned_by(view, 2) == half
}

#[test]
fn cluster_mode_on_sqlite_is_refused_naming_both_settings() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("c.db").display());
    let out = Node::command(&db, "nats://127.0.0.1:1", &cluster_name(), 1, 3_000)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("KWANJE_NATS_URL") && err.contains("DATABASE_URL"), "{err}");
    assert!(!dir.path().join("c.db").exists(), "refused before the store opened");
}

#[test]
fn a_second_node_with_the_same_id_is_refused() {
    let Some((nats, db)) = engines() else { return };
    let cluster = cluster_name();
    let _first = Node::start(Node::command(&db, &nats, &cluster, 1, 3_000)).unwrap_or_else(|(_, log)| panic!("{log}"));
    let refused = Node::start(Node::command(&db, &nats, &cluster, 1, 3_000));
    let Err((mut child, log)) = refused else {
        panic!("a second node 1 started")
    };
    assert!(!child.wait().unwrap().success());
    assert!(
        log.contains("already registered") && log.contains("KWANJE_NODE_ID"),
        "{log}"
    );
}

#[test]
fn two_nodes_split_the_partitions_evenly() {
    let Some((nats, db)) = engines() else { return };
    let cluster = cluster_name();
    // Leases of 60 s: node 2 gets its share only by node 1's hand-over, not by expiry.
    let a = Node::start(Node::command(&db, &nats, &cluster, 1, 60_000)).unwrap_or_else(|(_, log)| panic!("{log}"));
    // Alone, it owns everything.
    wait_for(&a, Duration::from_secs(10), "node 1 owns all", |v| {
        owned_by(v, 1) == usize::from(PARTITIONS)
    });
    let b = Node::start(Node::command(&db, &nats, &cluster, 2, 60_000)).unwrap_or_else(|(_, log)| panic!("{log}"));
    let view = wait_for(&a, Duration::from_secs(15), "hand-over to node 2", split_evenly);
    wait_for(&b, Duration::from_secs(5), "node 2 sees the split", split_evenly);
    assert_eq!(view["cluster"], cluster.as_str());
    assert_eq!(view["node_id"], 1);
    let nodes = view["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 2, "{view}");
    assert!(nodes.iter().all(|n| n["alive"] == true));
    // The fencing token of a handed-over partition is newer than any token before it.
    assert!(view["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["token"].as_u64().unwrap() > 0));
}

#[test]
fn a_node_stopped_with_sigterm_hands_its_partitions_over_without_waiting_for_expiry() {
    let Some((nats, db)) = engines() else { return };
    let cluster = cluster_name();
    // Leases of 60 s: only a release lets the survivor take them within the wait below.
    let a = Node::start(Node::command(&db, &nats, &cluster, 1, 60_000)).unwrap_or_else(|(_, log)| panic!("{log}"));
    wait_for(&a, Duration::from_secs(10), "node 1 owns all", |v| {
        owned_by(v, 1) == usize::from(PARTITIONS)
    });
    let mut b = Node::start(Node::command(&db, &nats, &cluster, 2, 60_000)).unwrap_or_else(|(_, log)| panic!("{log}"));
    wait_for(&a, Duration::from_secs(10), "split", split_evenly);
    b.signal("-TERM");
    assert!(b.child.wait().unwrap().success(), "{}", b.log_text());
    assert!(b.log_text().contains("cluster leases released"), "{}", b.log_text());
    let view = wait_for(&a, Duration::from_secs(15), "node 1 owns all again", |v| {
        owned_by(v, 1) == usize::from(PARTITIONS)
    });
    let nodes = view["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 1, "node 2 deregistered: {view}");
}

/// Two nodes (leases of 3 s) once they split the partitions evenly, with a gate PC id whose
/// partition node 2 owns; `None` (the test is skipped) without NATS and PostgreSQL.
fn two_nodes_split() -> Option<(Node, Node, String)> {
    let (nats, db) = engines()?;
    let cluster = cluster_name();
    let one = Node::start(Node::command(&db, &nats, &cluster, 1, 3_000)).unwrap_or_else(|(_, log)| panic!("{log}"));
    let two = Node::start(Node::command(&db, &nats, &cluster, 2, 3_000)).unwrap_or_else(|(_, log)| panic!("{log}"));
    let view = wait_for(&one, Duration::from_secs(20), "an even split", split_evenly);
    let client = client_owned_by(&view, 2);
    Some((one, two, client))
}

/// A client id whose partition `node` owns in `view`.
fn client_owned_by(view: &Value, node: u64) -> String {
    let partitions = Partitions::new(PARTITIONS).unwrap();
    (0..1_000)
        .map(|i| format!("gate-{i}"))
        .find(|c| {
            let Partition(p) = partitions.of(c);
            view["partitions"][usize::from(p)]["owner"].as_u64() == Some(node)
        })
        .unwrap()
}

#[test]
fn after_kill_9_the_survivor_owns_everything_within_the_lease_and_supervises_its_devices() {
    let Some((nats, db)) = engines() else { return };
    let cluster = cluster_name();
    let lease = Duration::from_millis(3_000);
    let a = Node::start(Node::command(&db, &nats, &cluster, 1, 3_000)).unwrap_or_else(|(_, log)| panic!("{log}"));
    wait_for(&a, Duration::from_secs(10), "node 1 owns all", |v| {
        owned_by(v, 1) == usize::from(PARTITIONS)
    });
    let mut b = Node::start(Node::command(&db, &nats, &cluster, 2, 3_000)).unwrap_or_else(|(_, log)| panic!("{log}"));
    let view = wait_for(&a, Duration::from_secs(10), "split", split_evenly);
    wait_for(&b, Duration::from_secs(5), "node 2 sees the split", split_evenly);
    // A gate PC whose partition node 2 owns, with one device, registered and beating there.
    let client = client_owned_by(&view, 2);
    let admin = token(Role::Admin, None);
    let (device, (s, body)) = b.register_camera(&client);
    assert_eq!(s, 201, "{body}");
    assert_eq!(body["owner_node"], 2, "{body}");
    let beat = token(Role::Client, Some(&client));
    let path = format!("/api/v1/devices/{device}/heartbeat");
    let ok = serde_json::json!({"status": "ok"});
    let (s, body) = b.call("POST", &path, &beat, Some(ok.clone()));
    assert_eq!((s, body["state"].as_str()), (200, Some("up")), "{body}");

    b.signal("-KILL");
    let killed = Instant::now();
    let _ = b.child.wait();
    // The device keeps beating, at the survivor, every 500 ms: refused (503) while nobody
    // owns its partition, accepted once node 1 took over.
    let mut accepted_after_takeover = 0;
    let mut owned_all_after = None;
    while accepted_after_takeover < 10 {
        let (s, body) = a.call("POST", &path, &beat, Some(ok.clone()));
        if s == 200 {
            assert_eq!(body["state"], "up", "{body}");
            accepted_after_takeover += 1;
        }
        if owned_all_after.is_none() && owned_by(&a.cluster(), 1) == usize::from(PARTITIONS) {
            owned_all_after = Some(killed.elapsed());
        }
        assert!(
            killed.elapsed() < Duration::from_secs(30),
            "no takeover: {}",
            a.log_text()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let took = owned_all_after.expect("node 1 owns all");
    eprintln!("figure: every partition owned by the survivor {took:?} after kill -9 (lease 3 s, renew 0.5 s)");
    assert!(
        took <= lease + Duration::from_secs(1) + Duration::from_millis(600),
        "took {took:?}"
    );
    // Ten beats after the takeover span more than the 3 s deadline window: never marked down.
    let (s, dev) = a.call("GET", &format!("/api/v1/devices/{device}"), &admin, None);
    assert_eq!((s, dev["state"].as_str()), (200, Some("up")), "{dev}");
    assert_eq!(dev["owner_node"], 1, "{dev}");
    let (_, transitions) = a.call("GET", &format!("/api/v1/devices/{device}/transitions"), &admin, None);
    let items = transitions["items"].as_array().cloned().unwrap_or_default();
    assert!(items.iter().all(|t| t["to_state"] != "down"), "{transitions}");
    assert!(a.log_text().contains("node_takeover"), "{}", a.log_text());
    // One minor node_takeover alert about node 2 (the earlier hand-over to it raised none).
    let (_, alerts) = a.call("GET", "/api/v1/alerts", &admin, None);
    let takeovers: Vec<&Value> = alerts["items"]
        .as_array()
        .map(|items| items.iter().filter(|a| a["kind"] == "node_takeover").collect())
        .unwrap_or_default();
    assert_eq!(takeovers.len(), 1, "{alerts}");
    let alert = takeovers[0];
    assert_eq!(
        (
            &alert["subject_type"],
            &alert["subject_id"],
            &alert["severity"],
            &alert["state"]
        ),
        (
            &Value::from("server"),
            &Value::from("node-2"),
            &Value::from("minor"),
            &Value::from("open")
        ),
        "{alert}"
    );
    let detail = alert["detail"].as_str().unwrap_or_default();
    assert!(
        detail.starts_with("node 1 took over partitions ") && detail.ends_with(" from node 2"),
        "{alert}"
    );
    // The new owner recorded its token in the store before starting the device.
    let Partition(p) = Partitions::new(PARTITIONS).unwrap().of(&client);
    let token = a.cluster()["partitions"][usize::from(p)]["token"].as_i64().unwrap();
    let fence = recorded_fence(&db, p);
    assert_eq!(fence, (token, 1), "partition {p}");
}

#[derive(diesel::QueryableByName)]
struct FenceRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    token: i64,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    node_id: i32,
}

/// The token and node `partition_fences` holds for partition `p`.
fn recorded_fence(db: &str, p: u16) -> (i64, i32) {
    use diesel::{Connection, RunQueryDsl};
    let mut conn = diesel::PgConnection::establish(db).unwrap();
    let rows: Vec<FenceRow> = diesel::sql_query(format!(
        "SELECT token, node_id FROM partition_fences WHERE partition_id = {p}"
    ))
    .load(&mut conn)
    .unwrap();
    rows.first().map(|r| (r.token, r.node_id)).unwrap_or_default()
}

#[actix_web::test]
async fn a_single_node_shows_itself_owning_every_partition_with_token_zero() {
    for backend in super::support::backends() {
        let server = super::support::Server::start_with(backend, |c| {
            c.partitions = 8;
            c.node_id = 3;
        })
        .await;
        let (status, view) = server.get("/api/v1/cluster").await;
        assert_eq!(status, 200, "{view}");
        assert_eq!(view["cluster"], "kwanje");
        assert_eq!(view["node_id"], 3);
        assert_eq!(view["nodes"].as_array().map(Vec::len), Some(1), "{view}");
        assert_eq!(view["nodes"][0]["id"], 3);
        assert_eq!(view["nodes"][0]["alive"], true);
        assert_eq!(
            view["nodes"][0]["partitions"],
            serde_json::json!([0, 1, 2, 3, 4, 5, 6, 7])
        );
        let partitions = view["partitions"].as_array().unwrap();
        assert_eq!(partitions.len(), 8);
        assert!(partitions.iter().all(|p| p["owner"] == 3 && p["token"] == 0), "{view}");
        // The live views name the node running the device.
        server.register("gate-1", &["cam-1"], 1_000, 3).await;
        let (_, device) = server.get("/api/v1/devices/cam-1").await;
        assert_eq!(device["owner_node"], 3, "{device}");
        let (_, clients) = server.get("/api/v1/clients").await;
        assert_eq!(clients["items"][0]["owner_node"], 3, "{clients}");
        // A viewer may look; a driver may not.
        let viewer = server.token("v", kwanje::auth::Role::Viewer, None);
        assert_eq!(server.call("GET", "/api/v1/cluster", Some(&viewer), None).await.0, 200);
        let driver = server.token("d", kwanje::auth::Role::Driver, None);
        assert_eq!(server.call("GET", "/api/v1/cluster", Some(&driver), None).await.0, 403);
        server.stop().await;
    }
}

async fn text(s: &super::support::Server, path: &str) -> (u16, String) {
    let mut resp = awc::Client::default().get(s.url(path)).send().await.unwrap();
    let body = resp.body().await.unwrap_or_default();
    (resp.status().as_u16(), String::from_utf8_lossy(&body).into_owned())
}

/// Polls `path` until its answer satisfies `fact`.
async fn wait_text(s: &super::support::Server, path: &str, what: &str, fact: impl Fn(u16, &str) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = text(s, path).await;
        if fact(status, &body) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: last {status} {body}");
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
}

#[actix_web::test]
async fn cut_from_nats_a_node_is_not_ready_and_gives_its_leases_up_before_they_expire() {
    let (Some(nats), Some(_)) = (nats_url(), super::support::pg_url()) else {
        return;
    };
    let upstream = std::net::ToSocketAddrs::to_socket_addrs(nats.trim_start_matches("nats://"))
        .unwrap()
        .next()
        .unwrap();
    let proxy = super::support::proxy::ChaosProxy::start(upstream).await;
    let cluster = cluster_name();
    let server = super::support::Server::start_with(super::support::Backend::Postgres, |c| {
        c.nats_url = Some(format!("nats://{}", proxy.addr));
        c.cluster = cluster.clone();
        c.partitions = PARTITIONS;
        c.lease_ms = 3_000;
        c.lease_renew_ms = 500;
    })
    .await;
    let all = format!("kwanje_cluster_leases_held {PARTITIONS}");
    wait_text(&server, "/metrics", "every lease held", |_, m| m.contains(&all)).await;
    wait_text(&server, "/readyz", "ready", |s, _| s == 200).await;
    proxy.cut();
    wait_text(&server, "/readyz", "not ready without NATS", |s, _| s == 503).await;
    // No renewal gets through: every lease lapses here (2.5 s after its last renewal was sent,
    // before the 3 s expiry in the bucket).
    wait_text(&server, "/metrics", "leases given up", |_, m| {
        m.contains("kwanje_cluster_leases_held 0")
    })
    .await;
    proxy.restore();
    wait_text(&server, "/readyz", "ready again", |s, _| s == 200).await;
    wait_text(&server, "/metrics", "leases taken again", |_, m| m.contains(&all)).await;
    server.stop().await;
}

impl Node {
    /// The body of a GET as text (for `/metrics`).
    fn text(&self, path: &str) -> String {
        let url = format!("http://{}{path}", self.addr);
        actix_web::rt::System::new().block_on(async move {
            let client = awc::Client::builder().timeout(Duration::from_secs(10)).finish();
            let Ok(mut resp) = client.get(url).send().await else {
                return String::new();
            };
            let bytes = resp.body().await.unwrap_or_default();
            String::from_utf8_lossy(&bytes).into_owned()
        })
    }
}

/// A counter's value in a Prometheus text body (0 when absent).
fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            let (k, v) = l.split_once(' ')?;
            (k == name || k == format!("{name}_total")).then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0)
}

/// The device's alerts of `kind`, as node `n` lists them.
fn alerts_of(n: &Node, device: &str, kind: &str) -> Vec<Value> {
    let (_, body) = n.call("GET", "/api/v1/alerts", &token(Role::Admin, None), None);
    body["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a["subject_id"] == device && a["kind"] == kind)
        .collect()
}

#[test]
fn a_paused_owner_resumed_after_a_takeover_is_fenced_and_stops_its_actors() {
    let Some((nats, db)) = engines() else { return };
    let cluster = cluster_name();
    let a = Node::start(Node::command(&db, &nats, &cluster, 1, 2_000)).unwrap_or_else(|(_, log)| panic!("{log}"));
    wait_for(&a, Duration::from_secs(10), "node 1 owns all", |v| {
        owned_by(v, 1) == usize::from(PARTITIONS)
    });
    let b = Node::start(Node::command(&db, &nats, &cluster, 2, 2_000)).unwrap_or_else(|(_, log)| panic!("{log}"));
    let view = wait_for(&a, Duration::from_secs(10), "split", split_evenly);
    wait_for(&b, Duration::from_secs(5), "node 2 sees the split", split_evenly);
    // A gate PC whose partition node 1 owns, with one device beating there.
    let client = client_owned_by(&view, 1);
    let Partition(p) = Partitions::new(PARTITIONS).unwrap().of(&client);
    let old_token = view["partitions"][usize::from(p)]["token"].as_i64().unwrap();
    let admin = token(Role::Admin, None);
    let (device, (s, body)) = a.register_camera(&client);
    assert_eq!((s, body["owner_node"].as_u64()), (201, Some(1)), "{body}");
    let beat = token(Role::Client, Some(&client));
    let (s, body) = a.call(
        "POST",
        &format!("/api/v1/devices/{device}/heartbeat"),
        &beat,
        Some(serde_json::json!({"status": "ok"})),
    );
    assert_eq!((s, body["state"].as_str()), (200, Some("up")), "{body}");

    // Stored as up (the new owner restores from the row), then node 1 stalls past its 2 s
    // lease with the device's deadline armed; the device goes silent.
    let deadline = Instant::now() + Duration::from_secs(10);
    while stored_state(&db, &device) != "up" {
        assert!(Instant::now() < deadline, "not stored as up: {}", a.log_text());
        std::thread::sleep(Duration::from_millis(100));
    }
    a.signal("-STOP");
    let taken = wait_for(&b, Duration::from_secs(20), "node 2 takes everything over", |v| {
        owned_by(v, 2) == usize::from(PARTITIONS)
    });
    let new_token = taken["partitions"][usize::from(p)]["token"].as_i64().unwrap();
    assert!(new_token > old_token, "{old_token} -> {new_token}");
    // The new owner supervises the silent device: down, one heartbeat_missed alert.
    let deadline = Instant::now() + Duration::from_secs(20);
    while alerts_of(&b, &device, "heartbeat_missed").is_empty() {
        assert!(
            Instant::now() < deadline,
            "no alert on node 2 for {device} partition {p}: {}\nnode 1: {}",
            b.log_text(),
            a.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // Node 1 wakes with its own deadline long past: its late writes carry the old token.
    a.signal("-CONT");
    let resumed = wait_for(
        &a,
        Duration::from_secs(10),
        "node 1 no longer owns the partition",
        |v| v["partitions"][usize::from(p)]["owner"].as_u64() == Some(2),
    );
    // Node 2's token, or a newer one if the partition moved again since (hand-over).
    let now_token = resumed["partitions"][usize::from(p)]["token"].as_i64().unwrap();
    assert!(now_token >= new_token, "{new_token} -> {now_token}");
    // Node 1 stopped the partition's device actor (lapsed locally or seen taken).
    let stopped = format!("partition lost partition={p} devices_stopped=1");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !a.log_text().contains(&stopped) {
        assert!(Instant::now() < deadline, "{stopped}: {}", a.log_text());
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = a.log_text();
    let fenced = metric(&a.text("/metrics"), "kwanje_alert_records_fenced");
    // Node 1 either wrote its late alert and had it refused, or stopped the actor first.
    let (_, transitions) = b.call("GET", &format!("/api/v1/devices/{device}/transitions"), &admin, None);
    let downs = transitions["items"]
        .as_array()
        .map_or(0, |ts| ts.iter().filter(|t| t["to_state"] == "down").count());
    assert_eq!(downs, 1, "fenced={fenced} {transitions}\n{log}");
    let alerts = alerts_of(&b, &device, "heartbeat_missed");
    assert_eq!(alerts.len(), 1, "fenced={fenced} {alerts:?}");
    assert_eq!(alerts[0]["count"], 1, "fenced={fenced} {alerts:?}");
    let (fence, _) = recorded_fence(&db, p);
    assert!(fence >= new_token, "fence {fence}, node 2 took over with {new_token}");
    eprintln!("figure: node 1 refused {fenced} late record(s) after SIGCONT");
}

#[derive(diesel::QueryableByName)]
struct StateRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    state: String,
}

/// The device's state as its row holds it ("" when there is no row).
fn stored_state(db: &str, device: &str) -> String {
    use diesel::{Connection, RunQueryDsl};
    let mut conn = diesel::PgConnection::establish(db).unwrap();
    let rows: Vec<StateRow> = diesel::sql_query("SELECT state FROM devices WHERE id = $1")
        .bind::<diesel::sql_types::Text, _>(device)
        .load(&mut conn)
        .unwrap();
    rows.into_iter().next().map(|r| r.state).unwrap_or_default()
}
