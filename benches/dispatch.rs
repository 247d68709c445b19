//! Dispatch benchmark: prints figures, asserts nothing (timings belong here, not in tests).
//!
//! `cargo bench --bench dispatch` (release profile). Environment: `BENCH_TAXIS` (default 3000),
//! `BENCH_RATE` (passenger requests a second, default 1000), `BENCH_SECONDS` (default 10),
//! `BENCH_WORKERS` (closed-loop phase, default 64), `BENCH_DATABASE_URL` (default a SQLite file
//! in a temporary directory; `postgres://...` for PostgreSQL).
//!
//! Everything is the real thing in one process: two terminal actors (T1, T2) and one actor
//! per taxi under their supervisors, the journal writing every dispatch record and the
//! terminals' snapshots to the store, the [`Taxis`] handle the HTTP layer calls. HTTP itself is
//! left out, so the figures are the dispatcher's, not actix-web's.
//! 1. N taxis are registered and read by the lot cameras, half at each terminal, spread over
//!    the three regions: N taxis in line.
//! 2. Open loop: passenger requests at a fixed rate, alternating terminals, random region and
//!    distance. Each assigned taxi picks up, completes its trip and re-enters its lot at once,
//!    so the lines stay N long. Assignment latency is the time `Taxis::request` takes.
//! 3. Closed loop: W workers issue requests back to back, for the throughput ceiling.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix::prelude::*;
use kwanje::alert::AlertService;
use kwanje::ids::IdGen;
use kwanje::store::models::taxis;
use kwanje::store::Store;
use kwanje::supervision::RestartPolicy;
use kwanje::taxi::core::curb::SlotPlan;
use kwanje::taxi::core::model::{Plate, Region, TaxiClass, TerminalId};
use kwanje::taxi::core::settings::RawSettings;
use kwanje::taxi::messages::Reporter;
use kwanje::taxi::{TaxiBoot, TaxiDeps, Taxis};
use kwanje::time::{Clock, Millis, SystemClock};
use rand::Rng;

const REGIONS: [&str; 3] = ["seoul", "incheon", "gyeonggi"];
const TERMINALS: [&str; 2] = ["T1", "T2"];
/// Curb bays per region line at each terminal.
const BAYS: u16 = 4;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn plate(i: usize) -> Plate {
    Plate::parse(&format!("BT{i:05}")).unwrap()
}

fn terminal(i: usize) -> TerminalId {
    TerminalId::parse(TERMINALS[i % TERMINALS.len()]).unwrap()
}

/// One passenger: assignment (timed), pickup, trip, and the taxi back at its lot.
async fn passenger(taxis: &Taxis, t: &TerminalId, region: Region, km: f64) -> Result<f64, ()> {
    let started = Instant::now();
    let assigned = taxis.request(t, region, km, TaxiClass::Standard).await;
    let latency = started.elapsed().as_secs_f64() * 1e3;
    let a = assigned.map_err(|_| ())?;
    taxis.pickup(a.request, Reporter::Staff).await.map_err(|_| ())?;
    taxis.complete(a.request, km, Reporter::Staff).await.map_err(|_| ())?;
    taxis.arrival(a.plate, t.clone()).await.map_err(|_| ())?;
    Ok(latency)
}

fn random_trip() -> (Region, f64) {
    let mut rng = rand::rng();
    let region = Region::parse(REGIONS[rng.random_range(0..REGIONS.len())]).unwrap();
    (region, rng.random_range(2.0..60.0))
}

