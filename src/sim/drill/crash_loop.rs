//! `crash-loop`: a device's actor is crashed through the fault-injection endpoint again and
//! again. Each crash is restarted, until more than 5 restarts in the window: the device is
//! quarantined with one critical `crash_loop` alert. An operator's `restart` lifts the
//! quarantine, resolves the alert, and the device is up again. Needs a server with
//! `KWANJE_FAULT_INJECTION=1`.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::fixture::{alert_resolves, alerts, alerts_path, command, dev, some_items, state_is, until, Rig, PATIENCE};
use super::{Options, Report};

pub const NAME: &str = "crash-loop";
/// Crashes tried before giving up on a quarantine.
const MAX_CRASHES: u64 = 10;
/// Restarts the supervisor allows in its window before it escalates.
const RESTARTS_ALLOWED: u64 = 5;

pub async fn run(options: &Options) -> anyhow::Result<Report> {
    let rig = Rig::start(options, NAME, &[dev("cam")]).await?;
    let report = script(&rig).await;
    rig.stop().await;
    Ok(report)
}

fn restarts_reach(n: u64) -> impl Fn(&Value) -> Option<String> {
    move |v| {
        let restarts = v["restarts"].as_u64()?;
        (restarts >= n || v["state"] == "quarantined").then(|| format!("restarts {restarts}, state {}", v["state"]))
    }
}

async fn script(rig: &Rig) -> Report {
    let mut r = Report::new(NAME);
    let cam = rig.id("cam");
    let device = format!("/api/v1/devices/{cam}");
    let (ok, seen, took) = until(&rig.api, &device, PATIENCE, state_is("up")).await;
    if !r.row("the device is up", "state up", seen, took, ok) {
        return r;
    }
    let started = Instant::now();
    let mut crashes = 0;
    let mut restarts = 0;
    let mut quarantined = false;
    while crashes < MAX_CRASHES && !quarantined {
        match rig.api.post(&format!("{device}/faults/crash"), &json!({})).await {
            Ok((202, _)) => crashes += 1,
            Ok((404, _)) if crashes == 0 => {
                r.row(
                    "the server has fault injection enabled",
                    "202 from faults/crash",
                    "404: start it with KWANJE_FAULT_INJECTION=1",
                    started.elapsed(),
                    false,
                );
                return r;
            }
            other => {
                r.row(
                    "each crash is accepted",
                    "202",
                    format!("{other:?}"),
                    started.elapsed(),
                    false,
                );
                return r;
            }
        }
        let (_, _, _) = until(&rig.api, &device, PATIENCE, restarts_reach(restarts + 1)).await;
        let view = rig.api.get_ok(&device).await.unwrap_or_default();
        restarts = view["restarts"].as_u64().unwrap_or(restarts);
        quarantined = view["state"] == "quarantined";
    }
    r.row(
        "each crash before escalation is restarted",
        format!("{RESTARTS_ALLOWED} restarts"),
        format!("{restarts} restarts after {crashes} crashes"),
        started.elapsed(),
        restarts >= RESTARTS_ALLOWED,
    );
    r.row(
        "then the device is quarantined",
        format!("quarantined after {} crashes", RESTARTS_ALLOWED + 1),
        if quarantined {
            format!("quarantined after {crashes} crashes")
        } else {
            format!("not quarantined after {crashes}")
        },
        started.elapsed(),
        quarantined && crashes == RESTARTS_ALLOWED + 1,
    );
    let (_, _, took) = until(&rig.api, &alerts_path(&cam, "crash_loop"), PATIENCE, some_items).await;
    let open = alerts(&rig.api, &cam, "crash_loop", Some("open")).await;
    r.row(
        "one crash_loop alert, critical",
        "1 open, critical",
        format!(
            "{} open, {}",
            open.len(),
            open.first().and_then(|a| a["severity"].as_str()).unwrap_or("-")
        ),
        took,
        open.len() == 1 && open[0]["severity"] == "critical",
    );
    let restart = match command(&rig.api, &cam, "restart").await {
        Ok(id) => id,
        Err(e) => {
            r.row(
                "an operator's restart is accepted",
                "202",
                format!("{e:#}"),
                Duration::ZERO,
                false,
            );
            return r;
        }
    };
    let (ok, seen, took) = until(&rig.api, &device, PATIENCE, state_is("up")).await;
    r.row(
        "the operator's restart lifts the quarantine: up again",
        "state up",
        seen,
        took,
        ok,
    );
    let (ok, seen, took) = until(
        &rig.api,
        &format!("/api/v1/commands/{restart}"),
        PATIENCE,
        state_is("acked"),
    )
    .await;
    r.row("the gate PC acks the restart", "state acked", seen, took, ok);
    alert_resolves(&mut r, &rig.api, open.first(), "the crash_loop alert resolves").await;
    r
}
