//! Provisioning in bulk (issue #16) over the real server, on every backend: a sheet applied
//! idempotently with its dry run, an edit through a sheet taken by the live actor, a sheet with
//! bad rows refused whole with every row named, CSV with line numbers, a site exported from
//! one server and imported into another, and `kwanje import` / `kwanje export` run as commands.

use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{backends, Backend, Server};

const BIN: &str = env!("CARGO_BIN_EXE_kwanje");

fn sheet() -> Value {
    json!({
        "clients": [
            {"id": "pc-a", "name": "Gate A", "site": "T1"},
            {"id": "pc-b", "name": "Gate B"}
        ],
        "devices": [
            {"id": "cam-a1", "kind": "lpr_camera", "client_id": "pc-a", "standby_id": "cam-a2",
             "heartbeat_interval_ms": 5000, "miss_tolerance": 3, "auto_failover": true},
            {"id": "cam-a2", "kind": "lpr_camera", "client_id": "pc-a", "standby_id": "cam-a1"},
            {"id": "gate-b1", "kind": "gate", "client_id": "pc-b", "zone": "B", "lane": "2"}
        ],
        "taxis": [
            {"plate": "12가3456", "license_region": "seoul", "class": "standard"}
        ]
    })
}

async fn provision(s: &Server, query: &str, body: Value) -> (u16, Value) {
    s.call("POST", &format!("/api/v1/provision{query}"), Some(&s.admin), Some(body))
        .await
}

async fn raw(s: &Server, method: &str, path: &str, content_type: &str, body: String) -> (u16, String) {
    let mut resp = awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .finish()
        .request(method.parse().unwrap(), s.url(path))
        .bearer_auth(&s.admin)
        .insert_header(("content-type", content_type))
        .send_body(body)
        .await
        .unwrap();
    let bytes = resp.body().await.unwrap();
    (resp.status().as_u16(), String::from_utf8_lossy(&bytes).into_owned())
}

fn count(body: &Value) -> usize {
    body["items"].as_array().map_or(0, Vec::len)
}

#[actix_web::test]
async fn a_sheet_is_applied_once_with_its_dry_run_and_again_changes_nothing() {
    for backend in backends() {
        let s = Server::start(backend).await;
        let (status, plan) = provision(&s, "?dry_run=true", sheet()).await;
        assert_eq!(status, 200, "{plan}");
        assert_eq!(plan["dry_run"], true);
        assert_eq!(plan["clients_created"], json!(["pc-a", "pc-b"]));
        assert_eq!(plan["devices_created"], json!(["cam-a1", "cam-a2", "gate-b1"]));
        assert_eq!(plan["taxis_created"], json!(["12가3456"]));
        assert_eq!(count(&s.get("/api/v1/clients").await.1), 0, "a dry run changes nothing");
        assert_eq!(count(&s.get("/api/v1/devices").await.1), 0);

        let (status, done) = provision(&s, "", sheet()).await;
        assert_eq!((status, &done["dry_run"]), (200, &json!(false)), "{done}");
        assert_eq!(done["devices_created"], plan["devices_created"]);
        let (_, cam) = s.get("/api/v1/devices/cam-a1").await;
        assert_eq!(
            (&cam["standby_id"], &cam["auto_failover"], &cam["client_id"]),
            (&json!("cam-a2"), &json!(true), &json!("pc-a")),
            "{cam}"
        );
        // Live at once: its actor runs.
        let (status, beat) = s.heartbeat("pc-a", "cam-a1", "ok").await;
        assert_eq!((status, &beat["state"]), (200, &json!("up")), "{beat}");
        assert_eq!(s.get("/api/v1/taxis/12%EA%B0%803456").await.0, 200);

        let (status, again) = provision(&s, "", sheet()).await;
        assert_eq!(status, 200, "{again}");
        for key in [
            "clients_created",
            "clients_updated",
            "devices_created",
            "devices_updated",
            "taxis_created",
        ] {
            assert_eq!(again[key], json!([]), "{key}: {again}");
        }
        assert_eq!(again["unchanged"], 6);

        // A changed row is an edit, taken by the live actor without a restart.
        let mut edited = sheet();
        edited["devices"][0]["heartbeat_interval_ms"] = json!(100);
        edited["devices"][0]["miss_tolerance"] = json!(2);
        edited["clients"][1]["name"] = json!("Gate B (east)");
        let (status, changed) = provision(&s, "", edited).await;
        assert_eq!(status, 200, "{changed}");
        assert_eq!(
            changed["devices_updated"],
            json!([{"id": "cam-a1", "changed": ["heartbeat_interval_ms", "miss_tolerance"]}])
        );
        assert_eq!(changed["clients_updated"], json!([{"id": "pc-b", "changed": ["name"]}]));
        let _gate_pc = s.gate_pc_online("pc-a").await;
        let down = s
            .wait_for("/api/v1/devices/cam-a1", Duration::from_secs(10), |d| {
                d["state"] == "down"
            })
            .await;
        assert_eq!(down["restarts"], 0, "{down}");

        let (_, audit) = s.get("/api/v1/audit?action=provision").await;
        assert_eq!(count(&audit), 2, "one summary entry per applied sheet: {audit}");
        let (_, audit) = s.get("/api/v1/audit?target=device:cam-a1").await;
        assert_eq!(count(&audit), 2, "registered, then updated: {audit}");
    }
}

