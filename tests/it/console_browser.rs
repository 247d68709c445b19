//! The operator console in a real headless Chromium (Debian's `chromium`, driven by
//! `playwright-core` from `console/e2e/*.mjs`) against the real server on port 0.
//!
//! This harness starts the server, registers the devices, plays the gate PCs over STOMP (their
//! heartbeats, and acks of the commands they receive), stops and restarts the server when the
//! script asks, and passes the script's `MEASURE` lines on. The script asks with a line
//! `KWANJE <request>` and waits for this side's `ok ...` answer. Built with the tests only when
//! build.rs finds the browser and `console/node_modules` (`cfg(browser_tests)`); ignored
//! otherwise.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::Stdio;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use kwanje::auth::jwt::Claims;
use kwanje::auth::Role;
use kwanje::stomp::Command;
use kwanje::time::{Clock, Millis};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::realtime::client::{frame, Event, Stomp};
use crate::realtime::session;
use crate::support::{Backend, Server};

/// Beats of the simulated gate PCs.
const BEAT: Duration = Duration::from_millis(100);

/// A simulated gate PC: heartbeats for the devices in `alive`, and an ack for every command it
/// receives. It ends when its connection does (the server stopped) or when `stop` is set.
#[derive(Clone)]
struct GatePc {
    alive: Rc<RefCell<Vec<String>>>,
    /// When each device's last heartbeat left, epoch ms.
    sent_ms: Rc<RefCell<HashMap<String, i64>>>,
    stop: Rc<Cell<bool>>,
}

impl GatePc {
    fn new(devices: &[&str]) -> GatePc {
        GatePc {
            alive: Rc::new(RefCell::new(devices.iter().map(|d| (*d).to_owned()).collect())),
            sent_ms: Rc::default(),
            stop: Rc::default(),
        }
    }

    async fn start(&self, s: &Server, client: &str) {
        let mut pc = session(s, client, Role::Client).await;
        pc.subscribe("cmd", "/user/queue/commands", "auto").await;
        let me = self.clone();
        actix_web::rt::spawn(async move { me.run(pc).await });
    }

    async fn run(self, mut pc: Stomp) {
        let mut next_beat = tokio::time::Instant::now();
        while !self.stop.get() {
            if tokio::time::Instant::now() >= next_beat {
                let devices: Vec<Value> = self
                    .alive
                    .borrow()
                    .iter()
                    .map(|d| json!({"id": d, "status": "ok"}))
                    .collect();
                if !devices.is_empty() {
                    let body = json!({ "devices": devices }).to_string();
                    let text = frame(
                        "SEND",
                        &[("destination", "/app/heartbeat"), ("content-type", "application/json")],
                        &body,
                    );
                    pc.send_text(&text).await;
                    let now = Millis::now().0;
                    for d in self.alive.borrow().iter() {
                        self.sent_ms.borrow_mut().insert(d.clone(), now);
                    }
                }
                next_beat += BEAT;
            }
            let left = next_beat.saturating_duration_since(tokio::time::Instant::now());
            match pc.next_within(left).await {
                Some(Event::Frame(f)) if f.command == Command::Message => {
                    let command: Value = serde_json::from_slice(&f.body).unwrap_or_default();
                    if let Some(id) = command["command_id"].as_i64() {
                        let ack = json!({"command_id": id, "ok": true, "detail": "done by the simulated gate PC"});
                        let text = frame(
                            "SEND",
                            &[
                                ("destination", "/app/commands/ack"),
                                ("content-type", "application/json"),
                            ],
                            &ack.to_string(),
                        );
                        pc.send_text(&text).await;
                    }
                }
                Some(Event::Closed(_)) => return,
                _ => {}
            }
        }
    }
}

