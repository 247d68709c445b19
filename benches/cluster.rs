//! Cluster mode: two nodes (the `kwanje` binary, separate processes) on one PostgreSQL schema
//! and one NATS server, `BENCH_CLUSTER_CLIENTS` gate PCs (default 200) of
//! `BENCH_CLUSTER_DEVICES` devices each (default 50: 10,000 devices), 64 partitions.
//!
//! 1. **Fan-out across nodes.** An operator on node 2 sends `BENCH_CLUSTER_MESSAGES` messages
//!    (default 2,000, one per millisecond) to `/topic/ops/bench`; a console on node 2 and one on
//!    node 1 subscribe. The figure is the delay from each SEND to each console's MESSAGE, same
//!    node against the other node (the bus through NATS), p50 / p99, and their ratio.
//! 2. **Heartbeats through a non-owner.** The gate PCs whose partitions node 2 owns connect to
//!    node 1 and send heartbeat batches (all their devices in one frame, each frame with a
//!    receipt, closed loop) for `BENCH_CLUSTER_SECS` seconds (default 3); the figure is
//!    heartbeats per second until node 2 has received every forwarded batch. Then the same
//!    sessions on node 2 itself, the floor without forwarding.
//! 3. **Takeover after kill -9**, `BENCH_CLUSTER_CYCLES` times (default 3): every gate PC beats
//!    through node 1 once a second (devices: 1 s interval, tolerance 3) and one device of a
//!    partition node 2 owns falls silent; node 2 is killed with SIGKILL. The figures: per
//!    partition, the time from the kill until node 1 owns it (p50 / p99 / max; the target is
//!    within the lease, 3 s, + 1 s), and what a console on node 1 saw: no device that kept
//!    beating marked down, the silent one's `heartbeat_missed` raised exactly once. Node 2 is
//!    then started again and takes its half back by hand-over before the next cycle.
//!
//! Run: `TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test TEST_NATS_URL=nats://127.0.0.1:4222
//! cargo bench --bench cluster` (without both it says so and does nothing).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use kwanje::auth::{Keys, Role};
use kwanje::ownership::Partitions;
use kwanje::stomp::Command;
use serde_json::{json, Value};

mod support;

use support::*;

const PARTITIONS: u16 = 64;
const LEASE_MS: u64 = 3_000;
const GIVE_UP: Duration = Duration::from_secs(120);

/// One node of the bench's cluster.
async fn node(url: &str, nats: &str, cluster: &str, id: u16) -> anyhow::Result<ServerProcess> {
    let id = id.to_string();
    let partitions = PARTITIONS.to_string();
    let lease = LEASE_MS.to_string();
    spawn_server(
        url.to_owned(),
        tempfile::tempdir()?,
        &[
            ("KWANJE_NATS_URL", nats),
            ("KWANJE_CLUSTER", cluster),
            ("KWANJE_NODE_ID", &id),
            ("KWANJE_PARTITIONS", &partitions),
            ("KWANJE_LEASE_MS", &lease),
            ("KWANJE_LEASE_RENEW_MS", "1000"),
        ],
    )
    .await
}

/// The owner of every partition as `addr` sees it.
async fn owners(addr: &str, viewer: &str) -> anyhow::Result<Vec<Option<u64>>> {
    let view: Value = serde_json::from_str(&http_get(addr, "/api/v1/cluster", Some(viewer)).await?)?;
    Ok(view["partitions"]
        .as_array()
        .context("no partitions")?
        .iter()
        .map(|p| p["owner"].as_u64())
        .collect())
}

