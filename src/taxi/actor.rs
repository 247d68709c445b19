//! The taxi actor: one per registered taxi. Owns the taxi's [`TaxiCard`], forwards its driver
//! app's pings and its lot arrivals to the terminal that has it, and records the card's changes
//! (service region, blacklist, terminal) in the store.
//!
//! Thin by design: places in line belong to the terminal's dispatcher, so a crash of this actor
//! (caught by the panic guard, restarted by the supervisor from the entry's last completed card)
//! costs the taxi nothing but the pings that arrived while it was down. It is given what it
//! talks to, the [`Terminals`], rather than finding them through the registry.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use super::core::card::TaxiCard;
use super::core::dispatch::Arrival;
use super::core::events::ArrivalOutcome;
use super::core::model::{Plate, TerminalId};
use super::entry::TaxiEntry;
use super::error::TaxiError;
use super::journal::Write;
use super::messages::{
    Amend, Arrive, Blacklist, ChooseServiceRegion, ClearHold, Crash, DriverPing, LeaveLot, Ping, SetBlacklist,
    SetServiceRegion, Stop, TaxiArrived,
};
use super::shared::TaxiShared;
use super::terminal::{TerminalActor, Terminals};
use crate::store::models::taxis;
use crate::store::WriteFn;
use crate::supervision::{guarded, Crash as Caught, ExitReport, Guarded};

/// How long a taxi actor waits for its terminal's answer.
pub const TERMINAL_TIMEOUT: Duration = Duration::from_secs(5);

pub struct TaxiActor {
    entry: Arc<TaxiEntry>,
    card: TaxiCard,
    shared: Arc<TaxiShared>,
    /// The terminals whose lots the taxi queues in.
    terminals: Arc<Terminals>,
    exit: ExitReport<Plate>,
}

impl TaxiActor {
    pub fn new(
        entry: Arc<TaxiEntry>,
        card: TaxiCard,
        shared: Arc<TaxiShared>,
        terminals: Arc<Terminals>,
        exit: ExitReport<Plate>,
    ) -> Self {
        TaxiActor {
            entry,
            card,
            shared,
            terminals,
            exit,
        }
    }

    fn unavailable(&self) -> TaxiError {
        TaxiError::restarting(format!("taxi {}", self.entry.plate))
    }

    fn terminal(&self, id: &TerminalId) -> Result<Addr<TerminalActor>, TaxiError> {
        let terminal = self
            .terminals
            .get(id)
            .ok_or_else(|| TaxiError::NotFound(format!("terminal {id} is not configured")))?;
        terminal
            .slot
            .addr()
            .ok_or_else(|| TaxiError::restarting(format!("terminal {id}")))
    }

    /// Tells the lot the taxi was last read at that it has left. A dispatcher that is down
    /// misses it, and lets the taxi go when it is back (it checks each taxi's card at start).
    fn leave(&self, lot: &TerminalId) {
        let plate = self.card.plate.clone();
        match self.terminal(lot) {
            Ok(addr) => addr.do_send(LeaveLot { plate }),
            Err(e) => log::warn!("taxi left lot unannounced plate={plate} lot={lot} reason={e}"),
        }
    }

    /// The card changed: it becomes the restart point, and its row is written (in order and
    /// retried, by the journal) under the fence of the partition the taxi was in when the
    /// change was made: the one its last card places it in. A node whose lease on it has
    /// passed to another cannot overwrite what the new owner's actor wrote.
    fn save(&self) {
        let fence = self.shared.ownership.fence_for(self.entry.card().partition_key());
        self.entry.set_card(self.card.clone());
        let Some(fence) = fence else {
            log::warn!(
                "taxi card not written plate={} reason=partition_not_owned",
                self.card.plate
            );
            return;
        };
        let plate = self.card.plate.to_string();
        let change = taxis::TaxiChange {
            license_region: self.card.licence_region.to_string(),
            class: self.card.class.as_str().to_owned(),
            service_region: self.card.service_region.as_ref().map(ToString::to_string),
            blacklisted: self.card.blacklisted,
            reason: self.card.reason.clone(),
            terminal: self.card.terminal.as_ref().map(ToString::to_string),
            updated_ms: self.shared.clock.now().0,
        };
        let writes: WriteFn = Arc::new(move |conn| taxis::update(conn, &plate, &change));
        self.shared.journal.do_send(Write { writes, fence });
    }
}

async fn ask<M>(addr: Addr<TerminalActor>, msg: M, what: String) -> Result<M::Result, TaxiError>
where
    M: Message + Send + 'static,
    M::Result: Send,
    TerminalActor: Handler<M>,
{
    addr.send(msg)
        .timeout(TERMINAL_TIMEOUT)
        .await
        .map_err(|_| TaxiError::restarting(what))
}

impl Actor for TaxiActor {
    type Context = Context<Self>;

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.exit.report(self.entry.plate.clone());
    }
}

impl Guarded for TaxiActor {
    fn crashed(&mut self, ctx: &mut Context<Self>, crash: Caught) {
        self.exit.crashed(ctx, "taxi", &self.entry.plate, crash);
    }
}

