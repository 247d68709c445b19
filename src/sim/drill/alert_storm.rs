//! `alert-storm`: many devices of one gate PC report faults at once. Every operator console
//! subscribed to `/topic/alerts` (two here, over the same transport) sees every `device_fault`
//! alert raised exactly once, and then every resolution when they recover.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::fixture::{dev, state_is, until, Rig, PATIENCE};
use super::{Options, Report};
use crate::sim::gate_pc::Health;
use crate::sim::link::Link;
use crate::sim::session::Control;
use crate::stomp::{Command, Frame};

pub const NAME: &str = "alert-storm";
/// Operator consoles watching.
const CONSOLES: usize = 2;

pub async fn run(options: &Options) -> anyhow::Result<Report> {
    let names: Vec<String> = (0..options.storm_devices.max(1)).map(|i| format!("d{i:04}")).collect();
    let devs: Vec<_> = names.iter().map(|n| dev(n)).collect();
    let rig = Rig::start(options, NAME, &devs).await?;
    let report = script(&rig, options).await;
    rig.stop().await;
    Ok(report)
}

/// What one console counted: per alert id, how many times it was raised and resolved.
#[derive(Default)]
struct Seen {
    raised: HashMap<i64, u32>,
    resolved: HashMap<i64, u32>,
}

/// Opens a console and subscribes it to `/topic/alerts`, waiting for the receipt.
async fn console(options: &Options) -> anyhow::Result<Link> {
    let mut link = Link::open(&options.server, &options.transport, &options.token).await?;
    let sub = Frame::new(Command::Subscribe)
        .with_header("id", "alerts")
        .with_header("destination", "/topic/alerts")
        .with_header("receipt", "subscribed");
    link.send(&sub).await?;
    loop {
        match link.next_frame().await? {
            Some(f) if f.command == Command::Receipt => return Ok(link),
            Some(f) if f.command == Command::Error => anyhow::bail!("console refused: {:?}", f.header("message")),
            Some(_) => {}
            None => anyhow::bail!("console closed before its receipt"),
        }
    }
}

/// Reads `link` until `done(seen)` or `within` passes.
async fn watch(link: &mut Link, rig: &Rig, seen: &mut Seen, within: Duration, done: impl Fn(&Seen) -> bool) -> bool {
    let until = tokio::time::Instant::now() + within;
    while !done(seen) {
        let frame = match tokio::time::timeout_at(until, link.next_frame()).await {
            Ok(Ok(Some(f))) => f,
            _ => return false,
        };
        if frame.command != Command::Message {
            continue;
        }
        let Ok(alert) = serde_json::from_slice::<Value>(&frame.body) else {
            continue;
        };
        let ours = alert["kind"] == "device_fault"
            && alert["subject_id"]
                .as_str()
                .is_some_and(|s| rig.devices.iter().any(|d| d == s));
        let Some(id) = alert["id"].as_i64().filter(|_| ours) else {
            continue;
        };
        match (alert["type"].as_str(), alert["state"].as_str()) {
            (Some("alert.raised"), _) => *seen.raised.entry(id).or_default() += 1,
            (Some("alert.updated"), Some("resolved")) => *seen.resolved.entry(id).or_default() += 1,
            _ => {}
        }
    }
    true
}

async fn script(rig: &Rig, options: &Options) -> Report {
    let mut r = Report::new(NAME);
    let n = rig.devices.len();
    let started = Instant::now();
    let mut all_up = true;
    for id in &rig.devices {
        let (ok, _, _) = until(&rig.api, &format!("/api/v1/devices/{id}"), PATIENCE, state_is("up")).await;
        all_up &= ok;
    }
    if !r.row(
        "every device up",
        format!("{n} up"),
        if all_up { format!("{n} up") } else { "not all up".into() },
        started.elapsed(),
        all_up,
    ) {
        return r;
    }
    let mut consoles = Vec::new();
    for _ in 0..CONSOLES {
        match console(options).await {
            Ok(link) => consoles.push(link),
            Err(e) => {
                r.row(
                    "operator consoles subscribe to /topic/alerts",
                    "subscribed",
                    format!("{e:#}"),
                    Duration::ZERO,
                    false,
                );
                return r;
            }
        }
    }
    let storm = Instant::now();
    for id in &rig.devices {
        rig.tell(Control::Health {
            device: id.clone(),
            health: Health::Fault {
                ticks: u32::MAX,
                detail: "storm".into(),
            },
        });
    }
    let mut seens: Vec<Seen> = (0..CONSOLES).map(|_| Seen::default()).collect();
    for (i, (link, seen)) in consoles.iter_mut().zip(&mut seens).enumerate() {
        let ok = watch(link, rig, seen, PATIENCE, |s| s.raised.len() >= n).await;
        r.row(
            &format!("console {} sees every alert raised", i + 1),
            format!("{n} alerts"),
            format!("{} alerts", seen.raised.len()),
            storm.elapsed(),
            ok,
        );
    }
    let heal = Instant::now();
    for id in &rig.devices {
        rig.tell(Control::Health {
            device: id.clone(),
            health: Health::Ok,
        });
    }
    for (i, (link, seen)) in consoles.iter_mut().zip(&mut seens).enumerate() {
        let ok = watch(link, rig, seen, PATIENCE, |s| s.resolved.len() >= n).await;
        r.row(
            &format!("console {} sees every alert resolved", i + 1),
            format!("{n} resolved"),
            format!("{} resolved", seen.resolved.len()),
            heal.elapsed(),
            ok,
        );
        // Raised messages precede their resolution on one session: a duplicate would be here.
        let twice = seen.raised.values().filter(|c| **c > 1).count();
        r.row(
            &format!("console {}: each alert raised once", i + 1),
            "0 duplicates",
            format!("{twice} duplicates"),
            Duration::ZERO,
            twice == 0 && seen.raised.len() == n,
        );
    }
    for link in consoles {
        link.close().await;
    }
    r
}
