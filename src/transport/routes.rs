//! Application destinations: what a SEND to `/app/...` does (API.md, STOMP).
//!
//! - `/app/heartbeat` (client): `{"devices":[{"id","status":"ok"|"fault","detail"?}]}` feeds
//!   each device actor exactly as the HTTP heartbeat does, without waiting for it (the hot
//!   path: one parse, one registry lookup and one mailbox push per device). The whole batch is
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
//! Who may send to each destination at all was decided by the ACL before this runs; this file
//! adds the checks that need data (which client hosts a device). It must not write frames: a
//! refusal is a [`RouteError`] the session turns into an ERROR.

use std::borrow::Cow;

use serde::Deserialize;

use super::error::RouteError;
use actix::Addr;

use crate::auth::Principal;
use crate::broker::acl::Destination;
use crate::command::messages::AckCommand;
use crate::command::CommandService;
use crate::device::{Devices, HeartbeatStatus};
use crate::taxi::core::model::Plate;
use crate::taxi::Taxis;

/// Most device heartbeats one `/app/heartbeat` frame may carry.
pub const MAX_HEARTBEATS_PER_FRAME: usize = 1_000;

/// The body of `/app/heartbeat` and `/app/faults`: a client's devices, one entry each.
#[derive(Debug, Deserialize)]
struct Batch<T> {
    devices: Vec<T>,
}

/// One device's heartbeat in a batch.
#[derive(Debug, Deserialize)]
pub struct DeviceBeat<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    pub status: HeartbeatStatus,
    #[serde(default)]
    pub detail: Option<String>,
}

/// One device's fault report in an `/app/faults` batch.
#[derive(Debug, Deserialize)]
struct FaultReport<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(default)]
    status: Option<HeartbeatStatus>,
    #[serde(default)]
    detail: Option<String>,
}

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
}

/// Parses a batch body for `destination`, within [`MAX_HEARTBEATS_PER_FRAME`].
fn parse_batch<'a, T: Deserialize<'a>>(destination: &'static str, body: &'a [u8]) -> Result<Vec<T>, RouteError> {
    let batch: Batch<T> = serde_json::from_slice(body).map_err(|err| RouteError::BadBody {
        destination,
        reason: err.to_string(),
    })?;
    if batch.devices.len() > MAX_HEARTBEATS_PER_FRAME {
        return Err(RouteError::TooManyHeartbeats {
            count: batch.devices.len(),
            limit: MAX_HEARTBEATS_PER_FRAME,
        });
    }
    Ok(batch.devices)
}

/// Parses an `/app/heartbeat` body.
pub fn parse_heartbeats(body: &[u8]) -> Result<Vec<DeviceBeat<'_>>, RouteError> {
    parse_batch("/app/heartbeat", body)
}

/// Parses an `/app/faults` body into heartbeats whose status is `fault`.
pub fn parse_faults(body: &[u8]) -> Result<Vec<DeviceBeat<'_>>, RouteError> {
    let reports: Vec<FaultReport<'_>> = parse_batch("/app/faults", body)?;
    reports
        .into_iter()
        .map(|report| match report.status {
            Some(HeartbeatStatus::Ok) => Err(RouteError::BadBody {
                destination: "/app/faults",
                reason: format!(
                    "device {:?}: a fault report's status is fault; send an ok heartbeat to /app/heartbeat",
                    report.id.chars().take(80).collect::<String>()
                ),
            }),
            Some(HeartbeatStatus::Fault) | None => Ok(DeviceBeat {
                id: report.id,
                status: HeartbeatStatus::Fault,
                detail: report.detail,
            }),
        })
        .collect()
}

