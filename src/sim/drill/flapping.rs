//! `flapping`: a device's contact comes and goes, a fault report and an ok heartbeat in turn.
//! After more than 5 changes within 2 minutes it is `flapping`, reported by one `flapping` alert
//! (minor) however long it goes on, not by an alert per change. Once the contact holds, the
//! device settles on `up` after the server's hold-down (a minute by default,
//! [`Options::flap_hold_down`]) and the `flapping` alert resolves.

use std::time::Duration;

use super::fixture::{
    alert_resolves, alerts, alerts_path, dev, ms, some_items, state_is, until, Rig, INTERVAL_MS, PATIENCE, SLACK,
};
use super::{Options, Report};
use crate::sim::gate_pc::Health;
use crate::sim::session::Control;

pub const NAME: &str = "flapping";
/// Ticks of alternating fault and ok: 16 changes, well past the threshold.
const FLAP_TICKS: u32 = 16;

pub async fn run(options: &Options) -> anyhow::Result<Report> {
    let rig = Rig::start(options, NAME, &[dev("det")]).await?;
    let report = script(&rig, options).await;
    rig.stop().await;
    Ok(report)
}

async fn script(rig: &Rig, options: &Options) -> Report {
    let mut r = Report::new(NAME);
    let det = rig.id("det");
    let device = format!("/api/v1/devices/{det}");
    let (ok, seen, took) = until(&rig.api, &device, PATIENCE, state_is("up")).await;
    if !r.row("the device is up", "state up", seen, took, ok) {
        return r;
    }
    rig.tell(Control::Health {
        device: det.clone(),
        health: Health::Flap { ticks: FLAP_TICKS },
    });
    let (ok, seen, took) = until(&rig.api, &device, PATIENCE, state_is("flapping")).await;
    r.row("reported as flapping", "state flapping", seen, took, ok);
    let (_, _, took) = until(&rig.api, &alerts_path(&det, "flapping"), PATIENCE, some_items).await;
    // Let the flapping run its course (the script's pacing), then count.
    tokio::time::sleep(Duration::from_millis(INTERVAL_MS * u64::from(FLAP_TICKS))).await;
    let all = alerts(&rig.api, &det, "flapping", None).await;
    r.row(
        "one flapping alert however long it flaps, minor",
        format!("{}, minor", options.expect_alerts),
        format!(
            "{}, {}",
            all.len(),
            all.first().and_then(|a| a["severity"].as_str()).unwrap_or("-")
        ),
        took,
        all.len() as u64 == options.expect_alerts && all.iter().all(|a| a["severity"] == "minor"),
    );
    let faults = alerts(&rig.api, &det, "device_fault", None).await;
    let bound = 5;
    r.row(
        "no alert storm: few device_fault alerts before flapping held them",
        format!("≤ {bound} of {FLAP_TICKS} changes"),
        format!("{}", faults.len()),
        Duration::ZERO,
        faults.len() <= bound,
    );
    // The contact holds from here: no change for the hold-down, then the device settles.
    let settle = options.flap_hold_down + SLACK;
    let (ok, seen, took) = until(&rig.api, &device, settle, state_is("up")).await;
    r.row(
        "it settles on up once the contact holds for the hold-down",
        format!("state up within {}", ms(settle)),
        seen,
        took,
        ok,
    );
    alert_resolves(
        &mut r,
        &rig.api,
        all.first(),
        "the flapping alert resolves when it settles",
    )
    .await;
    r
}
