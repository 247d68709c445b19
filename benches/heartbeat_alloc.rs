//! Allocations per device heartbeat: prints figures, asserts nothing (the test that fails when
//! a stays-up heartbeat allocates is `tests/heartbeat_alloc.rs`).
//!
//! `cargo bench --bench heartbeat_alloc`. The global allocator is `allocation-counter`'s, which
//! counts the allocations of the measuring thread. The rig (`support/heartbeat_rig.rs`) starts
//! the real server in this process with `BENCH_DEVICES` (default 1000) devices of one client,
//! and drives one STOMP session of that client through the real transport driver.
//!
//! Figures, every device staying up:
//! 1. a SEND to `/app/heartbeat` through the session (decode, session, ACL, route) with 1, 10,
//!    100 and 1000 devices a frame: allocations per frame, and per device heartbeat beyond the
//!    frame itself (the growth from 1 to 1000 devices over 999);
//! 2. the route alone (`transport::routes::route`, what the driver calls), per frame;
//! 3. the HTTP heartbeat's call (`Devices::heartbeat`: registry lookup and heartbeat);
//! 4. for contrast, a `fault` (a message to the device's actor);
//! 5. heartbeats applied per second through the session, 100 devices a frame, one thread
//!    (under the counting allocator, which this path does not call).

#[path = "support/heartbeat_rig.rs"]
mod rig;

use std::time::Instant;

use allocation_counter::{measure, AllocationInfo};
use futures_util::FutureExt;
use kwanje::broker::acl::AppDestination;
use kwanje::device::HeartbeatStatus;
use kwanje::transport::routes;

use rig::{heartbeat_frame, Rig};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Allocations of `f`, the smallest of a few runs (a first run may warm a buffer).
fn fewest(mut f: impl FnMut()) -> AllocationInfo {
    (0..5)
        .map(|_| measure(&mut f))
        .min_by_key(|info| info.count_total)
        .unwrap_or_default()
}

#[allow(clippy::print_stdout)]
fn main() {
    let n = env("BENCH_DEVICES", 1_000).max(1);
    let frames = env("BENCH_FRAMES", 20_000);
    actix_web::rt::System::new().block_on(async move {
        let mut rig = Rig::start(n).await;
        println!("kwanje heartbeat allocations: devices={n} (one client, one STOMP session, all staying up)");

        let sizes: Vec<usize> = [1, 10, 100, 1_000].into_iter().filter(|&k| k <= n).collect();
        let mut per_frame = Vec::new();
        for &k in &sizes {
            let frame = heartbeat_frame(&rig.body(k));
            let info = fewest(|| rig.send(&frame));
            println!(
                "  STOMP SEND /app/heartbeat, {k:>4} devices a frame: {} allocations, {} bytes a frame",
                info.count_total, info.bytes_total
            );
            per_frame.push((k, info.count_total));
        }
        if let (Some(&(k0, a0)), Some(&(k1, a1))) = (per_frame.first(), per_frame.last()) {
            if k1 > k0 {
                println!(
                    "  allocations per device heartbeat beyond the frame: {:.3} (({a1} - {a0}) / {})",
                    (a1 as f64 - a0 as f64) / (k1 - k0) as f64,
                    k1 - k0
                );
            }
        }

        let k = n.min(100);
        let body = rig.body(k);
        let route = fewest(|| {
            let routed = routes::route(
                &rig.services,
                &rig.principal,
                AppDestination::Heartbeat,
                body.as_bytes(),
            );
            assert!(routed.is_ok());
        });
        println!("  the route alone, {k} devices: {} allocations", route.count_total);

        let devices = rig.state.devices.clone();
        let first = rig.devices[0].spec().id.clone();
        let http = fewest(|| {
            let answer = devices
                .heartbeat(first.as_str(), HeartbeatStatus::Ok, None)
                .now_or_never();
            assert!(matches!(answer, Some(Ok(_))));
        });
        println!(
            "  HTTP heartbeat's call (Devices::heartbeat, lookup included): {} allocations",
            http.count_total
        );
        let fault = measure(|| {
            devices
                .heartbeat_nowait(first.as_str(), HeartbeatStatus::Fault, None)
                .unwrap()
        });
        println!(
            "  for contrast, a fault (a message to the actor): {} allocations",
            fault.count_total
        );
        devices
            .heartbeat_nowait(first.as_str(), HeartbeatStatus::Ok, None)
            .unwrap();
        rig.wait_until_watched().await;

        let frame = heartbeat_frame(&rig.body(k));
        let started = Instant::now();
        for _ in 0..frames {
            rig.send(&frame);
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "  heartbeats applied through the session, {k} a frame: {:.0}/s ({:.0} frames/s, {} heartbeats)",
            (frames * k) as f64 / secs,
            frames as f64 / secs,
            frames * k
        );
        actix_web::rt::System::current().stop();
    });
}
