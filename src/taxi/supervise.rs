//! How taxi and terminal actors are built, rebuilt and given up on: their [`ChildFactory`]s,
//! under the same [`crate::supervision::Supervisor`] and policy as device actors.
//!
//! A (re)started taxi actor is built from its entry's last completed card; a terminal actor
//! from its entry's last snapshot with the inputs completed since replayed on it. Never from a
//! crashed actor's memory. Actors are placed on the shared arbiters by a hash of their id.
//! Escalation: a taxi is quarantined (its place in line stays with the terminal), a terminal
//! stays down (dispatch there stops until it is back); either way a critical `crash_loop` alert
//! is raised on it. Either stays down until an operator restarts it (`Taxis::restart_taxi`,
//! `Taxis::restart_terminal`), which resolves the alert.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use actix::prelude::*;

use super::actor::TaxiActor;
use super::core::dispatch::Dispatcher;
use super::core::input::replay;
use super::core::model::{Plate, TerminalId};
use super::journal::Write;
use super::registry::Registry;
use super::shared::TaxiShared;
use super::terminal::TerminalActor;
use crate::alert::{AlertKind, Intent, Record, Severity, Subject, SubjectType};
use crate::ownership::Fence;
use crate::store::models::{dispatch, taxis};
use crate::store::WriteFn;
use crate::supervision::{ChildFactory, ChildSlot, ExitReport};

fn pick<'a>(arbiters: &'a [ArbiterHandle], key: &impl Hash) -> Option<&'a ArbiterHandle> {
    let mut h = DefaultHasher::new();
    key.hash(&mut h);
    let n = arbiters.len().max(1) as u64;
    arbiters.get(usize::try_from(h.finish() % n).unwrap_or(0))
}

fn write(shared: &TaxiShared, writes: WriteFn, fence: Fence) {
    shared.journal.do_send(Write { writes, fence });
}

/// Raises the critical `crash_loop` alert of an escalated child, through the alert service,
/// under the fence of the partition `key` places it in.
fn raise_crash_loop(shared: &TaxiShared, key: &str, subject: Subject, reason: &str) {
    record(
        shared,
        key,
        Intent::Raise {
            subject,
            kind: AlertKind::CrashLoop,
            severity: Severity::Critical,
            detail: Some(reason.to_owned()),
        },
    );
}

/// Resolves it when an operator lifted the quarantine, as a device's release does.
pub(super) fn resolve_crash_loop(shared: &TaxiShared, key: &str, subject: Subject) {
    record(
        shared,
        key,
        Intent::Resolve {
            subject,
            kind: AlertKind::CrashLoop,
        },
    );
}

/// Resolves, at start, the crash-loop alerts stored open: a quarantine does not outlive the
/// process. Each under the fence of its child's partition.
pub(super) fn resolve_kept_crash_loops(shared: &TaxiShared, registry: &Registry, open: Vec<Subject>) {
    for subject in open {
        log::info!(
            "crash_loop alert resolved at start subject_type={} subject_id={} reason=quarantine_not_kept",
            subject.kind.as_str(),
            subject.id
        );
        let key = match subject.kind {
            SubjectType::Taxi => subject
                .id
                .parse::<Plate>()
                .ok()
                .and_then(|plate| registry.taxi(&plate))
                .map(|taxi| taxi.entry.card().partition_key().to_owned()),
            _ => Some(subject.id.clone()),
        };
        match key {
            Some(key) => resolve_crash_loop(shared, &key, subject),
            None => log::warn!(
                "crash_loop alert of an unregistered taxi left open plate={}",
                subject.id
            ),
        }
    }
}

fn record(shared: &TaxiShared, key: &str, intent: Intent) {
    // Raised and resolved by the node that supervises the child: the one owning its partition.
    let Some(fence) = shared.ownership.fence_for(key) else {
        log::warn!("taxi alert not recorded key={key} reason=partition_not_owned");
        return;
    };
    shared.alerts.do_send(Record {
        writes: None,
        state: None,
        intents: vec![intent],
        committed: None,
        fence: Some(fence),
    });
}

fn subject(kind: SubjectType, id: &impl ToString) -> Subject {
    Subject {
        kind,
        id: id.to_string(),
    }
}

pub struct TaxiFactory {
    registry: Arc<Registry>,
    shared: Arc<TaxiShared>,
    arbiters: Vec<ArbiterHandle>,
}

impl TaxiFactory {
    pub fn new(registry: Arc<Registry>, shared: Arc<TaxiShared>, arbiters: Vec<ArbiterHandle>) -> Self {
        TaxiFactory {
            registry,
            shared,
            arbiters,
        }
    }
}

impl ChildFactory for TaxiFactory {
    type Id = Plate;
    type Actor = TaxiActor;

