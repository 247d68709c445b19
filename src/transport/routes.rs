//! Application destinations: what a SEND to `/app/...` does (API.md, STOMP).
//!
//! - `/app/heartbeat` (client): `{"devices":[{"id","status":"ok"|"fault","detail"?}]}` feeds
//!   each device exactly as the HTTP heartbeat does, without waiting for it (the hot path: the
//!   destination was classified once by the ACL, the body is read once ([`super::batch`]),
//!   each device is looked up once, and a device that stays up takes one atomic step, no
//!   message and no allocation, see [`crate::device::seen`]). The whole batch is
//!   checked before any of it is applied: a device hosted by another client refuses the frame
//!   (the session gets an ERROR and closes); a device that is not registered is skipped and
//!   logged, so a gate PC with a stale device list does not lose its other devices' heartbeats.
//! - `/app/faults` (client): `{"devices":[{"id","detail"?}]}`, a gate PC's fault reports: each
//!   device is down at once with the detail, exactly as a heartbeat whose status is `fault`
//!   (same checks, same batch limit). A `status` may be given, and must then be `fault`.
//! - `/app/commands/ack` (client): `{command_id, ok, detail?}` goes to the command service for
//!   the sending client; an ack for a command that is finished (a duplicate after a
//!   redelivery) or not this client's is refused there and logged, never fatal to the session.
//! - `/app/taxi/ping` (driver): the driver app's ping for the taxi of its token's `taxi` claim,
//!   handed to the taxi's actor without waiting (as the HTTP heartbeat, minus the answer); a
//!   plate that is not registered is logged, not fatal to the session.
//!
//! - `/app/occupancy` (client): `{"areas":[{"id","free","total"}]}`, a guidance camera's
//!   counts, checked whole by the parking part ([`crate::parking::core::report`]): an area not
//!   configured, `free > total`, or an area whose camera another client hosts refuses the
//!   frame (ERROR, nothing counted); a good one is handed to the guidance actor without waiting.
//!
//! Who may send to each destination at all was decided by the ACL before this runs; this file
//! adds the checks that need data (which client hosts a device). It must not write frames: a
//! refusal is a [`RouteError`] the session turns into an ERROR.

use std::cell::RefCell;
use std::sync::Arc;

use serde::Deserialize;

use super::batch::{self, BatchKind};
use super::error::RouteError;
use actix::Addr;

use crate::auth::Principal;
use crate::broker::acl::AppDestination;
use crate::command::messages::AckCommand;
use crate::command::CommandService;
use crate::device::registry::Device;
use crate::device::{Devices, HeartbeatStatus};
use crate::parking::core::report::{ReportError, Reporter};
use crate::parking::{Parking, ParkingError};
use crate::taxi::core::model::Plate;
use crate::taxi::Taxis;

pub use super::batch::{DeviceBeat, MAX_HEARTBEATS_PER_FRAME};

#[derive(Debug, Deserialize)]
struct CommandAck {
    command_id: i64,
    ok: bool,
    #[serde(default)]
    detail: Option<String>,
}

/// What a routed SEND did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Routed {
    Heartbeats { applied: usize, skipped: usize },
    CommandAck,
    TaxiPing,
    Occupancy { areas: usize },
}

/// Checks that `who` may heartbeat device `id`, hosted by `host` (none: not registered);
/// true when the heartbeat is to be applied, false when it is skipped.
pub fn check_host(who: &Principal, id: &str, host: Option<&str>) -> Result<bool, RouteError> {
    match host {
        None => Ok(false),
        Some(host) if who.is_client(host) => Ok(true),
        Some(_) => Err(RouteError::NotHosted {
            device: id.chars().take(80).collect(),
            client: who.client.clone().unwrap_or_else(|| who.name.clone()),
        }),
    }
}

/// The services an application SEND can reach.
#[derive(Debug, Clone)]
pub struct Services {
    pub devices: Devices,
    pub commands: Addr<CommandService>,
    pub taxis: Taxis,
    pub parking: Parking,
}

