//! The binary as an operator runs it: `kwanje serve` with no configuration, `token`, `migrate`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kwanje::auth::{Keys, Role};

const BIN: &str = env!("CARGO_BIN_EXE_kwanje");

#[test]
fn token_prints_a_token_signed_with_the_configured_key() {
    let out = Command::new(BIN)
        .args([
            "token",
            "--sub",
            "gate-pc-7",
            "--role",
            "client",
            "--client",
            "gate-pc-7",
            "--ttl",
            "2h",
        ])
        .env("KWANJE_JWT_SECRET", "cli-test-secret")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap();
    let p = Keys::hs256(b"cli-test-secret").verify(token.trim()).unwrap();
    assert_eq!(
        (p.name.as_str(), p.role, p.client.as_deref()),
        ("gate-pc-7", Role::Client, Some("gate-pc-7"))
    );
    let ttl = p.expires_ms - kwanje::time::Millis::now().0;
    assert!((7_100_000..=7_200_000).contains(&ttl), "{ttl}");

    let bad = Command::new(BIN)
        .args(["token", "--sub", "x", "--role", "root"])
        .env("KWANJE_JWT_SECRET", "s")
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown role"));
}

#[test]
fn serve_refuses_zero_partitions_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .arg("serve")
        .env("KWANJE_BIND", "127.0.0.1:0")
        .env("KWANJE_PARTITIONS", "0")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("p.db").display()),
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("KWANJE_PARTITIONS") || stderr.contains("--partitions"),
        "{stderr}"
    );
    assert!(stderr.contains("0 is not in 1..=65535"), "{stderr}");
}

#[test]
fn migrate_creates_the_schema_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    for _ in 0..2 {
        let out = Command::new(BIN)
            .args(["migrate", "--database-url", &url])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    assert!(dir.path().join("m.db").exists());
}

/// `kwanje serve` with nothing configured: SQLite in the working directory, a generated admin
/// password logged once, a token key kept in the database, and a graceful stop on SIGTERM.
#[test]
fn serve_needs_no_configuration_and_stops_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .arg("serve")
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .env_remove("KWANJE_ADMIN_PASSWORD")
        .env_remove("KWANJE_JWT_SECRET")
        .env("KWANJE_BIND", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let (mut password, mut addr) = (None, None);
    let deadline = Instant::now() + Duration::from_secs(30);
    while addr.is_none() && Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        if let Some(rest) = line.split("password=").nth(1) {
            password = rest.split_whitespace().next().map(str::to_owned);
        }
        if let Some(rest) = line.split("serving addr=").nth(1) {
            addr = rest.split_whitespace().next().map(str::to_owned);
        }
    }
    let (password, addr) = (
        password.expect("generated password logged"),
        addr.expect("serving line"),
    );
    assert!(dir.path().join("kwanje.db").exists());

    let body = serde_json::json!({"username": "admin", "password": password}).to_string();
    let resp = actix_web::rt::System::new().block_on(async move {
        let mut r = awc::Client::default()
            .post(format!("http://{addr}/api/v1/auth/token"))
            .insert_header(("content-type", "application/json"))
            .send_body(body)
            .await
            .unwrap();
        (r.status().as_u16(), r.body().await.unwrap())
    });
    assert_eq!(resp.0, 200, "{:?}", resp.1);

    // SIGTERM: the server drains and exits 0.
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let mut rest = String::new();
    for line in lines.map_while(Result::ok) {
        rest.push_str(&line);
        rest.push('\n');
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}\n{rest}");
    assert!(rest.contains("SIGTERM stopping gracefully"), "{rest}");
    assert!(rest.contains("shutdown complete"), "{rest}");
}