#[actix_web::test]
async fn a_sheet_with_bad_rows_is_refused_whole_with_every_row_named() {
    for backend in backends() {
        let s = Server::start(backend).await;
        s.register("pc-old", &["cam-old"], 5_000, 3).await;
        let bad = json!({
            "clients": [{"id": "pc-new", "name": "fine"}],
            "devices": [
                {"id": "cam-1", "kind": "lpr_camera", "client_id": "pc-404"},
                {"id": "cam-2", "kind": "printer", "client_id": "pc-new"},
                {"id": "cam-3", "kind": "gate", "client_id": "pc-new", "standby_id": "cam-404"},
                {"id": "cam-old", "kind": "gate", "client_id": "pc-old"},
                {"id": "cam-4", "kind": "gate", "client_id": "pc-new", "heartbeat_interval_ms": 1}
            ],
            "taxis": [{"plate": "12가3456", "license_region": "seoul", "class": "limousine"}]
        });
        let (status, problem) = provision(&s, "", bad).await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(problem["type"], "urn:kwanje:problem:unprocessable");
        let rows: Vec<(String, String)> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["row"].as_str().unwrap().to_owned(),
                    e["id"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let want: Vec<(String, String)> = [
            ("devices[0]", "cam-1"),
            ("devices[1]", "cam-2"),
            ("devices[2]", "cam-3"),
            ("devices[3]", "cam-old"),
            ("devices[4]", "cam-4"),
            ("taxis[0]", "12가3456"),
        ]
        .iter()
        .map(|(r, i)| ((*r).to_owned(), (*i).to_owned()))
        .collect();
        assert_eq!(rows, want, "{problem}");
        assert!(problem["errors"][3]["error"]
            .as_str()
            .unwrap()
            .contains("a kind cannot change"));
        // Nothing applied, not even the good client.
        let (_, clients) = s.get("/api/v1/clients").await;
        assert_eq!(count(&clients), 1, "{clients}");
        let (status, problem) = raw(
            &s,
            "POST",
            "/api/v1/provision",
            "application/json",
            "{\"clients\": [".into(),
        )
        .await;
        assert_eq!(status, 400, "{problem}");
        let (status, problem) = provision(&s, "", json!({"gates": []})).await;
        assert_eq!(status, 400, "an unknown part is refused: {problem}");
        let operator = s.token("lee", kwanje::auth::Role::Operator, None);
        let (status, _) = s
            .call("POST", "/api/v1/provision", Some(&operator), Some(sheet()))
            .await;
        assert_eq!(status, 403, "an admin's");
        assert_eq!(s.call("GET", "/api/v1/provision", Some(&operator), None).await.0, 403);
    }
}

#[actix_web::test]
async fn a_csv_sheet_names_its_bad_lines_and_a_site_moves_between_servers() {
    let s = Server::start(Backend::Sqlite).await;
    let (status, _) = provision(&s, "", sheet()).await;
    assert_eq!(status, 200);
    let (status, csv) = raw(&s, "GET", "/api/v1/provision?format=csv", "text/plain", String::new()).await;
    assert_eq!(status, 200, "{csv}");
    assert!(csv.starts_with("type,id,name,site,kind,client_id"), "{csv}");
    assert_eq!(csv.lines().count(), 1 + 2 + 3 + 1, "{csv}");
    let mut resp = awc::Client::default()
        .get(s.url("/api/v1/provision"))
        .bearer_auth(&s.admin)
        .insert_header(("accept", "text/csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let asked = String::from_utf8(resp.body().await.unwrap().to_vec()).unwrap();
    assert_eq!(asked, csv, "Accept: text/csv is ?format=csv");
    // Larger than 32 MiB: refused unread, with what to do.
    let huge = format!("{{\"clients\": [], \"pad\": \"{}\"}}", "x".repeat(33 << 20));
    let (status, problem) = raw(&s, "POST", "/api/v1/provision", "application/json", huge).await;
    assert_eq!(status, 400, "{problem}");
    assert!(problem.contains("split it"), "{problem}");

    // Into a second server (PostgreSQL when there is one): the same site.
    let other = Server::start(*backends().last().unwrap()).await;
    let (status, answer) = raw(&other, "POST", "/api/v1/provision", "text/csv", csv.clone()).await;
    assert_eq!(status, 200, "{answer}");
    let (_, here) = s.get("/api/v1/provision").await;
    let (_, there) = other.get("/api/v1/provision").await;
    assert_eq!(here, there, "the same sheet on both servers");
    let (status, answer) = raw(&other, "POST", "/api/v1/provision", "text/csv", csv).await;
    let answer: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!((status, &answer["unchanged"]), (200, &json!(6)), "{answer}");

    let bad = "type,id,name,kind,client_id,heartbeat_interval_ms\n\
               client,pc-z,,,,\n\
               device,cam-z,,lpr_camera,pc-a,soon\n\
               device,cam-y,,lpr_camera,pc-a,50\n";
    let (status, problem) = raw(&s, "POST", "/api/v1/provision", "text/csv", bad.into()).await;
    assert_eq!(status, 422, "{problem}");
    let problem: Value = serde_json::from_str(&problem).unwrap();
    let rows: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["row"].as_str().unwrap())
        .collect();
    assert_eq!(
        rows,
        ["line 2", "line 3"],
        "unreadable lines first, then nothing else is checked: {problem}"
    );
}

#[actix_web::test]
async fn kwanje_import_and_export_talk_to_a_running_server() {
    let s = Server::start(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("site.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&sheet()).unwrap()).unwrap();
    let (base, admin) = (s.base.clone(), s.admin.clone());
    let run = move |args: Vec<String>| {
        let (base, admin) = (base.clone(), admin.clone());
        actix_web::rt::task::spawn_blocking(move || {
            Command::new(BIN)
                .args(&args)
                .args(["--server", &base])
                .env("KWANJE_TOKEN", &admin)
                .output()
                .unwrap()
        })
    };
    let path = |p: &std::path::Path| p.display().to_string();

    let out = run(vec!["import".into(), path(&file), "--dry-run".into()])
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("would create devices: 3 (cam-a1; cam-a2; gate-b1)"),
        "{stdout}"
    );
    assert_eq!(count(&s.get("/api/v1/devices").await.1), 0);

    let out = run(vec!["import".into(), path(&file)]).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("create clients: 2"), "{stdout}");
    assert_eq!(count(&s.get("/api/v1/devices").await.1), 3);

    let exported = dir.path().join("site.csv");
    let out = run(vec!["export".into(), path(&exported)]).await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let csv = std::fs::read_to_string(&exported).unwrap();
    assert!(
        csv.contains("device,cam-a1,,,lpr_camera,pc-a,,,cam-a2,5000,3,true"),
        "{csv}"
    );

    let broken = dir.path().join("broken.csv");
    std::fs::write(&broken, "type,id,kind,client_id\ndevice,cam-q,lpr_camera,pc-404\n").unwrap();
    let out = run(vec!["import".into(), path(&broken)]).await.unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 2 cam-q: client pc-404 is neither registered nor in the sheet"),
        "{stderr}"
    );
    s.stop().await;
}
