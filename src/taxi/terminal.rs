//! The terminal actor: owns one terminal's [`Dispatcher`], feeds it requests and timer ticks,
//! and carries out what it returns (hand the events to the journal, route open requests).
//!
//! Every change goes through [`input::apply`], and each completed input is kept in the
//! terminal's entry until the next snapshot ([`SNAPSHOT_INTERVAL`]); a crashed actor is rebuilt
//! from that snapshot and those inputs, so the restarted one has exactly the lines, curb and
//! requests its clients were told about. The tick timer is lazy (one pending timer, moved only
//! when the deadline comes earlier), and every message first catches up with a deadline that
//! has passed, so an answer never shows a state the timer merely has not reached yet.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use super::core::dispatch::Dispatcher;
use super::core::events::{DispatchError, DispatchEvent};
use super::core::input::{self, Input, Outcome};
use super::core::model::{Plate, RequestId, TerminalId};
use super::entry::TerminalEntry;
use super::error::TaxiError;
use super::journal::{Recorded, Snapshotted};
use super::messages::{
    Arrive, Blacklist, ClearHold, Complete, Configure, Crash, FindRequest, LeaveLot, NoShow, Pickup, Ping, ReadQueues,
    ReadStats, ReadTaxi, Reporter, Request, SetServiceRegion, Stop, TakeSnapshot,
};
use super::shared::TaxiShared;
use crate::supervision::LazyTimer;
use crate::supervision::{guarded, Child, Crash as Caught, ExitReport, Guarded};
use crate::time::Millis;

/// Longest a change waits before a snapshot covers it.
pub const SNAPSHOT_INTERVAL: Duration = Duration::from_millis(200);
/// Inputs kept since the last snapshot beyond which a snapshot is taken at once.
pub const MAX_INPUTS_BEFORE_SNAPSHOT: usize = 4_096;

/// A configured terminal: its entry and its actor's slot.
pub type Terminal = Child<TerminalEntry, TerminalActor>;
/// Every configured terminal, fixed at start: what taxi actors send to.
pub type Terminals = BTreeMap<TerminalId, Arc<Terminal>>;

pub struct TerminalActor {
    entry: Arc<TerminalEntry>,
    core: Dispatcher,
    shared: Arc<TaxiShared>,
    exit: ExitReport<TerminalId>,
    /// Restarts before this actor started.
    restarts: u32,
    timer: LazyTimer,
    /// The core's next deadline as of the last change.
    due: Option<Millis>,
    snapshot_armed: bool,
}

impl TerminalActor {
    pub fn new(
        entry: Arc<TerminalEntry>,
        core: Dispatcher,
        shared: Arc<TaxiShared>,
        restarts: u32,
        exit: ExitReport<TerminalId>,
    ) -> Self {
        TerminalActor {
            entry,
            core,
            shared,
            exit,
            restarts,
            timer: LazyTimer::default(),
            due: None,
            snapshot_armed: false,
        }
    }

    fn unavailable(&self) -> TaxiError {
        TaxiError::restarting(format!("terminal {}", self.entry.id))
    }

    /// Applies one input, keeps it for recovery, and hands its events over.
    fn step(&mut self, input: Input, now: Millis, ctx: &mut Context<Self>) -> Result<Outcome, DispatchError> {
        let result = input::apply(&mut self.core, &input, now);
        self.entry.completed(input, now);
        let outcome = result.map(|step| {
            self.publish(step.events);
            step.outcome
        });
        self.arm_snapshot(ctx);
        outcome
    }

    /// Ticks first when a deadline has passed since the last change.
    fn catch_up(&mut self, now: Millis, ctx: &mut Context<Self>) {
        if self.due.is_some_and(|due| due <= now) {
            let _ = self.step(Input::Tick, now, ctx);
        }
    }

    /// Runs `input` now, under the panic guard, after catching up.
    fn run(&mut self, input: Input, ctx: &mut Context<Self>) -> Result<Outcome, TaxiError> {
        let done = guarded(self, ctx, |act, ctx| {
            let now = act.shared.clock.now();
            act.catch_up(now, ctx);
            let outcome = act.step(input, now, ctx);
            act.schedule(ctx, now);
            outcome.map_err(TaxiError::from)
        });
        done.unwrap_or_else(|| Err(self.unavailable()))
    }

