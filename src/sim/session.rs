//! The task that plays one gate PC or kiosk: one STOMP session (reconnected with backoff) that
//! subscribes to `/user/queue/commands`, sends one `/app/heartbeat` frame for all its devices
//! every interval, answers commands as its [`GatePc`] core decides, and suffers what chaos or a
//! drill ([`Control`]) makes it suffer.

use std::rc::Rc;
use std::time::Duration;

use rand::SeedableRng;
use tokio::sync::mpsc;
use tokio::time::{interval_at, Instant, MissedTickBehavior};

use super::backoff::Backoff;
use super::chaos::{Chaos, Fault};
use super::gate_pc::{heartbeat_bodies, GatePc, Health, IssuedCommand};
use super::link::{Link, Transport, HEART_BEAT_MS};
use super::stats::Stats;
use crate::stomp::{Command, Frame};

/// What a drill (or the sim's own chaos) tells a running gate PC.
#[derive(Debug, Clone)]
pub enum Control {
    /// Sets a device's health.
    Health { device: String, health: Health },
    /// Drops the session without a DISCONNECT and stays away this long.
    Drop { away: Duration },
    /// Ends a drop's time away now: the gate PC reconnects.
    Return,
    /// Closes the session cleanly and ends the task.
    Stop,
}

/// Everything one gate PC's task needs.
#[derive(Debug)]
pub struct Plan {
    pub server: String,
    pub transport: Transport,
    pub token: String,
    pub core: GatePc,
    pub interval: Duration,
    /// The devices' miss tolerance, in intervals (chaos silences outlast it).
    pub tolerance: u32,
    pub chaos: Chaos,
    /// Where chaos sends the device ids whose actors it would crash.
    pub crash: Option<mpsc::UnboundedSender<String>>,
}

/// A running gate PC.
#[derive(Debug)]
pub struct Handle {
    pub id: String,
    pub control: mpsc::UnboundedSender<Control>,
    pub task: tokio::task::JoinHandle<()>,
}

impl Handle {
    pub fn tell(&self, control: Control) {
        let _ = self.control.send(control);
    }

    /// Stops it and waits for the session to close.
    pub async fn stop(self) {
        self.tell(Control::Stop);
        let _ = self.task.await;
    }
}

/// Starts the task on the current (actix) thread.
pub fn spawn(plan: Plan, stats: Rc<Stats>) -> Handle {
    let (tx, rx) = mpsc::unbounded_channel();
    let id = plan.core.id.clone();
    let task = actix_web::rt::spawn(run(plan, stats, rx));
    Handle { id, control: tx, task }
}

enum End {
    Stop,
    Drop(Duration),
    Lost(String),
}

async fn run(mut plan: Plan, stats: Rc<Stats>, mut rx: mpsc::UnboundedReceiver<Control>) {
    let mut rng = rand::rngs::StdRng::from_os_rng();
    let mut backoff = Backoff::default();
    loop {
        let wait = match Link::open(&plan.server, &plan.transport, &plan.token).await {
            Ok(mut link) => {
                backoff.reset();
                stats.connects.inc();
                stats.sessions.inc();
                log::debug!("sim session open client={} session={}", plan.core.id, link.session);
                let end = session(&mut link, &mut plan, &stats, &mut rx, &mut rng).await;
                stats.sessions.dec();
                match end {
                    End::Stop => {
                        link.close().await;
                        return;
                    }
                    End::Drop(away) => {
                        stats.drops.inc();
                        log::info!(
                            "sim session dropped client={} away_ms={}",
                            plan.core.id,
                            away.as_millis()
                        );
                        link.drop_now().await;
                        away
                    }
                    End::Lost(why) => {
                        stats.sessions_lost.inc();
                        log::warn!("sim session lost client={} reason={why:?}", plan.core.id);
                        link.drop_now().await;
                        backoff.next(&mut rng)
                    }
                }
            }
            Err(e) => {
                stats.connect_failures.inc();
                log::warn!("sim connect failed client={} error={e:#}", plan.core.id);
                backoff.next(&mut rng)
            }
        };
        // Away: health changes still land (a drill may heal a device meanwhile); Stop ends it.
        let until = Instant::now() + wait;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(until) => break,
                ctl = rx.recv() => match ctl {
                    None | Some(Control::Stop) => return,
                    Some(Control::Health { device, health }) => { plan.core.set_health(&device, health); }
                    Some(Control::Return) => break,
                    Some(Control::Drop { .. }) => {}
                },
            }
        }
    }
}

