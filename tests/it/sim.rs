//! `kwanje sim` and `kwanje demo` against the real server: provisioning through the API is
//! idempotent; simulated gate PCs hold sessions, keep their devices up and answer commands; the
//! demo binary serves a living airport and stops cleanly on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kwanje::sim::api::Api;
use kwanje::sim::link::Transport;
use kwanje::sim::provision::provision;
use kwanje::sim::run::{self, Options};
use kwanje::sim::site::Site;
use serde_json::{json, Value};

use crate::support::{backends, Server};

const BIN: &str = env!("CARGO_BIN_EXE_kwanje");
const WAIT: Duration = Duration::from_secs(20);

#[actix_web::test]
async fn provisioning_twice_reuses_what_exists() {
    for backend in backends() {
        let s = Server::start(backend).await;
        let api = Api::new(&s.base, &s.admin);
        let site = Site::airport(4, 6, 5);
        let total = site.clients().count() + site.device_count() + site.taxis.len();
        let first = provision(&api, &site).await.unwrap();
        assert_eq!((first.created, first.reused), (total, 0));
        let second = provision(&api, &site).await.unwrap();
        assert_eq!((second.created, second.reused), (0, total), "{backend:?}");
        assert_eq!(second.tokens.len(), site.clients().count());
        let (_, devices) = s.get("/api/v1/devices?limit=1000").await;
        assert_eq!(devices["items"].as_array().unwrap().len(), site.device_count());
        // A provisioned token is a client's, good for its own devices only.
        let pc = site.clients().next().unwrap().client;
        let token = &second.tokens[&pc.id];
        let own = format!("/api/v1/devices/{}/heartbeat", pc.devices[0].id);
        let (status, _) = s.call("POST", &own, Some(token), Some(json!({"status": "ok"}))).await;
        assert_eq!(status, 200);
        let other = site.clients().nth(1).unwrap().client;
        let theirs = format!("/api/v1/devices/{}/heartbeat", other.devices[0].id);
        let (status, _) = s
            .call("POST", &theirs, Some(token), Some(json!({"status": "ok"})))
            .await;
        assert_eq!(status, 403);
        s.stop().await;
    }
}

