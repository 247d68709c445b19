//! `device-silence`: a device stops heartbeating. Down within its deadline (interval ×
//! tolerance), exactly one `heartbeat_missed` alert, and the next heartbeat brings it up and
//! resolves the alert.

use std::time::{Duration, Instant};

use super::fixture::{
    self, alert_resolves, alerts, alerts_path, dev, ms, some_items, state_is, until, Rig, PATIENCE, SLACK,
};
use super::{Options, Report};
use crate::sim::gate_pc::Health;
use crate::sim::session::Control;

pub const NAME: &str = "device-silence";

pub async fn run(options: &Options) -> anyhow::Result<Report> {
    let rig = Rig::start(options, NAME, &[dev("cam")]).await?;
    let report = script(&rig, options).await;
    rig.stop().await;
    Ok(report)
}

async fn script(rig: &Rig, options: &Options) -> Report {
    let mut r = Report::new(NAME);
    let cam = rig.id("cam");
    let device = format!("/api/v1/devices/{cam}");
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
        device: cam.clone(),
        health: Health::Silent { ticks: u32::MAX },
    });
    let silent = Instant::now();
    let deadline = Duration::from_millis(fixture::INTERVAL_MS * u64::from(fixture::TOLERANCE));
    let (ok, seen, _) = until(&rig.api, &device, PATIENCE, state_is("down")).await;
    let took = silent.elapsed();
    let in_time = ok && took <= deadline + SLACK;
    r.row(
        "down within its deadline (interval × tolerance)",
        format!("down ≤ {} (deadline {} + slack)", ms(deadline + SLACK), ms(deadline)),
        if ok { format!("down after {}", ms(took)) } else { seen },
        took,
        in_time,
    );
    let (_, _, took) = until(&rig.api, &alerts_path(&cam, "heartbeat_missed"), PATIENCE, some_items).await;
    let open = alerts(&rig.api, &cam, "heartbeat_missed", Some("open")).await;
    r.row(
        "one heartbeat_missed alert, open",
        format!("{} open", options.expect_alerts),
        format!("{} open", open.len()),
        took,
        open.len() as u64 == options.expect_alerts,
    );
    rig.tell(Control::Health {
        device: cam.clone(),
        health: Health::Ok,
    });
    let (ok, seen, took) = until(&rig.api, &device, PATIENCE, state_is("up")).await;
    r.row("a heartbeat brings it back up", "state up", seen, took, ok);
    alert_resolves(&mut r, &rig.api, open.first(), "recovery resolves the alert").await;
    r
}
