//! The supervisor actor: receives children's exits, applies the [`RestartPolicy`], and restarts
//! or escalates through a [`ChildFactory`].
//!
//! Wiring only: every decision is [`RestartTracker::on_exit`]. The factory owns how a child is
//! built (from its stored state, never from the crashed value) and what escalation means for
//! that kind of child (a device is quarantined and a critical alert raised). The supervisor owns
//! each child's [`ChildSlot`]: it starts every actor and receives every exit, so it alone puts
//! an address in the slot, clears it when that actor exits, and marks the slot quarantined.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::sync::Arc;

use actix::prelude::*;

use super::child::{ChildExited, ExitReport, Exits};
use super::policy::{Decision, Exit, RestartPolicy, RestartTracker};
use super::slot::ChildSlot;
use crate::ownership::{Fence, Ownership};
use crate::time::Clock;

/// Builds children of one kind and handles their escalation.
pub trait ChildFactory: Unpin + 'static {
    type Id: Clone + Eq + Hash + fmt::Display + fmt::Debug + Unpin + Send + 'static;
    /// The actor each child runs as.
    type Actor: Actor;

    /// Starts child `id` from its stored state. `fence` is the ownership it is started under:
    /// what the child and its start write for its partition carries it. `restarts` counts its
    /// restarts so far (0 on the first start); the child's slot still shows the previous
    /// start's figures. The child must report its end through `exit` ([`ExitReport::report`]
    /// in `stopped`). The supervisor puts the address answered in the child's slot.
    fn start_child(
        &mut self,
        id: &Self::Id,
        fence: Fence,
        restarts: u32,
        exit: ExitReport<Self::Id>,
    ) -> Result<Addr<Self::Actor>, String>;

    /// Runs `f` on the key that places child `id` in a partition (a device's gate PC or kiosk,
    /// a terminal's id), if the child is registered. The supervisor asks the owner check with
    /// it before every start and restart.
    fn with_partition_key<R>(&self, id: &Self::Id, f: impl FnOnce(&str) -> R) -> Option<R>;

    /// Runs `f` on the slot of child `id`, if it has one (the registry of its kind holds it).
    fn with_slot<R>(&self, id: &Self::Id, f: impl FnOnce(&ChildSlot<Self::Actor>) -> R) -> Option<R>;

    /// The child crashed too often: it stays down until an operator acts. Its slot already
    /// says so.
    fn escalate(&mut self, id: &Self::Id, reason: &str, restarts: u32);
}

/// Start a child for the first time (or again after an operator lifted an escalation).
#[derive(Debug, Message)]
#[rtype(result = "Result<(), String>")]
pub struct StartChild<Id: Send> {
    pub id: Id,
    /// Forget the child's restart history first.
    pub reset: bool,
}

/// Ask for the supervisor's counters.
#[derive(Debug, Message)]
#[rtype(result = "SupervisorStats")]
pub struct GetStats;

/// What a supervisor has done since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, MessageResponse)]
pub struct SupervisorStats {
    pub starts: u64,
    pub restarts: u64,
    pub escalations: u64,
    /// Children waiting out a backoff delay.
    pub pending_restarts: u64,
}

#[derive(Debug, Default)]
struct ChildRecord {
    tracker: RestartTracker,
    restarts: u32,
}

/// Supervises the children a [`ChildFactory`] builds.
pub struct Supervisor<F: ChildFactory> {
    name: &'static str,
    factory: F,
    policy: RestartPolicy,
    clock: Arc<dyn Clock>,
    /// Asked before every start: a child runs only on the node that owns its partition.
    ownership: Ownership,
    children: HashMap<F::Id, ChildRecord>,
    /// Tokens for delayed restarts; never reused, so a stale timer can never match.
    next_token: u64,
    /// Generations of started children; never reused, so a replaced child's late exit can
    /// never pass for the current child's.
    next_generation: u64,
    /// This supervisor as its children's exit recipient, made once for all of them.
    exits: Option<Exits<F::Id>>,
    stats: SupervisorStats,
}

