//! A heartbeat for a device that stays up allocates nothing (DESIGN.md's hot path), on the STOMP
//! path (a real session through the transport driver) and on the HTTP heartbeat's registry call.
//!
//! Its own test binary: `allocation-counter` replaces the global allocator and counts the
//! allocations of the measuring thread only. The figures themselves are printed by
//! `cargo bench --bench heartbeat_alloc`.

#[path = "../benches/support/heartbeat_rig.rs"]
mod rig;

use allocation_counter::measure;
use futures_util::FutureExt;
use kwanje::broker::acl::AppDestination;
use kwanje::device::{DeviceState, HeartbeatStatus};
use kwanje::transport::routes::{self, Routed};

use rig::{heartbeat_frame, Rig};

const DEVICES: usize = 100;

#[actix_web::test]
async fn a_heartbeat_for_a_device_that_stays_up_allocates_nothing() {
    let mut rig = Rig::start(DEVICES).await;
    let one = heartbeat_frame(&rig.body(1));
    let all = heartbeat_frame(&rig.body(DEVICES));
    let body = rig.body(DEVICES);
    // Warm: the thread's scratch list for a batch this size, the session's buffers.
    rig.send(&all);
    rig.send(&one);
    let before: Vec<_> = rig.devices.iter().map(|d| d.last_seen()).collect();

    // The route the driver calls for a SEND to /app/heartbeat: nothing at all.
    let mut routed = None;
    let route = measure(|| {
        routed = Some(routes::route(
            &rig.services,
            &rig.principal,
            AppDestination::Heartbeat,
            body.as_bytes(),
        ));
    });
    assert_eq!(
        routed,
        Some(Ok(Routed::Heartbeats {
            applied: DEVICES,
            skipped: 0
        }))
    );
    assert_eq!(
        route.count_total, 0,
        "routing {DEVICES} stays-up heartbeats allocated: {route:?}"
    );

    // The whole session path (decode, session, ACL, route): what the frame costs, whatever the
    // number of devices in it, so nothing per device.
    let frame_of_one = measure(|| rig.send(&one));
    let frame_of_all = measure(|| rig.send(&all));
    assert_eq!(
        frame_of_all.count_total, frame_of_one.count_total,
        "a frame of {DEVICES} heartbeats allocated more than a frame of one: {frame_of_all:?} / {frame_of_one:?}"
    );

    // The HTTP heartbeat's call, with and without its registry lookup.
    let devices = rig.state.devices.clone();
    let first = rig.devices[0].clone();
    let mut answers = Vec::with_capacity(2);
    let http = measure(|| {
        answers.push(devices.beat(&first, HeartbeatStatus::Ok, None).now_or_never());
        answers.push(
            devices
                .heartbeat(first.spec().id.as_str(), HeartbeatStatus::Ok, None)
                .now_or_never(),
        );
    });
    assert_eq!(http.count_total, 0, "the HTTP heartbeat's call allocated: {http:?}");
    for answer in answers {
        assert!(matches!(answer, Some(Ok(DeviceState::Up))), "{answer:?}");
    }

    for (device, before) in rig.devices.iter().zip(before) {
        assert_eq!(device.state(), DeviceState::Up, "{}", device.spec().id);
        assert!(device.watched(), "{}", device.spec().id);
        assert!(device.last_seen() >= before && device.last_seen().is_some());
    }

    // The counter counts: a fault is a message to the actor (and, once it is down, so is the
    // ok that brings it back).
    let fault = measure(|| {
        devices
            .heartbeat_nowait(first.spec().id.as_str(), HeartbeatStatus::Fault, None)
            .unwrap()
    });
    assert!(fault.count_total > 0, "{fault:?}");
    devices
        .heartbeat_nowait(first.spec().id.as_str(), HeartbeatStatus::Ok, None)
        .unwrap();
    rig.wait_until_watched().await;
}
