//! The taxi service: boot from the store, registration, and the calls the edges make. A
//! cheap-to-clone handle, not an actor: the decisions live in the terminal dispatchers and the
//! taxi cards, owned by their actors.
//!
//! Routing: a taxi's calls go to its actor (which forwards to its terminal); a terminal's calls
//! go to its actor; a call on an open request goes to the terminal that has it (its route in
//! [`TaxiShared::requests`], or, after a restart, whichever terminal answers that it has it).

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use super::actor::TaxiActor;
pub use super::boot::TaxiBoot;
use super::boot::{taxi_from_row, terminal_snapshot};
use super::core::card::TaxiCard;
use super::core::curb::SlotPlan;
use super::core::dispatch::{Arrival, PassengerRequest};
use super::core::events::{ArrivalOutcome, Assignment, NoShowOutcome, TripOutcome};
use super::core::model::{Plate, Region, RequestId, TaxiClass, TerminalId};
use super::core::rules::{JointZoneRules, RuleError};
use super::core::settings::TaxiSettings;
use super::core::stats::StatsView;
use super::core::view::{QueuesView, TaxiView};
use super::entry::{TaxiEntry, TerminalEntry};
use super::error::TaxiError;
use super::journal::{Flush, GetJournalStats, Journal, JournalStats};
use super::messages::{
    Arrive, ChooseServiceRegion, Complete, Configure, Crash, DispatchRecorded, DriverPing, FindRequest, NoShow, Pickup,
    ReadQueues, ReadStats, ReadTaxi, Reporter, Request, SetBlacklist, Stop, TakeSnapshot, TaxiArrived,
};
use super::registry::{Registry, Taxi};
use super::shared::{RequestRoutes, TaxiShared};
use super::supervise::{self, TaxiFactory, TerminalFactory};
use super::terminal::{Terminal, TerminalActor};
use crate::alert::AlertService;
use crate::ids::IdGen;
use crate::listen::Tells;
use crate::ownership::Ownership;
use crate::store::models::{audit, taxis};
use crate::store::{Store, StoreError};
use crate::supervision::{GetStats, RestartPolicy, StartChild, Supervisor, SupervisorStats};
use crate::time::{Clock, Millis};

/// How long an edge waits for a taxi or terminal actor to answer.
pub const ASK_TIMEOUT: Duration = Duration::from_secs(5);

/// Everything the service needs to start.
#[derive(Debug)]
pub struct TaxiDeps {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<IdGen>,
    pub alerts: Addr<AlertService>,
    pub arbiters: Vec<ArbiterHandle>,
    pub policy: RestartPolicy,
    /// Which terminals' partitions this node acts for.
    pub ownership: Ownership,
}

/// A taxi as `GET /api/v1/taxis/{plate}` shows it: the registration and the actor's health,
/// with the terminal's view of it when a terminal has it.
#[derive(Debug, Clone)]
pub struct TaxiDetail {
    pub card: TaxiCard,
    pub restarts: u32,
    pub quarantined: bool,
    pub running: bool,
    pub last_ping_ms: Option<i64>,
    pub dispatch: Option<TaxiView>,
}

#[derive(Clone)]
pub struct Taxis {
    shared: Arc<TaxiShared>,
    registry: Arc<Registry>,
    taxi_supervisor: Addr<Supervisor<TaxiFactory>>,
    terminal_supervisor: Addr<Supervisor<TerminalFactory>>,
    store: Store,
}

impl std::fmt::Debug for Taxis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Taxis")
            .field("taxis", &self.registry.taxi_count())
            .finish()
    }
}

/// Every stored dispatch event (the journal tells them, once stored).
impl Tells<DispatchRecorded> for Taxis {
    fn listen(&self, listener: Recipient<DispatchRecorded>) {
        self.shared.journal.listen(listener);
    }
}