impl<F: ChildFactory> Supervisor<F> {
    pub fn new(name: &'static str, factory: F, policy: RestartPolicy, clock: Arc<dyn Clock>) -> Self {
        Supervisor {
            name,
            factory,
            policy,
            clock,
            ownership: Ownership::default(),
            children: HashMap::new(),
            next_token: 0,
            next_generation: 0,
            exits: None,
            stats: SupervisorStats::default(),
        }
    }

    /// Children start only where their partition is owned (every partition, on a single node).
    pub fn with_ownership(mut self, ownership: Ownership) -> Self {
        self.ownership = ownership;
        self
    }

    /// The fence this node holds for child `id`: `Err` when it is not registered or another
    /// node owns its partition.
    fn owned(&self, id: &F::Id) -> Result<Fence, String> {
        match self.factory.with_partition_key(id, |key| self.ownership.fence_for(key)) {
            Some(Some(fence)) => Ok(fence),
            Some(None) => Err(format!("another node owns the partition of {id}")),
            None => Err(format!("{id} is not registered")),
        }
    }

    fn start(&mut self, id: &F::Id, ctx: &mut Context<Self>) -> Result<(), String> {
        let fence = self.owned(id)?;
        log::trace!(
            "supervisor={} start id={id} partition={} token={}",
            self.name,
            fence.partition,
            fence.token
        );
        let restarts = self.children.get(id).map_or(0, |c| c.restarts);
        let exits = self
            .exits
            .get_or_insert_with(|| Arc::new(ctx.address().recipient()))
            .clone();
        self.next_generation += 1;
        let generation = self.next_generation;
        let addr = self
            .factory
            .start_child(id, fence, restarts, ExitReport::new(exits, generation))?;
        // Set in this handler, before the exit of the actor just started can be handled.
        if self
            .factory
            .with_slot(id, |slot| slot.started(addr, generation, restarts))
            .is_none()
        {
            log::warn!("supervisor={} started a child with no slot id={id}", self.name);
        }
        Ok(())
    }

    fn restart(&mut self, id: F::Id, ctx: &mut Context<Self>) {
        if let Err(e) = self.owned(&id) {
            // Ownership moved while the child was down: its new owner starts it. Restarting
            // here would put a second actor beside that one.
            log::info!("supervisor={} restart dropped id={id} reason={e:?}", self.name);
            if let Some(mut child) = self.children.remove(&id) {
                if child.tracker.started() {
                    self.stats.pending_restarts -= 1;
                }
            }
            return;
        }
        self.stats.restarts += 1;
        if let Some(child) = self.children.get_mut(&id) {
            child.restarts += 1;
            if child.tracker.started() {
                self.stats.pending_restarts -= 1;
            }
        }
        if let Err(e) = self.start(&id, ctx) {
            // The stored state could not be read: count it as another crash.
            self.start_failed(id, "restart", &e, ctx);
        }
    }

    /// A start the policy was counting on failed: it goes back under the policy as a crash.
    fn start_failed(&self, id: F::Id, what: &str, error: &str, ctx: &mut Context<Self>) {
        log::warn!("supervisor={} {what} failed id={id} error={error:?}", self.name);
        ctx.notify(ChildExited {
            id,
            exit: Exit::Crashed(format!("{what} failed: {error}")),
            generation: None,
        });
    }
}

impl<F: ChildFactory> Actor for Supervisor<F> {
    type Context = Context<Self>;
}

impl<F: ChildFactory> fmt::Debug for Supervisor<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Supervisor")
            .field("name", &self.name)
            .field("stats", &self.stats)
            .finish()
    }
}