/// Carries out a SEND to the application destination `to` (the ACL's classification).
pub fn route(services: &Services, who: &Principal, to: AppDestination, body: &[u8]) -> Result<Routed, RouteError> {
    match to {
        AppDestination::Heartbeat => apply(&services.devices, who, BatchKind::Heartbeats, body),
        AppDestination::Faults => apply(&services.devices, who, BatchKind::Faults, body),
        AppDestination::CommandAck => {
            let ack: CommandAck = serde_json::from_slice(body).map_err(|err| RouteError::BadBody {
                destination: "/app/commands/ack",
                reason: err.to_string(),
            })?;
            let client = who.client.clone().unwrap_or_else(|| who.name.clone());
            log::info!(
                "command ack received command_id={} ok={} client={client}",
                ack.command_id,
                ack.ok
            );
            let commands = services.commands.clone();
            let msg = AckCommand {
                command_id: ack.command_id,
                client_id: client,
                ok: ack.ok,
                detail: ack.detail,
            };
            actix::spawn(async move {
                match commands.send(msg).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => log::warn!("command ack refused error={e}"),
                    Err(e) => log::error!("command service unreachable error={e}"),
                }
            });
            Ok(Routed::CommandAck)
        }
        AppDestination::TaxiPing => {
            let claim = who.taxi.as_deref().unwrap_or(&who.name);
            match Plate::parse(claim) {
                Ok(plate) => {
                    if let Err(err) = services.taxis.heartbeat_nowait(&plate) {
                        log::debug!("stomp taxi ping not delivered taxi={plate} error={err}");
                    }
                }
                Err(err) => log::warn!("stomp taxi ping with an unreadable taxi claim error={err}"),
            }
            Ok(Routed::TaxiPing)
        }
        AppDestination::Occupancy => occupancy(&services.parking, who, body),
    }
}

/// A guidance camera's report, checked whole; a refusal ends the session with its reason.
fn occupancy(parking: &Parking, who: &Principal, body: &[u8]) -> Result<Routed, RouteError> {
    let reporter = match who.client.as_deref() {
        Some(client) if who.role == crate::auth::Role::Client => Reporter::Client(client),
        _ => Reporter::Admin,
    };
    match parking.report_nowait(reporter, body) {
        Ok(areas) => Ok(Routed::Occupancy { areas }),
        // The area's camera is the device the client does not host.
        Err(ParkingError::Report(ReportError::NotHosted { camera, client, .. })) => {
            Err(RouteError::NotHosted { device: camera, client })
        }
        Err(err) => {
            log::warn!(
                "stomp occupancy refused client={} error={err}",
                who.client.as_deref().unwrap_or(&who.name)
            );
            Err(RouteError::BadBody {
                destination: "/app/occupancy",
                reason: err.to_string(),
            })
        }
    }
}

/// One heartbeat of a batch that passed its checks: its device as the registry lookup found it.
struct Checked {
    device: Arc<Device>,
    status: HeartbeatStatus,
    detail: Option<String>,
}

thread_local! {
    /// The checked heartbeats of the batch being routed on this thread, kept between frames so
    /// routing a batch allocates nothing once the thread has routed one as large.
    static CHECKED: RefCell<Vec<Checked>> = const { RefCell::new(Vec::new()) };
}

/// Reads and checks a whole batch, then feeds it to the devices.
fn apply(devices: &Devices, who: &Principal, kind: BatchKind, body: &[u8]) -> Result<Routed, RouteError> {
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
) -> Result<Routed, RouteError> {
    checked.clear();
    let mut skipped = 0;
    let read = batch::read(kind, body, |beat| {
        let device = devices.get(&beat.id);
        let host = device.as_deref().map(|d| d.spec.client_id.as_str());
        if !check_host(who, &beat.id, host)? {
            log::warn!(
                "stomp heartbeat for an unregistered device id={} client={}",
                beat.id,
                who.client.as_deref().unwrap_or(&who.name)
            );
            skipped += 1;
            return Ok(());
        }
        if let Some(device) = device {
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
    // One time for the whole frame: its heartbeats arrived together.
    let now = devices.now();
    let mut applied = 0;
    for beat in checked.drain(..) {
        match devices.beat_nowait(&beat.device, beat.status, beat.detail, now) {
            Ok(()) => applied += 1,
            Err(err) => {
                log::debug!("stomp heartbeat not delivered id={} error={err}", beat.device.spec.id);
                skipped += 1;
            }
        }
    }
    Ok(Routed::Heartbeats { applied, skipped })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    fn client(id: &str) -> Principal {
        Principal {
            name: id.into(),
            role: Role::Client,
            client: Some(id.into()),
            taxi: None,
            expires_ms: 0,
        }
    }

    #[test]
    fn a_client_heartbeats_only_devices_it_hosts() {
        let gate = client("gate-1");
        assert_eq!(check_host(&gate, "mine", Some("gate-1")), Ok(true));
        assert_eq!(check_host(&gate, "unknown", None), Ok(false));
        assert_eq!(
            check_host(&gate, "theirs", Some("gate-2")),
            Err(RouteError::NotHosted {
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
}