#[actix_web::test]
async fn field_tokens_are_admin_only_and_for_registered_equipment() {
    let s = Server::start(crate::support::Backend::Sqlite).await;
    s.register("pc-9", &["cam-9"], 5_000, 3).await;
    let viewer = s.token("v", kwanje::auth::Role::Operator, None);
    let (status, _) = s.call("POST", "/api/v1/clients/pc-9/token", Some(&viewer), None).await;
    assert_eq!(status, 403);
    let (status, _) = s.post("/api/v1/clients/nobody/token", json!({})).await;
    assert_eq!(status, 404);
    let (status, _) = s.post("/api/v1/clients/pc-9/token", json!({"ttl_ms": 0})).await;
    assert_eq!(status, 422);
    let (status, body) = s.post("/api/v1/clients/pc-9/token", json!({"ttl_ms": 60_000})).await;
    assert_eq!((status, body["expires_in"].as_u64()), (200, Some(60)), "{body}");
    let plate = kwanje::sim::api::encode("11가1111");
    let (status, _) = s.post(&format!("/api/v1/taxis/{plate}/token"), json!({})).await;
    assert_eq!(status, 404);
    let (status, _) = s
        .post(
            "/api/v1/taxis",
            json!({"plate": "11가1111", "license_region": "seoul", "class": "standard"}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, body) = s.post(&format!("/api/v1/taxis/{plate}/token"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let driver = body["access_token"].as_str().unwrap().to_owned();
    let (status, _) = s
        .call(
            "POST",
            &format!("/api/v1/taxis/{plate}/heartbeat"),
            Some(&driver),
            Some(json!({})),
        )
        .await;
    assert!(status < 300, "{status}");
    s.stop().await;
}

fn count_state(devices: &Value, state: &str) -> usize {
    devices["items"]
        .as_array()
        .map_or(0, |items| items.iter().filter(|d| d["state"] == state).count())
}

/// A small site run by the sim over `transport`: every gate PC online, every device up, and an
/// operator's command for a device is acked by its simulated gate PC.
async fn simulated_gate_pcs_over(transport: fn(&Server) -> Transport) {
    let s = Server::start_with(crate::support::Backend::Sqlite, |c| {
        c.stomp_tcp = Some("127.0.0.1:0".into());
    })
    .await;
    let site = Site::airport(4, 8, 0);
    let options = Options {
        server: s.base.clone(),
        token: s.admin.clone(),
        site: site.clone(),
        transport: transport(&s),
        chaos: 0.0,
        taxis: false,
        duration: None,
        server_pid: None,
        live: false,
    };
    let sim = run::start(&options).await.unwrap();
    let n = site.device_count();
    s.wait_for("/api/v1/devices?limit=1000", WAIT, |d| count_state(d, "up") == n)
        .await;
    s.wait_for("/api/v1/clients?limit=1000", WAIT, |c| {
        c["items"]
            .as_array()
            .is_some_and(|items| items.iter().all(|c| c["online"] == true))
    })
    .await;
    let device = &site.clients().next().unwrap().client.devices[0].id;
    let (status, command) = s
        .post(
            &format!("/api/v1/devices/{device}/commands"),
            json!({"kind": "restart"}),
        )
        .await;
    assert_eq!(status, 202, "{command}");
    let id = command["id"].as_i64().unwrap();
    s.wait_for(&format!("/api/v1/commands/{id}"), WAIT, |c| c["state"] == "acked")
        .await;
    assert_eq!(sim.stats.sessions.get(), site.clients().count() as u64);
    assert!(sim.stats.acks_ok.get() >= 1);
    sim.stop().await;
    s.wait_for("/api/v1/clients?limit=1000", WAIT, |c| {
        c["items"]
            .as_array()
            .is_some_and(|items| items.iter().all(|c| c["online"] == false))
    })
    .await;
    s.stop().await;
}

#[actix_web::test]
async fn simulated_gate_pcs_keep_their_devices_up_and_answer_commands() {
    simulated_gate_pcs_over(|_| Transport::Ws).await;
}

#[actix_web::test]
async fn simulated_gate_pcs_work_over_sockjs() {
    simulated_gate_pcs_over(|_| Transport::SockJs).await;
}

#[actix_web::test]
async fn simulated_gate_pcs_work_over_plain_tcp() {
    simulated_gate_pcs_over(|s| Transport::Tcp(s.stomp_tcp.expect("the TCP listener"))).await;
}

/// `kwanje demo`: within 30 s of its address being printed, at least 10 gate PCs online, 100
/// devices up and an alert from the chaos; SIGTERM stops it with exit status 0.
#[test]
fn demo_serves_a_living_airport_and_stops_on_sigterm() {
    let mut child = Command::new(BIN)
        .arg("demo")
        .env("KWANJE_BIND", "127.0.0.1:0")
        .env("KWANJE_ADMIN_PASSWORD", "demo-pw")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("the demo prints its address").unwrap();
        if let Some(rest) = line.strip_prefix("kwanje demo serving ") {
            break rest.trim().to_owned();
        }
    };
    let login = lines.next().unwrap().unwrap();
    let login = if login.contains("login") {
        login
    } else {
        lines.next().unwrap().unwrap()
    };
    assert!(login.contains("username=admin password=demo-pw"), "{login}");
    let rest = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>().join("\n"));
    let started = Instant::now();
    let seen = actix_web::rt::System::new().block_on(async move {
        let api = Api::new(&base, "");
        let (_, token) = api
            .post(
                "/api/v1/auth/token",
                &json!({"username": "admin", "password": "demo-pw"}),
            )
            .await
            .unwrap();
        let api = api.with_token(token["access_token"].as_str().unwrap());
        loop {
            let clients = api.list_all("/api/v1/clients", "").await.unwrap_or_default();
            let online = clients.iter().filter(|c| c["online"] == true).count();
            let up = api
                .list_all("/api/v1/devices", "state=up")
                .await
                .unwrap_or_default()
                .len();
            let alerts = api.list_all("/api/v1/alerts", "").await.unwrap_or_default().len();
            // The first fault can come before every gate PC has connected: wait for all three.
            if online >= 10 && up >= 100 && alerts > 0 {
                return (online, up, alerts);
            }
            // A generous deadline: the first faults come a few seconds in, later on a loaded machine.
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "after 30 s: {online} gate PCs online, {up} devices up, {alerts} alerts"
            );
            actix_web::rt::time::sleep(Duration::from_millis(200)).await;
        }
    });
    eprintln!("demo: (gate PCs online, devices up, alerts) = {seen:?}");
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    let out = rest.join().unwrap();
    assert!(status.success(), "{status:?}\n{out}");
    assert!(out.contains("kwanje demo stopped"), "{out}");
}

/// `kwanje sim --site-file site.toml`: the binary reads a TOML site file, provisions what it
/// names through the API and brings its devices up.
#[actix_web::test]
async fn a_toml_site_file_is_simulated_by_the_binary() {
    let s = Server::start(crate::support::Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("site.toml");
    std::fs::write(
        &file,
        r#"
[[terminals]]
id = "T1"
[[terminals.zones]]
id = "short-term"
[[terminals.zones.clients]]
id = "toml-pc"
name = "from a TOML site file"
devices = [
    { id = "toml-lpr", kind = "lpr_camera", standby_id = "toml-lpr-b", auto_failover = true, heartbeat_interval_ms = 1000 },
    { id = "toml-lpr-b", kind = "lpr_camera", heartbeat_interval_ms = 1000 },
]
"#,
    )
    .unwrap();
    let (base, admin) = (s.base.clone(), s.admin.clone());
    let out = actix_web::rt::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(["sim", "--server", &base, "--site-file"])
            .arg(&file)
            .args(["--duration", "4s"])
            .env("KWANJE_TOKEN", &admin)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Up while the sim ran (its gate PC left when it stopped, so the devices are unreachable now).
    for device in ["toml-lpr", "toml-lpr-b"] {
        let (status, body) = s.get(&format!("/api/v1/devices/{device}/transitions")).await;
        assert_eq!(status, 200, "{body}");
        let states: Vec<&str> = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["to_state"].as_str().unwrap())
            .collect();
        assert!(states.contains(&"up"), "{device}: {body}");
    }
    let (_, lpr) = s.get("/api/v1/devices/toml-lpr").await;
    assert_eq!(lpr["standby_id"], "toml-lpr-b", "{lpr}");
    s.stop().await;
}