impl<F: ChildFactory> Handler<StartChild<F::Id>> for Supervisor<F> {
    type Result = Result<(), String>;
    fn handle(&mut self, msg: StartChild<F::Id>, ctx: &mut Context<Self>) -> Self::Result {
        // A plain start of a child that runs already changes nothing (two parts asked at once:
        // an edit and a restart after a crash); an operator's start (`reset`) replaces it.
        if !msg.reset && self.factory.with_slot(&msg.id, |slot| slot.addr().is_some()) == Some(true) {
            log::debug!(
                "supervisor={} start of a running child skipped id={}",
                self.name,
                msg.id
            );
            return Ok(());
        }
        // A child has a record only once it has exited: a fleet of healthy children costs the
        // supervisor nothing per child.
        let mut superseded = false;
        if let Some(record) = self.children.get_mut(&msg.id) {
            // A restart still waiting out its backoff would start a second child beside this
            // one (an operator's restart lands while the child is down between crashes).
            if record.tracker.started() {
                superseded = true;
                self.stats.pending_restarts -= 1;
                log::info!("supervisor={} pending restart superseded id={}", self.name, msg.id);
            }
            if msg.reset {
                record.tracker.reset();
            }
        }
        self.stats.starts += 1;
        let started = self.start(&msg.id, ctx);
        if let (Err(e), true) = (&started, superseded) {
            // The restart this start replaced is gone: a failure goes back under the policy,
            // as a failed restart does, rather than leaving the child down unwatched.
            self.start_failed(msg.id, "start", e, ctx);
        }
        started
    }
}

impl<F: ChildFactory> Handler<ChildExited<F::Id>> for Supervisor<F> {
    type Result = ();
    fn handle(&mut self, msg: ChildExited<F::Id>, ctx: &mut Context<Self>) {
        let current = self.factory.with_slot(&msg.id, ChildSlot::generation);
        if let (Some(exited), Some(current)) = (msg.generation, current) {
            if exited != current {
                // The child crashed, and an operator's start replaced it before its exit came:
                // restarting for it would put a second child beside the new one.
                log::info!(
                    "supervisor={} late exit of a replaced child ignored id={} generation={exited} current={current}",
                    self.name,
                    msg.id
                );
                return;
            }
        }
        // The current actor is gone: no one may send to it any more.
        self.factory.with_slot(&msg.id, ChildSlot::exited);
        let now = self.clock.now();
        let record = self.children.entry(msg.id.clone()).or_default();
        let decision = record
            .tracker
            .on_exit(&self.policy, &msg.exit, now, rand::random::<f64>());
        let id = msg.id;
        match decision {
            Decision::Leave => {
                log::debug!("supervisor={} child stopped id={id}", self.name);
                // An earlier child's late exit must not drop the record of a restart that
                // waits for the current one.
                if !record.tracker.is_pending() {
                    self.children.remove(&id);
                }
            }
            Decision::Restart { after, attempt } => {
                log::info!(
                    "supervisor={} restarting id={id} attempt={attempt} after_ms={} exit={:?}",
                    self.name,
                    after.as_millis(),
                    msg.exit
                );
                if after.is_zero() {
                    self.restart(id, ctx);
                } else {
                    self.next_token += 1;
                    let token = self.next_token;
                    // A newer exit replaces a restart still waiting (its timer goes stale).
                    if !record.tracker.is_pending() {
                        self.stats.pending_restarts += 1;
                    }
                    record.tracker.restart_pending(token);
                    ctx.run_later(after, move |act, ctx| {
                        let due = act
                            .children
                            .get_mut(&id)
                            .is_some_and(|child| child.tracker.restart_due(token));
                        if due {
                            act.stats.pending_restarts -= 1;
                            act.restart(id, ctx);
                        }
                    });
                }
            }
            Decision::Escalate { restarts_in_period } => {
                self.stats.escalations += 1;
                let reason = match &msg.exit {
                    Exit::Crashed(why) => why.clone(),
                    Exit::Normal => "stopped".to_owned(),
                };
                log::error!(
                    "supervisor={} escalating id={id} restarts_in_period={restarts_in_period} last_exit={reason:?}",
                    self.name
                );
                let restarts = record.restarts;
                self.factory.with_slot(&id, ChildSlot::quarantine);
                self.factory.escalate(&id, &reason, restarts);
            }
        }
    }
}

impl<F: ChildFactory> Handler<GetStats> for Supervisor<F> {
    type Result = SupervisorStats;
    fn handle(&mut self, _: GetStats, _: &mut Context<Self>) -> SupervisorStats {
        self.stats
    }
}