impl Taxis {
    /// Starts the journal, the supervisors, one actor per terminal (from its stored snapshot)
    /// and one per registered taxi. Must run on an arbiter.
    pub fn start(deps: TaxiDeps, boot: TaxiBoot, settings: &TaxiSettings) -> Result<Taxis, RuleError> {
        let mut terminals = Vec::new();
        for id in &settings.terminals {
            let row = boot.terminals.iter().find(|r| r.terminal == id.as_str());
            let restarts = row.map_or(0, |r| u32::try_from(r.restarts).unwrap_or(0));
            let snapshot = terminal_snapshot(id, row, settings)?;
            terminals.push(Arc::new(Terminal::new(
                TerminalEntry::new(id.clone(), snapshot),
                restarts,
            )));
        }
        let registry = Arc::new(Registry::new(terminals));
        for row in &boot.taxis {
            match taxi_from_row(row) {
                Some(taxi) => {
                    registry.insert_taxi(Arc::new(taxi));
                }
                None => log::error!("taxi row unreadable plate={} skipped", row.plate),
            }
        }
        let journal = Journal::new(deps.store.clone(), deps.ids.clone(), deps.clock.clone())
            .with_ownership(deps.ownership.clone())
            .start();
        let shared = Arc::new(TaxiShared {
            clock: deps.clock.clone(),
            ids: deps.ids,
            alerts: deps.alerts,
            journal,
            requests: RequestRoutes::default(),
            cards: registry.clone(),
            rules: settings.rules.clone(),
            dispatch: settings.dispatch.clone(),
            ownership: deps.ownership.clone(),
        });
        let terminal_supervisor = Supervisor::new(
            "terminals",
            TerminalFactory::new(registry.clone(), shared.clone(), deps.arbiters.clone()),
            deps.policy.clone(),
            deps.clock.clone(),
        )
        .with_ownership(deps.ownership.clone())
        .start();
        let taxi_supervisor = Supervisor::new(
            "taxis",
            TaxiFactory::new(registry.clone(), shared.clone(), deps.arbiters),
            deps.policy,
            deps.clock,
        )
        .with_ownership(deps.ownership)
        .start();
        for entry in registry.terminals() {
            terminal_supervisor.do_send(StartChild {
                id: entry.id.clone(),
                reset: false,
            });
        }
        for entry in registry.taxis() {
            taxi_supervisor.do_send(StartChild {
                id: entry.plate.clone(),
                reset: false,
            });
        }
        supervise::resolve_kept_crash_loops(&shared, &registry, boot.crash_loops);
        log::info!(
            "taxis loaded count={} terminals={}",
            registry.taxi_count(),
            settings.terminals.len()
        );
        Ok(Taxis {
            shared,
            registry,
            taxi_supervisor,
            terminal_supervisor,
            store: deps.store,
        })
    }

    pub(super) fn now(&self) -> Millis {
        self.shared.clock.now()
    }

