//! The real binary killed with SIGKILL while alerts are being raised, then restarted on the
//! same database: every alert stored is published after the restart (its outbox row marked),
//! and none is raised again under a new id.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use kwanje::store::models::{alerts, outbox};
use kwanje::store::Store;

const BIN: &str = env!("CARGO_BIN_EXE_kwanje");
const DEVICES: usize = 300;

fn spawn(dir: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(BIN)
        .arg("serve")
        .current_dir(dir)
        .env("KWANJE_BIND", "127.0.0.1:0")
        .env("KWANJE_ADMIN_PASSWORD", "pw")
        .env("KWANJE_JWT_SECRET", "durability-secret")
        .env("DATABASE_URL", "sqlite://kwanje.db")
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut addr = None;
    while addr.is_none() && Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        addr = line
            .split("serving addr=")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .map(str::to_owned);
    }
    // Keep draining stderr so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, addr.expect("server started"))
}

fn token(sub: &str, role: &str, client: Option<&str>) -> String {
    let mut args = vec!["token", "--sub", sub, "--role", role];
    if let Some(c) = client {
        args.extend(["--client", c]);
    }
    let out = Command::new(BIN)
        .args(&args)
        .env("KWANJE_JWT_SECRET", "durability-secret")
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

async fn call(addr: &str, token: &str, path: &str, body: serde_json::Value) -> u16 {
    let client = awc::Client::builder().timeout(Duration::from_secs(10)).finish();
    let resp = client
        .post(format!("http://{addr}{path}"))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .send_json(&body)
        .await
        .unwrap();
    resp.status().as_u16()
}

type Stored = (Vec<alerts::Alert>, Vec<outbox::OutboxRow>);

fn stored(dir: &std::path::Path) -> Stored {
    let store = Store::open(&format!("sqlite://{}", dir.join("kwanje.db").display())).unwrap();
    store
        .read_blocking(|c| {
            use kwanje::store::schema::{alerts as a, outbox as o};
            let alerts = a::table.select(alerts::Alert::as_select()).load(c)?;
            let rows = o::table.select(outbox::OutboxRow::as_select()).load(c)?;
            Ok((alerts, rows))
        })
        .unwrap()
}

#[test]
fn alerts_stored_before_a_sigkill_are_published_after_restart_and_never_under_a_new_id() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = spawn(dir.path());
    let admin = token("admin", "admin", None);
    actix_web::rt::System::new().block_on(async {
        assert_eq!(
            call(
                &addr,
                &admin,
                "/api/v1/clients",
                serde_json::json!({"id": "pc-1", "name": "pc"})
            )
            .await,
            201
        );
        for i in 0..DEVICES {
            let body = serde_json::json!({"id": format!("d{i}"), "kind": "gate", "client_id": "pc-1",
                "heartbeat_interval_ms": 100, "miss_tolerance": 2});
            assert_eq!(call(&addr, &admin, "/api/v1/devices", body).await, 201);
        }
        // An admin's heartbeats: pc-1 is never online, so each device's silence is its own.
        for i in 0..DEVICES {
            let path = format!("/api/v1/devices/d{i}/heartbeat");
            assert_eq!(
                call(&addr, &admin, &path, serde_json::json!({"status": "ok"})).await,
                200
            );
        }
        // The first devices are going down now: kill the server in the middle of the storm.
        actix_web::rt::time::sleep(Duration::from_millis(150)).await;
    });
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let (before, rows_before) = stored(dir.path());
    let ids_before: HashSet<i64> = before.iter().map(|a| a.id).collect();
    assert!(
        !before.is_empty() && before.len() < DEVICES,
        "killed mid-storm: {} of {DEVICES} stored",
        before.len()
    );
    // As if the kill had come between commit and publish for every row: all must be replayed.
    let store = Store::open(&format!("sqlite://{}", dir.path().join("kwanje.db").display())).unwrap();
    store
        .write_blocking(|c| {
            use kwanje::store::schema::outbox as o;
            diesel::update(o::table)
                .set(o::delivered_ms.eq(None::<i64>))
                .execute(c)
                .map(|_| ())
        })
        .unwrap();
    drop(store);

    let (mut again, _) = spawn(dir.path());
    let deadline = Instant::now() + Duration::from_secs(30);
    let (after, rows) = loop {
        let (alerts, rows) = stored(dir.path());
        let settled = alerts.len() == DEVICES && rows.iter().all(|r| r.delivered_ms.is_some());
        if settled || Instant::now() > deadline {
            break (alerts, rows);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    again.kill().unwrap();
    again.wait().unwrap();

    // Every alert stored before the kill is still there, under the same id.
    let ids_after: HashSet<i64> = after.iter().map(|a| a.id).collect();
    assert!(
        ids_before.is_subset(&ids_after),
        "an alert stored before the kill was lost or renumbered"
    );
    // One alert per silent device: none raised twice.
    let mut per_device: HashMap<&str, usize> = HashMap::new();
    for a in &after {
        *per_device.entry(a.subject_id.as_str()).or_default() += 1;
    }
    assert_eq!(
        after.len(),
        DEVICES,
        "every device went down once: {} alerts",
        after.len()
    );
    assert!(per_device.values().all(|&n| n == 1), "an alert was raised twice");
    // Every stored alert has its outbox row, and every row was published (marked) after restart.
    let published: HashSet<i64> = rows
        .iter()
        .filter(|r| r.delivered_ms.is_some())
        .filter_map(|r| serde_json::from_str::<serde_json::Value>(&r.payload).ok()?["id"].as_i64())
        .collect();
    for a in &after {
        assert!(published.contains(&a.id), "alert {} stored but never published", a.id);
    }
    assert!(rows.len() >= rows_before.len());
}
