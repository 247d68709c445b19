//! Application destinations: what a SEND to `/app/...` does (API.md, STOMP).
//!
//! - `/app/heartbeat` (client): `{"devices":[{"id","status":"ok"|"fault","detail"?}]}` feeds
//!   each device exactly as the HTTP heartbeat does, without waiting for it (the hot path: the
//!   destination was classified once by the ACL, the body is read once ([`crate::device::batch`]),
//!   each device is looked up once, and a device that stays up takes one atomic step, no
//!   message and no allocation, see [`crate::device::seen`]). The whole batch is
//!   checked before any of it is applied ([`crate::device::beats`]): a device hosted by another
//!   client refuses the frame (the session gets an ERROR and closes); a device that is not
//!   registered is skipped and logged.
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
//! - `/app/lpr` (client): `{"camera_id","plate","direction","confidence","at_ms"}`, a lane
//!   camera's reading, checked by the parking part ([`crate::parking::core::lpr`]): a camera
//!   that is not a registered `lpr_camera` with a lane, another client's camera, or a bad body
//!   refuses the frame (ERROR); a good one goes to the sessions actor without waiting, and what
//!   it did comes back on the client's `/user/queue/parking` (`parking.lane`).
//!
//! Who may send to each destination at all was decided by the ACL before this runs; this file
//! adds the checks that need data (which client hosts a device). It must not write frames: a
//! refusal is a [`RouteError`] the session turns into an ERROR.

use actix::Addr;
use serde::Deserialize;

use super::error::RouteError;

use crate::auth::Principal;
use crate::broker::acl::AppDestination;
use crate::command::messages::AckCommand;
use crate::command::CommandService;
use crate::device::batch::BatchKind;
use crate::device::{batch, beats, Devices};
use crate::ownership::{Elsewhere, Inbound, Partition};
use crate::parking::core::report::{ReportError, Reporter};
use crate::parking::{Parking, ParkingError};
use crate::taxi::core::model::Plate;
use crate::taxi::Taxis;

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
    Heartbeats {
        applied: usize,
        skipped: usize,
    },
    CommandAck,
    TaxiPing,
    Occupancy {
        areas: usize,
    },
    LaneReading,
    /// Another node owns the client's partition: handed to it (false: no way there now).
    Forwarded {
        sent: bool,
    },
}

/// The services an application SEND can reach.
#[derive(Debug, Clone)]
pub struct Services {
    pub devices: Devices,
    pub commands: Addr<CommandService>,
    pub taxis: Taxis,
    pub parking: Parking,
    /// Where a client's heartbeats and acks go when another node owns its partition (cluster
    /// mode; `None` on one node).
    pub elsewhere: Option<Elsewhere>,
}

impl Services {
    /// The services of a running server, as its sessions reach them.
    pub fn of(state: &crate::state::AppState) -> Services {
        Services {
            devices: state.devices.clone(),
            commands: state.commands.clone(),
            taxis: state.taxis.clone(),
            parking: state.parking.clone(),
            elsewhere: state.elsewhere.clone(),
        }
    }
}

/// Carries out a SEND to the application destination `to` (the ACL's classification).
pub fn route(services: &Services, who: &Principal, to: AppDestination, body: &[u8]) -> Result<Routed, RouteError> {
    match to {
        AppDestination::Heartbeat => beats_to(services, who, BatchKind::Heartbeats, body),
        AppDestination::Faults => beats_to(services, who, BatchKind::Faults, body),
        AppDestination::CommandAck => {
            let ack: CommandAck = serde_json::from_slice(body).map_err(|err| RouteError::BadBody {
                destination: "/app/commands/ack",
                reason: err.to_string(),
            })?;
            let client = who.client.clone().unwrap_or_else(|| who.name.clone());
            if let Some((elsewhere, partition)) = owner_elsewhere(services, who) {
                let sent = elsewhere.send(
                    partition,
                    Inbound::Ack {
                        client,
                        body: bytes::Bytes::copy_from_slice(body),
                    },
                );
                return Ok(Routed::Forwarded { sent });
            }
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
                    // In a cluster, a taxi another node runs gets its ping there.
                    if let Some((elsewhere, partition, key)) = taxi_elsewhere(services, &plate) {
                        let sent = elsewhere.send(
                            partition,
                            Inbound::TaxiPing {
                                key,
                                plate: plate.to_string(),
                            },
                        );
                        return Ok(Routed::Forwarded { sent });
                    }
                    if let Err(err) = services.taxis.heartbeat_nowait(&plate) {
                        log::debug!("stomp taxi ping not delivered taxi={plate} error={err}");
                    }
                }
                Err(err) => log::warn!("stomp taxi ping with an unreadable taxi claim error={err}"),
            }
            Ok(Routed::TaxiPing)
        }
        AppDestination::Occupancy => occupancy(&services.parking, who, body),
        AppDestination::Lpr => lane_reading(&services.parking, who, body),
    }
}

