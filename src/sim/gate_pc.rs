//! A simulated gate PC or kiosk, as a pure core: the devices it hosts with their health (which
//! chaos and drills change), the heartbeat frame bodies it sends each tick, and what it does with
//! a command. The session task ([`super::session`]) owns one and carries out what it returns.
//!
//! Both devices of a standby pair keep heartbeating while their hardware is healthy; a
//! `switch_to_standby` moves the lane's work (and the `active` mark) to the standby, `failback`
//! moves it back. A command for a device this client does not host fails its ack.

use std::collections::{HashMap, VecDeque};

use serde::Deserialize;
use serde_json::json;

use super::site::DeviceSpec;

/// Heartbeats in one `/app/heartbeat` frame, at most (the server's limit is 1,000).
pub const MAX_BEATS_PER_FRAME: usize = 1_000;
/// Body bytes of one frame, at most (the server's frame limit is 64 KiB).
pub const MAX_FRAME_BODY_BYTES: usize = 56 * 1024;
/// Command ids remembered, to answer a redelivery as the first time.
const REMEMBERED_COMMANDS: usize = 256;

/// A device's health as the gate PC sees its hardware.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    Ok,
    /// Sends nothing for this many more ticks (`u32::MAX`: until told otherwise).
    Silent {
        ticks: u32,
    },
    /// Reports `fault` for this many more ticks.
    Fault {
        ticks: u32,
        detail: String,
    },
    /// Alternates fault and ok for this many more ticks.
    Flap {
        ticks: u32,
    },
}

#[derive(Debug, Clone)]
pub struct SimDevice {
    pub id: String,
    pub standby_id: Option<String>,
    /// Doing the lane's work (a standby is inactive until switched to).
    pub active: bool,
    pub health: Health,
}

/// One heartbeat of one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Beat {
    pub id: String,
    pub fault: Option<String>,
}

/// The gate PC's answer to a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub command_id: i64,
    pub ok: bool,
    pub detail: String,
}

impl Ack {
    /// The `/app/commands/ack` body.
    pub fn body(&self) -> String {
        json!({"command_id": self.command_id, "ok": self.ok, "detail": self.detail}).to_string()
    }
}

/// `command.issued` as the server sends it on `/user/queue/commands`.
#[derive(Debug, Deserialize)]
pub struct IssuedCommand {
    #[serde(rename = "type")]
    pub kind: String,
    pub command_id: i64,
    pub device_id: String,
    pub command: String,
    #[serde(default)]
    pub standby_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct GatePc {
    pub id: String,
    devices: Vec<SimDevice>,
    index: HashMap<String, usize>,
    done: VecDeque<Ack>,
}

impl GatePc {
    pub fn new(id: &str, specs: &[DeviceSpec]) -> GatePc {
        let standbys: std::collections::HashSet<&str> = specs.iter().filter_map(|d| d.standby_id.as_deref()).collect();
        let devices: Vec<SimDevice> = specs
            .iter()
            .map(|d| SimDevice {
                id: d.id.clone(),
                standby_id: d.standby_id.clone(),
                active: !standbys.contains(d.id.as_str()),
                health: Health::Ok,
            })
            .collect();
        let index = devices.iter().enumerate().map(|(i, d)| (d.id.clone(), i)).collect();
        GatePc {
            id: id.to_owned(),
            devices,
            index,
            done: VecDeque::new(),
        }
    }

    pub fn devices(&self) -> &[SimDevice] {
        &self.devices
    }

    pub fn device(&self, id: &str) -> Option<&SimDevice> {
        self.index.get(id).map(|&i| &self.devices[i])
    }

    pub fn len(&self) -> usize {
        self.devices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.devices.is_empty()
    }

    /// Sets a device's health; `false` if this client does not host it.
    pub fn set_health(&mut self, id: &str, health: Health) -> bool {
        match self.index.get(id) {
            Some(&i) => {
                self.devices[i].health = health;
                true
            }
            None => false,
        }
    }

    /// Sets the health of the device at `index` (chaos picks devices by position).
    pub fn set_health_at(&mut self, index: usize, health: Health) {
        if let Some(d) = self.devices.get_mut(index) {
            d.health = health;
        }
    }

