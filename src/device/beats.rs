//! A heartbeat batch applied: read whole and checked first, then fed to the device actors.
//!
//! The one loop behind `/app/heartbeat`, `/app/faults` (STOMP) and
//! `POST /api/v1/clients/{id}/heartbeats` (HTTP). The whole batch is checked before any of it
//! is applied: a device hosted by another client refuses it ([`BatchError::NotHosted`]); a
//! device that is not registered is skipped and logged, so a gate PC with a stale device list
//! does not lose its other devices' heartbeats. It also says how long the batch vouches for its
//! sender being alive ([`presence_lease`]), for presence of clients that speak only HTTP.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use super::batch::{self, BatchError, BatchKind};
use super::model::{DeviceSpec, HeartbeatStatus};
use super::registry::Device;
use super::service::Devices;
use crate::auth::Principal;

/// What a batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    pub applied: usize,
    pub skipped: usize,
    /// The shortest [`presence_lease`] of the batch's devices (none when no device of it is
    /// registered).
    pub lease: Option<Duration>,
}

/// How long after a heartbeat for `spec` its client counts as alive with no other sign of
/// life: less than the device's own deadline (interval × tolerance), so a gate PC that goes
/// silent goes offline before its devices' deadlines fire and their alerts are recorded under
/// its `client_disconnected`; at least 1.5 intervals, so one late heartbeat is not an outage.
/// With a tolerance of 1 there is no room between the two: the lease is the deadline itself.
pub fn presence_lease(spec: &DeviceSpec) -> Duration {
    let window = spec.deadline_window();
    let before_deadline = window.saturating_sub(spec.heartbeat_interval);
    let one_late = spec.heartbeat_interval.saturating_mul(3) / 2;
    before_deadline.max(one_late).min(window)
}

/// Checks that `who` may heartbeat device `id`, hosted by `host` (none: not registered);
/// true when the heartbeat is to be applied, false when it is skipped.
pub fn check_host(who: &Principal, id: &str, host: Option<&str>) -> Result<bool, BatchError> {
    match host {
        None => Ok(false),
        Some(host) if who.is_client(host) => Ok(true),
        Some(_) => Err(BatchError::NotHosted {
            device: id.chars().take(80).collect(),
            client: who.client.clone().unwrap_or_else(|| who.name.clone()),
        }),
    }
}

/// One heartbeat of a batch that passed its checks: its device as the registry lookup found it.
struct Checked {
    device: Arc<Device>,
    status: HeartbeatStatus,
    detail: Option<String>,
}

thread_local! {
    /// The checked heartbeats of the batch being applied on this thread, kept between batches
    /// so applying one allocates nothing once the thread has applied one as large.
    static CHECKED: RefCell<Vec<Checked>> = const { RefCell::new(Vec::new()) };
}

/// Reads and checks the whole batch `body` of `kind` sent by `who`, then feeds it to the devices.
pub fn apply(devices: &Devices, who: &Principal, kind: BatchKind, body: &[u8]) -> Result<Applied, BatchError> {
    CHECKED.with(|cell| match cell.try_borrow_mut() {
        Ok(mut checked) => apply_with(devices, who, kind, body, &mut checked),
        Err(_) => apply_with(devices, who, kind, body, &mut Vec::new()),
    })
}

fn apply_with(
    devices: &Devices,
    who: &Principal,
    kind: BatchKind,
    body: &[u8],
    checked: &mut Vec<Checked>,
) -> Result<Applied, BatchError> {
    checked.clear();
    let mut skipped = 0;
    let mut lease: Option<Duration> = None;
    let read = batch::read(kind, body, |beat| {
        let device = devices.get(&beat.id);
        let spec = device.as_deref().map(|d| d.spec());
        let host = spec.as_ref().map(|s| s.client_id.as_str());
        if !check_host(who, &beat.id, host)? {
            log::warn!(
                "heartbeat for an unregistered device id={} client={}",
                beat.id,
                who.client.as_deref().unwrap_or(&who.name)
            );
            skipped += 1;
            return Ok(());
        }
        if let Some(device) = device {
            let this = presence_lease(&device.spec());
            lease = Some(lease.map_or(this, |l| l.min(this)));
            checked.push(Checked {
                device,
                status: beat.status,
                detail: beat.detail,
            });
        }
        Ok(())
    });
    if let Err(refusal) = read {
        checked.clear();
        return Err(refusal);
    }
    // One time for the whole batch: its heartbeats arrived together.
    let now = devices.now();
    let mut applied = 0;
    for beat in checked.drain(..) {
        match devices.beat_nowait(&beat.device, beat.status, beat.detail, now) {
            Ok(()) => applied += 1,
            Err(err) => {
                log::debug!("heartbeat not delivered id={} error={err}", beat.device.spec().id);
                skipped += 1;
            }
        }
    }
    Ok(Applied {
        applied,
        skipped,
        lease,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;
    use crate::device::DeviceKind;

    fn client(id: &str) -> Principal {
        Principal {
            name: id.into(),
            role: Role::Client,
            client: Some(id.into()),
            taxi: None,
            expires_ms: 0,
            issued_ms: 0,
        }
    }

    #[test]
    fn a_client_heartbeats_only_devices_it_hosts() {
        let gate = client("gate-1");
        assert_eq!(check_host(&gate, "mine", Some("gate-1")), Ok(true));
        assert_eq!(check_host(&gate, "unknown", None), Ok(false));
        assert_eq!(
            check_host(&gate, "theirs", Some("gate-2")),
            Err(BatchError::NotHosted {
                device: "theirs".into(),
                client: "gate-1".into()
            })
        );
        let admin = Principal {
            role: Role::Admin,
            client: None,
            ..client("root")
        };
        assert_eq!(check_host(&admin, "theirs", Some("gate-2")), Ok(true));
    }

    fn spec(interval_ms: u64, tolerance: u32) -> DeviceSpec {
        DeviceSpec {
            id: "cam-1".parse().unwrap(),
            kind: DeviceKind::LprCamera,
            client_id: "gate-1".parse().unwrap(),
            site: None,
            zone: None,
            lane: None,
            standby_id: None,
            heartbeat_interval: Duration::from_millis(interval_ms),
            miss_tolerance: tolerance,
            auto_failover: false,
        }
    }

    #[test]
    fn the_lease_ends_before_the_device_deadline_and_outlasts_one_late_beat() {
        let ms = |n| Duration::from_millis(n);
        // interval × tolerance 200 × 3 = 600: one interval before the deadline.
        assert_eq!(presence_lease(&spec(200, 3)), ms(400));
        // 200 × 2 = 400: one interval before would be a single interval; 1.5 intervals instead.
        assert_eq!(presence_lease(&spec(200, 2)), ms(300));
        // 200 × 1: no room; the deadline itself.
        assert_eq!(presence_lease(&spec(200, 1)), ms(200));
        for (interval, tolerance) in [(200, 3), (200, 2), (1_000, 5), (30_000, 3)] {
            let s = spec(interval, tolerance);
            assert!(presence_lease(&s) < s.deadline_window());
            assert!(presence_lease(&s) >= s.heartbeat_interval * 3 / 2);
        }
    }
}