    /// Runs an input whose outcome is a [`Outcome::Flag`].
    fn run_flag(&mut self, input: Input, ctx: &mut Context<Self>) -> Result<bool, TaxiError> {
        match self.run(input, ctx)? {
            Outcome::Flag(flag) => Ok(flag),
            other => Err(unexpected(other)),
        }
    }

    /// Reads the core under the panic guard, after catching up.
    fn read<T>(&mut self, ctx: &mut Context<Self>, f: impl FnOnce(&Dispatcher) -> T) -> Result<T, TaxiError> {
        let done = guarded(self, ctx, |act, ctx| {
            let now = act.shared.clock.now();
            act.catch_up(now, ctx);
            act.schedule(ctx, now);
            f(&act.core)
        });
        done.ok_or_else(|| self.unavailable())
    }

    fn publish(&mut self, events: Vec<DispatchEvent>) {
        if events.is_empty() {
            return;
        }
        let requests = &self.shared.requests;
        for event in &events {
            match event {
                DispatchEvent::Assigned { assignment } => requests.route(assignment.request, &self.entry.id),
                DispatchEvent::TripCompleted { request, .. }
                | DispatchEvent::TripAbandoned { request, .. }
                | DispatchEvent::RequestDropped { request, .. } => requests.close(*request),
                _ => {}
            }
        }
        self.shared.journal.do_send(Recorded {
            terminal: self.entry.id.clone(),
            events,
        });
    }

    fn arm_snapshot(&mut self, ctx: &mut Context<Self>) {
        if self.entry.pending_inputs() >= MAX_INPUTS_BEFORE_SNAPSHOT {
            self.take_snapshot();
            return;
        }
        if self.snapshot_armed {
            return;
        }
        self.snapshot_armed = true;
        ctx.run_later(SNAPSHOT_INTERVAL, |act, ctx| {
            act.snapshot_armed = false;
            guarded(act, ctx, |act, _| act.take_snapshot());
        });
    }

    fn take_snapshot(&mut self) {
        if self.entry.pending_inputs() == 0 {
            return;
        }
        let snapshot = Arc::new(self.core.snapshot());
        self.entry.snapshotted(snapshot.clone());
        self.shared.journal.do_send(Snapshotted {
            terminal: self.entry.id.clone(),
            mode: self.core.mode(),
            snapshot,
        });
    }

    /// Arms the tick timer for the core's next deadline, unless an earlier one is armed.
    fn schedule(&mut self, ctx: &mut Context<Self>, now: Millis) {
        self.due = self.core.next_deadline();
        let due = self.due;
        self.timer.arm::<Self>(ctx, due, now, |act, ctx| {
            act.timer.fired();
            guarded(act, ctx, |act, ctx| {
                let now = act.shared.clock.now();
                if act.due.is_some_and(|due| due <= now) {
                    let _ = act.step(Input::Tick, now, ctx);
                }
                act.schedule(ctx, now);
            });
        });
    }

    /// Taxis that another lot read while this dispatcher was down (their `LeaveLot` found no
    /// one) leave now, as replayable inputs: a taxi's card says where it was read last.
    fn leave_taxis_read_elsewhere(&mut self, ctx: &mut Context<Self>) {
        let cards = self.shared.cards.clone();
        let moved = self
            .core
            .read_elsewhere(|plate| cards.card(plate).and_then(|card| card.terminal));
        for plate in moved {
            log::info!(
                "taxi left lot while its dispatcher was down terminal={} plate={plate}",
                self.entry.id
            );
            let _ = self.run(Input::MovedAway(plate), ctx);
        }
    }

    /// Refuses a driver's report on another taxi's request.
    fn check_reporter(&self, request: RequestId, by: &Reporter) -> Result<(), TaxiError> {
        match (by, self.core.request_plate(request)) {
            (Reporter::Driver(plate), Some(serving)) if plate != serving => Err(TaxiError::Forbidden(format!(
                "request {request} is served by taxi {serving}, not by {plate}"
            ))),
            _ => Ok(()),
        }
    }