    /// One tick: the heartbeats to send now, each device's health stepped on.
    pub fn tick(&mut self) -> Vec<Beat> {
        let mut beats = Vec::with_capacity(self.devices.len());
        for d in &mut self.devices {
            let (beat, next) = match &d.health {
                Health::Ok => (Some(None), None),
                Health::Silent { ticks } => (None, Some(countdown(*ticks, |t| Health::Silent { ticks: t }))),
                Health::Fault { ticks, detail } => {
                    let detail = detail.clone();
                    (
                        Some(Some(detail.clone())),
                        Some(countdown(*ticks, move |t| Health::Fault {
                            ticks: t,
                            detail: detail.clone(),
                        })),
                    )
                }
                Health::Flap { ticks } => {
                    let fault = (ticks % 2 == 1).then(|| "flapping contact".to_owned());
                    (Some(fault), Some(countdown(*ticks, |t| Health::Flap { ticks: t })))
                }
            };
            if let Some(fault) = beat {
                beats.push(Beat {
                    id: d.id.clone(),
                    fault,
                });
            }
            if let Some(next) = next {
                d.health = next;
            }
        }
        beats
    }

    /// What to do with a message on `/user/queue/commands`; `None` for one that is not a
    /// command (it is logged and dropped by the caller).
    pub fn on_command(&mut self, command: &IssuedCommand) -> Option<Ack> {
        if command.kind != "command.issued" {
            return None;
        }
        if let Some(ack) = self.done.iter().find(|a| a.command_id == command.command_id) {
            // A redelivery after a reconnect: the same answer again (the server ignores it if
            // the first arrived).
            return Some(ack.clone());
        }
        let ack = self.execute(command);
        if self.done.len() == REMEMBERED_COMMANDS {
            self.done.pop_front();
        }
        self.done.push_back(ack.clone());
        Some(ack)
    }