/// Runs `console/e2e/{script}` with the server's URL and answers its requests with `answer`.
async fn run_script<F>(script: &str, base: &str, mut answer: F)
where
    F: AsyncFnMut(&str) -> String,
{
    let root = env!("CARGO_MANIFEST_DIR");
    let shots = format!("{root}/console/e2e/out");
    let mut child = tokio::process::Command::new("node")
        .arg(format!("e2e/{script}"))
        .current_dir(format!("{root}/console"))
        .env("KWANJE_BASE_URL", base)
        .env("KWANJE_SCREENSHOTS", &shots)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs (the console's e2e scripts)");
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while let Some(line) = lines.next_line().await.unwrap() {
        if let Some(request) = line.strip_prefix("KWANJE ") {
            let reply = answer(request).await;
            stdin.write_all(format!("ok {reply}\n").as_bytes()).await.unwrap();
            stdin.flush().await.unwrap();
        } else {
            eprintln!("{script}: {line}");
        }
    }
    let status = child.wait().await.unwrap();
    assert!(status.success(), "{script} failed: {status}");
}

async fn register_wall(s: &Server) {
    s.post(
        "/api/v1/clients",
        json!({"id": "pc-1", "name": "T1 gate PC 1", "site": "T1"}),
    )
    .await;
    s.post(
        "/api/v1/clients",
        json!({"id": "pc-2", "name": "T2 gate PC 1", "site": "T2"}),
    )
    .await;
    let devices = [
        ("cam-1", "lpr_camera", "pc-1", "T1", "P1 entrance", Some("cam-2"), 300),
        ("cam-2", "lpr_camera", "pc-1", "T1", "P1 entrance", None, 300),
        ("gate-1", "gate", "pc-1", "T1", "P1 entrance", None, 5000),
        ("det-1", "vehicle_detector", "pc-1", "T1", "P1 entrance", None, 5000),
        ("kiosk-1", "payment_kiosk", "pc-2", "T2", "P3 exit", None, 5000),
        ("guide-1", "guidance_camera", "pc-2", "T2", "P3 exit", None, 5000),
    ];
    for (id, kind, client, site, zone, standby, interval) in devices {
        let body = json!({"id": id, "kind": kind, "client_id": client, "site": site, "zone": zone,
            "standby_id": standby, "heartbeat_interval_ms": interval, "miss_tolerance": 2});
        let (status, body) = s.post("/api/v1/devices", body).await;
        assert_eq!(status, 201, "{body}");
    }
}

#[actix_web::test]
#[cfg_attr(
    not(browser_tests),
    ignore = "needs chromium and console/node_modules (see build.rs)"
)]
async fn the_console_end_to_end_in_chromium() {
    let first = Server::start(Backend::Sqlite).await;
    let addr: SocketAddr = first.base.trim_start_matches("http://").parse().unwrap();
    let base = first.base.clone();
    register_wall(&first).await;
    let pc1 = GatePc::new(&["cam-1", "cam-2", "gate-1", "det-1"]);
    let pc2 = GatePc::new(&["kiosk-1", "guide-1"]);
    pc1.start(&first, "pc-1").await;
    pc2.start(&first, "pc-2").await;
    let phase = RefCell::new(Phase::Running(first));

    run_script("console.mjs", &base, async |request: &str| {
        let mut words = request.split_whitespace();
        match (words.next(), words.next()) {
            (Some("stop-heartbeats"), Some(device)) => {
                pc1.alive.borrow_mut().retain(|d| d != device);
                let last = pc1
                    .sent_ms
                    .borrow()
                    .get(device)
                    .copied()
                    .unwrap_or_else(|| Millis::now().0);
                // cam-1 beats every 300 ms and may miss 2.
                json!({ "deadline_ms": last + 600 }).to_string()
            }
            (Some("stop-server"), _) => {
                let Phase::Running(s) = phase.replace(Phase::Gone) else {
                    panic!("stop-server: not running")
                };
                let (backend, url, clock, dir) = s.shut_down().await;
                phase.replace(Phase::Stopped(backend, url, clock, dir));
                String::new()
            }
            (Some("start-server-and-heartbeat"), Some(device)) => {
                let Phase::Stopped(backend, url, clock, dir) = phase.replace(Phase::Gone) else {
                    panic!("start-server: not stopped")
                };
                // The same address: the page in the browser reconnects to it.
                let s = Server::start_clocked_on(backend, &url, dir, clock, |c| c.bind = addr.to_string()).await;
                pc1.alive.borrow_mut().push(device.to_owned());
                pc1.start(&s, "pc-1").await;
                pc2.start(&s, "pc-2").await;
                phase.replace(Phase::Running(s));
                String::new()
            }
            (Some("taxi-arrival"), Some(plate)) => {
                // Out of the cell while awaiting (a RefCell borrow must not live across an await).
                let Phase::Running(s) = phase.replace(Phase::Gone) else {
                    panic!("taxi-arrival: not running")
                };
                let taxi = json!({"plate": plate, "license_region": "seoul", "class": "standard"});
                let (status, body) = s.post("/api/v1/taxis", taxi).await;
                assert_eq!(status, 201, "{body}");
                // As the lot's LPR camera sees it: its gate PC reports the reading.
                let gate = s.token("pc-1", Role::Client, Some("pc-1"));
                let reading = json!({"plate": plate, "terminal": "T1", "camera_id": "lpr-lot-t1"});
                let (status, body) = s
                    .call("POST", "/api/v1/taxis/arrivals", Some(&gate), Some(reading))
                    .await;
                assert_eq!(status, 201, "{body}");
                phase.replace(Phase::Running(s));
                String::new()
            }
            (Some("unknown-plate-arrival"), Some(plate)) => {
                // Out of the cell while awaiting (a RefCell borrow must not live across an await).
                let Phase::Running(s) = phase.replace(Phase::Gone) else {
                    panic!("unknown-plate-arrival: not running")
                };
                // A plate nobody registered, read by the lot camera: held for an operator.
                let gate = s.token("pc-1", Role::Client, Some("pc-1"));
                let reading = json!({"plate": plate, "terminal": "T1", "camera_id": "lpr-lot-t1"});
                let (status, body) = s
                    .call("POST", "/api/v1/taxis/arrivals", Some(&gate), Some(reading))
                    .await;
                assert_eq!((status, &body["outcome"]), (200, &json!("held")), "{body}");
                phase.replace(Phase::Running(s));
                String::new()
            }
            (Some("taxi-trip"), Some(km)) => {
                // Out of the cell while awaiting (a RefCell borrow must not live across an await).
                let Phase::Running(s) = phase.replace(Phase::Gone) else {
                    panic!("taxi-trip: not running")
                };
                let km: f64 = km.parse().expect("km");
                let ask = json!({"terminal": "T1", "destination_region": "seoul", "distance_km": km});
                let (status, assigned) = s.post("/api/v1/dispatch/requests", ask).await;
                assert_eq!(status, 201, "{assigned}");
                let id = &assigned["id"];
                let (status, body) = s.post(&format!("/api/v1/dispatch/{id}/pickup"), json!({})).await;
                assert_eq!(status, 200, "{body}");
                let done = json!({ "distance_km": km });
                let (status, body) = s.post(&format!("/api/v1/dispatch/{id}/complete"), done).await;
                assert_eq!(status, 200, "{body}");
                phase.replace(Phase::Running(s));
                String::new()
            }
            (Some("short-token"), Some(secs)) => match &*phase.borrow() {
                // An operator's token that expires in `secs` seconds: the session's expiry.
                Phase::Running(s) => {
                    let ttl = Duration::from_secs(secs.parse().expect("seconds"));
                    let claims = Claims::new("night-op", Role::Operator, Millis::now(), ttl);
                    s.state.keys.issue(&claims).unwrap()
                }
                _ => panic!("short-token: not running"),
            },
            (Some("viewer-token"), _) => match &*phase.borrow() {
                Phase::Running(s) => s.token("watcher", Role::Viewer, None),
                _ => panic!("viewer-token: not running"),
            },
            _ => panic!("unknown request {request}"),
        }
    })
    .await;
    pc1.stop.set(true);
    pc2.stop.set(true);
    if let Phase::Running(s) = phase.replace(Phase::Gone) {
        s.stop().await;
    }
}

