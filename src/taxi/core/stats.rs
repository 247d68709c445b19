//! Fairness figures of one terminal, per (service region, class): taxis served, waits (ticket
//! time to call), short and long trips, no-shows, refusals and holds.
//!
//! Everything is keyed by the taxi's **service region** (the line its driver chose), except
//! refusals, which are keyed by the request's destination region: in regional mode these are
//! the same line. Events that cannot be put on a configured region (an unregistered plate, a
//! request for an unknown region) are counted apart. Waits are integer milliseconds; the mean is
//! rounded down and the p50 is the lower median (the `⌈n/2⌉`-th smallest). Mean and max cover
//! every served taxi; the median covers the last [`MAX_WAIT_SAMPLES`] of a cell, which bounds
//! memory over a long run. The dispatcher decides what to record; this module only counts.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::{Region, TaxiClass};

/// Waits kept per (region, class) for the median.
pub const MAX_WAIT_SAMPLES: usize = 10_000;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Cell {
    served: u64,
    wait_sum_ms: u64,
    wait_max_ms: u64,
    samples: VecDeque<u64>,
    short_trips: u64,
    long_trips: u64,
    no_shows: u64,
    refusals: u64,
    holds: u64,
    /// Short-trip priorities refused as implausible (absent in snapshots made before).
    #[serde(default)]
    priority_refusals: u64,
}

/// The counters of one terminal; serialisable so a dispatcher snapshot can carry them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "StoredStats", into = "StoredStats")]
pub struct DispatchStats {
    cells: BTreeMap<(Region, TaxiClass), Cell>,
    holds_unattributed: u64,
    refusals_unknown_region: u64,
}

/// One row of `GET /api/v1/dispatch/stats`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct StatsRow {
    pub region: Region,
    pub class: TaxiClass,
    pub served: u64,
    /// Every served taxi's wait added up (with `served`, what a rate of the mean is made from).
    pub wait_total_ms: u64,
    pub wait_mean_ms: Option<u64>,
    pub wait_p50_ms: Option<u64>,
    pub wait_max_ms: Option<u64>,
    pub short_trips: u64,
    pub long_trips: u64,
    pub no_shows: u64,
    pub refusals: u64,
    pub holds: u64,
    /// Short-trip priorities refused as implausible (distance disagreeing with the request's,
    /// or a re-entry sooner than the trip could be driven).
    pub priority_refusals: u64,
}

/// The figures of one terminal, rows in (region, class) order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatsView {
    pub items: Vec<StatsRow>,
    /// Holds of plates with no usable region (unregistered, or licensed nowhere configured).
    pub holds_unattributed: u64,
    /// Requests refused because their destination region is not configured.
    pub refusals_unknown_region: u64,
}

/// The stored shape of [`DispatchStats`]: tuple keys become list entries (JSON maps need
/// string keys), and the median window is cut back to its bound when read.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredStats {
    cells: Vec<(Region, TaxiClass, Cell)>,
    holds_unattributed: u64,
    refusals_unknown_region: u64,
}

impl From<DispatchStats> for StoredStats {
    fn from(s: DispatchStats) -> Self {
        StoredStats {
            cells: s.cells.into_iter().map(|((r, c), cell)| (r, c, cell)).collect(),
            holds_unattributed: s.holds_unattributed,
            refusals_unknown_region: s.refusals_unknown_region,
        }
    }
}

impl From<StoredStats> for DispatchStats {
    fn from(s: StoredStats) -> Self {
        let cells = s
            .cells
            .into_iter()
            .map(|(r, c, mut cell)| {
                let excess = cell.samples.len().saturating_sub(MAX_WAIT_SAMPLES);
                cell.samples.drain(..excess);
                ((r, c), cell)
            })
            .collect();
        DispatchStats {
            cells,
            holds_unattributed: s.holds_unattributed,
            refusals_unknown_region: s.refusals_unknown_region,
        }
    }
}

impl DispatchStats {
    fn cell(&mut self, region: &Region, class: TaxiClass) -> &mut Cell {
        self.cells.entry((region.clone(), class)).or_default()
    }

    /// A taxi picked up its passenger after waiting `wait_ms` from its ticket to its call.
    pub fn record_served(&mut self, region: &Region, class: TaxiClass, wait_ms: u64) {
        let cell = self.cell(region, class);
        cell.served += 1;
        cell.wait_sum_ms = cell.wait_sum_ms.saturating_add(wait_ms);
        cell.wait_max_ms = cell.wait_max_ms.max(wait_ms);
        if cell.samples.len() == MAX_WAIT_SAMPLES {
            cell.samples.pop_front();
        }
        cell.samples.push_back(wait_ms);
    }

