//! Read views of a dispatcher: the lines as `GET /api/v1/queues` shows them, one taxi as
//! `GET /api/v1/taxis/{plate}` shows it, and the fairness figures. Reading changes nothing.

use std::collections::BTreeSet;

use super::Dispatcher;
use crate::taxi::core::model::{LineKey, Plate, TaxiClass};
use crate::taxi::core::stats::StatsView;
use crate::taxi::core::view::{CurbView, HeldView, LineView, QueuesView, TaxiView, WaitingView};

impl Dispatcher {
    /// Every line of the current mode that has bays or taxis, each with its curb (by bay, then
    /// the assigned taxis still waiting for one) and its waiting taxis in dispatch order.
    pub fn queues(&self) -> QueuesView {
        let mut keys: BTreeSet<LineKey> = self.lines.line_keys(self.mode);
        for scope in self.slots.open_scopes(self.mode) {
            keys.extend(TaxiClass::ALL.map(|class| LineKey {
                scope: scope.clone(),
                class,
            }));
        }
        let at_curb: Vec<&Plate> = self.curb.iter().chain(self.booked.iter()).collect();
        keys.extend(
            at_curb
                .iter()
                .filter_map(|p| self.taxis.get(*p))
                .map(|t| t.line(self.mode)),
        );

        let lines = keys
            .into_iter()
            .map(|line| {
                let mut curb: Vec<CurbView> = at_curb
                    .iter()
                    .filter_map(|p| self.taxis.get(*p).map(|t| (*p, t)))
                    .filter(|(_, t)| t.in_line(self.mode, &line))
                    .map(|(plate, t)| CurbView {
                        plate: plate.clone(),
                        bay: t.place.bay(),
                        state: t.place.kind(),
                        request: t.place.request(),
                        ticket: t.ticket,
                        called_at: t.place.called_at(),
                    })
                    .collect();
                curb.sort_by_key(|c| (c.bay.is_none(), c.bay, c.ticket.order_key()));
                let waiting = self
                    .lines
                    .line(&line)
                    .enumerate()
                    .map(|(index, (plate, entry))| WaitingView {
                        position: index + 1,
                        plate: plate.clone(),
                        ticket: entry.ticket.seq,
                        entered_at: entry.ticket.entered_at,
                        priority: entry.ticket.is_priority(),
                        priority_earned_at: entry.ticket.priority_earned_at,
                        suspended: self.taxis.get(plate).is_some_and(|t| t.liveness.is_suspended()),
                        service_region: entry.region.clone(),
                    })
                    .collect();
                LineView {
                    curb_slots: self.slots.for_line(&line),
                    line,
                    curb,
                    waiting,
                }
            })
            .collect();
        QueuesView {
            terminal: self.terminal.clone(),
            mode: self.mode,
            curb_slots: self.slots.as_api(self.mode),
            lines,
            held: self.held_plates(),
            owner_node: None,
        }
    }

    /// The plates held at this lot's entrance for an operator, most recently held first.
    pub fn held_plates(&self) -> Vec<HeldView> {
        let mut held: Vec<HeldView> = self
            .held
            .iter()
            .map(|(plate, h)| HeldView {
                plate: plate.clone(),
                held_since: h.since,
                reason: h.reason,
            })
            .collect();
        held.sort_by(|a, b| b.held_since.cmp(&a.held_since).then_with(|| a.plate.cmp(&b.plate)));
        held
    }

    /// One taxi as this terminal knows it; `None` when it knows nothing of the plate.
    pub fn taxi(&self, plate: &Plate) -> Option<TaxiView> {
        let record = self.taxis.get(plate);
        let priority_until = self.grants.get(plate).map(|g| g.expires_at);
        let held = self.held.contains_key(plate);
        if record.is_none() && priority_until.is_none() && !held {
            return None;
        }
        // A taxi on a trip has left its line and spent its ticket.
        let here = record.filter(|t| t.in_lot());
        let position = self.lines.position(self.mode, plate).map(|(_, position)| position);
        Some(TaxiView {
            plate: plate.clone(),
            terminal: self.terminal.clone(),
            state: record.map(|t| t.place.kind()),
            class: record.map(|t| t.class),
            licence_region: record.map(|t| t.licence_region.clone()),
            service_region: record.map(|t| t.service_region.clone()),
            line: here.map(|t| t.line(self.mode)),
            position,
            ticket: here.map(|t| t.ticket),
            bay: record.and_then(|t| t.place.bay()),
            request: record.and_then(|t| t.place.request()),
            suspended: record.is_some_and(|t| t.liveness.is_suspended()),
            last_seen: record.map(|t| t.liveness.last_seen()),
            no_shows: record.map_or(0, |t| t.no_shows),
            priority_until,
            held,
        })
    }

    /// The fairness figures of this terminal.
    pub fn stats(&self) -> StatsView {
        self.stats.view()
    }
}

impl Dispatcher {
    /// The taxi serving an open request (assigned or on its trip), if this terminal has it.
    pub fn request_plate(&self, request: crate::taxi::core::model::RequestId) -> Option<&Plate> {
        self.requests.get(&request).map(|r| &r.plate)
    }

    /// Every open request, in id order, with the taxi serving it.
    pub fn open_requests(&self) -> impl Iterator<Item = (crate::taxi::core::model::RequestId, &Plate)> {
        self.requests.iter().map(|(id, r)| (*id, &r.plate))
    }
}