/// Waits until `addr` sees `fact` of the owners.
async fn wait_owners(
    addr: &str,
    viewer: &str,
    what: &str,
    fact: impl Fn(&[Option<u64>]) -> bool,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + GIVE_UP;
    loop {
        if let Ok(o) = owners(addr, viewer).await {
            if fact(&o) {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            bail!("{what}: not within {GIVE_UP:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn even(o: &[Option<u64>]) -> bool {
    let half = usize::from(PARTITIONS / 2);
    o.iter().filter(|x| **x == Some(1)).count() == half && o.iter().filter(|x| **x == Some(2)).count() == half
}

fn beat_frame(client: usize, per_client: usize, silent: Option<&str>, receipt: Option<&str>) -> String {
    let devices: Vec<Value> = (0..per_client)
        .map(|d| format!("dev-{client}-{d}"))
        .filter(|id| Some(id.as_str()) != silent)
        .map(|id| json!({"id": id, "status": "ok"}))
        .collect();
    let body = json!({ "devices": devices }).to_string();
    let mut headers = vec![("destination", "/app/heartbeat"), ("content-type", "application/json")];
    if let Some(r) = receipt {
        headers.push(("receipt", r));
    }
    frame_text("SEND", &headers, &body)
}

/// A console subscribed to `destination` on `addr`.
async fn console(addr: &str, token: &str, destination: &str) -> anyhow::Result<Session> {
    let mut s = Session::open(addr, token).await?;
    s.send(frame_text(
        "SUBSCRIBE",
        &[("id", "0"), ("destination", destination), ("receipt", "sub")],
        "",
    ))
    .await?;
    s.expect(Command::Receipt).await?;
    Ok(s)
}

fn summary(label: &str, mut us: Vec<u64>) -> (u64, u64) {
    us.sort_unstable();
    let (p50, p99) = (percentile(&us, 0.50), percentile(&us, 0.99));
    out(&format!(
        "  {label}: {} messages, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        us.len(),
        p50 as f64 / 1000.0,
        p99 as f64 / 1000.0,
        us.last().copied().unwrap_or(0) as f64 / 1000.0
    ));
    (p50, p99)
}

/// Phase 1: the delay of one operator's broadcast to a console on its node and one on the other.
async fn fan_out(one: &ServerProcess, two: &ServerProcess, keys: &Keys) -> anyhow::Result<()> {
    let n = env_or("BENCH_CLUSTER_MESSAGES", 2_000);
    let viewer = token(keys, "bench-viewer", Role::Viewer, None);
    let operator = token(keys, "bench-operator", Role::Operator, None);
    let start = Instant::now();
    let mut listeners = Vec::new();
    for addr in [&two.addr, &one.addr] {
        let mut s = console(addr, &viewer, "/topic/ops/bench").await?;
        listeners.push(tokio::spawn(async move {
            let mut got = Vec::with_capacity(n);
            while got.len() < n {
                let f = s.recv().await?;
                if f.command == Command::Message {
                    let i: usize = std::str::from_utf8(&f.body)?.parse()?;
                    got.push((i, start.elapsed().as_micros() as u64));
                }
            }
            anyhow::Ok(got)
        }));
    }
    let mut sender = Session::open(&two.addr, &operator).await?;
    let mut sent = vec![0u64; n];
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    for (i, at) in sent.iter_mut().enumerate() {
        tick.tick().await;
        *at = start.elapsed().as_micros() as u64;
        sender
            .send(frame_text(
                "SEND",
                &[("destination", "/topic/ops/bench")],
                &i.to_string(),
            ))
            .await?;
    }
    let mut figures = Vec::new();
    for (label, listener) in ["same node (2 -> 2)", "other node (2 -> NATS -> 1)"]
        .into_iter()
        .zip(listeners)
    {
        let got = tokio::time::timeout(GIVE_UP, listener)
            .await
            .context("deliveries")???;
        let us = got.iter().map(|(i, at)| at.saturating_sub(sent[*i])).collect();
        figures.push(summary(label, us));
    }
    let (near, far) = (figures[0], figures[1]);
    out(&format!(
        "  other node / same node: p50 {:.2}x, p99 {:.2}x (target: p99 within 2x)",
        far.0 as f64 / near.0.max(1) as f64,
        far.1 as f64 / near.1.max(1) as f64
    ));
    Ok(())
}

/// Closed-loop heartbeat batches from `clients`' sessions on `addr` for `secs`: frames sent.
async fn blast(addr: &str, keys: &Keys, clients: &[usize], per_client: usize, secs: u64) -> anyhow::Result<u64> {
    let until = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for &c in clients {
        let client = format!("gate-{c}");
        let mut s = Session::open(addr, &token(keys, &client, Role::Client, Some(&client))).await?;
        tasks.push(tokio::spawn(async move {
            let mut frames = 0u64;
            let frame = beat_frame(c, per_client, None, Some("r"));
            while Instant::now() < until {
                s.send(frame.clone()).await?;
                s.expect(Command::Receipt).await?;
                frames += 1;
            }
            anyhow::Ok(frames)
        }));
    }
    let mut frames = 0;
    for t in tasks {
        frames += t.await??;
    }
    Ok(frames)
}

async fn counter(addr: &str, name: &str) -> anyhow::Result<u64> {
    Ok(metric(&http_get(addr, "/metrics", None).await?, name) as u64)
}

/// Phase 2: heartbeats per second through node 1 for node 2's gate PCs, then at node 2 itself.
async fn through_non_owner(
    one: &ServerProcess,
    two: &ServerProcess,
    keys: &Keys,
    owned_by_two: &[usize],
    per_client: usize,
) -> anyhow::Result<()> {
    let secs = env_or("BENCH_CLUSTER_SECS", 3) as u64;
    let received_before = counter(&two.addr, "kwanje_cluster_forwarded_received").await?;
    let started = Instant::now();
    let frames = blast(&one.addr, keys, owned_by_two, per_client, secs).await?;
    // Until node 2 has applied every batch node 1 forwarded (or it stops growing).
    let sent = counter(&one.addr, "kwanje_cluster_forwarded_sent").await?;
    let mut last = 0;
    let mut still = Instant::now();
    loop {
        let received = counter(&two.addr, "kwanje_cluster_forwarded_received").await? - received_before;
        if received != last {
            last = received;
            still = Instant::now();
        }
        if received >= frames || still.elapsed() > Duration::from_secs(2) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let dropped = counter(&one.addr, "kwanje_cluster_forwarded_dropped").await?
        + counter(&two.addr, "kwanje_cluster_forwarded_dropped").await?;
    let through = (last * per_client as u64) as f64 / elapsed;
    out(&format!(
        "  through node 1 (forwarded): {} gate PCs, {frames} batches of {per_client} sent, {last} applied at node 2, \
         {} lost ({sent} forwarded in all, {dropped} dropped and counted): {through:.0} heartbeats/s",
        owned_by_two.len(),
        frames.saturating_sub(last)
    ));
    let started = Instant::now();
    let frames = blast(&two.addr, keys, owned_by_two, per_client, secs).await?;
    let at_owner = (frames * per_client as u64) as f64 / started.elapsed().as_secs_f64();
    out(&format!(
        "  at node 2 itself (the floor): {frames} batches: {at_owner:.0} heartbeats/s; through a non-owner / at the owner: {:.2}",
        through / at_owner.max(1.0)
    ));
    Ok(())
}

/// What one console on node 1 saw in a takeover cycle.
#[derive(Debug, Default)]
struct Seen {
    /// Devices marked down, by id.
    down: HashMap<String, usize>,
    /// `alert.raised` by (kind, subject).
    raised: HashMap<(String, String), usize>,
}

/// Where the cluster runs and what it holds.
struct Rig {
    url: String,
    nats: String,
    cluster: String,
    clients: usize,
    per_client: usize,
}

/// Phase 3: kill -9 of node 2, `cycles` times.
async fn takeovers(rig: &Rig, one: &ServerProcess, mut two: ServerProcess, keys: &Keys) -> anyhow::Result<()> {
    let (clients, per_client) = (rig.clients, rig.per_client);
    let cycles = env_or("BENCH_CLUSTER_CYCLES", 3);
    let viewer = token(keys, "bench-viewer", Role::Viewer, None);
    let partitions = Partitions::new(PARTITIONS).context("partitions")?;
    // Every gate PC's session on node 1, beating once a second; one device falls silent per cycle.
    let silent = std::sync::Arc::new(std::sync::Mutex::new(HashSet::<String>::new()));
    let mut beaters = Vec::new();
    for c in 0..clients {
        let client = format!("gate-{c}");
        let mut s = Session::open(&one.addr, &token(keys, &client, Role::Client, Some(&client))).await?;
        let silent = silent.clone();
        beaters.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                let quiet: Vec<String> = silent.lock().map(|s| s.iter().cloned().collect()).unwrap_or_default();
                let devices: Vec<Value> = (0..per_client)
                    .map(|d| format!("dev-{c}-{d}"))
                    .filter(|id| !quiet.contains(id))
                    .map(|id| json!({"id": id, "status": "ok"}))
                    .collect();
                let frame = frame_text(
                    "SEND",
                    &[("destination", "/app/heartbeat")],
                    &json!({ "devices": devices }).to_string(),
                );
                if s.send(frame).await.is_err() {
                    return;
                }
            }
        }));
    }
    // Every device up before the first kill.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut per_partition_ms = Vec::new();
    let mut worst_cycle_ms = 0u64;
    let mut beating_down = 0usize;
    let mut silent_alerts = Vec::new();
    for cycle in 0..cycles {
        let before = owners(&one.addr, &viewer).await?;
        let theirs: Vec<usize> = (0..before.len()).filter(|p| before[*p] == Some(2)).collect();
        // A device of one of node 2's partitions falls silent.
        let victim_client = (0..clients)
            .find(|c| partitions.of(&format!("gate-{c}")).0 as usize == theirs[cycle % theirs.len()])
            .context("a gate PC in node 2's partition")?;
        let victim = format!("dev-{victim_client}-{}", cycle % per_client);
        let mut watch = console(&one.addr, &viewer, "/topic/devices").await?;
        let mut alerts = console(&one.addr, &viewer, "/topic/alerts").await?;
        if let Ok(mut s) = silent.lock() {
            s.insert(victim.clone());
        }
        let killed = Instant::now();
        two.child.kill()?;
        let _ = two.child.wait();
        let mut owned_at: BTreeMap<usize, u64> = BTreeMap::new();
        while owned_at.len() < theirs.len() {
            if killed.elapsed() > GIVE_UP {
                bail!("cycle {cycle}: node 1 did not take every partition over");
            }
            if let Ok(now) = owners(&one.addr, &viewer).await {
                let ms = killed.elapsed().as_millis() as u64;
                for p in &theirs {
                    if now[*p] == Some(1) {
                        owned_at.entry(*p).or_insert(ms);
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let cycle_ms = owned_at.values().copied().max().unwrap_or(0);
        worst_cycle_ms = worst_cycle_ms.max(cycle_ms);
        per_partition_ms.extend(owned_at.values().copied());
        // The silent device's deadline (3 s) runs from the takeover: watch for 6 s.
        let mut seen = Seen::default();
        let until = Instant::now() + Duration::from_secs(6);
        while Instant::now() < until {
            for (s, is_alerts) in [(&mut watch, false), (&mut alerts, true)] {
                if let Ok(Ok(f)) = tokio::time::timeout(Duration::from_millis(20), s.recv()).await {
                    if f.command != Command::Message {
                        continue;
                    }
                    let j: Value = serde_json::from_slice(&f.body)?;
                    if is_alerts && j["type"] == "alert.raised" {
                        let key = (
                            j["kind"].as_str().unwrap_or("").to_owned(),
                            j["subject_id"].as_str().unwrap_or("").to_owned(),
                        );
                        *seen.raised.entry(key).or_default() += 1;
                    } else if !is_alerts && j["state"] == "down" {
                        *seen.down.entry(j["id"].as_str().unwrap_or("").to_owned()).or_default() += 1;
                    }
                }
            }
        }
        let victim_alerts = seen
            .raised
            .get(&("heartbeat_missed".to_owned(), victim.clone()))
            .copied()
            .unwrap_or(0);
        let others_down: usize = seen.down.iter().filter(|(id, _)| **id != victim).map(|(_, n)| n).sum();
        beating_down += others_down;
        silent_alerts.push(victim_alerts);
        out(&format!(
            "  cycle {}: {} partitions re-owned within {cycle_ms} ms of the kill; beating devices marked down: {others_down}; \
             {victim} (silent): {} heartbeat_missed raised; alerts raised: {:?}",
            cycle + 1,
            theirs.len(),
            victim_alerts,
            seen.raised
        ));
        // Node 2 back, and its half handed over to it again.
        two = node(&rig.url, &rig.nats, &rig.cluster, 2).await?;
        wait_owners(&one.addr, &viewer, "hand-over back to node 2", even).await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    for b in beaters {
        b.abort();
    }
    per_partition_ms.sort_unstable();
    out(&format!(
        "  takeover after kill -9, {cycles} cycles, {} partitions: p50 {} ms, p99 {} ms, max {} ms (target: lease {LEASE_MS} ms + 1 s)",
        per_partition_ms.len(),
        percentile(&per_partition_ms, 0.50),
        percentile(&per_partition_ms, 0.99),
        worst_cycle_ms
    ));
    let once = silent_alerts.iter().filter(|n| **n == 1).count();
    out(&format!(
        "  beating devices marked down in all cycles: {beating_down}; silent devices alerted exactly once: {once} of {cycles}"
    ));
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (Ok(pg), Ok(nats)) = (std::env::var("TEST_DATABASE_URL"), std::env::var("TEST_NATS_URL")) else {
        out("cluster bench: needs TEST_DATABASE_URL (PostgreSQL) and TEST_NATS_URL (NATS with JetStream); skipped");
        return Ok(());
    };
    let clients = env_or("BENCH_CLUSTER_CLIENTS", 200);
    let per_client = env_or("BENCH_CLUSTER_DEVICES", 50);
    let cluster = format!("kwbench{}", std::process::id());
    let (url, _dir) = prepare_store(ServerSpec {
        clients,
        per_client,
        interval_ms: 1_000,
        tolerance: 3,
        postgres: Some(pg),
    })?;
    let keys = Keys::hs256(SECRET.as_bytes());
    let viewer = token(&keys, "bench-viewer", Role::Viewer, None);
    out(&format!(
        "cluster bench: 2 nodes, {PARTITIONS} partitions, {clients} gate PCs x {per_client} devices = {} devices, lease {LEASE_MS} ms",
        clients * per_client
    ));
    let one = node(&url, &nats, &cluster, 1).await?;
    wait_owners(&one.addr, &viewer, "node 1 owns everything", |o| {
        o.iter().all(|x| *x == Some(1))
    })
    .await?;
    let two = node(&url, &nats, &cluster, 2).await?;
    wait_owners(&one.addr, &viewer, "an even split", even).await?;
    let partitions = Partitions::new(PARTITIONS).context("partitions")?;
    let now = owners(&one.addr, &viewer).await?;
    let owned_by_two: Vec<usize> = (0..clients)
        .filter(|c| now[usize::from(partitions.of(&format!("gate-{c}")).0)] == Some(2))
        .collect();

    out("fan-out of an operator's broadcast:");
    fan_out(&one, &two, &keys).await?;
    out("heartbeats of node 2's gate PCs:");
    through_non_owner(&one, &two, &keys, &owned_by_two, per_client).await?;
    out("takeover:");
    let rig = Rig {
        url,
        nats,
        cluster,
        clients,
        per_client,
    };
    takeovers(&rig, &one, two, &keys).await?;
    Ok(())
}