    fn serving(&self, request: RequestId) -> Option<Plate> {
        self.core.request_plate(request).cloned()
    }
}

fn unexpected(outcome: Outcome) -> TaxiError {
    TaxiError::Unavailable(format!("unexpected dispatcher outcome {outcome:?}"))
}

impl Actor for TerminalActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        for (request, _) in self.core.open_requests() {
            self.shared.requests.route(request, &self.entry.id);
        }
        let now = self.shared.clock.now();
        self.schedule(ctx, now);
        log::info!(
            "terminal actor started terminal={} mode={} restarts={}",
            self.entry.id,
            self.core.mode(),
            self.restarts
        );
        self.leave_taxis_read_elsewhere(ctx);
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.exit.report(self.entry.id.clone());
    }
}

impl Guarded for TerminalActor {
    fn crashed(&mut self, ctx: &mut Context<Self>, crash: Caught) {
        self.exit.crashed(ctx, "terminal", &self.entry.id, crash);
    }
}

impl Handler<Arrive> for TerminalActor {
    type Result = Result<super::core::events::ArrivalOutcome, TaxiError>;
    fn handle(&mut self, msg: Arrive, ctx: &mut Context<Self>) -> Self::Result {
        match self.run(Input::Arrive(msg.arrival), ctx)? {
            Outcome::Arrival(outcome) => Ok(outcome),
            other => Err(unexpected(other)),
        }
    }
}

impl Handler<Ping> for TerminalActor {
    type Result = ();
    fn handle(&mut self, msg: Ping, ctx: &mut Context<Self>) {
        guarded(self, ctx, |act, ctx| {
            // The ping happened at `at`: the core is brought to that time, not to the clock's,
            // since pings stamped later may still wait in the mailbox behind this one.
            let at = msg.at.min(act.shared.clock.now());
            act.catch_up(at, ctx);
            // A taxi that is not (or no longer) in this lot: nothing to keep alive.
            let _ = act.step(Input::Ping(msg.plate), at, ctx);
            act.schedule(ctx, at);
        });
    }
}

impl Handler<Request> for TerminalActor {
    type Result = Result<super::core::events::Assignment, TaxiError>;
    fn handle(&mut self, msg: Request, ctx: &mut Context<Self>) -> Self::Result {
        match self.run(Input::Request(msg.request), ctx)? {
            Outcome::Assignment(a) => Ok(a),
            other => Err(unexpected(other)),
        }
    }
}

impl Handler<Pickup> for TerminalActor {
    type Result = Result<Plate, TaxiError>;
    fn handle(&mut self, msg: Pickup, ctx: &mut Context<Self>) -> Self::Result {
        self.check_reporter(msg.request, &msg.by)?;
        let plate = self.serving(msg.request);
        self.run(Input::Pickup(msg.request), ctx)?;
        plate.ok_or_else(|| TaxiError::NotFound(format!("no open request {}", msg.request)))
    }
}

impl Handler<NoShow> for TerminalActor {
    type Result = Result<(Plate, super::core::events::NoShowOutcome), TaxiError>;
    fn handle(&mut self, msg: NoShow, ctx: &mut Context<Self>) -> Self::Result {
        self.check_reporter(msg.request, &msg.by)?;
        let plate = self.serving(msg.request);
        match (self.run(Input::NoShow(msg.request), ctx)?, plate) {
            (Outcome::NoShow(outcome), Some(plate)) => Ok((plate, outcome)),
            (other, _) => Err(unexpected(other)),
        }
    }
}

impl Handler<Complete> for TerminalActor {
    type Result = Result<(Plate, super::core::events::TripOutcome), TaxiError>;
    fn handle(&mut self, msg: Complete, ctx: &mut Context<Self>) -> Self::Result {
        self.check_reporter(msg.request, &msg.by)?;
        let plate = self.serving(msg.request);
        let input = Input::Complete {
            request: msg.request,
            distance_km: msg.distance_km,
        };
        match (self.run(input, ctx)?, plate) {
            (Outcome::Trip(outcome), Some(plate)) => Ok((plate, outcome)),
            (other, _) => Err(unexpected(other)),
        }
    }
}

