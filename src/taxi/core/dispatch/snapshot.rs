//! A dispatcher's whole state as one serialisable value, so that the actor can store it and a
//! restarted actor can carry on where the crashed one stopped (tickets, curb, open requests,
//! priority grants, holds, stats and the ticket sequence).
//!
//! A snapshot is read as untrusted input: restoring rebuilds every index from the taxi records
//! and drops what no longer fits (regions the rules no longer know, requests whose taxi is gone,
//! anything past the limits), so a stale or damaged snapshot gives a consistent dispatcher,
//! never a panic. Configuration and rules are not in the snapshot: they come from the config.

use std::collections::BTreeMap;

use log::warn;
use serde::{Deserialize, Serialize};

use super::{
    Dispatcher, Hold, Place, PriorityGrant, RequestRecord, RequestState, TaxiRecord, MAX_HELD_TRACKED,
    MAX_OPEN_REQUESTS, MAX_TAXIS_PER_TERMINAL,
};
use crate::taxi::core::curb::SlotPlan;
use crate::taxi::core::events::HoldReason;
use crate::taxi::core::model::{DispatchMode, Plate, Region, TerminalId};
use crate::taxi::core::rules::{DispatchConfig, JointZoneRules, RuleError};
use crate::taxi::core::stats::DispatchStats;
use crate::time::Millis;

/// The stored state of one terminal's dispatcher. Opaque: serialise it, store it, restore it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DispatcherSnapshot {
    terminal: TerminalId,
    mode: DispatchMode,
    regional_slots: BTreeMap<Region, u16>,
    all_slots: u16,
    taxis: Vec<(Plate, TaxiRecord)>,
    booked: Vec<Plate>,
    requests: Vec<RequestRecord>,
    grants: Vec<(Plate, PriorityGrant)>,
    held: Vec<StoredHold>,
    stats: DispatchStats,
    next_seq: u64,
}

/// One hold as stored: with its reason, or as snapshots stored before reasons were kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum StoredHold {
    WithReason(Plate, Millis, HoldReason),
    Since(Plate, Millis),
}

impl StoredHold {
    fn into_parts(self) -> (Plate, Hold) {
        match self {
            StoredHold::WithReason(plate, since, reason) => (
                plate,
                Hold {
                    since,
                    reason: Some(reason),
                },
            ),
            StoredHold::Since(plate, since) => (plate, Hold { since, reason: None }),
        }
    }
}

impl DispatcherSnapshot {
    pub fn terminal(&self) -> &TerminalId {
        &self.terminal
    }
}

impl Dispatcher {
    /// The whole state, for the store.
    pub fn snapshot(&self) -> DispatcherSnapshot {
        DispatcherSnapshot {
            terminal: self.terminal.clone(),
            mode: self.mode,
            regional_slots: self.slots.regional().clone(),
            all_slots: self.slots.all(),
            taxis: self.taxis.iter().map(|(p, t)| (p.clone(), t.clone())).collect(),
            booked: self.booked.clone(),
            requests: self.requests.values().cloned().collect(),
            grants: self.grants.iter().map(|(p, g)| (p.clone(), *g)).collect(),
            held: self
                .held
                .iter()
                .map(|(p, h)| match h.reason {
                    Some(reason) => StoredHold::WithReason(p.clone(), h.since, reason),
                    None => StoredHold::Since(p.clone(), h.since),
                })
                .collect(),
            stats: self.stats.clone(),
            next_seq: self.next_seq,
        }
    }

    /// A dispatcher carrying on from a stored snapshot under the current config and rules.
    pub fn restore(
        snapshot: DispatcherSnapshot,
        config: DispatchConfig,
        rules: JointZoneRules,
    ) -> Result<Dispatcher, RuleError> {
        let mut d = Dispatcher::new(snapshot.terminal, config, rules)?;
        let known_slots = snapshot.regional_slots.into_iter().filter(|(r, _)| d.rules.is_known(r));
        let plans = [
            SlotPlan::Regional(known_slots.collect()),
            SlotPlan::Integrated(snapshot.all_slots),
        ];
        for plan in plans {
            if let Err(e) = d.slots.apply(&plan, &d.rules) {
                warn!("snapshot slots dropped terminal={} error={e}", d.terminal);
            }
        }
        d.mode = snapshot.mode;
        d.stats = snapshot.stats;

        let mut max_seq = 0;
        for (plate, t) in snapshot.taxis.into_iter().take(MAX_TAXIS_PER_TERMINAL) {
            if !d.rules.is_known(&t.service_region) {
                warn!("snapshot taxi dropped plate={plate} region={}", t.service_region);
                continue;
            }
            max_seq = max_seq.max(t.ticket.seq);
            if t.place == Place::Waiting {
                d.lines
                    .insert(plate.clone(), t.class, t.service_region.clone(), t.ticket);
            } else if t.place.bay().is_some() {
                d.curb.insert(plate.clone());
            }
            d.taxis.insert(plate, t);
        }
        // Booked taxis keep the stored booking order; any the list missed go last.
        let mut booked: Vec<Plate> = snapshot.booked;
        booked.extend(d.taxis.iter().filter(|(_, t)| is_booked(t)).map(|(p, _)| p.clone()));
        for plate in booked {
            if d.taxis.get(&plate).is_some_and(is_booked) && !d.booked.contains(&plate) {
                d.booked.push(plate);
            }
        }
        for r in snapshot.requests.into_iter().take(MAX_OPEN_REQUESTS) {
            let id = r.req.id;
            let taxi_place = d.taxis.get(&r.plate).map(|t| t.place);
            let consistent = match r.state {
                RequestState::Assigned => taxi_place.and_then(Place::request) == Some(id),
                RequestState::PickedUp { .. } => true,
            };
            if consistent {
                d.requests.insert(id, r);
            }
        }
        // A taxi assigned to a request that did not survive goes back to where it stood.
        let orphans: Vec<Plate> = d
            .taxis
            .iter()
            .filter(|(_, t)| t.place.request().is_some_and(|id| !d.requests.contains_key(&id)))
            .map(|(p, _)| p.clone())
            .collect();
        for plate in orphans {
            d.release_orphan(&plate);
        }
        d.grants.extend(snapshot.grants);
        let mut held: Vec<(Plate, Hold)> = snapshot.held.into_iter().map(StoredHold::into_parts).collect();
        held.sort_by_key(|(_, h)| std::cmp::Reverse(h.since));
        d.held.extend(held.into_iter().take(MAX_HELD_TRACKED));
        d.next_seq = snapshot.next_seq.max(max_seq.saturating_add(1));
        Ok(d)
    }

    /// Puts a taxi whose request was lost back at the curb (if it had a bay) or in line.
    fn release_orphan(&mut self, plate: &Plate) {
        let Some(t) = self.taxis.get_mut(plate) else {
            return;
        };
        match t.place {
            Place::Assigned {
                bay: Some(bay),
                called_at,
                ..
            } => {
                t.place = Place::Called {
                    bay,
                    called_at: called_at.unwrap_or(t.ticket.entered_at),
                };
            }
            Place::Assigned { bay: None, .. } => {
                t.place = Place::Waiting;
                let (class, region, ticket) = (t.class, t.service_region.clone(), t.ticket);
                self.booked.retain(|p| p != plate);
                self.lines.insert(plate.clone(), class, region, ticket);
            }
            Place::OnTrip { .. } => {
                self.taxis.remove(plate);
            }
            Place::Waiting | Place::Called { .. } => {}
        }
    }
}

fn is_booked(t: &TaxiRecord) -> bool {
    matches!(t.place, Place::Assigned { bay: None, .. })
}
