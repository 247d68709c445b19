//! Tickets and the lines of waiting taxis.
//!
//! A [`Ticket`] is a taxi's place: its entry time, a sequence number that breaks ties, and,
//! for a priority re-entry, the time the priority was earned. Dispatch order inside any line is
//! priority tickets first (by the time they earned priority), then ordinary tickets by entry
//! time, then sequence: that is [`OrderKey`].
//!
//! [`Lines`] holds every waiting taxi of one terminal once, indexed two ways at all times: by
//! (class, service region, order) for regional lines and by (class, order) for integrated
//! lines. A [`LineKey`] names which index to read, so switching a terminal's mode moves no
//! taxi and loses no place, and changing a taxi's service region re-indexes the same ticket.
//! Taxis at the curb or on a trip are not in [`Lines`]; the dispatcher owns them.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::{DispatchMode, LineKey, LineScope, Plate, Region, TaxiClass};
use crate::time::Millis;

/// A taxi's place in line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub struct Ticket {
    /// Monotonic per terminal; breaks ties between equal times.
    pub seq: u64,
    /// When the lot's camera saw the taxi enter.
    #[serde(rename = "entered_ms")]
    pub entered_at: Millis,
    /// For a priority re-entry ticket: when the priority was earned (the short trip's completion).
    #[serde(rename = "priority_earned_ms")]
    pub priority_earned_at: Option<Millis>,
}

impl Ticket {
    pub fn ordinary(seq: u64, entered_at: Millis) -> Self {
        Ticket {
            seq,
            entered_at,
            priority_earned_at: None,
        }
    }

    pub fn is_priority(&self) -> bool {
        self.priority_earned_at.is_some()
    }

    pub fn order_key(&self) -> OrderKey {
        match self.priority_earned_at {
            Some(earned) => OrderKey {
                tier: Tier::Priority,
                at: earned,
                seq: self.seq,
            },
            None => OrderKey {
                tier: Tier::Ordinary,
                at: self.entered_at,
                seq: self.seq,
            },
        }
    }
}

/// Priority tickets sort before ordinary ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    Priority,
    Ordinary,
}

/// Dispatch order: tier, then the tier's time (priority earned / entry), then sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrderKey {
    pub tier: Tier,
    pub at: Millis,
    pub seq: u64,
}

impl OrderKey {
    const MIN: OrderKey = OrderKey {
        tier: Tier::Priority,
        at: Millis(i64::MIN),
        seq: 0,
    };
    const MAX: OrderKey = OrderKey {
        tier: Tier::Ordinary,
        at: Millis(i64::MAX),
        seq: u64::MAX,
    };
}

/// What [`Lines`] knows of one waiting taxi.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub class: TaxiClass,
    pub region: Region,
    pub ticket: Ticket,
}

impl Entry {
    pub fn line(&self, mode: DispatchMode) -> LineKey {
        LineKey::for_taxi(mode, &self.region, self.class)
    }
}

/// Every waiting taxi of a terminal, in dispatch order, readable as regional or integrated lines.
#[derive(Debug, Clone, Default)]
pub struct Lines {
    regional: BTreeMap<(TaxiClass, Region, OrderKey), Plate>,
    integrated: BTreeMap<(TaxiClass, OrderKey), Plate>,
    entries: BTreeMap<Plate, Entry>,
}

