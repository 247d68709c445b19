//! One terminal's dispatcher: the holding lot, its lines, the curb bays, passenger requests and
//! assignments, and the short-trip fairness rule. Pure: no I/O, no clock, no actix.
//!
//! A taxi at a terminal is in one place: **waiting** in the lot (in [`Lines`], with a ticket),
//! **called** to a curb bay, **assigned** a passenger (at a bay, or still in the lot when every
//! bay of its line is taken: it is called as soon as one frees, before anyone else), or **on a
//! trip** until the trip is completed or the lot's camera sees it again. Operations validate
//! everything first, then change state, then call forward into free bays; each returns a
//! [`Step`] with its outcome and the events in order.
//!
//! Decisions where the domain is silent are written where they are made; the main ones:
//! - Unregistered and blacklisted plates are never recorded as taxis: a hold is an event
//!   (once per plate until it queues or [`Dispatcher::clear_hold`]) and an outcome.
//! - The service region is the one the driver chose if the rules allow it, else the licence
//!   region if configured, else the plate is held (`region_not_allowed`).
//! - Priority is earned at the short trip's completion and honoured only for a fresh entry by
//!   the camera between that completion and `completion + limit`; the grant is then consumed
//!   (or, when late, discarded). A reading while the taxi waits, stands at the curb or is
//!   assigned neither consumes nor doubles it. A completion reported after the taxi was already
//!   seen back at the lot arms nothing, since the re-entry did not follow the completion.
//! - Grants are per terminal: a taxi returns to the lot of the terminal it left.
//! - Liveness is supervised only while a taxi waits in the lot; at the curb and on a trip the
//!   pickup, no-show and completion reports speak for it.
//! - Refused requests are counted in the stats; that is the only change an error makes.
//!
//! Error policy: see [`super::events`]; nothing here panics on any input.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use log::{debug, info};
use serde::{Deserialize, Serialize};

use super::curb::{CurbSlots, SlotPlan};
use super::events::{DispatchError, DispatchEvent, HoldReason, RemovalReason, Step, TaxiStateKind};
use super::lifecycle::{Liveness, LivenessStep};
use super::model::{DispatchMode, LineKey, LineScope, Plate, Region, RequestId, TaxiClass, TerminalId};
use super::queue::{Lines, Ticket};
use super::rules::{DispatchConfig, JointZoneRules, RuleError};
use super::stats::DispatchStats;
use crate::time::Millis;

mod arrival;
mod read;
mod requests;
mod snapshot;
#[cfg(test)]
mod tests;

pub use snapshot::DispatcherSnapshot;

/// Most taxis one terminal tracks at once (lot, curb and open trips); the lot holds a few hundred.
pub const MAX_TAXIS_PER_TERMINAL: usize = 5_000;
/// Most passenger requests open at once.
pub const MAX_OPEN_REQUESTS: usize = 5_000;
/// Most held plates remembered for deduplicating hold events; the oldest is forgotten first.
pub const MAX_HELD_TRACKED: usize = 1_024;

/// A plate held for an operator at the lot entrance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hold {
    pub(crate) since: Millis,
    /// `None` for a hold restored from a snapshot stored before reasons were kept.
    pub(crate) reason: Option<HoldReason>,
}

/// What the registry knows of a registered plate, supplied by the caller with each arrival.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub licence_region: Region,
    pub class: TaxiClass,
    /// The region the driver chose for the shift, if any.
    pub service_region: Option<Region>,
    pub blacklisted: bool,
}

/// An LPR reading at the holding-lot entrance; `registration` is `None` for an unknown plate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrival {
    pub plate: Plate,
    pub registration: Option<Registration>,
}

/// A passenger's request from a kiosk, its destination resolved to a region and a distance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PassengerRequest {
    pub id: RequestId,
    pub destination_region: Region,
    pub distance_km: f64,
    #[serde(default)]
    pub class: TaxiClass,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "place", rename_all = "snake_case")]
enum Place {
    Waiting,
    Called {
        bay: u16,
        called_at: Millis,
    },
    Assigned {
        request: RequestId,
        bay: Option<u16>,
        called_at: Option<Millis>,
    },
    OnTrip {
        request: RequestId,
    },
}

