//! The lot entrance: LPR arrivals, the service region a taxi queues for, the short-trip
//! priority decision, holds (unregistered, blacklisted, region not allowed), and a taxi leaving
//! for another terminal's lot.

use log::{info, warn};

use super::{Arrival, Dispatcher, Hold, Place, Registration, TaxiRecord, MAX_HELD_TRACKED, MAX_TAXIS_PER_TERMINAL};
use crate::taxi::core::events::{
    ArrivalOutcome, DispatchError, DispatchEvent, HoldReason, PriorityDecision, PriorityRefusal, RemovalReason, Step,
};
use crate::taxi::core::lifecycle::{Liveness, LivenessStep};
use crate::taxi::core::model::{Plate, Region, TaxiClass, TerminalId};
use crate::taxi::core::queue::Ticket;
use crate::time::Millis;

impl Dispatcher {
    /// An LPR reading at the lot entrance: queues the taxi with a ticket, or holds the plate.
    /// Re-reading a taxi already in line is idempotent (it only counts as a sign of life).
    pub fn arrive(&mut self, arrival: Arrival, now: Millis) -> Result<Step<ArrivalOutcome>, DispatchError> {
        let Arrival { plate, registration } = arrival;
        let mut events = Vec::new();
        let Some(reg) = registration else {
            let outcome = self.hold(&plate, HoldReason::Unregistered, None, now, &mut events);
            return Ok(self.finish(outcome, events, now));
        };
        let service = match (reg.blacklisted, self.pick_service_region(&reg)) {
            (false, Some(service)) => service,
            (blacklisted, service) => {
                let reason = if blacklisted {
                    HoldReason::Blacklisted
                } else {
                    HoldReason::RegionNotAllowed
                };
                let key = service
                    .or_else(|| self.known(&reg.licence_region))
                    .map(|r| (r, reg.class));
                let outcome = self.hold(&plate, reason, key, now, &mut events);
                return Ok(self.finish(outcome, events, now));
            }
        };

        let mut no_shows = 0;
        if let Some(rec) = self.taxis.get_mut(&plate) {
            match rec.place {
                Place::Waiting => {
                    if let Some(LivenessStep::Resumed { .. }) = rec.liveness.ping(now) {
                        events.push(DispatchEvent::Resumed {
                            plate: plate.clone(),
                            line: rec.line(self.mode),
                            at: now,
                        });
                    }
                    let ticket = rec.ticket;
                    let (line, position) = self.position_of(&plate);
                    let outcome = ArrivalOutcome::AlreadyQueued { line, ticket, position };
                    return Ok(self.finish(outcome, events, now));
                }
                Place::Called { .. } | Place::Assigned { .. } => {
                    return Ok(Step {
                        outcome: ArrivalOutcome::Busy {
                            state: rec.place.kind(),
                        },
                        events,
                    });
                }
                // Back from a trip not reported complete: queue afresh; the trip stays open.
                Place::OnTrip { .. } => no_shows = rec.no_shows,
            }
        } else if self.taxis.len() >= MAX_TAXIS_PER_TERMINAL {
            return Err(DispatchError::LotFull {
                capacity: MAX_TAXIS_PER_TERMINAL,
            });
        }

        let priority = self.take_priority(&plate, now);
        let priority_earned_at = match priority {
            PriorityDecision::Honoured { earned_at } => Some(earned_at),
            PriorityDecision::Refused { reason, earliest } => {
                self.stats.record_priority_refused(&service, reg.class);
                info!(
                    "priority refused terminal={} plate={plate} reason={} earliest_ms={}",
                    self.terminal,
                    reason.as_str(),
                    earliest.0
                );
                None
            }
            PriorityDecision::NotEligible | PriorityDecision::Lapsed { .. } => None,
        };
        let ticket = Ticket {
            seq: self.next_seq(),
            entered_at: now,
            priority_earned_at,
        };
        self.held.remove(&plate);
        self.lines.insert(plate.clone(), reg.class, service.clone(), ticket);
        let record = TaxiRecord {
            class: reg.class,
            licence_region: reg.licence_region,
            service_region: service,
            ticket,
            place: Place::Waiting,
            liveness: Liveness::new(now),
            no_shows,
        };
        self.taxis.insert(plate.clone(), record);
        let (line, position) = self.position_of(&plate);
        info!(
            "taxi queued terminal={} plate={plate} line={line} seq={} priority={}",
            self.terminal,
            ticket.seq,
            ticket.is_priority()
        );
        events.push(DispatchEvent::Queued {
            plate,
            line: line.clone(),
            ticket,
            position,
            priority,
            at: now,
        });
        Ok(self.finish(
            ArrivalOutcome::Queued {
                line,
                ticket,
                position,
                priority,
            },
            events,
            now,
        ))
    }

    fn known(&self, region: &Region) -> Option<Region> {
        self.rules.is_known(region).then(|| region.clone())
    }