impl Lines {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, plate: &Plate) -> Option<&Entry> {
        self.entries.get(plate)
    }

    pub fn contains(&self, plate: &Plate) -> bool {
        self.entries.contains_key(plate)
    }

    /// Puts a taxi in line with its ticket, replacing (and returning) any entry it had.
    pub fn insert(&mut self, plate: Plate, class: TaxiClass, region: Region, ticket: Ticket) -> Option<Entry> {
        let old = self.remove(&plate);
        let key = ticket.order_key();
        self.regional.insert((class, region.clone(), key), plate.clone());
        self.integrated.insert((class, key), plate.clone());
        self.entries.insert(plate, Entry { class, region, ticket });
        old
    }

    /// Takes a taxi out of line, returning its entry.
    pub fn remove(&mut self, plate: &Plate) -> Option<Entry> {
        let entry = self.entries.remove(plate)?;
        let key = entry.ticket.order_key();
        self.regional.remove(&(entry.class, entry.region.clone(), key));
        self.integrated.remove(&(entry.class, key));
        Some(entry)
    }

    /// Changes a waiting taxi's service region, keeping its ticket. False if it is not in line.
    pub fn set_region(&mut self, plate: &Plate, region: Region) -> bool {
        match self.remove(plate) {
            Some(entry) => {
                self.insert(plate.clone(), entry.class, region, entry.ticket);
                true
            }
            None => false,
        }
    }

    /// The taxis of one line in dispatch order.
    pub fn line<'a>(&'a self, key: &LineKey) -> Box<dyn Iterator<Item = (&'a Plate, &'a Entry)> + 'a> {
        let entry = move |plate: &'a Plate| self.entries.get(plate).map(|e| (plate, e));
        match &key.scope {
            LineScope::All => {
                let range = (key.class, OrderKey::MIN)..=(key.class, OrderKey::MAX);
                Box::new(self.integrated.range(range).filter_map(move |(_, p)| entry(p)))
            }
            LineScope::Region(region) => {
                let range = (key.class, region.clone(), OrderKey::MIN)..=(key.class, region.clone(), OrderKey::MAX);
                Box::new(self.regional.range(range).filter_map(move |(_, p)| entry(p)))
            }
        }
    }

    /// A waiting taxi's line under `mode` and its 1-based position in it.
    pub fn position(&self, mode: DispatchMode, plate: &Plate) -> Option<(LineKey, usize)> {
        let line = self.entries.get(plate)?.line(mode);
        let index = self.line(&line).position(|(p, _)| p == plate)?;
        Some((line, index + 1))
    }

    /// Every line that has a waiting taxi under `mode`.
    pub fn line_keys(&self, mode: DispatchMode) -> BTreeSet<LineKey> {
        self.entries.values().map(|e| e.line(mode)).collect()
    }

    /// Every waiting taxi, in plate order.
    pub fn iter(&self) -> impl Iterator<Item = (&Plate, &Entry)> {
        self.entries.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Plate {
        Plate::parse(s).unwrap()
    }
    fn r(s: &str) -> Region {
        Region::parse(s).unwrap()
    }
    fn order(lines: &Lines, key: &LineKey) -> Vec<String> {
        lines.line(key).map(|(p, _)| p.to_string()).collect()
    }
    fn regional(region: &str, class: TaxiClass) -> LineKey {
        LineKey {
            scope: LineScope::Region(r(region)),
            class,
        }
    }
    fn all(class: TaxiClass) -> LineKey {
        LineKey {
            scope: LineScope::All,
            class,
        }
    }

    #[test]
    fn priority_first_then_entry_time_then_sequence() {
        let mut lines = Lines::default();
        let std = TaxiClass::Standard;
        lines.insert(p("A"), std, r("seoul"), Ticket::ordinary(3, Millis(100)));
        lines.insert(p("B"), std, r("seoul"), Ticket::ordinary(1, Millis(200)));
        lines.insert(p("C"), std, r("seoul"), Ticket::ordinary(2, Millis(100)));
        lines.insert(
            p("D"),
            std,
            r("seoul"),
            Ticket {
                seq: 9,
                entered_at: Millis(900),
                priority_earned_at: Some(Millis(50)),
            },
        );
        lines.insert(
            p("E"),
            std,
            r("seoul"),
            Ticket {
                seq: 8,
                entered_at: Millis(800),
                priority_earned_at: Some(Millis(40)),
            },
        );
        assert_eq!(order(&lines, &regional("seoul", std)), ["E", "D", "C", "A", "B"]);
        assert_eq!(
            lines.position(DispatchMode::Regional, &p("A")),
            Some((regional("seoul", std), 4))
        );
    }

    #[test]
    fn both_views_exist_at_once_and_class_always_separates() {
        let mut lines = Lines::default();
        let std = TaxiClass::Standard;
        lines.insert(p("S1"), std, r("seoul"), Ticket::ordinary(1, Millis(1)));
        lines.insert(p("I1"), std, r("incheon"), Ticket::ordinary(2, Millis(2)));
        lines.insert(p("S2"), std, r("seoul"), Ticket::ordinary(3, Millis(3)));
        lines.insert(p("J1"), TaxiClass::Jumbo, r("seoul"), Ticket::ordinary(0, Millis(0)));
        assert_eq!(order(&lines, &regional("seoul", std)), ["S1", "S2"]);
        assert_eq!(order(&lines, &regional("incheon", std)), ["I1"]);
        assert_eq!(order(&lines, &all(std)), ["S1", "I1", "S2"]);
        assert_eq!(order(&lines, &all(TaxiClass::Jumbo)), ["J1"]);
        assert_eq!(lines.line_keys(DispatchMode::Integrated).len(), 2);
        assert_eq!(lines.line_keys(DispatchMode::Regional).len(), 3);
    }

    #[test]
    fn region_change_and_reinsert_keep_the_ticket() {
        let mut lines = Lines::default();
        let std = TaxiClass::Standard;
        lines.insert(p("A"), std, r("seoul"), Ticket::ordinary(1, Millis(1)));
        lines.insert(p("B"), std, r("incheon"), Ticket::ordinary(2, Millis(2)));
        assert!(lines.set_region(&p("A"), r("incheon")));
        assert_eq!(order(&lines, &regional("incheon", std)), ["A", "B"]);
        assert!(order(&lines, &regional("seoul", std)).is_empty());
        let old = lines.insert(p("A"), std, r("incheon"), Ticket::ordinary(5, Millis(5)));
        assert_eq!(old.map(|e| e.ticket.seq), Some(1));
        assert_eq!(order(&lines, &regional("incheon", std)), ["B", "A"]);
        assert_eq!(lines.len(), 2);
        assert!(lines.remove(&p("A")).is_some());
        assert!(lines.remove(&p("A")).is_none());
        assert!(!lines.set_region(&p("Z"), r("seoul")));
        assert_eq!(order(&lines, &all(std)), ["B"]);
    }
}