impl Handler<Configure> for TerminalActor {
    type Result = Result<super::core::view::QueuesView, TaxiError>;
    fn handle(&mut self, msg: Configure, ctx: &mut Context<Self>) -> Self::Result {
        self.run(Input::Configure(msg.plan), ctx)?;
        self.read(ctx, Dispatcher::queues)
    }
}

impl Handler<SetServiceRegion> for TerminalActor {
    type Result = Result<(), TaxiError>;
    fn handle(&mut self, msg: SetServiceRegion, ctx: &mut Context<Self>) -> Self::Result {
        let input = Input::SetServiceRegion {
            plate: msg.plate,
            region: msg.region,
        };
        match self.run(input, ctx) {
            // Not in this lot: the card carries the choice to the next arrival.
            Err(TaxiError::NotFound(_)) => Ok(()),
            other => other.map(|_| ()),
        }
    }
}

impl Handler<Blacklist> for TerminalActor {
    type Result = Result<bool, TaxiError>;
    fn handle(&mut self, msg: Blacklist, ctx: &mut Context<Self>) -> Self::Result {
        self.run_flag(Input::Blacklist(msg.plate), ctx)
    }
}

impl Handler<ClearHold> for TerminalActor {
    type Result = Result<bool, TaxiError>;
    fn handle(&mut self, msg: ClearHold, ctx: &mut Context<Self>) -> Self::Result {
        self.run_flag(Input::ClearHold(msg.plate), ctx)
    }
}

impl Handler<LeaveLot> for TerminalActor {
    type Result = Result<bool, TaxiError>;
    fn handle(&mut self, msg: LeaveLot, ctx: &mut Context<Self>) -> Self::Result {
        self.run_flag(Input::MovedAway(msg.plate), ctx)
    }
}

impl Handler<ReadQueues> for TerminalActor {
    type Result = Result<super::core::view::QueuesView, TaxiError>;
    fn handle(&mut self, _: ReadQueues, ctx: &mut Context<Self>) -> Self::Result {
        self.read(ctx, Dispatcher::queues)
    }
}

impl Handler<ReadTaxi> for TerminalActor {
    type Result = Result<Option<super::core::view::TaxiView>, TaxiError>;
    fn handle(&mut self, msg: ReadTaxi, ctx: &mut Context<Self>) -> Self::Result {
        self.read(ctx, |core| core.taxi(&msg.plate))
    }
}

impl Handler<ReadStats> for TerminalActor {
    type Result = Result<super::core::stats::StatsView, TaxiError>;
    fn handle(&mut self, _: ReadStats, ctx: &mut Context<Self>) -> Self::Result {
        self.read(ctx, Dispatcher::stats)
    }
}

impl Handler<FindRequest> for TerminalActor {
    type Result = Result<Option<Plate>, TaxiError>;
    fn handle(&mut self, msg: FindRequest, ctx: &mut Context<Self>) -> Self::Result {
        self.read(ctx, |core| core.request_plate(msg.request).cloned())
    }
}

impl Handler<TakeSnapshot> for TerminalActor {
    type Result = ();
    fn handle(&mut self, _: TakeSnapshot, ctx: &mut Context<Self>) {
        guarded(self, ctx, |act, _| act.take_snapshot());
    }
}

impl Handler<Crash> for TerminalActor {
    type Result = ();
    fn handle(&mut self, _: Crash, ctx: &mut Context<Self>) {
        guarded(self, ctx, |act, _| {
            // Leave the state half-changed, as a real bug would, before panicking.
            if let Ok(empty) = Dispatcher::new(
                act.entry.id.clone(),
                act.shared.dispatch.clone(),
                act.shared.rules.clone(),
            ) {
                act.core = empty;
            }
            panic!("fault injection: crash requested for terminal {}", act.entry.id);
        });
    }
}

impl Handler<Stop> for TerminalActor {
    type Result = ();
    fn handle(&mut self, _: Stop, ctx: &mut Context<Self>) {
        self.take_snapshot();
        ctx.stop();
    }
}