async fn session(
    link: &mut Link,
    plan: &mut Plan,
    stats: &Stats,
    rx: &mut mpsc::UnboundedReceiver<Control>,
    rng: &mut rand::rngs::StdRng,
) -> End {
    let subscribe = Frame::new(Command::Subscribe)
        .with_header("id", "cmd")
        .with_header("destination", "/user/queue/commands")
        .with_header("ack", "auto");
    if let Err(e) = link.send(&subscribe).await {
        return End::Lost(format!("{e:#}"));
    }
    // Field equipment is not synchronised: each session starts its beat at a random phase.
    let phase = plan.interval.mul_f64(rand::Rng::random_range(rng, 0.0..1.0));
    let mut ticker = interval_at(Instant::now() + phase, plan.interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let beat_every = Duration::from_millis(HEART_BEAT_MS / 2);
    let mut beater = interval_at(Instant::now() + beat_every, beat_every);
    let mut last_sent = Instant::now();
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                for fault in plan.chaos.roll(rng, plan.core.len(), plan.tolerance) {
                    if let Some(away) = inject(plan, stats, fault) {
                        return End::Drop(away);
                    }
                }
                let beats = plan.core.tick();
                stats.beats.add(beats.len() as u64);
                for body in heartbeat_bodies(&beats) {
                    let frame = Frame::new(Command::Send)
                        .with_header("destination", "/app/heartbeat")
                        .with_header("content-type", "application/json")
                        .with_body(body);
                    if let Err(e) = link.send(&frame).await {
                        return End::Lost(format!("{e:#}"));
                    }
                    stats.frames.inc();
                }
                last_sent = Instant::now();
            }
            _ = beater.tick() => {
                if last_sent.elapsed() >= beat_every {
                    if let Err(e) = link.beat().await {
                        return End::Lost(format!("{e:#}"));
                    }
                    last_sent = Instant::now();
                }
            }
            frame = link.next_frame() => match frame {
                Ok(Some(frame)) => match frame.command {
                    Command::Message => {
                        if let Err(e) = on_message(link, plan, stats, &frame).await {
                            return End::Lost(format!("{e:#}"));
                        }
                        last_sent = Instant::now();
                    }
                    Command::Error => {
                        return End::Lost(format!("ERROR {}", frame.header("message").unwrap_or_default()));
                    }
                    _ => {}
                },
                Ok(None) => return End::Lost("closed by the server".into()),
                Err(e) => return End::Lost(format!("{e:#}")),
            },
            ctl = rx.recv() => match ctl {
                None | Some(Control::Stop) => return End::Stop,
                Some(Control::Drop { away }) => return End::Drop(away),
                Some(Control::Return) => {}
                Some(Control::Health { device, health }) => { plan.core.set_health(&device, health); }
            },
        }
    }
}

/// Applies one chaos fault; `Some(away)` when it drops the session.
fn inject(plan: &mut Plan, stats: &Stats, fault: Fault) -> Option<Duration> {
    let id_at = |i: usize| plan.core.devices().get(i).map(|d| d.id.clone()).unwrap_or_default();
    match fault {
        Fault::Silence { device, ticks } => {
            stats.silences.inc();
            log::debug!("sim chaos silence device={} ticks={ticks}", id_at(device));
            plan.core.set_health_at(device, Health::Silent { ticks });
        }
        Fault::Fault { device, ticks } => {
            stats.faults.inc();
            log::debug!("sim chaos fault device={} ticks={ticks}", id_at(device));
            plan.core.set_health_at(
                device,
                Health::Fault {
                    ticks,
                    detail: "simulated fault".into(),
                },
            );
        }
        Fault::Flap { device, ticks } => {
            stats.flaps.inc();
            log::debug!("sim chaos flap device={} ticks={ticks}", id_at(device));
            plan.core.set_health_at(device, Health::Flap { ticks });
        }
        Fault::Crash { device } => {
            if let Some(crash) = &plan.crash {
                let _ = crash.send(id_at(device));
            }
        }
        Fault::DropSession { ticks } => return Some(plan.interval * ticks),
    }
    None
}

async fn on_message(link: &mut Link, plan: &mut Plan, stats: &Stats, frame: &Frame) -> anyhow::Result<()> {
    if frame.header("destination") != Some("/user/queue/commands") {
        return Ok(());
    }
    let command: IssuedCommand = match serde_json::from_slice(&frame.body) {
        Ok(c) => c,
        Err(e) => {
            log::warn!("sim command unreadable client={} error={e}", plan.core.id);
            return Ok(());
        }
    };
    stats.commands.inc();
    let Some(ack) = plan.core.on_command(&command) else {
        return Ok(());
    };
    if ack.ok {
        stats.acks_ok.inc();
    } else {
        stats.acks_failed.inc();
    }
    log::info!(
        "sim command client={} id={} device={} kind={} ok={} detail={:?}",
        plan.core.id,
        ack.command_id,
        command.device_id,
        command.command,
        ack.ok,
        ack.detail
    );
    let reply = Frame::new(Command::Send)
        .with_header("destination", "/app/commands/ack")
        .with_header("content-type", "application/json")
        .with_body(ack.body());
    link.send(&reply).await
}
