//! `kwanje sim`: provision the site, start one task per gate PC and kiosk, the crasher (chaos's
//! actor crashes through the fault-injection endpoint) and the taxi traffic, show the summary
//! until the duration ends or the process is told to stop.

use std::rc::Rc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::api::Api;
use super::chaos::Chaos;
use super::gate_pc::GatePc;
use super::link::Transport;
use super::provision::{provision, Provisioned};
use super::session::{self, Handle, Plan};
use super::site::Site;
use super::stats::Stats;
use super::summary::{Snapshot, Summary};
use super::taxis;

/// The server's default heartbeat interval and tolerance, for devices that name none.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
pub const DEFAULT_TOLERANCE: u32 = 3;
/// How often the summary is read and shown.
pub const SUMMARY_EVERY: Duration = Duration::from_secs(2);

/// What `kwanje sim` was asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    pub server: String,
    pub token: String,
    pub site: Site,
    pub transport: Transport,
    pub chaos: f64,
    /// Run the taxi traffic (arrivals, passenger requests, trips).
    pub taxis: bool,
    pub duration: Option<Duration>,
    /// The server's pid, for its CPU beside the sim's in the summary.
    pub server_pid: Option<u32>,
    /// The `indicatif` display when stdout is a terminal.
    pub live: bool,
}

/// A running simulation.
#[derive(Debug)]
pub struct Running {
    pub stats: Rc<Stats>,
    pub provisioned: Provisioned,
    gate_pcs: Vec<Handle>,
    background: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Stops every gate PC (each closes its session) and the background tasks.
    pub async fn stop(self) {
        for task in &self.background {
            task.abort();
        }
        for pc in self.gate_pcs {
            pc.stop().await;
        }
    }

    pub fn gate_pcs(&self) -> &[Handle] {
        &self.gate_pcs
    }
}

/// Provisions the site and starts its clients.
pub async fn start(options: &Options) -> anyhow::Result<Running> {
    let api = Api::new(&options.server, &options.token);
    let provisioned = provision(&api, &options.site).await?;
    let stats = Rc::new(Stats::default());
    let (crash_tx, crash_rx) = mpsc::unbounded_channel();
    let chaos = Chaos::new(options.chaos);
    let mut gate_pcs = Vec::new();
    for placed in options.site.clients() {
        let spec = placed.client;
        let interval = spec
            .devices
            .iter()
            .filter_map(|d| d.heartbeat_interval_ms)
            .min()
            .map_or(DEFAULT_INTERVAL, Duration::from_millis);
        let tolerance = spec
            .devices
            .iter()
            .filter_map(|d| d.miss_tolerance)
            .min()
            .unwrap_or(DEFAULT_TOLERANCE);
        let plan = Plan {
            server: options.server.clone(),
            transport: options.transport.clone(),
            token: provisioned.tokens.get(&spec.id).cloned().unwrap_or_default(),
            core: GatePc::new(&spec.id, &spec.devices),
            interval,
            tolerance,
            chaos,
            crash: Some(crash_tx.clone()),
        };
        gate_pcs.push(session::spawn(plan, stats.clone()));
    }
    let mut background = vec![actix_web::rt::spawn(crasher(api.clone(), crash_rx, stats.clone()))];
    if options.taxis && !options.site.taxis.is_empty() {
        background.push(actix_web::rt::spawn(taxis::run(
            api.clone(),
            options.site.clone(),
            provisioned.tokens.clone(),
            stats.clone(),
        )));
    }
    log::info!(
        "sim started clients={} devices={} transport={:?} chaos={}",
        gate_pcs.len(),
        options.site.device_count(),
        options.transport,
        options.chaos
    );
    Ok(Running {
        stats,
        provisioned,
        gate_pcs,
        background,
    })
}

/// Crashes device actors on chaos's request, while the server allows it (404: fault injection
/// is off there, and the crasher stops asking).
async fn crasher(api: Api, mut rx: mpsc::UnboundedReceiver<String>, stats: Rc<Stats>) {
    let mut allowed = true;
    while let Some(device) = rx.recv().await {
        if !allowed {
            continue;
        }
        match api
            .post(
                &format!("/api/v1/devices/{device}/faults/crash"),
                &serde_json::json!({}),
            )
            .await
        {
            Ok((202, _)) => {
                stats.crashes.inc();
                log::debug!("sim chaos crash device={device}");
            }
            Ok((404, _)) => {
                allowed = false;
                log::info!("sim chaos crashes off: the server has fault injection disabled");
            }
            Ok((status, body)) => log::debug!("sim chaos crash refused device={device} status={status} body={body}"),
            Err(e) => log::debug!("sim chaos crash failed device={device} error={e:#}"),
        }
    }
}

/// `kwanje sim`: runs until `duration` ends, or until `stop` resolves (a signal); returns the
/// last reading.
pub async fn run(options: Options, stop: impl std::future::Future<Output = ()>) -> anyhow::Result<Snapshot> {
    let api = Api::new(&options.server, &options.token);
    let running = start(&options).await?;
    let mut summary = Summary::new(api, options.server_pid, options.duration, options.live);
    let until = options.duration.map(|d| tokio::time::Instant::now() + d);
    let mut every = tokio::time::interval(SUMMARY_EVERY);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = every.tick() => {
                let reading = summary.read(&running.stats).await;
                summary.show(&reading);
            }
            _ = &mut stop => break,
            _ = async { match until { Some(t) => tokio::time::sleep_until(t).await, None => std::future::pending().await } } => break,
        }
    }
    let last = summary.read(&running.stats).await;
    summary.finish(&last);
    running.stop().await;
    Ok(last)
}