    fn execute(&mut self, c: &IssuedCommand) -> Ack {
        let fail = |detail: String| Ack {
            command_id: c.command_id,
            ok: false,
            detail,
        };
        let Some(&primary) = self.index.get(&c.device_id) else {
            return fail(format!("device {} is not hosted by {}", c.device_id, self.id));
        };
        let standby = c
            .standby_id
            .clone()
            .or_else(|| self.devices[primary].standby_id.clone())
            .and_then(|s| self.index.get(&s).copied());
        let detail = match c.command.as_str() {
            "switch_to_standby" | "failback" => {
                let Some(standby) = standby else {
                    return fail(format!("no standby of {} on {}", c.device_id, self.id));
                };
                let back = c.command == "failback";
                self.devices[primary].active = back;
                self.devices[standby].active = !back;
                if back {
                    format!("{} active again", c.device_id)
                } else {
                    format!("switched to {}", self.devices[standby].id)
                }
            }
            "restart" => format!("{} restarted", c.device_id),
            "fail_open" | "fail_closed" | "maintenance_on" | "maintenance_off" => {
                format!("{} {}", c.device_id, c.command)
            }
            other => return fail(format!("unknown command {other}")),
        };
        Ack {
            command_id: c.command_id,
            ok: true,
            detail,
        }
    }
}

fn countdown(ticks: u32, again: impl FnOnce(u32) -> Health) -> Health {
    match ticks {
        u32::MAX => again(u32::MAX),
        0 | 1 => Health::Ok,
        t => again(t - 1),
    }
}

/// The `/app/heartbeat` bodies for `beats`: one frame, or several when they exceed a frame's
/// limits.
pub fn heartbeat_bodies(beats: &[Beat]) -> Vec<String> {
    let mut bodies = Vec::new();
    let mut body = String::new();
    let mut count = 0;
    for beat in beats {
        let item = match &beat.fault {
            None => json!({"id": beat.id, "status": "ok"}),
            Some(detail) => json!({"id": beat.id, "status": "fault", "detail": detail}),
        }
        .to_string();
        if count == MAX_BEATS_PER_FRAME || (count > 0 && body.len() + item.len() + 3 > MAX_FRAME_BODY_BYTES) {
            body.push_str("]}");
            bodies.push(std::mem::take(&mut body));
            count = 0;
        }
        body.push_str(if count == 0 { "{\"devices\":[" } else { "," });
        body.push_str(&item);
        count += 1;
    }
    if count > 0 {
        body.push_str("]}");
        bodies.push(body);
    }
    bodies
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(id: &str, standby: Option<&str>) -> DeviceSpec {
        DeviceSpec {
            id: id.into(),
            kind: "lpr_camera".into(),
            lane: None,
            standby_id: standby.map(Into::into),
            auto_failover: standby.is_some(),
            heartbeat_interval_ms: None,
            miss_tolerance: None,
        }
    }

    fn pc() -> GatePc {
        GatePc::new(
            "pc",
            &[spec("cam", Some("cam-b")), spec("cam-b", None), spec("gate", None)],
        )
    }

    fn command(id: i64, device: &str, kind: &str) -> IssuedCommand {
        IssuedCommand {
            kind: "command.issued".into(),
            command_id: id,
            device_id: device.into(),
            command: kind.into(),
            standby_id: None,
        }
    }

    #[test]
    fn every_healthy_device_beats_ok_and_faults_and_silences_run_out() {
        let mut pc = pc();
        assert_eq!(pc.tick().len(), 3);
        pc.set_health("cam", Health::Silent { ticks: 2 });
        pc.set_health(
            "gate",
            Health::Fault {
                ticks: 1,
                detail: "arm stuck".into(),
            },
        );
        let beats = pc.tick();
        assert_eq!(beats.len(), 2);
        assert_eq!(beats[1].fault.as_deref(), Some("arm stuck"));
        assert_eq!(pc.tick().len(), 2, "cam silent one more tick, gate ok again");
        let beats = pc.tick();
        assert_eq!(beats.len(), 3);
        assert!(beats.iter().all(|b| b.fault.is_none()));
    }

    #[test]
    fn a_silence_until_told_otherwise_lasts() {
        let mut pc = pc();
        pc.set_health("cam", Health::Silent { ticks: u32::MAX });
        for _ in 0..100 {
            assert_eq!(pc.tick().len(), 2);
        }
    }

    #[test]
    fn flapping_alternates_fault_and_ok() {
        let mut pc = pc();
        pc.set_health("gate", Health::Flap { ticks: 4 });
        let faults: Vec<bool> = (0..5)
            .map(|_| pc.tick().iter().find(|b| b.id == "gate").unwrap().fault.is_some())
            .collect();
        assert_eq!(faults, [false, true, false, true, false]);
    }

    #[test]
    fn switch_and_failback_move_the_work_and_ack() {
        let mut pc = pc();
        assert!(pc.device("cam").unwrap().active && !pc.device("cam-b").unwrap().active);
        let ack = pc.on_command(&command(1, "cam", "switch_to_standby")).unwrap();
        assert!(ack.ok, "{ack:?}");
        assert!(!pc.device("cam").unwrap().active && pc.device("cam-b").unwrap().active);
        let ack = pc.on_command(&command(2, "cam", "failback")).unwrap();
        assert!(ack.ok);
        assert!(pc.device("cam").unwrap().active && !pc.device("cam-b").unwrap().active);
        // A redelivery of the first is answered as the first time, without switching again.
        assert_eq!(
            pc.on_command(&command(1, "cam", "switch_to_standby")).unwrap().detail,
            "switched to cam-b"
        );
        assert!(pc.device("cam").unwrap().active);
    }

    #[test]
    fn a_command_for_a_device_not_hosted_fails_and_restart_acks() {
        let mut pc = pc();
        let ack = pc.on_command(&command(3, "elsewhere", "restart")).unwrap();
        assert!(!ack.ok);
        assert!(ack.detail.contains("not hosted"), "{}", ack.detail);
        assert!(pc.on_command(&command(4, "gate", "restart")).unwrap().ok);
        assert!(!pc.on_command(&command(5, "gate", "switch_to_standby")).unwrap().ok);
        let body: serde_json::Value = serde_json::from_str(
            &Ack {
                command_id: 9,
                ok: true,
                detail: "x".into(),
            }
            .body(),
        )
        .unwrap();
        assert_eq!(body["command_id"], 9);
    }

    #[test]
    fn heartbeat_bodies_split_at_the_frame_limits() {
        let beats: Vec<Beat> = (0..2_500)
            .map(|i| Beat {
                id: format!("d{i}"),
                fault: None,
            })
            .collect();
        let bodies = heartbeat_bodies(&beats);
        assert_eq!(bodies.len(), 3);
        let mut total = 0;
        for b in &bodies {
            assert!(b.len() <= MAX_FRAME_BODY_BYTES);
            let v: serde_json::Value = serde_json::from_str(b).unwrap();
            total += v["devices"].as_array().unwrap().len();
        }
        assert_eq!(total, 2_500);
        assert!(heartbeat_bodies(&[]).is_empty());
    }
}