    pub fn record_trip(&mut self, region: &Region, class: TaxiClass, short: bool) {
        let cell = self.cell(region, class);
        if short {
            cell.short_trips += 1;
        } else {
            cell.long_trips += 1;
        }
    }

    pub fn record_priority_refused(&mut self, region: &Region, class: TaxiClass) {
        self.cell(region, class).priority_refusals += 1;
    }

    pub fn record_no_show(&mut self, region: &Region, class: TaxiClass) {
        self.cell(region, class).no_shows += 1;
    }

    /// A request nothing could serve; `None` when its region is not configured.
    pub fn record_refusal(&mut self, line: Option<(&Region, TaxiClass)>) {
        match line {
            Some((region, class)) => self.cell(region, class).refusals += 1,
            None => self.refusals_unknown_region += 1,
        }
    }

    /// A plate held for an operator; `None` when it has no configured region.
    pub fn record_hold(&mut self, line: Option<(&Region, TaxiClass)>) {
        match line {
            Some((region, class)) => self.cell(region, class).holds += 1,
            None => self.holds_unattributed += 1,
        }
    }

    pub fn view(&self) -> StatsView {
        let items = self
            .cells
            .iter()
            .map(|((region, class), c)| {
                let mut sorted: Vec<u64> = c.samples.iter().copied().collect();
                sorted.sort_unstable();
                StatsRow {
                    region: region.clone(),
                    class: *class,
                    served: c.served,
                    wait_total_ms: c.wait_sum_ms,
                    wait_mean_ms: c.wait_sum_ms.checked_div(c.served),
                    wait_p50_ms: sorted
                        .len()
                        .checked_sub(1)
                        .and_then(|last| sorted.get(last / 2))
                        .copied(),
                    wait_max_ms: (c.served > 0).then_some(c.wait_max_ms),
                    short_trips: c.short_trips,
                    long_trips: c.long_trips,
                    no_shows: c.no_shows,
                    refusals: c.refusals,
                    holds: c.holds,
                    priority_refusals: c.priority_refusals,
                }
            })
            .collect();
        StatsView {
            items,
            holds_unattributed: self.holds_unattributed,
            refusals_unknown_region: self.refusals_unknown_region,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_exact() {
        let seoul = Region::parse("seoul").unwrap();
        let mut s = DispatchStats::default();
        for w in [4_000, 1_000, 3_000, 2_000] {
            s.record_served(&seoul, TaxiClass::Standard, w);
        }
        s.record_trip(&seoul, TaxiClass::Standard, true);
        s.record_trip(&seoul, TaxiClass::Standard, false);
        s.record_trip(&seoul, TaxiClass::Standard, false);
        s.record_no_show(&seoul, TaxiClass::Standard);
        s.record_refusal(Some((&seoul, TaxiClass::Jumbo)));
        s.record_refusal(None);
        s.record_hold(None);
        let v = s.view();
        assert_eq!(v.refusals_unknown_region, 1);
        assert_eq!(v.holds_unattributed, 1);
        assert_eq!(v.items.len(), 2);
        let std = &v.items[0];
        assert_eq!(
            (std.served, std.wait_mean_ms, std.wait_p50_ms, std.wait_max_ms),
            (4, Some(2_500), Some(2_000), Some(4_000))
        );
        assert_eq!(
            (std.short_trips, std.long_trips, std.no_shows, std.refusals),
            (1, 2, 1, 0)
        );
        let jumbo = &v.items[1];
        assert_eq!(
            (jumbo.served, jumbo.wait_mean_ms, jumbo.wait_p50_ms, jumbo.refusals),
            (0, None, None, 1)
        );
    }

    #[test]
    fn median_window_is_bounded_but_mean_and_max_cover_everything() {
        let seoul = Region::parse("seoul").unwrap();
        let mut s = DispatchStats::default();
        s.record_served(&seoul, TaxiClass::Deluxe, 1_000_000);
        for _ in 0..MAX_WAIT_SAMPLES {
            s.record_served(&seoul, TaxiClass::Deluxe, 10);
        }
        let row = &s.view().items[0];
        assert_eq!(row.wait_p50_ms, Some(10));
        assert_eq!(row.wait_max_ms, Some(1_000_000));
        assert_eq!(row.served, MAX_WAIT_SAMPLES as u64 + 1);
        assert_eq!(
            row.wait_mean_ms,
            Some((1_000_000 + 10 * MAX_WAIT_SAMPLES as u64) / (MAX_WAIT_SAMPLES as u64 + 1))
        );
    }
}
