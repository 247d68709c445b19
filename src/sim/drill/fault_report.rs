//! `fault-report`: a gate PC reports a fault for a device. Down at once (no deadline to wait
//! for), one `device_fault` alert, and an `ok` heartbeat brings it up and resolves the alert.

use std::time::Duration;

use super::fixture::{alert_resolves, alerts, alerts_path, dev, some_items, state_is, until, Rig, PATIENCE, SLACK};
use super::{Options, Report};
use crate::sim::gate_pc::Health;
use crate::sim::session::Control;

pub const NAME: &str = "fault-report";

pub async fn run(options: &Options) -> anyhow::Result<Report> {
    let rig = Rig::start(options, NAME, &[dev("gate")]).await?;
    let report = script(&rig, options).await;
    rig.stop().await;
    Ok(report)
}

async fn script(rig: &Rig, options: &Options) -> Report {
    let mut r = Report::new(NAME);
    let gate = rig.id("gate");
    let device = format!("/api/v1/devices/{gate}");
    let (ok, seen, took) = until(&rig.api, &device, PATIENCE, state_is("up")).await;
    if !r.row(
        "the device is up once its gate PC heartbeats",
        "state up",
        seen,
        took,
        ok,
    ) {
        return r;
    }
    rig.tell(Control::Health {
        device: gate.clone(),
        health: Health::Fault {
            ticks: u32::MAX,
            detail: "arm stuck".into(),
        },
    });
    // At once: one heartbeat interval for the report to be sent, plus the slack.
    let within = Duration::from_millis(super::fixture::INTERVAL_MS) + SLACK;
    let (ok, seen, took) = until(&rig.api, &device, PATIENCE, state_is("down")).await;
    r.row(
        "down at once on a fault report",
        format!("down ≤ {} ms", within.as_millis()),
        if ok {
            format!("down after {} ms", took.as_millis())
        } else {
            seen
        },
        took,
        ok && took <= within,
    );
    let (_, _, took) = until(&rig.api, &alerts_path(&gate, "device_fault"), PATIENCE, some_items).await;
    let open = alerts(&rig.api, &gate, "device_fault", Some("open")).await;
    r.row(
        "one device_fault alert, open, major",
        format!("{} open, major", options.expect_alerts),
        format!(
            "{} open, {}",
            open.len(),
            open.first().and_then(|a| a["severity"].as_str()).unwrap_or("-")
        ),
        took,
        open.len() as u64 == options.expect_alerts && open.iter().all(|a| a["severity"] == "major"),
    );
    let missed = alerts(&rig.api, &gate, "heartbeat_missed", None).await;
    r.row(
        "no heartbeat_missed alert: it kept reporting",
        "0",
        format!("{}", missed.len()),
        Duration::ZERO,
        missed.is_empty(),
    );
    rig.tell(Control::Health {
        device: gate.clone(),
        health: Health::Ok,
    });
    let (ok, seen, took) = until(&rig.api, &device, PATIENCE, state_is("up")).await;
    r.row("an ok heartbeat brings it back up", "state up", seen, took, ok);
    alert_resolves(&mut r, &rig.api, open.first(), "recovery resolves the alert").await;
    r
}
