//! The device actor: owns one [`Lifecycle`], feeds it heartbeats and timer ticks, and carries
//! out what it returns (update the live view, record the transition and its alerts).
//!
//! Every handler and timer callback runs under the panic guard; a panic stops this actor and
//! reports the crash to the supervisor in `stopped` ([`ExitReport`]), which rebuilds a new
//! actor from the stored state. The actor holds its entry (data) only: its slot is the
//! supervisor's. The deadline timer is lazy: one pending timer per device, moved only when the
//! deadline comes earlier; a heartbeat that pushes the deadline later costs no timer work, the
//! timer just finds nothing due and re-arms for the new deadline.
//!
//! Heartbeats for a device that stays up do not reach the actor at all: the edges record them
//! in the entry's last-seen word ([`super::seen`]) while the actor *watches* it (its core says an
//! `ok` changes nothing). The timer callback turns the watch off and reads the timestamp in one
//! step before it decides, and turns it back on when the device is still up; every handler
//! leaves the watch as its core says.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use actix::prelude::*;

use super::alerting;
use super::entry::{DeviceEntry, Snapshot};
use super::lifecycle::{FlapPolicy, Lifecycle, Reason, Transition};
use super::messages::{Crash, DeviceChanged, Heartbeat, Reconfigure, SetClientConnected, SetMaintenance, Stop};
use super::model::{DeviceState, HeartbeatStatus};
use crate::alert::{AlertService, Record};
use crate::ids::{DeviceId, IdGen};
use crate::listen::Tells;
use crate::ownership::{Fence, Ownership};
use crate::store::models::transitions;
use crate::supervision::LazyTimer;
use crate::supervision::{guarded, Crash as Caught, ExitReport, Guarded};
use crate::time::{Clock, Millis};

/// What every device actor shares: one allocation for all of them.
#[derive(Debug)]
pub struct DeviceShared {
    pub clock: Arc<dyn Clock>,
    pub alerts: Addr<AlertService>,
    pub ids: Arc<IdGen>,
    pub flap: FlapPolicy,
    /// Which partitions this node acts for: every record of a device carries the fence of its
    /// gate PC's partition.
    ownership: Ownership,
    listeners: RwLock<Vec<Recipient<DeviceChanged>>>,
}

impl DeviceShared {
    pub fn new(clock: Arc<dyn Clock>, alerts: Addr<AlertService>, ids: Arc<IdGen>, flap: FlapPolicy) -> Self {
        DeviceShared {
            clock,
            alerts,
            ids,
            flap,
            ownership: Ownership::default(),
            listeners: RwLock::new(Vec::new()),
        }
    }

    /// Devices record their changes under the fences `ownership` holds (every partition with
    /// token 0 by default: one node).
    pub fn with_ownership(mut self, ownership: Ownership) -> Self {
        self.ownership = ownership;
        self
    }

    /// The fence of the partition the devices of `client` fall in, while this node owns it.
    /// `None` means another node does: what this node would record for them must not be.
    pub fn fence_of(&self, client: &str) -> Option<Fence> {
        let fence = self.ownership.fence_for(client);
        if fence.is_none() {
            log::warn!("record not made client={client} reason=partition_not_owned");
        }
        fence
    }

    fn notify(&self, event: DeviceChanged) {
        for listener in self.listeners.read().unwrap_or_else(|p| p.into_inner()).iter() {
            listener.do_send(event.clone());
        }
    }

    /// Records a transition of `entry` (whose actor was restarted `restarts` times): stored
    /// with its alerts in one transaction, then the entry's stored snapshot moves and listeners
    /// are told.
    pub fn record(
        self: &Arc<Self>,
        entry: &Arc<DeviceEntry>,
        tr: Transition,
        last_seen: Option<Millis>,
        restarts: u32,
    ) {
        let id: DeviceId = entry.spec().id.clone();
        log::info!(
            "device transition id={id} from={} to={} reason={} at_ms={}",
            tr.from,
            tr.to,
            tr.reason.name(),
            tr.at
        );
        let Some(fence) = self.fence_of(entry.spec().client_id.as_str()) else {
            return;
        };
        let intents = alerting::intents(&id, entry.spec().client_id.as_str(), &tr);
        let detail = match &tr.reason {
            Reason::Fault(d) | Reason::Quarantined(d) => format!("{}: {d}", tr.reason.name()),
            other => other.name().to_owned(),
        };
        let row = transitions::Transition {
            id: self.ids.next(tr.at),
            device_id: id.to_string(),
            from_state: tr.from.as_str().to_owned(),
            to_state: tr.to.as_str().to_owned(),
            reason: detail,
            at_ms: tr.at.0,
        };
        let state = transitions::StateChange {
            transition: row,
            last_seen_ms: last_seen.map(|t| t.0),
        };
        let snapshot = Snapshot {
            state: tr.to,
            since: tr.at,
            last_seen,
        };
        let (entry, shared) = (entry.clone(), self.clone());
        let committed = Box::new(move || {
            entry.set_stored(snapshot);
            shared.notify(DeviceChanged {
                entry,
                transition: tr,
                restarts,
            });
        });
        self.alerts.do_send(Record {
            writes: None,
            state: Some(state),
            intents,
            committed: Some(committed),
            fence: Some(fence),
        });
    }
}

/// Every stored device transition (the listeners live here, where the transitions are told).
impl Tells<DeviceChanged> for DeviceShared {
    fn listen(&self, listener: Recipient<DeviceChanged>) {
        self.listeners.write().unwrap_or_else(|p| p.into_inner()).push(listener);
    }
}

