//! What the drills share: a small client of their own (registered under a fresh prefix, with
//! fast heartbeats) played by a real gate PC task, and waiting for the API to show a fact.

use std::rc::Rc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::verdict::Report;
use super::Options;
use crate::sim::api::Api;
use crate::sim::chaos::Chaos;
use crate::sim::gate_pc::GatePc;
use crate::sim::provision::{provision, Provisioned};
use crate::sim::session::{self, Control, Handle, Plan};
use crate::sim::site::{ClientSpec, DeviceSpec, Site, Terminal, Zone};
use crate::sim::stats::Stats;

/// The drills' heartbeat interval and tolerance: a silent device is down after 600 ms.
pub const INTERVAL_MS: u64 = 200;
pub const TOLERANCE: u32 = 3;
/// How long a drill waits for a fact before the row fails.
pub const PATIENCE: Duration = Duration::from_secs(15);
/// Allowance on top of a deadline for the server's timers, the store and the polling.
pub const SLACK: Duration = Duration::from_secs(2);
/// Polling period.
const POLL: Duration = Duration::from_millis(50);

/// A drill's own gate PC and devices.
#[derive(Debug)]
pub struct Rig {
    pub api: Api,
    pub client: String,
    pub devices: Vec<String>,
    pub provisioned: Provisioned,
    pub stats: Rc<Stats>,
    pub pc: Handle,
}

/// A spec of one device of a rig: suffix, and its standby's suffix.
#[derive(Debug, Clone, Copy)]
pub struct Dev<'a> {
    pub name: &'a str,
    pub standby: Option<&'a str>,
}

pub fn dev(name: &str) -> Dev<'_> {
    Dev { name, standby: None }
}

/// A fresh prefix: `drill-{scenario}-{6 hex}`.
pub fn prefix(scenario: &str) -> String {
    format!("drill-{scenario}-{:06x}", rand::random::<u32>() & 0xff_ffff)
}

impl Rig {
    /// Registers a client `{prefix}-pc` with the devices `{prefix}-{name}` (standbys first) and
    /// starts its gate PC.
    pub async fn start(options: &Options, scenario: &str, devs: &[Dev<'_>]) -> anyhow::Result<Rig> {
        let p = prefix(scenario);
        let client = format!("{p}-pc");
        let spec = |d: &Dev<'_>| DeviceSpec {
            id: format!("{p}-{}", d.name),
            kind: "lpr_camera".into(),
            lane: None,
            standby_id: d.standby.map(|s| format!("{p}-{s}")),
            auto_failover: d.standby.is_some(),
            heartbeat_interval_ms: Some(INTERVAL_MS),
            miss_tolerance: Some(TOLERANCE),
        };
        let devices: Vec<DeviceSpec> = devs.iter().map(spec).collect();
        let site = Site {
            terminals: vec![Terminal {
                id: "T1".into(),
                zones: vec![Zone {
                    id: "drill".into(),
                    clients: vec![ClientSpec {
                        id: client.clone(),
                        name: format!("drill {scenario}"),
                        devices: devices.clone(),
                    }],
                }],
            }],
            taxis: Vec::new(),
        };
        let api = options.api();
        let provisioned = provision(&api, &site).await?;
        let stats = Rc::new(Stats::default());
        let plan = Plan {
            server: options.server.clone(),
            transport: options.transport.clone(),
            token: provisioned.tokens.get(&client).cloned().unwrap_or_default(),
            core: GatePc::new(&client, &devices),
            interval: Duration::from_millis(INTERVAL_MS),
            tolerance: TOLERANCE,
            chaos: Chaos::new(0.0),
            crash: None,
        };
        let pc = session::spawn(plan, stats.clone());
        Ok(Rig {
            api,
            client,
            devices: devices.into_iter().map(|d| d.id).collect(),
            provisioned,
            stats,
            pc,
        })
    }

    /// The full id of device `name`.
    pub fn id(&self, name: &str) -> String {
        format!("{}-{name}", self.client.trim_end_matches("-pc"))
    }

    pub fn tell(&self, control: Control) {
        self.pc.tell(control);
    }

    pub async fn stop(self) {
        self.pc.stop().await;
    }
}

/// Polls `GET path` until `check` returns `Some(observed)` or `within` passes; returns what was
/// last observed (or why nothing was), whether it held, and how long it took.
pub async fn until(
    api: &Api,
    path: &str,
    within: Duration,
    check: impl Fn(&Value) -> Option<String>,
) -> (bool, String, Duration) {
    let started = Instant::now();
    let mut last;
    loop {
        match api.get(path).await {
            Ok((200, body)) => match check(&body) {
                Some(observed) => return (true, observed, started.elapsed()),
                None => last = summarize(&body),
            },
            Ok((status, body)) => last = format!("{status} {}", summarize(&body)),
            Err(e) => last = format!("{e:#}"),
        }
        if started.elapsed() >= within {
            return (false, last, started.elapsed());
        }
        tokio::time::sleep(POLL).await;
    }
}

/// A short rendering of an answer for the observed column.
fn summarize(body: &Value) -> String {
    if let Some(state) = body["state"].as_str() {
        return format!("state {state}");
    }
    if let Some(items) = body["items"].as_array() {
        return format!("{} items", items.len());
    }
    let text = body.to_string();
    text.chars().take(80).collect()
}

/// A device's `state` once it is `want`.
/// One row: the alert `alert` (as the alerts list gives it) reaches `resolved` within
/// [`PATIENCE`]; a failed row when there was no alert to watch.
pub async fn alert_resolves(r: &mut Report, api: &Api, alert: Option<&Value>, expectation: &str) {
    match alert.and_then(|a| a["id"].as_i64()) {
        Some(id) => {
            let (ok, seen, took) = until(api, &format!("/api/v1/alerts/{id}"), PATIENCE, state_is("resolved")).await;
            r.row(expectation, "state resolved", seen, took, ok);
        }
        None => {
            r.row(
                expectation,
                "state resolved",
                "no alert to resolve",
                Duration::ZERO,
                false,
            );
        }
    }
}

pub fn state_is(want: &'static str) -> impl Fn(&Value) -> Option<String> {
    move |v| (v["state"] == want).then(|| format!("state {want}"))
}

/// `GET /api/v1/alerts` for `subject` and `kind` (and `state` when given): the items.
pub async fn alerts(api: &Api, subject: &str, kind: &str, state: Option<&str>) -> Vec<Value> {
    let mut query = format!("subject_id={subject}&kind={kind}");
    if let Some(s) = state {
        query.push_str(&format!("&state={s}"));
    }
    api.list_all("/api/v1/alerts", &query).await.unwrap_or_default()
}

/// The alerts path for `until`.
pub fn alerts_path(subject: &str, kind: &str) -> String {
    format!("/api/v1/alerts?subject_id={subject}&kind={kind}&limit=1000")
}

/// At least one item in a list answer: how many.
pub fn some_items(v: &Value) -> Option<String> {
    let n = v["items"].as_array()?.len();
    (n > 0).then(|| format!("{n}"))
}

/// Issues a command as the drill's operator; the command's id.
pub async fn command(api: &Api, device: &str, kind: &str) -> anyhow::Result<i64> {
    let path = format!("/api/v1/devices/{device}/commands");
    match api.post(&path, &json!({"kind": kind, "reason": "drill"})).await? {
        (202, body) => body["id"]
            .as_i64()
            .ok_or_else(|| anyhow::anyhow!("command without id: {body}")),
        (status, body) => anyhow::bail!("POST {path}: {status} {body}"),
    }
}

/// "N ms" for the expected column.
pub fn ms(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}
