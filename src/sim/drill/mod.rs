//! `kwanje drill SCENARIO`: one scripted incident against a running server, played by simulated
//! field equipment over the public protocols, and checked by what the API then says. Each
//! scenario registers its own equipment under a fresh prefix (so drills never disturb one
//! another or a site), fast heartbeats (200 ms × 3), and returns a [`verdict::Report`].
//!
//! One scenario per file; [`fixture`] holds what they share.

pub mod alert_storm;
pub mod crash_loop;
pub mod device_silence;
pub mod failover;
pub mod fault_report;
pub mod fixture;
pub mod flapping;
pub mod gate_pc_loss;
pub mod taxi_morning;
pub mod verdict;

use std::time::Duration;

use super::api::Api;
use super::link::Transport;
pub use verdict::{Report, Row};

/// Every scenario: name and what it checks.
pub const SCENARIOS: &[(&str, &str)] = &[
    (
        "device-silence",
        "a silent device is down within its deadline with one alert; recovery resolves it",
    ),
    (
        "fault-report",
        "a fault report makes the device down at once with one device_fault alert; recovery resolves it",
    ),
    (
        "failover",
        "a down primary is switched to its standby (command executed and acked), then failed back",
    ),
    (
        "gate-pc-loss",
        "a gate PC that drops raises one parent alert, its devices' alerts suppressed; all resolved on return",
    ),
    (
        "crash-loop",
        "crashed actors restart, then quarantine with a critical alert, lifted by an operator restart",
    ),
    (
        "flapping",
        "a device going up and down is reported once as flapping, not as an alert storm",
    ),
    (
        "alert-storm",
        "many devices fail at once: every operator console sees every alert once",
    ),
    (
        "taxi-morning",
        "a morning at a quiet terminal: fair lines, first come first served, a no-show, a short trip's priority, the figures",
    ),
];

/// What a drill is run with.
#[derive(Debug, Clone)]
pub struct Options {
    pub server: String,
    pub token: String,
    pub transport: Transport,
    /// Alerts a single failure is expected to raise (1). Any other number is a deliberately
    /// broken expectation: the drill must then fail (the suite proves it can).
    pub expect_alerts: u64,
    /// Devices of `alert-storm`.
    pub storm_devices: usize,
    /// The server's flapping hold-down (`KWANJE_FLAP_HOLD_DOWN_MS`), which `flapping` waits out.
    pub flap_hold_down: Duration,
    /// The terminal of `taxi-morning` (default: the last one the server lists).
    pub terminal: Option<String>,
}

impl Options {
    pub fn new(server: &str, token: &str) -> Options {
        Options {
            server: server.to_owned(),
            token: token.to_owned(),
            transport: Transport::Ws,
            expect_alerts: 1,
            storm_devices: 50,
            flap_hold_down: Duration::from_millis(crate::config::DEFAULT_FLAP_HOLD_DOWN_MS),
            terminal: None,
        }
    }

    pub fn api(&self) -> Api {
        Api::new(&self.server, &self.token)
    }
}

/// Runs `scenario`; `Err` for an unknown name or when the server cannot be reached at all.
pub async fn run(scenario: &str, options: &Options) -> anyhow::Result<Report> {
    let report = match scenario {
        "device-silence" => device_silence::run(options).await?,
        "fault-report" => fault_report::run(options).await?,
        "failover" => failover::run(options).await?,
        "gate-pc-loss" => gate_pc_loss::run(options).await?,
        "crash-loop" => crash_loop::run(options).await?,
        "flapping" => flapping::run(options).await?,
        "alert-storm" => alert_storm::run(options).await?,
        "taxi-morning" => taxi_morning::run(options).await?,
        other => anyhow::bail!(
            "no drill {other:?}; `kwanje drill --list` names them: {}",
            SCENARIOS.iter().map(|s| s.0).collect::<Vec<_>>().join(", ")
        ),
    };
    log::info!(
        "drill finished scenario={scenario} passed={} rows={} failed={}",
        report.passed(),
        report.rows.len(),
        report.rows.iter().filter(|r| !r.passed).count()
    );
    Ok(report)
}

/// `kwanje drill --list`.
pub fn list() -> String {
    let width = SCENARIOS.iter().map(|s| s.0.len()).max().unwrap_or(0);
    SCENARIOS
        .iter()
        .map(|(name, what)| format!("{name:<width$}  {what}\n"))
        .collect()
}
