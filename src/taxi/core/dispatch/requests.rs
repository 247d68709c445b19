//! Passenger requests and the curb: call-forward, assignment, pickup, no-show, completion.
//!
//! A request goes to the line of its destination region and class (or the class's single line
//! in integrated mode): first to an unassigned taxi already at the curb (earliest ticket), else
//! to the next taxi the line would call, skipping suspended ones (recorded in the assignment).
//! Called as soon as a bay of the line is free, assigned taxis waiting for a bay go before the
//! head of the line.

use log::info;

use super::{Dispatcher, PassengerRequest, Place, PriorityGrant, RequestRecord, RequestState};
use crate::taxi::core::curb;
use crate::taxi::core::events::{
    Assignment, DispatchError, DispatchEvent, DropReason, NoShowOutcome, PriorityRefusal, RequestStateKind, Step,
    TripOutcome,
};
use crate::taxi::core::model::{LineKey, Plate, Region, RequestId, TaxiClass};
use crate::taxi::core::queue::Ticket;
use crate::taxi::core::rules::{valid_distance, NoShowPolicy, MAX_TRIP_KM};
use crate::time::Millis;

/// The taxi a request would go to, and why.
#[derive(Debug, Clone)]
struct Candidate {
    plate: Plate,
    ticket: Ticket,
    region: Region,
    class: TaxiClass,
    from_curb: bool,
    /// Its bay and call time when it is already at the curb.
    bay: Option<u16>,
    called_at: Option<Millis>,
    position: usize,
    skipped_suspended: Vec<Plate>,
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Dispatcher {
    /// Assigns a passenger to a taxi of the request's line. Nothing can serve it (destination
    /// not configured, line without bays, nobody in line) is an error (409) counted as a refusal.
    pub fn request(&mut self, req: PassengerRequest, now: Millis) -> Result<Step<Assignment>, DispatchError> {
        if !valid_distance(req.distance_km) {
            return Err(DispatchError::InvalidDistance { max: MAX_TRIP_KM });
        }
        if self.requests.contains_key(&req.id) {
            return Err(DispatchError::DuplicateRequest { request: req.id });
        }
        if self.requests.len() >= super::MAX_OPEN_REQUESTS {
            return Err(DispatchError::TooManyOpenRequests {
                max: super::MAX_OPEN_REQUESTS,
            });
        }
        if !self.rules.is_known(&req.destination_region) {
            self.stats.record_refusal(None);
            return Err(DispatchError::UnknownDestination {
                region: req.destination_region,
            });
        }
        let line = LineKey::for_taxi(self.mode, &req.destination_region, req.class);
        let refused = if self.slots.for_line(&line) == 0 {
            Some(DispatchError::NoCurbSlots { line: line.clone() })
        } else {
            None
        };
        let candidate = if refused.is_none() {
            self.find_candidate(&line)
        } else {
            None
        };
        let Some(candidate) = candidate else {
            self.stats.record_refusal(Some((&req.destination_region, req.class)));
            info!(
                "request refused terminal={} request={} line={line}",
                self.terminal, req.id
            );
            return Err(refused.unwrap_or(DispatchError::NoTaxi { line }));
        };
        let mut events = Vec::new();
        let assignment = self.assign(candidate, req, None, now, &mut events);
        Ok(self.finish(assignment, events, now))
    }

    /// The passenger boarded: the taxi leaves on its trip and its bay is called forward.
    pub fn pickup(&mut self, request: RequestId, now: Millis) -> Result<Step<()>, DispatchError> {
        let (plate, place) = self.assigned_taxi(request, "picked up")?;
        let mode = self.mode;
        let Some(rec) = self.taxis.get_mut(&plate) else {
            return Err(DispatchError::UnknownTaxi { plate });
        };
        let wait_ms = millis(place.called_at().unwrap_or(now).since(rec.ticket.entered_at));
        rec.place = Place::OnTrip { request };
        let line = rec.line(mode);
        self.stats.record_served(&rec.service_region, rec.class, wait_ms);
        self.curb.remove(&plate);
        self.booked.retain(|p| *p != plate);
        if let Some(r) = self.requests.get_mut(&request) {
            r.state = RequestState::PickedUp { at: now };
        }
        info!("passenger picked up request={request} plate={plate} wait_ms={wait_ms}");
        let event = DispatchEvent::PickedUp {
            request,
            plate,
            line,
            bay: place.bay(),
            wait_ms,
            at: now,
        };
        Ok(self.finish((), vec![event], now))
    }

    /// The assigned taxi did not show up: the passenger goes to the next taxi, and the taxi goes
    /// back in line by the no-show policy (its own ticket, or a new one at the back).
    pub fn no_show(&mut self, request: RequestId, now: Millis) -> Result<Step<NoShowOutcome>, DispatchError> {
        let (plate, _) = self.assigned_taxi(request, "reported as a no-show")?;
        let policy = self.config.no_show_policy;
        let seq = match policy {
            NoShowPolicy::KeepTicket => None,
            NoShowPolicy::BackOfLine => Some(self.next_seq()),
        };
        let Some(rec) = self.taxis.get_mut(&plate) else {
            return Err(DispatchError::UnknownTaxi { plate });
        };
        rec.no_shows = rec.no_shows.saturating_add(1);
        if let Some(seq) = seq {
            rec.ticket = Ticket::ordinary(seq, now);
        }
        rec.place = Place::Waiting;
        let (ticket, no_shows, class, region) = (rec.ticket, rec.no_shows, rec.class, rec.service_region.clone());
        self.stats.record_no_show(&region, class);
        self.curb.remove(&plate);
        self.booked.retain(|p| *p != plate);

        // Pass the passenger on before the taxi is back in line, so that it cannot be chosen.
        let mut passed = Vec::new();
        let reassigned = self.pass_on(request, &plate, now, &mut passed);
        self.lines.insert(plate.clone(), class, region, ticket);
        let (_, position) = self.position_of(&plate);
        info!("taxi no-show request={request} plate={plate} no_shows={no_shows} policy={policy:?}");
        let mut events = vec![DispatchEvent::NoShow {
            request,
            plate,
            no_shows,
            policy,
            ticket,
            at: now,
        }];
        events.append(&mut passed);
        Ok(self.finish(
            NoShowOutcome {
                ticket,
                position,
                reassigned,
            },
            events,
            now,
        ))
    }

    /// The trip ended after `distance_km`. A short trip by a taxi still out on it arms a
    /// priority re-entry valid until `now + priority_reentry_limit`.
    pub fn complete(
        &mut self,
        request: RequestId,
        distance_km: f64,
        now: Millis,
    ) -> Result<Step<TripOutcome>, DispatchError> {
        if !valid_distance(distance_km) {
            return Err(DispatchError::InvalidDistance { max: MAX_TRIP_KM });
        }
        let Some(r) = self.requests.get(&request) else {
            return Err(DispatchError::UnknownRequest { request });
        };
        if r.state == RequestState::Assigned {
            return Err(DispatchError::RequestState {
                request,
                state: RequestStateKind::Assigned,
                action: "completed",
            });
        }
        let Some(r) = self.requests.remove(&request) else {
            return Err(DispatchError::UnknownRequest { request });
        };
        let short = self.config.is_short_trip(distance_km);
        let out_on_trip = self
            .taxis
            .get(&r.plate)
            .is_some_and(|t| t.place == Place::OnTrip { request });
        if out_on_trip {
            self.taxis.remove(&r.plate);
        }
        let requested_km = r.req.distance_km;
        let priority_refused = (short && out_on_trip && !self.config.distance_agrees(requested_km, distance_km))
            .then_some(PriorityRefusal::DistanceMismatch);
        let priority_until =
            (short && out_on_trip && priority_refused.is_none()).then(|| now + self.config.priority_reentry_limit);
        if let Some(expires_at) = priority_until {
            let picked_up = match r.state {
                RequestState::PickedUp { at } => at,
                RequestState::Assigned => now,
            };
            self.grants.insert(
                r.plate.clone(),
                PriorityGrant {
                    earned_at: now,
                    expires_at,
                    earliest: picked_up + self.config.round_trip(requested_km),
                },
            );
        }
        self.stats.record_trip(&r.taxi_region, r.taxi_class, short);
        if let Some(reason) = priority_refused {
            self.stats.record_priority_refused(&r.taxi_region, r.taxi_class);
            info!(
                "priority refused request={request} plate={} reason={} requested_km={requested_km} distance_km={distance_km}",
                r.plate,
                reason.as_str()
            );
        }
        info!(
            "trip completed request={request} plate={} distance_km={distance_km} short={short}",
            r.plate
        );
        let event = DispatchEvent::TripCompleted {
            request,
            plate: r.plate,
            distance_km,
            short,
            priority_until,
            priority_refused,
            at: now,
        };
        Ok(Step {
            outcome: TripOutcome {
                short,
                priority_until,
                priority_refused,
            },
            events: vec![event],
        })
    }

    /// The taxi and place of a request that is assigned and not picked up yet.
    fn assigned_taxi(&self, request: RequestId, action: &'static str) -> Result<(Plate, Place), DispatchError> {
        let Some(r) = self.requests.get(&request) else {
            return Err(DispatchError::UnknownRequest { request });
        };
        if let RequestState::PickedUp { .. } = r.state {
            return Err(DispatchError::RequestState {
                request,
                state: RequestStateKind::PickedUp,
                action,
            });
        }
        match self.taxis.get(&r.plate) {
            Some(t) if t.place.request() == Some(request) => Ok((r.plate.clone(), t.place)),
            _ => Err(DispatchError::UnknownTaxi { plate: r.plate.clone() }),
        }
    }

    /// The taxi a request for `line` goes to now.
    fn find_candidate(&self, line: &LineKey) -> Option<Candidate> {
        let candidate = |plate: &Plate, from_curb: bool, position: usize, skipped: Vec<Plate>| {
            self.taxis.get(plate).map(|t| Candidate {
                plate: plate.clone(),
                ticket: t.ticket,
                region: t.service_region.clone(),
                class: t.class,
                from_curb,
                bay: t.place.bay(),
                called_at: t.place.called_at(),
                position,
                skipped_suspended: skipped,
            })
        };
        let at_curb = self
            .curb
            .iter()
            .filter_map(|p| self.taxis.get(p).map(|t| (t, p)))
            .filter(|(t, _)| matches!(t.place, Place::Called { .. }) && t.in_line(self.mode, line))
            .min_by_key(|(t, _)| t.ticket.order_key());
        if let Some((_, plate)) = at_curb {
            return candidate(plate, true, 1, Vec::new());
        }
        let mut skipped = Vec::new();
        for (index, (plate, _)) in self.lines.line(line).enumerate() {
            if self.taxis.get(plate).is_some_and(|t| t.liveness.is_suspended()) {
                skipped.push(plate.clone());
                continue;
            }
            return candidate(plate, false, index + 1, skipped);
        }
        None
    }

    /// Gives the request to the candidate, calling it to a free bay if it is still in the lot.
    fn assign(
        &mut self,
        c: Candidate,
        req: PassengerRequest,
        replaces: Option<Plate>,
        now: Millis,
        events: &mut Vec<DispatchEvent>,
    ) -> Assignment {
        let line = LineKey::for_taxi(self.mode, &req.destination_region, req.class);
        let (bay, called_at) = if c.from_curb {
            (c.bay, c.called_at)
        } else {
            self.lines.remove(&c.plate);
            match self.free_bay(&line) {
                Some(bay) => {
                    self.curb.insert(c.plate.clone());
                    (Some(bay), Some(now))
                }
                None => {
                    self.booked.push(c.plate.clone());
                    (None, None)
                }
            }
        };
        if let Some(t) = self.taxis.get_mut(&c.plate) {
            t.place = Place::Assigned {
                request: req.id,
                bay,
                called_at,
            };
        }
        let assignment = Assignment {
            request: req.id,
            plate: c.plate.clone(),
            destination_region: req.destination_region.clone(),
            distance_km: req.distance_km,
            class: req.class,
            line: line.clone(),
            mode: self.mode,
            ticket: c.ticket,
            position: c.position,
            from_curb: c.from_curb,
            bay,
            skipped_suspended: c.skipped_suspended,
            replaces,
            at: now,
        };
        info!(
            "taxi assigned terminal={} request={} plate={} line={line} seq={} position={} bay={bay:?}",
            self.terminal, req.id, c.plate, c.ticket.seq, c.position
        );
        let record = RequestRecord {
            req,
            plate: c.plate.clone(),
            state: RequestState::Assigned,
            taxi_region: c.region,
            taxi_class: c.class,
        };
        self.requests.insert(assignment.request, record);
        events.push(DispatchEvent::Assigned {
            assignment: assignment.clone(),
        });
        if let (false, Some(bay)) = (c.from_curb, bay) {
            let request = Some(assignment.request);
            events.push(DispatchEvent::Called {
                plate: c.plate,
                line,
                bay,
                ticket: c.ticket,
                request,
                at: now,
            });
        }
        assignment
    }

    /// Gives an assigned request whose taxi failed it to the next taxi, or drops it.
    pub(super) fn pass_on(
        &mut self,
        request: RequestId,
        from: &Plate,
        now: Millis,
        events: &mut Vec<DispatchEvent>,
    ) -> Option<Assignment> {
        let req = self.requests.get(&request)?.req.clone();
        let line = LineKey::for_taxi(self.mode, &req.destination_region, req.class);
        let candidate = if self.slots.for_line(&line) == 0 {
            None
        } else {
            self.find_candidate(&line)
        };
        match candidate {
            Some(c) => Some(self.assign(c, req, Some(from.clone()), now, events)),
            None => {
                self.requests.remove(&request);
                self.stats.record_refusal(Some((&req.destination_region, req.class)));
                info!("request dropped request={request} reason=no_taxi");
                events.push(DispatchEvent::RequestDropped {
                    request,
                    reason: DropReason::NoTaxi,
                    at: now,
                });
                None
            }
        }
    }

    /// The lowest free bay of a line, if it has one.
    fn free_bay(&self, line: &LineKey) -> Option<u16> {
        let taken: Vec<u16> = self
            .curb
            .iter()
            .filter_map(|p| self.taxis.get(p))
            .filter(|t| t.in_line(self.mode, line))
            .filter_map(|t| t.place.bay())
            .collect();
        curb::free_bay(self.slots.for_line(line), &taken)
    }

    /// Call-forward: fills every free bay, assigned taxis waiting for a bay first, then the
    /// head of the line, skipping suspended taxis (they keep their place).
    pub(super) fn fill_bays(&mut self, now: Millis, events: &mut Vec<DispatchEvent>) {
        for scope in self.slots.open_scopes(self.mode) {
            for class in TaxiClass::ALL {
                let line = LineKey {
                    scope: scope.clone(),
                    class,
                };
                // Each round takes one taxi out of `booked` or out of the line, so this ends.
                while let Some(bay) = self.free_bay(&line) {
                    let booked = self
                        .booked
                        .iter()
                        .position(|p| self.taxis.get(p).is_some_and(|t| t.in_line(self.mode, &line)));
                    let (plate, request) = if let Some(index) = booked {
                        let plate = self.booked.remove(index);
                        let request = self.taxis.get(&plate).and_then(|t| t.place.request());
                        (plate, request)
                    } else {
                        let head = self
                            .lines
                            .line(&line)
                            .find(|(p, _)| !self.taxis.get(*p).is_some_and(|t| t.liveness.is_suspended()))
                            .map(|(p, _)| p.clone());
                        let Some(plate) = head else { break };
                        self.lines.remove(&plate);
                        (plate, None)
                    };
                    let Some(t) = self.taxis.get_mut(&plate) else {
                        continue;
                    };
                    t.place = match request {
                        Some(request) => Place::Assigned {
                            request,
                            bay: Some(bay),
                            called_at: Some(now),
                        },
                        None => Place::Called { bay, called_at: now },
                    };
                    let ticket = t.ticket;
                    self.curb.insert(plate.clone());
                    info!(
                        "taxi called terminal={} plate={plate} line={line} bay={bay} seq={}",
                        self.terminal, ticket.seq
                    );
                    events.push(DispatchEvent::Called {
                        plate,
                        line: line.clone(),
                        bay,
                        ticket,
                        request,
                        at: now,
                    });
                }
            }
        }
    }
}