/// A lane camera's reading, checked here; a refusal ends the session with its reason, a good
/// one is applied without waiting and answered on the client's `/user/queue/parking`.
fn lane_reading(parking: &Parking, who: &Principal, body: &[u8]) -> Result<Routed, RouteError> {
    let client = who.client.as_deref().unwrap_or(&who.name);
    match parking.lane_reading_nowait(client, body) {
        Ok(()) => Ok(Routed::LaneReading),
        Err(ParkingError::NotHosted { camera, client, .. }) => Err(RouteError::NotHosted { device: camera, client }),
        Err(err) => {
            log::warn!("stomp lane reading refused client={client} error={err}");
            Err(RouteError::BadBody {
                destination: "/app/lpr",
                reason: err.to_string(),
            })
        }
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

/// The way to the owner of `who`'s partition, when that is another node.
pub fn owner_elsewhere<'a>(services: &'a Services, who: &Principal) -> Option<(&'a Elsewhere, Partition)> {
    let elsewhere = services.elsewhere.as_ref()?;
    let client = who.client.as_deref()?;
    Some((elsewhere, elsewhere.partition_of(client)?))
}

/// Where a ping for taxi `plate` goes when another node runs it: the partition of its card's key
/// as this node read it (its plate's when this node has not read the taxi), and that key.
fn taxi_elsewhere<'a>(services: &'a Services, plate: &Plate) -> Option<(&'a Elsewhere, Partition, String)> {
    let elsewhere = services.elsewhere.as_ref()?;
    let key = match services.taxis.registry().taxi(plate) {
        Some(taxi) => taxi.entry.card().partition_key().to_owned(),
        None => plate.to_string(),
    };
    let partition = elsewhere.partition_of(&key)?;
    Some((elsewhere, partition, key))
}

/// A heartbeat batch applied here, or checked here and handed to the owner of the client's
/// partition: a malformed batch, or one naming a device this node knows another client hosts,
/// refuses the frame either way; the owner checks the rest again.
fn beats_to(services: &Services, who: &Principal, kind: BatchKind, body: &[u8]) -> Result<Routed, RouteError> {
    let Some((elsewhere, partition)) = owner_elsewhere(services, who) else {
        return apply(&services.devices, who, kind, body);
    };
    batch::read(kind, body, |beat| {
        let device = services.devices.get(&beat.id);
        let spec = device.as_deref().map(|d| d.spec());
        beats::check_host(who, &beat.id, spec.as_ref().map(|s| s.client_id.as_str())).map(drop)
    })?;
    let sent = elsewhere.send(
        partition,
        Inbound::Beats {
            client: who.client.clone().unwrap_or_else(|| who.name.clone()),
            faults: kind == BatchKind::Faults,
            body: bytes::Bytes::copy_from_slice(body),
        },
    );
    Ok(Routed::Forwarded { sent })
}

/// Applies a heartbeat batch; a refusal ends the session with its reason.
fn apply(devices: &Devices, who: &Principal, kind: BatchKind, body: &[u8]) -> Result<Routed, RouteError> {
    let done = beats::apply(devices, who, kind, body)?;
    Ok(Routed::Heartbeats {
        applied: done.applied,
        skipped: done.skipped,
    })
}
