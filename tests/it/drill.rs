//! `kwanje drill`: every scenario against the real server (port 0; SQLite, and PostgreSQL when
//! `TEST_DATABASE_URL` is set) passes; a deliberately broken expectation fails the drill, in the
//! library's verdict and in the binary's exit status.

use std::process::Command;

use kwanje::sim::drill::{self, Options, Report};

use crate::support::{backends, Server};

const BIN: &str = env!("CARGO_BIN_EXE_kwanje");

async fn server(backend: crate::support::Backend) -> Server {
    Server::start_with(backend, |c| {
        c.fault_injection = true;
        c.flap_hold_down_ms = FLAP_HOLD_DOWN.as_millis() as u64;
    })
    .await
}

/// The servers' flapping hold-down here (a minute by default), which `flapping` waits out.
const FLAP_HOLD_DOWN: std::time::Duration = std::time::Duration::from_secs(3);

/// The expectations of the rows that failed, in order.
fn failed_rows(report: &Report) -> Vec<&str> {
    report
        .rows
        .iter()
        .filter(|r| !r.passed)
        .map(|r| r.expectation.as_str())
        .collect()
}

async fn drill_passes(scenario: &str) {
    for backend in backends() {
        let s = server(backend).await;
        let mut options = Options::new(&s.base, &s.admin);
        options.storm_devices = 30;
        options.flap_hold_down = FLAP_HOLD_DOWN;
        let report: Report = drill::run(scenario, &options).await.unwrap();
        assert!(report.passed(), "{backend:?}\n{}", report.table());
        s.stop().await;
    }
}

#[actix_web::test]
async fn device_silence_drill_passes() {
    drill_passes("device-silence").await;
}

#[actix_web::test]
async fn fault_report_drill_passes() {
    drill_passes("fault-report").await;
}

#[actix_web::test]
async fn failover_drill_passes() {
    drill_passes("failover").await;
}

#[actix_web::test]
async fn gate_pc_loss_drill_passes() {
    drill_passes("gate-pc-loss").await;
}

#[actix_web::test]
async fn crash_loop_drill_passes() {
    drill_passes("crash-loop").await;
}

#[actix_web::test]
async fn flapping_drill_passes() {
    drill_passes("flapping").await;
}

#[actix_web::test]
async fn alert_storm_drill_passes() {
    drill_passes("alert-storm").await;
}

#[actix_web::test]
async fn taxi_morning_drill_passes() {
    drill_passes("taxi-morning").await;
}

#[actix_web::test]
async fn every_listed_scenario_is_tested_here() {
    let listed: Vec<&str> = drill::SCENARIOS.iter().map(|s| s.0).collect();
    assert_eq!(
        listed,
        [
            "device-silence",
            "fault-report",
            "failover",
            "gate-pc-loss",
            "crash-loop",
            "flapping",
            "alert-storm",
            "taxi-morning"
        ]
    );
    let out = Command::new(BIN).args(["drill", "--list"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for name in listed {
        assert!(text.contains(name), "{text}");
    }
}

/// Expecting two alerts where one silent device raises one: the row fails, so does the drill;
/// and the binary, run against the same server, prints the FAIL row and exits non-zero.
#[actix_web::test]
async fn a_broken_expectation_fails_the_drill() {
    let s = server(crate::support::Backend::Sqlite).await;
    let mut options = Options::new(&s.base, &s.admin);
    options.expect_alerts = 2;
    let report = drill::run("device-silence", &options).await.unwrap();
    assert!(!report.passed(), "{}", report.table());
    let failed = failed_rows(&report);
    assert_eq!(failed, ["one heartbeat_missed alert, open"], "{}", report.table());

    let (base, admin) = (s.base.clone(), s.admin.clone());
    let out = actix_web::rt::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(["drill", "device-silence", "--server", &base, "--expect-alerts", "2"])
            .env("KWANJE_TOKEN", &admin)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(stdout.contains("FAIL  one heartbeat_missed alert, open"), "{stdout}");
    assert!(stdout.contains("drill device-silence FAILED"), "{stdout}");

    // The same binary with the true expectation passes, exit status 0.
    let (base, admin) = (s.base.clone(), s.admin.clone());
    let out = actix_web::rt::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(["drill", "fault-report", "--server", &base])
            .env("KWANJE_TOKEN", &admin)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("drill fault-report passed"), "{stdout}");
    s.stop().await;
}

/// The settle row is a real check: told a 1 s hold-down while the server holds a flapping device
/// for its default minute, `flapping` fails on that row, and on the resolution that follows it.
#[actix_web::test]
async fn flapping_fails_when_the_device_is_held_longer_than_the_hold_down() {
    let s = Server::start_with(crate::support::Backend::Sqlite, |c| c.fault_injection = true).await;
    let mut options = Options::new(&s.base, &s.admin);
    options.flap_hold_down = std::time::Duration::from_secs(1);
    let report = drill::run("flapping", &options).await.unwrap();
    let failed = failed_rows(&report);
    assert_eq!(
        failed,
        [
            "it settles on up once the contact holds for the hold-down",
            "the flapping alert resolves when it settles"
        ],
        "{}",
        report.table()
    );
    s.stop().await;
}

/// `taxi-morning` needs a terminal nobody else uses: with someone else's taxi in line at T2, it
/// fails on its first row, does nothing else, and the taxi keeps its place.
#[actix_web::test]
async fn taxi_morning_refuses_a_busy_terminal_and_leaves_it_alone() {
    use kwanje::auth::Role;
    use serde_json::json;
    let s = server(crate::support::Backend::Sqlite).await;
    let (status, body) = s
        .post(
            "/api/v1/taxis",
            json!({"plate": "BUSY1", "license_region": "seoul", "class": "standard"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let gate = s.token("gate-lot", Role::Client, Some("gate-lot"));
    let arrival = json!({"plate": "BUSY1", "terminal": "T2", "camera_id": "lpr-lot-entry"});
    let (status, body) = s
        .call("POST", "/api/v1/taxis/arrivals", Some(&gate), Some(arrival))
        .await;
    assert_eq!((status, &body["outcome"]), (201, &json!("queued")), "{body}");
    let before = s.get("/api/v1/queues?terminal=T2").await.1;

    let report = drill::run("taxi-morning", &Options::new(&s.base, &s.admin))
        .await
        .unwrap();
    assert!(!report.passed(), "{}", report.table());
    assert_eq!(report.rows.len(), 1, "{}", report.table());
    assert!(
        report.rows[0].observed.contains("1 in line: BUSY1"),
        "{}",
        report.table()
    );
    assert_eq!(s.get("/api/v1/queues?terminal=T2").await.1, before);
    s.stop().await;
}