pub struct DeviceActor {
    entry: Arc<DeviceEntry>,
    core: Lifecycle,
    shared: Arc<DeviceShared>,
    exit: ExitReport<DeviceId>,
    timer: LazyTimer,
    /// Restarts before this actor started, as its transitions report them.
    restarts: u32,
}

impl DeviceActor {
    pub fn new(
        entry: Arc<DeviceEntry>,
        core: Lifecycle,
        shared: Arc<DeviceShared>,
        restarts: u32,
        exit: ExitReport<DeviceId>,
    ) -> Self {
        DeviceActor {
            entry,
            core,
            shared,
            exit,
            timer: LazyTimer::default(),
            restarts,
        }
    }

    fn apply(&mut self, tr: Option<Transition>) {
        if let Some(tr) = tr {
            // Record the sighting the edges kept, not the core's older one.
            self.core.observe(self.entry.last_seen());
            self.entry.set_state(tr.to, tr.at);
            self.shared
                .record(&self.entry, tr, self.core.last_seen(), self.restarts);
        }
    }

    /// Lets the edges absorb `ok` heartbeats while the core says they change nothing.
    fn sync_watch(&self) {
        if self.core.ok_changes_nothing() {
            self.entry.seen().watch();
        } else {
            self.entry.seen().unwatch();
        }
    }

    /// Arms the timer for the core's next deadline, unless an earlier one is already armed.
    /// The deadline may be early (heartbeats the edges absorbed since moved it): the timer then
    /// reads them, finds nothing due and re-arms.
    fn schedule(&mut self, ctx: &mut Context<Self>, now: Millis) {
        self.sync_watch();
        let due = self.core.next_deadline();
        self.timer.arm::<Self>(ctx, due, now, |act, ctx| {
            act.timer.fired();
            guarded(act, ctx, |act, ctx| {
                let now = act.shared.clock.now();
                // From here on heartbeats come as messages: none lands unread while deciding.
                let seen = act.entry.seen().unwatch();
                act.core.observe(seen);
                let tr = act.core.tick(now);
                act.apply(tr);
                act.schedule(ctx, now);
            });
        });
    }
}

impl Actor for DeviceActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let now = self.shared.clock.now();
        // The spec as it is now: an edit between this actor's build and its start counts.
        self.core.set_window(self.entry.spec().deadline_window());
        self.entry.seen().restart();
        self.entry.set_state(self.core.state(), self.core.since());
        self.schedule(ctx, now);
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        // No actor to decide: heartbeats go the slow way, and are refused while none runs.
        self.entry.seen().unwatch();
        self.exit.report(self.entry.spec().id.clone());
    }
}

impl Guarded for DeviceActor {
    fn crashed(&mut self, ctx: &mut Context<Self>, crash: Caught) {
        self.exit.crashed(ctx, "device", &self.entry.spec().id, crash);
    }
}

impl Handler<Heartbeat> for DeviceActor {
    type Result = MessageResult<Heartbeat>;
    fn handle(&mut self, msg: Heartbeat, ctx: &mut Context<Self>) -> Self::Result {
        let state = guarded(self, ctx, |act, ctx| {
            let now = act.shared.clock.now();
            act.entry.seen().record(now);
            if msg.status == HeartbeatStatus::Fault {
                act.entry.seen().fault_handled();
            }
            let tr = act.core.heartbeat(&msg.status, msg.detail.as_deref(), now);
            act.apply(tr);
            act.schedule(ctx, now);
            act.core.state()
        });
        MessageResult(state.unwrap_or(DeviceState::Unknown))
    }
}

impl Handler<SetMaintenance> for DeviceActor {
    type Result = MessageResult<SetMaintenance>;
    fn handle(&mut self, msg: SetMaintenance, ctx: &mut Context<Self>) -> Self::Result {
        let state = guarded(self, ctx, |act, ctx| {
            let now = act.shared.clock.now();
            let tr = act.core.set_maintenance(msg.on, now);
            act.apply(tr);
            act.schedule(ctx, now);
            act.core.state()
        });
        MessageResult(state.unwrap_or(DeviceState::Unknown))
    }
}

impl Handler<SetClientConnected> for DeviceActor {
    type Result = ();
    fn handle(&mut self, msg: SetClientConnected, ctx: &mut Context<Self>) {
        guarded(self, ctx, |act, ctx| {
            let now = act.shared.clock.now();
            let tr = act.core.set_client_connected(msg.connected, now);
            act.apply(tr);
            act.schedule(ctx, now);
        });
    }
}

impl Handler<Reconfigure> for DeviceActor {
    type Result = ();
    fn handle(&mut self, _: Reconfigure, ctx: &mut Context<Self>) {
        guarded(self, ctx, |act, ctx| {
            let now = act.shared.clock.now();
            // The sightings the edges kept first, so the new deadline counts from the latest.
            act.core.observe(act.entry.last_seen());
            act.core.set_window(act.entry.spec().deadline_window());
            log::info!(
                "device reconfigured id={} window_ms={}",
                act.entry.spec().id,
                act.entry.spec().deadline_window().as_millis()
            );
            // An earlier deadline needs a new timer; a later one is found by the armed one.
            act.schedule(ctx, now);
        });
    }
}

impl Handler<Crash> for DeviceActor {
    type Result = ();
    fn handle(&mut self, _: Crash, ctx: &mut Context<Self>) {
        guarded(self, ctx, |act, _| {
            // Leave the state half-changed, as a real bug would, before panicking.
            act.core = Lifecycle::new(Duration::ZERO, act.shared.flap, Millis(0));
            panic!("fault injection: crash requested for device {}", act.entry.spec().id);
        });
    }
}

impl Handler<Stop> for DeviceActor {
    type Result = ();
    fn handle(&mut self, _: Stop, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}