impl Handler<TaxiArrived> for TaxiActor {
    type Result = ResponseFuture<Result<ArrivalOutcome, TaxiError>>;
    fn handle(&mut self, msg: TaxiArrived, ctx: &mut Context<Self>) -> Self::Result {
        let sent = guarded(self, ctx, |act, _| {
            let addr = act.terminal(&msg.terminal)?;
            if act.card.terminal.as_ref() != Some(&msg.terminal) {
                if let Some(before) = act.card.arrived(msg.terminal.clone()) {
                    log::info!(
                        "taxi changed lot plate={} from={before} to={}",
                        act.card.plate,
                        msg.terminal
                    );
                    act.leave(&before);
                }
                act.save();
            }
            let arrival = Arrival {
                plate: act.card.plate.clone(),
                registration: Some(act.card.registration()),
            };
            Ok((addr, arrival))
        });
        let sent = sent.unwrap_or_else(|| Err(self.unavailable()));
        let what = format!("terminal {}", msg.terminal);
        Box::pin(async move {
            let (addr, arrival) = sent?;
            ask(addr, Arrive { arrival }, what).await?
        })
    }
}

impl Handler<DriverPing> for TaxiActor {
    type Result = Result<Option<TerminalId>, TaxiError>;
    fn handle(&mut self, _: DriverPing, ctx: &mut Context<Self>) -> Self::Result {
        let done = guarded(self, ctx, |act, _| {
            let now = act.shared.clock.now();
            act.entry.pinged(now);
            let target = act.card.ping_target().cloned();
            if let Some(terminal) = &target {
                match act.terminal(terminal) {
                    Ok(addr) => addr.do_send(Ping {
                        plate: act.card.plate.clone(),
                        at: now,
                    }),
                    Err(e) => log::debug!("ping not forwarded plate={} reason={e}", act.card.plate),
                }
            }
            target
        });
        done.ok_or_else(|| self.unavailable())
    }
}

impl Handler<ChooseServiceRegion> for TaxiActor {
    type Result = AtomicResponse<Self, Result<(), TaxiError>>;
    fn handle(&mut self, msg: ChooseServiceRegion, ctx: &mut Context<Self>) -> Self::Result {
        let checked = guarded(self, ctx, |act, _| {
            act.card.check_service_region(&msg.region, &act.shared.rules)?;
            act.card
                .terminal
                .clone()
                .map(|t| act.terminal(&t).map(|addr| (addr, t)))
                .transpose()
        });
        let checked = checked.unwrap_or_else(|| Err(self.unavailable()));
        let (plate, region) = (self.card.plate.clone(), msg.region);
        let for_card = region.clone();
        let ask_terminal = async move {
            match checked? {
                Some((addr, t)) => ask(addr, SetServiceRegion { plate, region }, format!("terminal {t}")).await?,
                None => Ok(()),
            }
        };
        AtomicResponse::new(Box::pin(ask_terminal.into_actor(self).map(move |result, act, ctx| {
            result?;
            guarded(act, ctx, |act, _| {
                if act.card.set_service_region(for_card) {
                    act.save();
                }
            })
            .ok_or_else(|| act.unavailable())
        })))
    }
}

impl Handler<SetBlacklist> for TaxiActor {
    type Result = ResponseFuture<Result<bool, TaxiError>>;
    fn handle(&mut self, msg: SetBlacklist, ctx: &mut Context<Self>) -> Self::Result {
        let changed = guarded(self, ctx, |act, _| {
            let changed = match &msg.reason {
                Some(reason) => {
                    let was = act.card.blacklisted;
                    act.card.blacklist(reason)?;
                    !was
                }
                None => act.card.unblacklist(),
            };
            act.save();
            let terminal = act.card.terminal.clone().and_then(|t| act.terminal(&t).ok());
            Ok::<_, TaxiError>((changed, terminal))
        });
        let changed = changed.unwrap_or_else(|| Err(self.unavailable()));
        let (plate, blacklist) = (self.card.plate.clone(), msg.reason.is_some());
        Box::pin(async move {
            let (changed, terminal) = changed?;
            if let Some(addr) = terminal {
                let what = format!("terminal of taxi {plate}");
                if blacklist {
                    ask(addr, Blacklist { plate }, what).await??;
                } else {
                    ask(addr, ClearHold { plate }, what).await??;
                }
            }
            Ok(changed)
        })
    }
}

impl Handler<Amend> for TaxiActor {
    type Result = Result<Vec<&'static str>, TaxiError>;
    fn handle(&mut self, msg: Amend, ctx: &mut Context<Self>) -> Self::Result {
        let done = guarded(self, ctx, |act, _| {
            let changed = act.card.amend(msg.licence_region, msg.class)?;
            if !changed.is_empty() {
                act.save();
            }
            Ok(changed)
        });
        done.unwrap_or_else(|| Err(self.unavailable()))
    }
}

impl Handler<Crash> for TaxiActor {
    type Result = ();
    fn handle(&mut self, _: Crash, ctx: &mut Context<Self>) {
        guarded(self, ctx, |act, _| {
            // Leave the state half-changed, as a real bug would, before panicking.
            act.card.terminal = None;
            act.card.blacklisted = true;
            panic!("fault injection: crash requested for taxi {}", act.entry.plate);
        });
    }
}

impl Handler<Stop> for TaxiActor {
    type Result = ();
    fn handle(&mut self, _: Stop, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}