    pub(super) fn next_id(&self, now: Millis) -> i64 {
        self.shared.ids.next(now)
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    pub(super) fn store(&self) -> &Store {
        &self.store
    }

    pub(super) fn taxi_supervisor(&self) -> &Addr<Supervisor<TaxiFactory>> {
        &self.taxi_supervisor
    }

    pub(super) fn terminal_supervisor(&self) -> &Addr<Supervisor<TerminalFactory>> {
        &self.terminal_supervisor
    }

    pub fn rules(&self) -> &JointZoneRules {
        &self.shared.rules
    }

    pub async fn taxi_supervisor_stats(&self) -> Option<SupervisorStats> {
        self.taxi_supervisor.send(GetStats).await.ok()
    }

    pub async fn terminal_supervisor_stats(&self) -> Option<SupervisorStats> {
        self.terminal_supervisor.send(GetStats).await.ok()
    }

    pub async fn journal_stats(&self) -> Option<JournalStats> {
        self.shared.journal.send(GetJournalStats).await.ok()
    }

    pub(super) fn taxi_entry(&self, plate: &Plate) -> Result<Arc<Taxi>, TaxiError> {
        self.registry
            .taxi(plate)
            .ok_or_else(|| TaxiError::NotFound(format!("taxi {plate} is not registered")))
    }

    pub(super) fn taxi_actor(&self, plate: &Plate) -> Result<Addr<TaxiActor>, TaxiError> {
        let entry = self.taxi_entry(plate)?;
        match entry.slot.addr() {
            Some(addr) => Ok(addr),
            None if entry.slot.quarantined() => Err(TaxiError::Conflict(format!(
                "taxi {plate}'s actor is quarantined after repeated crashes"
            ))),
            None => Err(TaxiError::restarting(format!("taxi {plate}"))),
        }
    }

    fn terminal_entry(&self, id: &TerminalId) -> Result<Arc<Terminal>, TaxiError> {
        self.registry
            .terminal(id)
            .ok_or_else(|| TaxiError::NotFound(format!("terminal {id} is not configured")))
    }

    fn terminal_actor(&self, id: &TerminalId) -> Result<Addr<TerminalActor>, TaxiError> {
        let entry = self.terminal_entry(id)?;
        match entry.slot.addr() {
            Some(addr) => Ok(addr),
            None if entry.slot.quarantined() => Err(TaxiError::Unavailable(format!(
                "terminal {id}'s dispatcher is down after repeated crashes; an operator can restart it"
            ))),
            None => Err(TaxiError::restarting(format!("terminal {id}"))),
        }
    }

    async fn ask<A, M>(addr: Addr<A>, msg: M, what: impl std::fmt::Display) -> Result<M::Result, TaxiError>
    where
        A: Actor<Context = Context<A>> + Handler<M>,
        M: Message + Send + 'static,
        M::Result: Send,
    {
        addr.send(msg)
            .timeout(ASK_TIMEOUT)
            .await
            .map_err(|_| TaxiError::restarting(what))
    }

    /// The configured terminals, or the one asked for.
    pub fn terminals(&self, only: Option<&TerminalId>) -> Result<Vec<TerminalId>, TaxiError> {
        match only {
            Some(id) => Ok(vec![self.terminal_entry(id)?.id.clone()]),
            None => Ok(self.registry.terminals().map(|t| t.id.clone()).collect()),
        }
    }

    /// Registers a taxi on behalf of `by`: stored (with an audit entry) first, then its actor
    /// is started.
    pub async fn register(&self, card: TaxiCard, by: &str) -> Result<Arc<Taxi>, TaxiError> {
        let plate = card.plate.clone();
        if self.registry.taxi(&plate).is_some() {
            return Err(TaxiError::Conflict(format!("taxi {plate} is already registered")));
        }
        let now = self.shared.clock.now();
        let row = Self::row_of(&card, now);
        let audit = audit::AuditEntry {
            id: self.shared.ids.next(now),
            at_ms: now.0,
            principal: by.to_owned(),
            action: "taxi.register".into(),
            target: format!("taxi:{plate}"),
            detail: None,
        };
        self.store
            .write(move |conn| {
                // A decommissioned taxi of this plate comes back as new, its history kept.
                if !taxis::revive(conn, &row)? {
                    taxis::insert(conn, &row)?;
                }
                audit::insert(conn, &audit)
            })
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => TaxiError::Conflict(format!("taxi {plate} is already registered")),
                other => TaxiError::Store(other),
            })?;
        self.start_registered(card).await
    }

    /// The stored row of `card` registered at `now`.
    pub fn row_of(card: &TaxiCard, now: Millis) -> taxis::Taxi {
        taxis::Taxi::registered(
            card.plate.as_str(),
            &card.licence_region.to_string(),
            card.class.as_str(),
            now.0,
        )
    }

    /// A taxi whose registration is stored (by [`Taxis::register`], or a provisioning sheet's
    /// transaction): it joins the registry and its actor starts.
    pub async fn start_registered(&self, card: TaxiCard) -> Result<Arc<Taxi>, TaxiError> {
        let plate = card.plate.clone();
        let entry = Arc::new(Taxi::new(TaxiEntry::new(card), 0));
        if !self.registry.insert_taxi(entry.clone()) {
            return Err(TaxiError::Conflict(format!("taxi {plate} is already registered")));
        }
        self.taxi_supervisor
            .send(StartChild {
                id: plate.clone(),
                reset: false,
            })
            .await
            .map_err(|e| TaxiError::restarting(format!("taxi {plate} ({e})")))?
            .map_err(TaxiError::Unavailable)?;
        log::info!(
            "taxi registered plate={plate} licence={} class={}",
            entry.card().licence_region,
            entry.card().class
        );
        Ok(entry)
    }

    /// An LPR reading at a lot entrance: a registered taxi's actor forwards it with the
    /// registration; an unknown plate goes straight to the terminal, to be held.
    pub async fn arrival(&self, plate: Plate, terminal: TerminalId) -> Result<ArrivalOutcome, TaxiError> {
        if self.registry.taxi(&plate).is_some() {
            let addr = self.taxi_actor(&plate)?;
            return Self::ask(addr, TaxiArrived { terminal }, format!("taxi {plate}")).await?;
        }
        let addr = self.terminal_actor(&terminal)?;
        let arrival = Arrival {
            plate,
            registration: None,
        };
        Self::ask(addr, Arrive { arrival }, format!("terminal {terminal}")).await?
    }

    /// A driver-app heartbeat. Answers the terminal it was forwarded to.
    pub async fn heartbeat(&self, plate: &Plate) -> Result<Option<TerminalId>, TaxiError> {
        let addr = self.taxi_actor(plate)?;
        Self::ask(addr, DriverPing, format!("taxi {plate}")).await?
    }

    /// A driver-app ping that does not wait (the STOMP `/app/taxi/ping` hot path).
    pub fn heartbeat_nowait(&self, plate: &Plate) -> Result<(), TaxiError> {
        self.taxi_actor(plate)?.do_send(DriverPing);
        Ok(())
    }

    pub async fn set_service_region(&self, plate: &Plate, region: Region) -> Result<(), TaxiError> {
        let addr = self.taxi_actor(plate)?;
        Self::ask(addr, ChooseServiceRegion { region }, format!("taxi {plate}")).await?
    }

    /// Blacklists (`Some(reason)`) or lifts it (`None`). Answers whether anything changed.
    pub async fn set_blacklist(&self, plate: &Plate, reason: Option<String>, by: &str) -> Result<bool, TaxiError> {
        let addr = self.taxi_actor(plate)?;
        let action = if reason.is_some() {
            "taxi.blacklist"
        } else {
            "taxi.unblacklist"
        };
        let detail = reason.clone();
        let changed = Self::ask(addr, SetBlacklist { reason }, format!("taxi {plate}")).await??;
        let now = self.shared.clock.now();
        let entry = audit::AuditEntry {
            id: self.shared.ids.next(now),
            at_ms: now.0,
            principal: by.to_owned(),
            action: action.into(),
            target: format!("taxi:{plate}"),
            detail,
        };
        self.store.write(move |conn| audit::insert(conn, &entry)).await?;
        Ok(changed)
    }

    pub async fn configure(&self, terminal: &TerminalId, plan: SlotPlan) -> Result<QueuesView, TaxiError> {
        let addr = self.terminal_actor(terminal)?;
        Self::ask(addr, Configure { plan }, format!("terminal {terminal}")).await?
    }

    /// A passenger's request: a new id, then the terminal assigns a taxi or refuses (409).
    pub async fn request(
        &self,
        terminal: &TerminalId,
        destination_region: Region,
        distance_km: f64,
        class: TaxiClass,
    ) -> Result<Assignment, TaxiError> {
        let addr = self.terminal_actor(terminal)?;
        let request = PassengerRequest {
            id: RequestId(self.shared.ids.next(self.shared.clock.now())),
            destination_region,
            distance_km,
            class,
        };
        Self::ask(addr, Request { request }, format!("terminal {terminal}")).await?
    }

    /// The terminal that has an open request.
    async fn request_terminal(&self, request: RequestId) -> Result<(TerminalId, Addr<TerminalActor>), TaxiError> {
        if let Some(id) = self.shared.requests.terminal(request) {
            return Ok((id.clone(), self.terminal_actor(&id)?));
        }
        for entry in self.registry.terminals() {
            let Some(addr) = entry.slot.addr() else { continue };
            if let Ok(Ok(Some(_))) = addr.send(FindRequest { request }).timeout(ASK_TIMEOUT).await {
                self.shared.requests.route(request, &entry.id);
                return Ok((entry.id.clone(), addr));
            }
        }
        Err(TaxiError::NotFound(format!("no open request {request}")))
    }

    pub async fn pickup(&self, request: RequestId, by: Reporter) -> Result<(TerminalId, Plate), TaxiError> {
        let (id, addr) = self.request_terminal(request).await?;
        let plate = Self::ask(addr, Pickup { request, by }, format!("terminal {id}")).await??;
        Ok((id, plate))
    }

    pub async fn no_show(
        &self,
        request: RequestId,
        by: Reporter,
    ) -> Result<(TerminalId, Plate, NoShowOutcome), TaxiError> {
        let (id, addr) = self.request_terminal(request).await?;
        let (plate, outcome) = Self::ask(addr, NoShow { request, by }, format!("terminal {id}")).await??;
        Ok((id, plate, outcome))
    }

    pub async fn complete(
        &self,
        request: RequestId,
        distance_km: f64,
        by: Reporter,
    ) -> Result<(TerminalId, Plate, TripOutcome), TaxiError> {
        let (id, addr) = self.request_terminal(request).await?;
        let msg = Complete {
            request,
            distance_km,
            by,
        };
        let (plate, outcome) = Self::ask(addr, msg, format!("terminal {id}")).await??;
        Ok((id, plate, outcome))
    }

    pub async fn queues(&self, terminal: &TerminalId) -> Result<QueuesView, TaxiError> {
        let addr = self.terminal_actor(terminal)?;
        Self::ask(addr, ReadQueues, format!("terminal {terminal}")).await?
    }

    pub async fn stats(&self, terminal: &TerminalId) -> Result<StatsView, TaxiError> {
        let addr = self.terminal_actor(terminal)?;
        Self::ask(addr, ReadStats, format!("terminal {terminal}")).await?
    }

    /// A taxi's registration and health, with its terminal's view of it.
    pub async fn taxi(&self, plate: &Plate) -> Result<TaxiDetail, TaxiError> {
        let entry = self.taxi_entry(plate)?;
        let card = entry.card();
        let dispatch = match &card.terminal {
            Some(t) => {
                let addr = self.terminal_actor(t)?;
                Self::ask(addr, ReadTaxi { plate: plate.clone() }, format!("terminal {t}")).await??
            }
            None => None,
        };
        Ok(TaxiDetail {
            card,
            restarts: entry.slot.restarts(),
            quarantined: entry.slot.quarantined(),
            running: entry.slot.addr().is_some(),
            last_ping_ms: entry.last_ping().map(|t| t.0),
            dispatch,
        })
    }

    /// Restarts a taxi's actor on behalf of `by`, as `Devices::restart` does a device's: the
    /// running actor (if any) is stopped, then its supervisor starts it afresh with its restart
    /// history forgotten, which lifts a quarantine (and so resolves its `crash_loop` alert).
    /// Audited. Answers whether it was quarantined.
    pub async fn restart_taxi(&self, plate: &Plate, by: &str) -> Result<bool, TaxiError> {
        let entry = self.taxi_entry(plate)?;
        let was_quarantined = entry.slot.quarantined();
        if let Some(addr) = entry.slot.addr() {
            Self::ask(addr, Stop, format!("taxi {plate}")).await?;
        }
        self.taxi_supervisor
            .send(StartChild {
                id: plate.clone(),
                reset: true,
            })
            .await
            .map_err(|e| TaxiError::restarting(format!("taxi {plate} ({e})")))?
            .map_err(TaxiError::Unavailable)?;
        self.audit(by, "taxi.restart", format!("taxi:{plate}"), was_quarantined)
            .await?;
        log::warn!("taxi restarted by operator plate={plate} by={by} was_quarantined={was_quarantined}");
        Ok(was_quarantined)
    }

    /// Restarts a terminal's dispatcher on behalf of `by`, like [`Taxis::restart_taxi`]: a
    /// running one hands over a final snapshot and stops; the new one is rebuilt from the stored
    /// snapshot and the inputs since, with its restart history forgotten (which lifts a
    /// quarantine). Audited. Answers whether it was quarantined.
    pub async fn restart_terminal(&self, terminal: &TerminalId, by: &str) -> Result<bool, TaxiError> {
        let entry = self.terminal_entry(terminal)?;
        let was_quarantined = entry.slot.quarantined();
        if let Some(addr) = entry.slot.addr() {
            Self::ask(addr, Stop, format!("terminal {terminal}")).await?;
        }
        self.terminal_supervisor
            .send(StartChild {
                id: terminal.clone(),
                reset: true,
            })
            .await
            .map_err(|e| TaxiError::restarting(format!("terminal {terminal} ({e})")))?
            .map_err(TaxiError::Unavailable)?;
        self.audit(by, "terminal.restart", format!("terminal:{terminal}"), was_quarantined)
            .await?;
        log::warn!("terminal restarted by operator terminal={terminal} by={by} was_quarantined={was_quarantined}");
        Ok(was_quarantined)
    }

    async fn audit(&self, by: &str, action: &str, target: String, was_quarantined: bool) -> Result<(), TaxiError> {
        let now = self.shared.clock.now();
        let entry = audit::AuditEntry {
            id: self.shared.ids.next(now),
            at_ms: now.0,
            principal: by.to_owned(),
            action: action.to_owned(),
            target,
            detail: was_quarantined.then(|| "quarantine lifted".to_owned()),
        };
        self.store.write(move |conn| audit::insert(conn, &entry)).await?;
        Ok(())
    }

    /// Fault injection: makes a taxi's actor panic.
    pub fn crash_taxi(&self, plate: &Plate) -> Result<(), TaxiError> {
        self.taxi_actor(plate)?.do_send(Crash);
        Ok(())
    }

    /// Fault injection: makes a terminal's actor panic.
    pub fn crash_terminal(&self, terminal: &TerminalId) -> Result<(), TaxiError> {
        self.terminal_actor(terminal)?.do_send(Crash);
        Ok(())
    }

    /// Waits until every terminal's state so far is snapshotted and everything handed to the
    /// journal is stored.
    pub async fn flush(&self) {
        for entry in self.registry.terminals() {
            if let Some(addr) = entry.slot.addr() {
                let _ = addr.send(TakeSnapshot).timeout(ASK_TIMEOUT).await;
            }
        }
        let _ = self.shared.journal.send(Flush).await;
    }

    /// Stops every taxi and terminal actor on purpose, each terminal handing over a final
    /// snapshot, and waits for the journal to store it all (shutdown).
    pub async fn shutdown(&self) {
        for entry in self.registry.taxis() {
            if let Some(addr) = entry.slot.addr() {
                addr.do_send(Stop);
            }
        }
        for entry in self.registry.terminals() {
            if let Some(addr) = entry.slot.addr() {
                let _ = addr.send(Stop).timeout(ASK_TIMEOUT).await;
            }
        }
        let _ = self.shared.journal.send(Flush).timeout(ASK_TIMEOUT).await;
    }
}