fn main() {
    let n = env("BENCH_TAXIS", 3_000);
    let rate = env("BENCH_RATE", 1_000).max(1);
    let seconds = env("BENCH_SECONDS", 10);
    let workers = env("BENCH_WORKERS", 64);
    kwanje::supervision::guard::install_panic_hook();
    let dir = tempfile::tempdir().unwrap();
    let url = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let store = Store::open(&url).unwrap();
    store.migrate().unwrap();
    let now = Millis::now().0;
    store
        .write_blocking(|c| {
            for i in 0..n {
                taxis::insert(
                    c,
                    &taxis::Taxi {
                        plate: plate(i).to_string(),
                        license_region: REGIONS[(i / TERMINALS.len()) % REGIONS.len()].into(),
                        class: "standard".into(),
                        service_region: None,
                        blacklisted: false,
                        reason: None,
                        terminal: None,
                        restarts: 0,
                        created_ms: now,
                        updated_ms: now,
                        decommissioned_ms: None,
                    },
                )?;
            }
            Ok(())
        })
        .unwrap();
    let boot = TaxiBoot::read(&store).unwrap();
    // Silence rules far away: the driver apps' pings are not what is measured here.
    let settings = RawSettings {
        terminals: "T1,T2",
        regions: "seoul,incheon,gyeonggi",
        joint_zones: "",
        suspend_after_ms: 3_600_000,
        removal_grace_ms: 3_600_000,
        short_trip_km: 10.0,
        priority_reentry_ms: 3_600_000,
        trip_distance_tolerance: 0.5,
        max_trip_speed_kmh: 80.0,
        no_show_policy: "keep_ticket",
    }
    .parse()
    .unwrap();

    let system = System::new();
    system.block_on(async move {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let ids = Arc::new(IdGen::new(0));
        let alerts = AlertService::new(store.clone(), ids.clone(), clock.clone(), Vec::new()).start();
        let arbiters: Vec<Arbiter> = (0..2).map(|_| Arbiter::new()).collect();
        let deps = TaxiDeps {
            store: store.clone(),
            clock,
            ids,
            alerts,
            arbiters: arbiters.iter().map(Arbiter::handle).collect(),
            policy: RestartPolicy::default(),
            ownership: kwanje::ownership::Ownership::default(),
        };
        let taxis = Taxis::start(deps, boot, &settings).unwrap();
        for entry in taxis.registry().taxis() {
            while entry.slot.addr().is_none() {
                actix_web::rt::time::sleep(Duration::from_millis(1)).await;
            }
        }
        for t in TERMINALS {
            let t = TerminalId::parse(t).unwrap();
            while taxis.registry().terminal(&t).and_then(|e| e.slot.addr()).is_none() {
                actix_web::rt::time::sleep(Duration::from_millis(1)).await;
            }
            let plan = SlotPlan::Regional(REGIONS.iter().map(|r| (Region::parse(r).unwrap(), BAYS)).collect());
            taxis.configure(&t, plan).await.unwrap();
        }

        // 1. Every taxi read at its lot.
        let t0 = Instant::now();
        for chunk in (0..n).collect::<Vec<_>>().chunks(256) {
            let calls = chunk.iter().map(|&i| taxis.arrival(plate(i), terminal(i)));
            for outcome in futures_util::future::join_all(calls).await {
                outcome.unwrap();
            }
        }
        let arrivals_s = t0.elapsed().as_secs_f64();
        let mut waiting = 0;
        for t in TERMINALS {
            let q = taxis.queues(&TerminalId::parse(t).unwrap()).await.unwrap();
            waiting += q.lines.iter().map(|l| l.waiting.len() + l.curb.len()).sum::<usize>();
        }
        taxis.flush().await;

        // 2. Open loop at `rate` requests a second.
        let latencies = Arc::new(Mutex::new(Vec::with_capacity(rate * seconds)));
        let refused = Arc::new(AtomicUsize::new(0));
        let total = rate * seconds;
        let interval = Duration::from_secs_f64(1.0 / rate as f64);
        let start = Instant::now();
        let mut handles = Vec::with_capacity(total);
        for i in 0..total {
            let due = interval.mul_f64(i as f64);
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                actix_web::rt::time::sleep(wait).await;
            }
            let (taxis, latencies, refused) = (taxis.clone(), latencies.clone(), refused.clone());
            handles.push(actix_web::rt::spawn(async move {
                let (region, km) = random_trip();
                match passenger(&taxis, &terminal(i), region, km).await {
                    Ok(ms) => latencies.lock().unwrap().push(ms),
                    Err(()) => {
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
        let issued_s = start.elapsed().as_secs_f64();
        for h in handles {
            let _ = h.await;
        }
        let open_s = start.elapsed().as_secs_f64();
        let t_flush = Instant::now();
        taxis.flush().await;
        let flush_ms = t_flush.elapsed().as_secs_f64() * 1e3;
        let mut open = latencies.lock().unwrap().clone();
        open.sort_by(f64::total_cmp);

        // 3. Closed loop: workers back to back.
        let done = Arc::new(AtomicUsize::new(0));
        let closed_latencies = Arc::new(Mutex::new(Vec::new()));
        let stop_at = Instant::now() + Duration::from_secs(5);
        let start = Instant::now();
        let mut handles = Vec::new();
        for w in 0..workers {
            let (taxis, done, lat) = (taxis.clone(), done.clone(), closed_latencies.clone());
            handles.push(actix_web::rt::spawn(async move {
                let mut i = w;
                while Instant::now() < stop_at {
                    let (region, km) = random_trip();
                    if let Ok(ms) = passenger(&taxis, &terminal(i), region, km).await {
                        lat.lock().unwrap().push(ms);
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    i += workers;
                }
            }));
        }
        for h in handles {
            let _ = h.await;
        }
        let closed_s = start.elapsed().as_secs_f64();
        taxis.flush().await;
        let mut closed = closed_latencies.lock().unwrap().clone();
        closed.sort_by(f64::total_cmp);
        let journal = taxis.journal_stats().await.unwrap_or_default();

        report(&Report {
            url: if url.starts_with("postgres") {
                "postgresql"
            } else {
                "sqlite"
            },
            n,
            waiting,
            arrivals_s,
            rate,
            seconds,
            issued_s,
            open_s,
            refused: refused.load(Ordering::Relaxed),
            open,
            flush_ms,
            workers,
            closed_s,
            closed,
            records: journal.records,
            batches: journal.batches,
            snapshots: journal.snapshots,
        });
        taxis.shutdown().await;
        System::current().stop();
    });
}

struct Report {
    url: &'static str,
    n: usize,
    waiting: usize,
    arrivals_s: f64,
    rate: usize,
    seconds: usize,
    issued_s: f64,
    open_s: f64,
    refused: usize,
    open: Vec<f64>,
    flush_ms: f64,
    workers: usize,
    closed_s: f64,
    closed: Vec<f64>,
    records: u64,
    batches: u64,
    snapshots: u64,
}

#[allow(clippy::print_stdout)]
fn report(r: &Report) {
    let ms = |v: &[f64], p: f64| percentile(v, p);
    println!(
        "kwanje dispatch bench: store={} taxis={} terminals=2 in_line_after_arrivals={}",
        r.url, r.n, r.waiting
    );
    println!(
        "  arrivals: {} lot readings in {:.2} s ({:.0}/s)",
        r.n,
        r.arrivals_s,
        r.n as f64 / r.arrivals_s
    );
    println!(
        "  open loop: {} requests/s for {} s, issued in {:.2} s, all answered in {:.2} s; assigned={} refused={}",
        r.rate,
        r.seconds,
        r.issued_s,
        r.open_s,
        r.open.len(),
        r.refused
    );
    println!(
        "  assignment latency: p50={:.3} ms p99={:.3} ms p99.9={:.3} ms max={:.3} ms",
        ms(&r.open, 0.50),
        ms(&r.open, 0.99),
        ms(&r.open, 0.999),
        r.open.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "  throughput (assign+pickup+complete+re-entry per passenger): {:.0} passengers/s",
        r.open.len() as f64 / r.open_s
    );
    println!("  journal caught up {:.1} ms after the last answer", r.flush_ms);
    println!(
        "  closed loop, {} workers, 5 s: {:.0} passengers/s; assignment p50={:.3} ms p99={:.3} ms",
        r.workers,
        r.closed.len() as f64 / r.closed_s,
        ms(&r.closed, 0.50),
        ms(&r.closed, 0.99)
    );
    println!(
        "  store: {} dispatch records in {} batches, {} snapshots",
        r.records, r.batches, r.snapshots
    );
}
