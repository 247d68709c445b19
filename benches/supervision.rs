//! Supervision benchmark: prints figures, asserts nothing (timings belong here, not in tests).
//!
//! `cargo bench --bench supervision` (release profile). Environment: `BENCH_DEVICES`
//! (default 100000), `BENCH_HEARTBEATS` (default 3000000), `BENCH_CRASHES` (default 1000).
//!
//! Figures, all in one process with the real device actors, supervisor, alert service and a
//! SQLite store in a temporary directory:
//! 1. RSS per idle device actor (each up, with its deadline timer armed) at N devices;
//! 2. heartbeats handled per second by the device actors (each a message to its actor), and
//!    heartbeats applied per second through the registry (`Devices::heartbeat_nowait`, the call
//!    the STOMP route and the HTTP heartbeat make), from one sender thread per core: for a
//!    device that stays up a timestamp and nothing else, no message;
//! 3. restart latency after a panic: crash injected > new actor answering, p50/p99;
//! 4. detection lateness: how long after its deadline a silent device is marked down, p50/p99,
//!    with all N devices going silent at once (deadlines spread over one interval, as their
//!    heartbeats were).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix::prelude::*;
use kwanje::alert::AlertService;
use kwanje::device::actor::DeviceShared;
use kwanje::device::lifecycle::FlapPolicy;
use kwanje::device::messages::DeviceChanged;
use kwanje::device::messages::{Crash, Heartbeat};
use kwanje::device::{DeviceState, Devices, HeartbeatStatus};
use kwanje::ids::IdGen;
use kwanje::listen::Tells;
use kwanje::store::models::{clients, devices};
use kwanje::store::Store;
use kwanje::supervision::RestartPolicy;
use kwanje::time::{Clock, Millis, SystemClock};

/// The default deadline (5 s × 3), long enough that no device misses it during the other phases.
// As the binary does (src/main.rs), which says why.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const INTERVAL_MS: i64 = 5_000;
const TOLERANCE: i32 = 3;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// Each device that went down, and when.
type Downs = Arc<Mutex<Vec<(Arc<kwanje::device::entry::DeviceEntry>, Millis)>>>;

/// Collects the time each device went down.
struct Collector {
    downs: Downs,
    count: Arc<AtomicUsize>,
}

impl Actor for Collector {
    type Context = Context<Self>;
}

