//! `gate-pc-loss`: a gate PC's session drops (no DISCONNECT, as when its network dies). One
//! `client_disconnected` alert for the PC, its devices unreachable and their alerts suppressed
//! under it (`suppressed_by` the parent alert's id; none published); when it returns, the parent alert resolves and every device is up
//! with no alert left open.

use std::time::Duration;

use serde_json::Value;

use super::fixture::{alert_resolves, alerts, alerts_path, dev, state_is, until, Rig, PATIENCE};
use super::{Options, Report};
use crate::sim::session::Control;

pub const NAME: &str = "gate-pc-loss";
/// Devices behind the gate PC.
const CHILDREN: [&str; 4] = ["det", "cam", "gate", "guide"];

pub async fn run(options: &Options) -> anyhow::Result<Report> {
    let devs: Vec<_> = CHILDREN.iter().map(|n| dev(n)).collect();
    let rig = Rig::start(options, NAME, &devs).await?;
    let report = script(&rig, options).await;
    rig.stop().await;
    Ok(report)
}

fn online_is(client: String, want: bool) -> impl Fn(&Value) -> Option<String> {
    move |v| {
        let c = v["items"].as_array()?.iter().find(|c| c["id"] == client.as_str())?;
        (c["online"] == want).then(|| format!("online {want}"))
    }
}

async fn all_in(rig: &Rig, state: &'static str) -> (bool, String, Duration) {
    let mut longest = Duration::ZERO;
    for name in CHILDREN {
        let (ok, seen, took) = until(
            &rig.api,
            &format!("/api/v1/devices/{}", rig.id(name)),
            PATIENCE,
            state_is(state),
        )
        .await;
        longest = longest.max(took);
        if !ok {
            return (false, format!("{}: {seen}", rig.id(name)), longest);
        }
    }
    (true, format!("all {} {state}", CHILDREN.len()), longest)
}

async fn script(rig: &Rig, options: &Options) -> Report {
    let mut r = Report::new(NAME);
    let clients = "/api/v1/clients?limit=1000";
    let (ok, seen, took) = all_in(rig, "up").await;
    if !r.row("every device up", "all up", seen, took, ok) {
        return r;
    }
    let (ok, seen, took) = until(&rig.api, clients, PATIENCE, online_is(rig.client.clone(), true)).await;
    r.row("the gate PC is online", "online true", seen, took, ok);
    rig.tell(Control::Drop {
        away: Duration::from_secs(3_600),
    });
    let (ok, seen, took) = until(&rig.api, clients, PATIENCE, online_is(rig.client.clone(), false)).await;
    r.row("the dropped gate PC is offline", "online false", seen, took, ok);
    let (_, _, took) = until(
        &rig.api,
        &alerts_path(&rig.client, "client_disconnected"),
        PATIENCE,
        super::fixture::some_items,
    )
    .await;
    let parent = alerts(&rig.api, &rig.client, "client_disconnected", Some("open")).await;
    r.row(
        "one client_disconnected alert for the gate PC",
        format!("{} open", options.expect_alerts),
        format!("{} open", parent.len()),
        took,
        parent.len() as u64 == options.expect_alerts,
    );
    let (ok, seen, took) = all_in(rig, "unreachable").await;
    r.row("its devices are unreachable", "all unreachable", seen, took, ok);
    let parent_id = parent.first().and_then(|a| a["id"].as_i64());
    let mut published = Vec::new();
    for name in CHILDREN {
        for kind in ["heartbeat_missed", "device_fault"] {
            for a in alerts(&rig.api, &rig.id(name), kind, Some("open")).await {
                if parent_id.is_none() || a["suppressed_by"].as_i64() != parent_id {
                    published.push(format!("{name} {kind} suppressed_by={}", a["suppressed_by"]));
                }
            }
        }
    }
    r.row(
        "no device alert published: each is suppressed under the gate PC",
        "0 unsuppressed",
        if published.is_empty() {
            "0 unsuppressed".to_owned()
        } else {
            published.join("; ")
        },
        Duration::ZERO,
        published.is_empty(),
    );
    rig.tell(Control::Return);
    let (ok, seen, took) = until(&rig.api, clients, PATIENCE, online_is(rig.client.clone(), true)).await;
    r.row("the gate PC returns", "online true", seen, took, ok);
    alert_resolves(&mut r, &rig.api, parent.first(), "the parent alert resolves").await;
    let (ok, seen, took) = all_in(rig, "up").await;
    r.row("every device up again", "all up", seen, took, ok);
    let mut open = 0;
    for name in CHILDREN {
        for kind in ["heartbeat_missed", "device_fault"] {
            let path = alerts_path(&rig.id(name), kind);
            let none_open = |v: &Value| {
                v["items"]
                    .as_array()?
                    .iter()
                    .all(|a| a["state"] == "resolved")
                    .then(|| "none open".to_owned())
            };
            let (ok, _, _) = until(&rig.api, &path, PATIENCE, none_open).await;
            open += usize::from(!ok);
        }
    }
    r.row(
        "no device alert left open",
        "0 open",
        format!("{open} open"),
        Duration::ZERO,
        open == 0,
    );
    r
}