    fn pick_service_region(&self, reg: &Registration) -> Option<Region> {
        reg.service_region
            .as_ref()
            .filter(|chosen| self.rules.allows(&reg.licence_region, chosen))
            .or_else(|| Some(&reg.licence_region).filter(|l| self.rules.allows(l, l)))
            .cloned()
    }

    /// The short-trip rule at a fresh entry: honour, refuse as too soon to be real, discard as
    /// late, or nothing to do.
    fn take_priority(&mut self, plate: &Plate, now: Millis) -> PriorityDecision {
        let Some(grant) = self.grants.get(plate).copied() else {
            return PriorityDecision::NotEligible;
        };
        if now < grant.earned_at {
            // A reading stamped before the completion cannot be the re-entry that follows it.
            return PriorityDecision::NotEligible;
        }
        self.grants.remove(plate);
        if now < grant.earliest {
            PriorityDecision::Refused {
                reason: PriorityRefusal::TooSoon,
                earliest: grant.earliest,
            }
        } else if now <= grant.expires_at {
            PriorityDecision::Honoured {
                earned_at: grant.earned_at,
            }
        } else {
            PriorityDecision::Lapsed {
                expired_at: grant.expires_at,
            }
        }
    }

    /// Holds a plate for an operator, taking it out of line or off the curb first.
    fn hold(
        &mut self,
        plate: &Plate,
        reason: HoldReason,
        key: Option<(Region, TaxiClass)>,
        now: Millis,
        events: &mut Vec<DispatchEvent>,
    ) -> ArrivalOutcome {
        let key = key.or_else(|| self.taxis.get(plate).map(|r| (r.service_region.clone(), r.class)));
        self.evict(plate, reason.into(), now, events);
        let repeated = self.held.contains_key(plate);
        if !repeated {
            if self.held.len() >= MAX_HELD_TRACKED {
                let oldest = self.held.iter().min_by_key(|(_, h)| h.since).map(|(p, _)| p.clone());
                if let Some(oldest) = oldest {
                    self.held.remove(&oldest);
                }
            }
            self.held.insert(
                plate.clone(),
                Hold {
                    since: now,
                    reason: Some(reason),
                },
            );
            self.stats.record_hold(key.as_ref().map(|(r, c)| (r, *c)));
            warn!("taxi held terminal={} plate={plate} reason={reason:?}", self.terminal);
            events.push(DispatchEvent::Held {
                plate: plate.clone(),
                reason,
                at: now,
            });
        }
        ArrivalOutcome::Held { reason, repeated }
    }

    /// An operator blacklisted the plate: a taxi here is taken out of line (or off the curb,
    /// its passenger passed on) and held. Returns whether the taxi was in line or at the curb.
    pub fn blacklist(&mut self, plate: &Plate, now: Millis) -> Step<bool> {
        let present = self.in_lot(plate);
        let mut events = Vec::new();
        self.hold(plate, HoldReason::Blacklisted, None, now, &mut events);
        self.finish(present, events, now)
    }

    /// Forgets a hold (the plate was registered or taken off the blacklist), so a later hold
    /// raises a new event. Bookkeeping only: no event. Returns whether it was held.
    pub fn clear_hold(&mut self, plate: &Plate) -> bool {
        self.held.remove(plate).is_some()
    }

    /// The taxi is in this lot (in line or at the curb).
    fn in_lot(&self, plate: &Plate) -> bool {
        self.taxis.get(plate).is_some_and(TaxiRecord::in_lot)
    }

    /// Another terminal's lot camera read the plate: the taxi has left this lot. It leaves its
    /// line, or the curb (a freed bay calls the next taxi forward, and a passenger it was
    /// assigned is passed on, as for a silent taxi). A taxi on a trip from here is left alone:
    /// its trip can still be completed. Returns whether it was in this lot.
    pub fn moved_away(&mut self, plate: &Plate, now: Millis) -> Step<bool> {
        let present = self.in_lot(plate);
        let mut events = Vec::new();
        self.evict(plate, RemovalReason::MovedLot, now, &mut events);
        // A plate held here and read elsewhere: a later return here is a new sighting.
        self.held.remove(plate);
        self.finish(present, events, now)
    }

    /// The taxis in this lot (not on a trip) that `last_read_at` says another terminal's lot
    /// has read since: readings this dispatcher missed while it was down, each to be carried
    /// out with [`Dispatcher::moved_away`].
    pub fn read_elsewhere(&self, last_read_at: impl Fn(&Plate) -> Option<TerminalId>) -> Vec<Plate> {
        self.taxis
            .iter()
            .filter(|(_, rec)| rec.in_lot())
            .filter(|(plate, _)| last_read_at(plate).is_some_and(|lot| lot != self.terminal))
            .map(|(plate, _)| plate.clone())
            .collect()
    }
}