impl Place {
    fn kind(self) -> TaxiStateKind {
        match self {
            Place::Waiting => TaxiStateKind::Waiting,
            Place::Called { .. } => TaxiStateKind::Called,
            Place::Assigned { .. } => TaxiStateKind::Assigned,
            Place::OnTrip { .. } => TaxiStateKind::OnTrip,
        }
    }

    fn bay(self) -> Option<u16> {
        match self {
            Place::Called { bay, .. } => Some(bay),
            Place::Assigned { bay, .. } => bay,
            Place::Waiting | Place::OnTrip { .. } => None,
        }
    }

    fn called_at(self) -> Option<Millis> {
        match self {
            Place::Called { called_at, .. } => Some(called_at),
            Place::Assigned { called_at, .. } => called_at,
            Place::Waiting | Place::OnTrip { .. } => None,
        }
    }

    fn request(self) -> Option<RequestId> {
        match self {
            Place::Assigned { request, .. } | Place::OnTrip { request } => Some(request),
            Place::Waiting | Place::Called { .. } => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct TaxiRecord {
    class: TaxiClass,
    licence_region: Region,
    service_region: Region,
    /// The ticket it waits (or waited) with; kept through the curb for a no-show's return.
    ticket: Ticket,
    place: Place,
    liveness: Liveness,
    no_shows: u32,
}

impl TaxiRecord {
    /// In the lot: in line or at the curb, not out on a trip (which has spent its ticket).
    fn in_lot(&self) -> bool {
        !matches!(self.place, Place::OnTrip { .. })
    }

    fn in_line(&self, mode: DispatchMode, line: &LineKey) -> bool {
        self.class == line.class
            && match (&line.scope, mode) {
                (LineScope::All, DispatchMode::Integrated) => true,
                (LineScope::Region(r), DispatchMode::Regional) => *r == self.service_region,
                _ => false,
            }
    }

    fn line(&self, mode: DispatchMode) -> LineKey {
        LineKey::for_taxi(mode, &self.service_region, self.class)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
enum RequestState {
    Assigned,
    PickedUp { at: Millis },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct RequestRecord {
    req: PassengerRequest,
    plate: Plate,
    state: RequestState,
    /// The serving taxi's stats key, kept for the completion (the taxi may be gone by then).
    taxi_region: Region,
    taxi_class: TaxiClass,
}

/// A priority re-entry armed by a short trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct PriorityGrant {
    earned_at: Millis,
    expires_at: Millis,
    /// The first moment a re-entry is plausible: the pickup plus the trip there and back at
    /// the fastest speed allowed (0 in snapshots made before the rule existed).
    #[serde(default)]
    earliest: Millis,
}

/// The dispatch state of one terminal.
#[derive(Debug, Clone)]
pub struct Dispatcher {
    terminal: TerminalId,
    config: DispatchConfig,
    rules: JointZoneRules,
    mode: DispatchMode,
    slots: CurbSlots,
    lines: Lines,
    taxis: BTreeMap<Plate, TaxiRecord>,
    /// Taxis holding a bay (called, or assigned at a bay).
    curb: BTreeSet<Plate>,
    /// Taxis assigned while every bay of their line was taken, in assignment order.
    booked: Vec<Plate>,
    requests: BTreeMap<RequestId, RequestRecord>,
    grants: BTreeMap<Plate, PriorityGrant>,
    /// Held plates, when they were first held and why, to raise each hold once and list them.
    held: BTreeMap<Plate, Hold>,
    stats: DispatchStats,
    next_seq: u64,
}

impl Dispatcher {
    /// A terminal in regional mode with the default curb slots for every configured region.
    pub fn new(terminal: TerminalId, config: DispatchConfig, rules: JointZoneRules) -> Result<Self, RuleError> {
        config.validate()?;
        Ok(Dispatcher {
            terminal,
            slots: CurbSlots::defaults(&rules),
            config,
            rules,
            mode: DispatchMode::Regional,
            lines: Lines::default(),
            taxis: BTreeMap::new(),
            curb: BTreeSet::new(),
            booked: Vec::new(),
            requests: BTreeMap::new(),
            grants: BTreeMap::new(),
            held: BTreeMap::new(),
            stats: DispatchStats::default(),
            next_seq: 1,
        })
    }

    pub fn terminal(&self) -> &TerminalId {
        &self.terminal
    }

    pub fn mode(&self) -> DispatchMode {
        self.mode
    }

    pub fn config(&self) -> &DispatchConfig {
        &self.config
    }

    pub fn rules(&self) -> &JointZoneRules {
        &self.rules
    }

    pub fn curb_slots(&self) -> &CurbSlots {
        &self.slots
    }

    fn next_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.saturating_add(1);
        seq
    }

    /// Calls forward into free bays, then packs the outcome with its events.
    fn finish<T>(&mut self, outcome: T, mut events: Vec<DispatchEvent>, now: Millis) -> Step<T> {
        self.fill_bays(now, &mut events);
        Step { outcome, events }
    }

    /// A waiting taxi's line and 1-based position; (its line, 0) if it is not waiting.
    fn position_of(&self, plate: &Plate) -> (LineKey, usize) {
        match self.lines.position(self.mode, plate) {
            Some(found) => found,
            None => {
                let line = self.taxis.get(plate).map(|r| r.line(self.mode));
                (
                    line.unwrap_or(LineKey {
                        scope: LineScope::All,
                        class: TaxiClass::Standard,
                    }),
                    0,
                )
            }
        }
    }

    /// Takes a taxi out of line or off the curb for good; its passenger, if any, is passed on.
    /// A taxi on a trip is left alone (its trip can still be completed).
    fn evict(&mut self, plate: &Plate, reason: RemovalReason, at: Millis, events: &mut Vec<DispatchEvent>) {
        let Some(rec) = self.taxis.get(plate) else {
            return;
        };
        let (line, ticket, place) = (rec.line(self.mode), rec.ticket, rec.place);
        match place {
            Place::OnTrip { .. } => return,
            Place::Waiting => {
                self.lines.remove(plate);
            }
            Place::Called { .. } | Place::Assigned { .. } => {
                self.curb.remove(plate);
                self.booked.retain(|p| p != plate);
            }
        }
        self.taxis.remove(plate);
        info!(
            "taxi removed terminal={} plate={plate} reason={reason:?}",
            self.terminal
        );
        events.push(DispatchEvent::RemovedFromLine {
            plate: plate.clone(),
            line,
            ticket,
            reason,
            at,
        });
        if let Place::Assigned { request, .. } = place {
            self.pass_on(request, plate, at, events);
        }
    }

    /// A ping from the driver app. Resumes a suspended taxi in its place.
    pub fn ping(&mut self, plate: &Plate, now: Millis) -> Result<Step<()>, DispatchError> {
        let mode = self.mode;
        let Some(rec) = self.taxis.get_mut(plate) else {
            return Err(DispatchError::UnknownTaxi { plate: plate.clone() });
        };
        let mut events = Vec::new();
        if let Some(LivenessStep::Resumed { .. }) = rec.liveness.ping(now) {
            if rec.place == Place::Waiting {
                debug!("taxi resumed plate={plate}");
                events.push(DispatchEvent::Resumed {
                    plate: plate.clone(),
                    line: rec.line(mode),
                    at: now,
                });
            }
        }
        Ok(self.finish((), events, now))
    }

    /// Timer tick: suspends and removes silent taxis, lets unused priorities lapse, abandons
    /// trips open too long, and calls forward.
    pub fn tick(&mut self, now: Millis) -> Vec<DispatchEvent> {
        let mut events = Vec::new();
        let waiting: Vec<Plate> = self.lines.iter().map(|(p, _)| p.clone()).collect();
        for plate in waiting {
            let Some(rec) = self.taxis.get_mut(&plate) else {
                continue;
            };
            let steps = rec.liveness.tick(now, &self.config);
            let line = rec.line(self.mode);
            for step in steps {
                match step {
                    LivenessStep::Suspended { at, last_seen } => {
                        debug!("taxi suspended plate={plate} last_seen={last_seen}");
                        events.push(DispatchEvent::Suspended {
                            plate: plate.clone(),
                            line: line.clone(),
                            last_seen,
                            at,
                        });
                    }
                    LivenessStep::Removed { at, .. } => self.evict(&plate, RemovalReason::Silent, at, &mut events),
                    LivenessStep::Resumed { .. } => {}
                }
            }
        }
        let lapsed: Vec<(Plate, Millis)> = self
            .grants
            .iter()
            .filter(|(_, g)| now > g.expires_at)
            .map(|(p, g)| (p.clone(), g.expires_at))
            .collect();
        for (plate, expired_at) in lapsed {
            self.grants.remove(&plate);
            events.push(DispatchEvent::PriorityLapsed { plate, expired_at });
        }
        let ttl = self.config.open_trip_ttl;
        let abandoned: Vec<RequestId> = self
            .requests
            .iter()
            .filter(|(_, r)| matches!(r.state, RequestState::PickedUp { at } if now >= at + ttl))
            .map(|(id, _)| *id)
            .collect();
        for request in abandoned {
            let Some(r) = self.requests.remove(&request) else {
                continue;
            };
            if self
                .taxis
                .get(&r.plate)
                .is_some_and(|t| t.place == Place::OnTrip { request })
            {
                self.taxis.remove(&r.plate);
            }
            events.push(DispatchEvent::TripAbandoned {
                request,
                plate: r.plate,
                at: now,
            });
        }
        self.fill_bays(now, &mut events);
        events
    }

    /// When [`Self::tick`] next has something to do, if nothing else happens first.
    pub fn next_deadline(&self) -> Option<Millis> {
        // The waiting taxis are exactly those in `lines`; one pass over the records, with no
        // lookups, since the actor asks after every change.
        let liveness = self
            .taxis
            .values()
            .filter(|r| r.place == Place::Waiting)
            .filter_map(|r| r.liveness.next_deadline(&self.config));
        let grants = self.grants.values().map(|g| g.expires_at + Duration::from_millis(1));
        let trips = self.requests.values().filter_map(|r| match r.state {
            RequestState::PickedUp { at } => Some(at + self.config.open_trip_ttl),
            RequestState::Assigned => None,
        });
        liveness.chain(grants).chain(trips).min()
    }

    /// Sets the terminal's mode and the bays of that mode; nobody loses their place.
    pub fn configure(&mut self, plan: &SlotPlan, now: Millis) -> Result<Step<()>, DispatchError> {
        self.slots.apply(plan, &self.rules)?;
        let from_mode = self.mode;
        self.mode = plan.mode();
        info!(
            "dispatch configured terminal={} from={from_mode} mode={}",
            self.terminal, self.mode
        );
        let event = DispatchEvent::Configured {
            from_mode,
            mode: self.mode,
            curb_slots: self.slots.as_api(self.mode),
            at: now,
        };
        Ok(self.finish((), vec![event], now))
    }

    /// The driver chose another service region: allowed only among the regions its licence
    /// and the joint-zone rules allow (else [`DispatchError::Rule`], 422), and not while the
    /// taxi is at the curb or assigned. A waiting taxi keeps its ticket.
    pub fn set_service_region(
        &mut self,
        plate: &Plate,
        region: Region,
        now: Millis,
    ) -> Result<Step<()>, DispatchError> {
        let Some(rec) = self.taxis.get_mut(plate) else {
            return Err(DispatchError::UnknownTaxi { plate: plate.clone() });
        };
        self.rules.check(&rec.licence_region, &region)?;
        if matches!(rec.place, Place::Called { .. } | Place::Assigned { .. }) {
            return Err(DispatchError::TaxiBusy {
                plate: plate.clone(),
                state: rec.place.kind(),
            });
        }
        if rec.service_region == region {
            return Ok(Step {
                outcome: (),
                events: Vec::new(),
            });
        }
        let from = std::mem::replace(&mut rec.service_region, region.clone());
        let ticket = rec.ticket;
        if rec.place == Place::Waiting {
            self.lines.set_region(plate, region.clone());
        }
        let event = DispatchEvent::ServiceRegionChanged {
            plate: plate.clone(),
            from,
            to: region,
            ticket,
            at: now,
        };
        Ok(self.finish((), vec![event], now))
    }
}