/// `KWANJE_LOG_FORMAT=json`: every line the server writes is one JSON object with `ts`, `level`,
/// `target` and `msg`, and the text lines' `key=value` fields as fields of their own (a quoted
/// value unquoted). Any other value is refused at start with a clear error.
#[test]
fn json_logs_are_one_object_per_line_with_the_fields_of_the_text_lines() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .arg("serve")
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .env("KWANJE_ADMIN_PASSWORD", "admin-pw")
        .env("KWANJE_BIND", "127.0.0.1:0")
        .env("KWANJE_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen: Vec<serde_json::Value> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let addr = loop {
        assert!(Instant::now() < deadline, "no serving line: {seen:#?}");
        let line = lines.next().expect("the server logs").unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        for key in ["ts", "level", "target", "msg"] {
            assert!(v[key].is_string(), "{key} in {line}");
        }
        let serving = v["msg"] == "serving";
        seen.push(v);
        if serving {
            break seen.last().unwrap()["addr"].as_str().unwrap().to_owned();
        }
    };
    // A failed login's line carries the username as a field, unquoted.
    let body = serde_json::json!({"username": "kim lee", "password": "wrong"}).to_string();
    let status = actix_web::rt::System::new().block_on(async move {
        awc::Client::default()
            .post(format!("http://{addr}/api/v1/auth/token"))
            .insert_header(("content-type", "application/json"))
            .send_body(body)
            .await
            .unwrap()
            .status()
            .as_u16()
    });
    assert_eq!(status, 401);
    let refused = loop {
        let line = lines.next().expect("the refusal is logged").unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        if v["msg"] == "login refused" {
            break v;
        }
    };
    assert_eq!(refused["username"], "kim lee", "{refused}");
    assert_eq!(refused["level"], "WARN", "{refused}");
    let _ = child.kill();
    let _ = child.wait();

    let bad = Command::new(BIN)
        .arg("serve")
        .env("KWANJE_LOG_FORMAT", "yaml")
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("KWANJE_LOG_FORMAT must be text or json"), "{err}");
}

/// `kwanje backup FILE` while the server serves and writes: the copy opens as a store with every
/// migration and what was registered before it; a second backup to the same file is refused.
#[actix_web::test]
async fn backup_copies_a_serving_sqlite_store() {
    use serde_json::json;
    let s = crate::support::Server::start(crate::support::Backend::Sqlite).await;
    let (status, body) = s
        .post("/api/v1/clients", json!({"id": "gpc-1", "name": "gate 1"}))
        .await;
    assert_eq!(status, 201, "{body}");
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("backup.db");
    // Writes go on while the backup runs.
    let writes = {
        let base = s.base.clone();
        let admin = s.admin.clone();
        actix_web::rt::spawn(async move {
            let client = awc::Client::default();
            for i in 0..50 {
                let body = json!({"id": format!("busy-{i}"), "name": "busy"});
                let _ = client
                    .post(format!("{base}/api/v1/clients"))
                    .bearer_auth(&admin)
                    .send_json(&body)
                    .await;
            }
        })
    };
    let (url, file) = (s.database_url().to_owned(), target.clone());
    let run = move || {
        Command::new(BIN)
            .arg("backup")
            .arg(&file)
            .env("DATABASE_URL", &url)
            .env("RUST_LOG", "info")
            .output()
            .unwrap()
    };
    let again = run.clone();
    let out = actix_web::rt::task::spawn_blocking(run).await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("backup written"));
    writes.await.unwrap();

    let copy = kwanje::store::Store::open(&format!("sqlite://{}", target.display())).unwrap();
    assert!(copy.migrate().unwrap().is_empty(), "the copy holds every migration");
    let gate = copy
        .read_blocking(|c| kwanje::store::models::clients::find(c, "gpc-1"))
        .unwrap();
    assert!(gate.is_some(), "what was written before the backup is in it");

    let out = actix_web::rt::task::spawn_blocking(again).await.unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists already"));
    s.stop().await;
}

/// A driver token's plate is written as the server spells plates, so revoking that taxi's tokens
/// (`DELETE /api/v1/taxis/{plate}/token`) reaches a token made for "12가 3456".
#[test]
fn token_spells_a_drivers_plate_as_the_server_does() {
    let out = Command::new(BIN)
        .args(["token", "--sub", "drv", "--role", "driver", "--taxi", " 12가 3456 "])
        .env("KWANJE_JWT_SECRET", "cli-test-secret")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap();
    let p = Keys::hs256(b"cli-test-secret").verify(token.trim()).unwrap();
    assert_eq!(p.taxi.as_deref(), Some("12가3456"));
    let bad = Command::new(BIN)
        .args(["token", "--sub", "drv", "--role", "driver", "--taxi", "12/34"])
        .env("KWANJE_JWT_SECRET", "cli-test-secret")
        .output()
        .unwrap();
    assert!(!bad.status.success());
}