impl Handler<DeviceChanged> for Collector {
    type Result = ();
    fn handle(&mut self, msg: DeviceChanged, _: &mut Context<Self>) {
        if msg.transition.to == DeviceState::Down {
            self.downs.lock().unwrap().push((msg.entry, msg.transition.at));
            self.count.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn ok() -> Heartbeat {
    Heartbeat {
        status: HeartbeatStatus::Ok,
        detail: None,
    }
}

fn main() {
    let n = env("BENCH_DEVICES", 100_000);
    let total_heartbeats = env("BENCH_HEARTBEATS", 3_000_000);
    let crashes = env("BENCH_CRASHES", 1_000);
    // As the binary does: a panic is one log line, not a symbolised backtrace on stderr.
    kwanje::supervision::guard::install_panic_hook();
    let threads = std::thread::available_parallelism().map_or(2, |c| c.get());
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = Store::open(&url).unwrap();
    store.migrate().unwrap();
    let now = Millis::now().0;
    store
        .write_blocking(|c| {
            clients::insert(
                c,
                &clients::Client {
                    id: "pc".into(),
                    name: "pc".into(),
                    site: None,
                    created_ms: now,
                    decommissioned_ms: None,
                },
            )?;
            for i in 0..n {
                devices::insert(
                    c,
                    &devices::Device::registered(
                        &format!("dev-{i:06}"),
                        "lpr_camera",
                        "pc",
                        INTERVAL_MS,
                        TOLERANCE,
                        now,
                    ),
                )?;
            }
            Ok(())
        })
        .unwrap();

    let system = System::new();
    system.block_on(async move {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let ids = Arc::new(IdGen::new(0));
        let alerts = AlertService::new(store.clone(), ids.clone(), clock.clone(), Vec::new()).start();
        let arbiters: Vec<Arbiter> = (0..threads).map(|_| Arbiter::new()).collect();
        let shared = Arc::new(DeviceShared::new(clock.clone(), alerts, ids, FlapPolicy::default()));
        let downs = Arc::new(Mutex::new(Vec::new()));
        let down_count = Arc::new(AtomicUsize::new(0));
        let collector = Collector {
            downs: downs.clone(),
            count: down_count.clone(),
        }
        .start();
        shared.listen(collector.recipient());

        // The rows are boot input, not per-actor cost: read them on a blocking thread (its own
        // malloc arena) and take the baseline after.
        let rows = store.read(devices::all).await.unwrap();
        let rss_before = rss_bytes();
        let started = Instant::now();
        let fleet = Devices::start(
            store.clone(),
            rows,
            shared,
            arbiters.iter().map(Arbiter::handle).collect(),
            RestartPolicy::default(),
            kwanje::ownership::Ownership::default(),
        );
        let entries = fleet.registry().all();
        // Wait for every actor, then bring each up (its deadline timer armed).
        for e in &entries {
            while e.slot.addr().is_none() {
                actix_web::rt::time::sleep(Duration::from_millis(1)).await;
            }
        }
        let addrs: Vec<_> = entries.iter().map(|e| e.slot.addr().unwrap()).collect();
        for addr in &addrs {
            addr.send(ok()).await.unwrap();
        }
        let start_secs = started.elapsed().as_secs_f64();
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
        let rss_after = rss_bytes();
        let per_actor = (rss_after.saturating_sub(rss_before)) as f64 / n as f64;

        // Heartbeat throughput: passes round-robin over every device; a final request to every
        // device proves every heartbeat before it was handled.
        let t0 = Instant::now();
        let per_pass = total_heartbeats / n.max(1);
        for _ in 0..per_pass {
            for addr in &addrs {
                addr.do_send(ok());
            }
            // Keep mailboxes bounded: let the arbiters drain between passes.
            for addr in addrs.iter().step_by((n / 64).max(1)) {
                addr.send(ok()).await.unwrap();
            }
        }
        for addr in &addrs {
            addr.send(ok()).await.unwrap();
        }
        let sent = per_pass * n + n + per_pass * n.div_ceil((n / 64).max(1));
        let hb_secs = t0.elapsed().as_secs_f64();
        let hb_rate = sent as f64 / hb_secs;

        // Restart latency: crash > the registry holds a new actor that answers. Measured before
        // the registry phase, as it was before that phase existed: right after a 3 M-heartbeat
        // burst through the registry the p99 reads 1.2-3.7 ms on the same code (README).
        let mut restart_us = Vec::with_capacity(crashes);
        for e in entries.iter().take(crashes) {
            let old = e.slot.addr().unwrap();
            let t = Instant::now();
            old.do_send(Crash);
            loop {
                match e.slot.addr() {
                    Some(a) if a != old => {
                        a.send(ok()).await.unwrap();
                        break;
                    }
                    _ => actix_web::rt::task::yield_now().await,
                }
            }
            restart_us.push(t.elapsed().as_secs_f64() * 1e6);
        }
        restart_us.sort_by(f64::total_cmp);

        // Through the registry: every sender thread looks each of its devices up by id and
        // heartbeats it, as the edges do; no device may change state.
        let ids: Arc<Vec<String>> = Arc::new(entries.iter().map(|e| e.spec().id.to_string()).collect());
        let transitions_before = down_count.load(Ordering::Relaxed);
        let senders = threads.max(1);
        let per_sender = total_heartbeats / senders;
        let t_reg = Instant::now();
        let handles: Vec<_> = (0..senders)
            .map(|s| {
                let (fleet, ids) = (fleet.clone(), ids.clone());
                std::thread::spawn(move || {
                    let mut refused = 0usize;
                    for i in 0..per_sender {
                        let id = &ids[(i * senders + s) % ids.len()];
                        if fleet.heartbeat_nowait(id, HeartbeatStatus::Ok, None).is_err() {
                            refused += 1;
                        }
                    }
                    refused
                })
            })
            .collect();
        let refused: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        let reg_secs = t_reg.elapsed().as_secs_f64();
        let reg_sent = per_sender * senders;
        let reg_rate = reg_sent as f64 / reg_secs;
        let absorbed = entries.iter().filter(|e| e.watched()).count();
        let reg_note = format!(
            "{senders} sender threads, {refused} refused, {} went down, {absorbed} of {n} still watched",
            down_count.load(Ordering::Relaxed) - transitions_before
        );

        // Detection: a last heartbeat to each device spread over one interval, then silence.
        let addrs: Vec<_> = entries.iter().map(|e| e.slot.addr().unwrap()).collect();
        downs.lock().unwrap().clear();
        down_count.store(0, Ordering::Relaxed);
        let spread = Duration::from_millis(INTERVAL_MS as u64);
        let batch = (n / 100).max(1);
        let t_spread = Instant::now();
        let silence_from = Millis::now();
        for (i, chunk) in addrs.chunks(batch).enumerate() {
            for addr in chunk {
                addr.do_send(ok());
            }
            let due = spread.mul_f64((i + 1) as f64 / 100.0);
            if let Some(wait) = due.checked_sub(t_spread.elapsed()) {
                actix_web::rt::time::sleep(wait).await;
            }
        }
        let window = Duration::from_millis((INTERVAL_MS * i64::from(TOLERANCE)) as u64);
        let give_up = Instant::now() + window + Duration::from_secs(120);
        while down_count.load(Ordering::Relaxed) < n && Instant::now() < give_up {
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
        let mut late_ms: Vec<f64> = downs
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, at)| *at >= silence_from)
            .filter_map(|(e, at)| {
                let seen = e.last_seen()?;
                Some((at.0 - (seen + window).0) as f64)
            })
            .collect();
        late_ms.sort_by(f64::total_cmp);

        log_figures(&Figures {
            n,
            threads,
            start_secs,
            per_actor,
            hb_rate,
            sent,
            reg_rate,
            reg_sent,
            reg_note,
            restart_us,
            late_ms,
        });
        fleet.stop_all();
        System::current().stop();
    });
}

struct Figures {
    n: usize,
    threads: usize,
    start_secs: f64,
    per_actor: f64,
    hb_rate: f64,
    sent: usize,
    reg_rate: f64,
    reg_sent: usize,
    reg_note: String,
    restart_us: Vec<f64>,
    late_ms: Vec<f64>,
}

#[allow(clippy::print_stdout)]
fn log_figures(f: &Figures) {
    println!("kwanje supervision bench: devices={} device_threads={}", f.n, f.threads);
    println!("  start {} device actors (each brought up): {:.2} s", f.n, f.start_secs);
    println!(
        "  RSS per idle device actor (up, timer armed): {:.0} bytes ({:.2} KiB)",
        f.per_actor,
        f.per_actor / 1024.0
    );
    println!("  heartbeats handled: {:.0}/s ({} heartbeats)", f.hb_rate, f.sent);
    println!(
        "  heartbeats through the registry (devices staying up): {:.0}/s ({} heartbeats; {})",
        f.reg_rate, f.reg_sent, f.reg_note
    );
    println!(
        "  restart latency after a panic (n={}): p50 {:.0} us, p99 {:.0} us, max {:.0} us",
        f.restart_us.len(),
        percentile(&f.restart_us, 0.5),
        percentile(&f.restart_us, 0.99),
        f.restart_us.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "  detection lateness past deadline (n={} of {}): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        f.late_ms.len(),
        f.n,
        percentile(&f.late_ms, 0.5),
        percentile(&f.late_ms, 0.99),
        f.late_ms.last().copied().unwrap_or(f64::NAN)
    );
}