/// The end-to-end test's server: running, or stopped with what its restart needs.
enum Phase {
    Running(Server),
    Stopped(Backend, String, Arc<dyn Clock>, tempfile::TempDir),
    Gone,
}

const GATE_PCS: usize = 50;
const PER_GATE_PC: usize = 100;
/// Gate PCs whose devices report faults in the storm: 10 x 100 = 1,000 alerts.
const STORM_PCS: usize = 10;

/// A measurement, not a check: 5,000 devices and a browser beside the rest of the suite would
/// starve its timing-sensitive tests on a small machine, so it runs only when asked:
/// `cargo test --test it console_browser::the_console_measured -- --ignored --nocapture`.
#[actix_web::test]
#[ignore = "a measurement: run it with --ignored (needs chromium and console/node_modules)"]
async fn the_console_measured_with_5000_devices_and_an_alert_storm() {
    let s = Server::start(Backend::Sqlite).await;
    for pc in 0..GATE_PCS {
        let site = if pc % 2 == 0 { "T1" } else { "T2" };
        let (status, body) = s
            .post(
                "/api/v1/clients",
                json!({"id": format!("pc-{pc:02}"), "name": format!("gate PC {pc:02}"), "site": site}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let posts = (0..PER_GATE_PC).map(|n| {
            let body = json!({"id": format!("dev-{pc:02}-{n:03}"), "kind": "vehicle_detector",
                "client_id": format!("pc-{pc:02}"), "site": site, "zone": format!("zone {}", pc / 5),
                "heartbeat_interval_ms": 3_600_000});
            s.post("/api/v1/devices", body)
        });
        for (status, body) in join_all(posts).await {
            assert_eq!(status, 201, "{body}");
        }
    }
    let base = s.base.clone();
    run_script("measure.mjs", &base, async |request: &str| match request {
        "setup" => {
            json!({"token": s.token("ops", Role::Operator, None), "devices": GATE_PCS * PER_GATE_PC}).to_string()
        }
        "alert-storm" => {
            let started_ms = Millis::now().0;
            let mut sessions = Vec::new();
            for pc in 0..STORM_PCS {
                sessions.push(session(&s, &format!("pc-{pc:02}"), Role::Client).await);
            }
            // One frame of 100 faults every 100 ms: 1,000 alerts within a second.
            for (pc, stomp) in sessions.iter_mut().enumerate() {
                let faults: Vec<Value> = (0..PER_GATE_PC)
                    .map(|n| json!({"id": format!("dev-{pc:02}-{n:03}"), "detail": "storm"}))
                    .collect();
                let body = json!({ "devices": faults }).to_string();
                stomp
                    .send_with_receipt("/app/faults", &[("content-type", "application/json")], &body, "storm")
                    .await;
                actix_web::rt::time::sleep(Duration::from_millis(100)).await;
            }
            json!({"alerts": STORM_PCS * PER_GATE_PC, "started_ms": started_ms}).to_string()
        }
        _ => panic!("unknown request {request}"),
    })
    .await;
    s.stop().await;
}