/// Checks that `who` hosts every device of `beats` that `host_of` knows; returns, per beat,
/// whether it is to be applied (false: not registered).
pub fn check_hosts(
    who: &Principal,
    beats: &[DeviceBeat<'_>],
    host_of: impl Fn(&str) -> Option<String>,
) -> Result<Vec<bool>, RouteError> {
    beats
        .iter()
        .map(|beat| match host_of(&beat.id) {
            None => Ok(false),
            Some(host) if who.is_client(&host) => Ok(true),
            Some(_) => Err(RouteError::NotHosted {
                device: beat.id.chars().take(80).collect(),
                client: who.client.clone().unwrap_or_else(|| who.name.clone()),
            }),
        })
        .collect()
}

/// The services an application SEND can reach.
#[derive(Debug, Clone)]
pub struct Services {
    pub devices: Devices,
    pub commands: Addr<CommandService>,
    pub taxis: Taxis,
}

/// Carries out a SEND to an application destination.
pub fn route(services: &Services, who: &Principal, destination: &str, body: &[u8]) -> Result<Routed, RouteError> {
    let devices = &services.devices;
    match Destination::parse(destination) {
        Ok(Destination::AppHeartbeat) => apply(devices, who, parse_heartbeats(body)?),
        Ok(Destination::AppFaults) => apply(devices, who, parse_faults(body)?),
        Ok(Destination::AppCommandAck) => {
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
        Ok(Destination::AppTaxiPing) => {
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
        _ => Err(RouteError::NoRoute(destination.chars().take(200).collect())),
    }
}

/// Feeds a checked batch to the device actors.
fn apply(devices: &Devices, who: &Principal, beats: Vec<DeviceBeat<'_>>) -> Result<Routed, RouteError> {
    let apply = check_hosts(who, &beats, |id| {
        devices.get(id).map(|entry| entry.spec.client_id.to_string())
    })?;
    let (mut applied, mut skipped) = (0, 0);
    for (beat, go) in beats.into_iter().zip(apply) {
        if !go {
            log::warn!(
                "stomp heartbeat for an unregistered device id={} client={}",
                beat.id,
                who.client.as_deref().unwrap_or(&who.name)
            );
            skipped += 1;
            continue;
        }
        match devices.heartbeat_nowait(&beat.id, beat.status, beat.detail) {
            Ok(()) => applied += 1,
            Err(err) => {
                log::debug!("stomp heartbeat not delivered id={} error={err}", beat.id);
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
    fn batches_parse_and_bad_json_is_refused() {
        let beats = parse_heartbeats(
            br#"{"devices":[{"id":"cam-1","status":"ok"},{"id":"gate-\u0031","status":"fault","detail":"jam"}]}"#,
        )
        .unwrap();
        assert_eq!(beats.len(), 2);
        assert_eq!(beats[1].id, "gate-1");
        assert_eq!(beats[1].status, HeartbeatStatus::Fault);
        for bad in [&b"not json"[..], br#"{"devices":[{"id":"x","status":"maybe"}]}"#, b"{}"] {
            assert!(matches!(parse_heartbeats(bad), Err(RouteError::BadBody { .. })));
        }
        let many = format!(
            r#"{{"devices":[{}]}}"#,
            vec![r#"{"id":"d","status":"ok"}"#; MAX_HEARTBEATS_PER_FRAME + 1].join(",")
        );
        assert!(matches!(
            parse_heartbeats(many.as_bytes()),
            Err(RouteError::TooManyHeartbeats { .. })
        ));
    }

    #[test]
    fn fault_reports_are_fault_heartbeats_and_an_ok_status_is_refused() {
        let beats =
            parse_faults(br#"{"devices":[{"id":"cam-1","detail":"lens"},{"id":"gate-1","status":"fault"}]}"#).unwrap();
        let read: Vec<_> = beats
            .iter()
            .map(|b| (b.id.as_ref(), b.status.clone(), b.detail.as_deref()))
            .collect();
        assert_eq!(
            read,
            [
                ("cam-1", HeartbeatStatus::Fault, Some("lens")),
                ("gate-1", HeartbeatStatus::Fault, None)
            ]
        );
        let refused = parse_faults(br#"{"devices":[{"id":"cam-1","status":"ok"}]}"#);
        assert!(
            matches!(&refused, Err(RouteError::BadBody { destination: "/app/faults", reason }) if reason.contains("cam-1")),
            "{refused:?}"
        );
        for bad in [&b"[]"[..], br#"{"devices":[{"detail":"no id"}]}"#] {
            assert!(matches!(parse_faults(bad), Err(RouteError::BadBody { .. })));
        }
    }

    #[test]
    fn a_client_heartbeats_only_devices_it_hosts() {
        let beats =
            parse_heartbeats(br#"{"devices":[{"id":"mine","status":"ok"},{"id":"unknown","status":"ok"}]}"#).unwrap();
        let host = |id: &str| match id {
            "mine" => Some("gate-1".to_owned()),
            "theirs" => Some("gate-2".to_owned()),
            _ => None,
        };
        assert_eq!(check_hosts(&client("gate-1"), &beats, host), Ok(vec![true, false]));
        let beats =
            parse_heartbeats(br#"{"devices":[{"id":"mine","status":"ok"},{"id":"theirs","status":"ok"}]}"#).unwrap();
        assert_eq!(
            check_hosts(&client("gate-1"), &beats, host),
            Err(RouteError::NotHosted {
                device: "theirs".into(),
                client: "gate-1".into()
            })
        );
    }
}
