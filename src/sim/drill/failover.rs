//! `failover`: a primary camera with an up standby and automatic failover falls silent. The
//! server issues `switch_to_standby` (by `policy:failover`) to the gate PC, which executes and
//! acks it; the standby becomes active and `failover_executed` is raised. The primary recovers,
//! an operator fails back, the gate PC acks, and the primary is active again.

use std::time::Duration;

use serde_json::Value;

use super::fixture::{command, state_is, until, Dev, Rig, PATIENCE};
use super::{Options, Report};
use crate::sim::gate_pc::Health;
use crate::sim::session::Control;

pub const NAME: &str = "failover";

pub async fn run(options: &Options) -> anyhow::Result<Report> {
    let devs = [
        Dev {
            name: "cam-b",
            standby: None,
        },
        Dev {
            name: "cam",
            standby: Some("cam-b"),
        },
    ];
    let rig = Rig::start(options, NAME, &devs).await?;
    let report = script(&rig).await;
    rig.stop().await;
    Ok(report)
}

fn active_is(want: bool) -> impl Fn(&Value) -> Option<String> {
    move |v| (v["active"] == want).then(|| format!("active {want}"))
}

async fn script(rig: &Rig) -> Report {
    let mut r = Report::new(NAME);
    let cam = rig.id("cam");
    let standby = rig.id("cam-b");
    let primary = format!("/api/v1/devices/{cam}");
    let second = format!("/api/v1/devices/{standby}");
    let (ok1, _, _) = until(&rig.api, &primary, PATIENCE, state_is("up")).await;
    let (ok2, seen, took) = until(&rig.api, &second, PATIENCE, state_is("up")).await;
    if !r.row(
        "primary and standby up",
        "both up",
        if ok1 && ok2 { "both up".into() } else { seen },
        took,
        ok1 && ok2,
    ) {
        return r;
    }
    rig.tell(Control::Health {
        device: cam.clone(),
        health: Health::Silent { ticks: u32::MAX },
    });
    let (ok, seen, took) = until(&rig.api, &primary, PATIENCE, state_is("down")).await;
    r.row("the silent primary goes down", "state down", seen, took, ok);
    let path = format!("/api/v1/commands?device_id={cam}&limit=1000");
    let switch = |v: &Value| {
        v["items"].as_array()?.iter().find_map(|c| {
            (c["kind"] == "switch_to_standby" && c["state"] == "acked").then(|| {
                format!(
                    "switch_to_standby acked, issued by {}",
                    c["issued_by"].as_str().unwrap_or("?")
                )
            })
        })
    };
    let (ok, seen, took) = until(&rig.api, &path, PATIENCE, switch).await;
    r.row(
        "automatic switch_to_standby executed and acked by the gate PC",
        "acked, issued by policy:failover",
        seen.clone(),
        took,
        ok && seen.ends_with("policy:failover"),
    );
    let (ok1, _, _) = until(&rig.api, &primary, PATIENCE, active_is(false)).await;
    let (ok2, seen, took) = until(&rig.api, &second, PATIENCE, active_is(true)).await;
    r.row(
        "the standby is active, the primary not",
        "standby active, primary inactive",
        if ok1 && ok2 {
            "standby active, primary inactive".into()
        } else {
            seen
        },
        took,
        ok1 && ok2,
    );
    let executed = super::fixture::alerts_path(&cam, "failover_executed");
    let open_one = |v: &Value| {
        let open: Vec<&Value> = v["items"]
            .as_array()?
            .iter()
            .filter(|a| a["state"] != "resolved")
            .collect();
        (open.len() == 1).then(|| format!("1 open, {}", open[0]["severity"].as_str().unwrap_or("?")))
    };
    let (ok, seen, took) = until(&rig.api, &executed, PATIENCE, open_one).await;
    r.row(
        "failover_executed raised",
        "1 open, info",
        seen.clone(),
        took,
        ok && seen.ends_with("info"),
    );
    rig.tell(Control::Health {
        device: cam.clone(),
        health: Health::Ok,
    });
    let (ok, seen, took) = until(&rig.api, &primary, PATIENCE, state_is("up")).await;
    r.row("the primary recovers", "state up", seen, took, ok);
    let failback = match command(&rig.api, &cam, "failback").await {
        Ok(id) => id,
        Err(e) => {
            r.row(
                "an operator's failback is accepted",
                "202",
                format!("{e:#}"),
                Duration::ZERO,
                false,
            );
            return r;
        }
    };
    let (ok, seen, took) = until(
        &rig.api,
        &format!("/api/v1/commands/{failback}"),
        PATIENCE,
        state_is("acked"),
    )
    .await;
    r.row(
        "the operator's failback is acked by the gate PC",
        "state acked",
        seen,
        took,
        ok,
    );
    let (ok, seen, took) = until(&rig.api, &primary, PATIENCE, active_is(true)).await;
    r.row("the primary is active again", "active true", seen, took, ok);
    let resolved = |v: &Value| {
        let items = v["items"].as_array()?;
        (!items.is_empty() && items.iter().all(|a| a["state"] == "resolved")).then(|| "resolved".to_owned())
    };
    let (ok, seen, took) = until(&rig.api, &executed, PATIENCE, resolved).await;
    r.row("failover_executed resolves", "resolved", seen, took, ok);
    r
}