    fn start_child(
        &mut self,
        plate: &Plate,
        fence: Fence,
        restarts: u32,
        exit: ExitReport<Plate>,
    ) -> Result<Addr<TaxiActor>, String> {
        let taxi = self
            .registry
            .taxi(plate)
            .ok_or_else(|| format!("taxi {plate} is not registered"))?;
        if restarts != taxi.slot.restarts() {
            let (row, count) = (plate.to_string(), i32::try_from(restarts).unwrap_or(i32::MAX));
            write(
                &self.shared,
                Arc::new(move |conn| taxis::set_restarts(conn, &row, count)),
                fence,
            );
        }
        let card = taxi.card();
        if taxi.slot.quarantined() {
            log::info!("taxi quarantine lifted plate={plate}");
            resolve_crash_loop(&self.shared, card.partition_key(), subject(SubjectType::Taxi, plate));
        }
        let actor = TaxiActor::new(
            taxi.entry.clone(),
            card,
            self.shared.clone(),
            self.registry.terminal_map().clone(),
            exit,
        );
        Ok(match pick(&self.arbiters, plate) {
            Some(arbiter) => TaxiActor::start_in_arbiter(arbiter, move |_| actor),
            None => actor.start(),
        })
    }

    fn with_partition_key<R>(&self, plate: &Plate, f: impl FnOnce(&str) -> R) -> Option<R> {
        // A taxi lives with the terminal it is queued at; one at no terminal, by its plate.
        let taxi = self.registry.taxi(plate)?;
        Some(f(taxi.entry.card().partition_key()))
    }

    fn with_slot<R>(&self, plate: &Plate, f: impl FnOnce(&ChildSlot<TaxiActor>) -> R) -> Option<R> {
        self.registry.taxi(plate).map(|taxi| f(&taxi.slot))
    }

    fn escalate(&mut self, plate: &Plate, reason: &str, restarts: u32) {
        log::error!("taxi quarantined plate={plate} restarts={restarts} reason={reason:?}");
        let Some(key) = self.with_partition_key(plate, str::to_owned) else {
            log::warn!("taxi escalated unregistered plate={plate}");
            return;
        };
        raise_crash_loop(&self.shared, &key, subject(SubjectType::Taxi, plate), reason);
    }
}

pub struct TerminalFactory {
    registry: Arc<Registry>,
    shared: Arc<TaxiShared>,
    arbiters: Vec<ArbiterHandle>,
}

impl TerminalFactory {
    pub fn new(registry: Arc<Registry>, shared: Arc<TaxiShared>, arbiters: Vec<ArbiterHandle>) -> Self {
        TerminalFactory {
            registry,
            shared,
            arbiters,
        }
    }
}

impl ChildFactory for TerminalFactory {
    type Id = TerminalId;
    type Actor = TerminalActor;

    fn start_child(
        &mut self,
        id: &TerminalId,
        fence: Fence,
        restarts: u32,
        exit: ExitReport<TerminalId>,
    ) -> Result<Addr<TerminalActor>, String> {
        let terminal = self
            .registry
            .terminal(id)
            .ok_or_else(|| format!("terminal {id} is not configured"))?;
        let recovery = terminal.recovery();
        let mut core = Dispatcher::restore(
            recovery.snapshot.as_ref().clone(),
            self.shared.dispatch.clone(),
            self.shared.rules.clone(),
        )
        .map_err(|e| format!("terminal {id} cannot be restored: {e}"))?;
        replay(&mut core, &recovery.inputs);
        if restarts != terminal.slot.restarts() {
            let (row, count) = (id.to_string(), i32::try_from(restarts).unwrap_or(i32::MAX));
            write(
                &self.shared,
                Arc::new(move |conn| dispatch::set_terminal_restarts(conn, &row, count)),
                fence,
            );
            log::info!(
                "terminal rebuilt terminal={id} restarts={restarts} replayed_inputs={}",
                recovery.inputs.len()
            );
        }
        if terminal.slot.quarantined() {
            log::info!("terminal quarantine lifted terminal={id}");
            resolve_crash_loop(&self.shared, id.as_str(), subject(SubjectType::Terminal, id));
        }
        let actor = TerminalActor::new(terminal.entry.clone(), core, self.shared.clone(), restarts, exit);
        // Terminals take the arbiters in turn, so that two busy terminals never share one
        // while another has none; taxi actors are spread over the same arbiters by hash.
        let index = self.registry.terminals().position(|t| t.id == *id).unwrap_or(0);
        let arbiter = self.arbiters.get(index % self.arbiters.len().max(1));
        Ok(match arbiter {
            Some(arbiter) => TerminalActor::start_in_arbiter(arbiter, move |_| actor),
            None => actor.start(),
        })
    }

    fn with_partition_key<R>(&self, id: &TerminalId, f: impl FnOnce(&str) -> R) -> Option<R> {
        self.registry.terminal(id).map(|_| f(id.as_str()))
    }

    fn with_slot<R>(&self, id: &TerminalId, f: impl FnOnce(&ChildSlot<TerminalActor>) -> R) -> Option<R> {
        self.registry.terminal(id).map(|terminal| f(&terminal.slot))
    }

    fn escalate(&mut self, id: &TerminalId, reason: &str, restarts: u32) {
        log::error!("terminal dispatcher down terminal={id} restarts={restarts} reason={reason:?}");
        raise_crash_loop(&self.shared, id.as_str(), subject(SubjectType::Terminal, id), reason);
    }
}
