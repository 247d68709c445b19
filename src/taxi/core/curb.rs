//! Curb bays: how many taxis each line may have called forward to the terminal's rank.
//!
//! Bays are counted **per line**: in regional mode `curb_slots[region]` bays for each class
//! line of that region (`seoul/standard`, `seoul/deluxe`, ...); in integrated mode `all` bays
//! for each class line. Classes board at separate ranks, so they never compete for a bay. A
//! region an operator leaves out of a regional plan has no bay: its lines are closed and a
//! request for them is refused. Bays are numbered from 1 within their line; a new call takes
//! the lowest number no taxi of the line holds. After a mode switch or a smaller plan a line may
//! hold more taxis than it has bays: nobody is sent back, the line simply calls no one until
//! it drains below its count.

use std::collections::BTreeMap;

use serde::Serialize;

use super::events::DispatchError;
use super::model::{DispatchMode, LineKey, LineScope, Region, ALL_REGIONS};
use super::rules::JointZoneRules;

/// Most bays one line may have.
pub const MAX_CURB_SLOTS_PER_LINE: u16 = 64;
/// Bays each line has until an operator configures the terminal.
pub const DEFAULT_CURB_SLOTS_PER_LINE: u16 = 2;

/// What an operator asks for in `PUT /api/v1/terminals/{terminal}/dispatch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotPlan {
    /// Regional mode with bays per region (for each class line of the region).
    Regional(BTreeMap<Region, u16>),
    /// Integrated mode with `all` bays for each class line.
    Integrated(u16),
}

impl SlotPlan {
    pub fn mode(&self) -> DispatchMode {
        match self {
            SlotPlan::Regional(_) => DispatchMode::Regional,
            SlotPlan::Integrated(_) => DispatchMode::Integrated,
        }
    }

    /// Reads the API's `{mode, curb_slots}`: region names for regional mode, `{"all": n}` for
    /// integrated mode. Checks names and counts; whether regions are configured is checked when
    /// the plan is applied.
    pub fn from_api(mode: DispatchMode, curb_slots: &BTreeMap<String, u16>) -> Result<SlotPlan, DispatchError> {
        let invalid = |reason: String| DispatchError::InvalidSlots { reason };
        if let Some((name, n)) = curb_slots.iter().find(|(_, n)| **n > MAX_CURB_SLOTS_PER_LINE) {
            return Err(invalid(format!("{name}: {n} is more than {MAX_CURB_SLOTS_PER_LINE}")));
        }
        match mode {
            DispatchMode::Integrated => match (curb_slots.len(), curb_slots.get(ALL_REGIONS)) {
                (1, Some(n)) => Ok(SlotPlan::Integrated(*n)),
                _ => Err(invalid("integrated mode takes exactly {\"all\": n}".to_owned())),
            },
            DispatchMode::Regional => {
                let mut plan = BTreeMap::new();
                for (name, n) in curb_slots {
                    let region = Region::parse(name).map_err(|e| invalid(e.to_string()))?;
                    plan.insert(region, *n);
                }
                Ok(SlotPlan::Regional(plan))
            }
        }
    }
}

/// The bays of one terminal for both modes; switching mode keeps the other mode's plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CurbSlots {
    regional: BTreeMap<Region, u16>,
    all: u16,
}

impl CurbSlots {
    /// [`DEFAULT_CURB_SLOTS_PER_LINE`] for every configured region and for `all`.
    pub fn defaults(rules: &JointZoneRules) -> Self {
        CurbSlots {
            regional: rules
                .regions()
                .map(|r| (r.clone(), DEFAULT_CURB_SLOTS_PER_LINE))
                .collect(),
            all: DEFAULT_CURB_SLOTS_PER_LINE,
        }
    }

    /// The regional plan: bays per region (for each class line of the region).
    pub fn regional(&self) -> &BTreeMap<Region, u16> {
        &self.regional
    }

    /// The integrated plan: bays for each class line.
    pub fn all(&self) -> u16 {
        self.all
    }

    /// Replaces the plan of the plan's mode, after checking it; on error nothing changes.
    pub fn apply(&mut self, plan: &SlotPlan, rules: &JointZoneRules) -> Result<(), DispatchError> {
        let too_many = |n: u16| DispatchError::InvalidSlots {
            reason: format!("{n} is more than {MAX_CURB_SLOTS_PER_LINE} bays"),
        };
        match plan {
            SlotPlan::Integrated(n) => {
                if *n > MAX_CURB_SLOTS_PER_LINE {
                    return Err(too_many(*n));
                }
                self.all = *n;
            }
            SlotPlan::Regional(per_region) => {
                for (region, n) in per_region {
                    if !rules.is_known(region) {
                        return Err(DispatchError::InvalidSlots {
                            reason: format!("region {region} is not configured"),
                        });
                    }
                    if *n > MAX_CURB_SLOTS_PER_LINE {
                        return Err(too_many(*n));
                    }
                }
                self.regional = per_region.clone();
            }
        }
        Ok(())
    }

    /// The bays a line has.
    pub fn for_line(&self, line: &LineKey) -> u16 {
        match &line.scope {
            LineScope::All => self.all,
            LineScope::Region(r) => self.regional.get(r).copied().unwrap_or(0),
        }
    }

    /// The scopes that have bays under `mode`.
    pub fn open_scopes(&self, mode: DispatchMode) -> Vec<LineScope> {
        match mode {
            DispatchMode::Integrated if self.all > 0 => vec![LineScope::All],
            DispatchMode::Integrated => Vec::new(),
            DispatchMode::Regional => self
                .regional
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(r, _)| LineScope::Region(r.clone()))
                .collect(),
        }
    }

    /// The plan of `mode` in the API's shape.
    pub fn as_api(&self, mode: DispatchMode) -> BTreeMap<String, u16> {
        match mode {
            DispatchMode::Integrated => BTreeMap::from([(ALL_REGIONS.to_owned(), self.all)]),
            DispatchMode::Regional => self.regional.iter().map(|(r, n)| (r.to_string(), *n)).collect(),
        }
    }
}

/// The lowest bay in `1..=slots` not in `taken`, or `None` when `taken` already fills the line.
pub fn free_bay(slots: u16, taken: &[u16]) -> Option<u16> {
    if taken.len() >= usize::from(slots) {
        return None;
    }
    (1..=slots).find(|b| !taken.contains(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_plans_are_checked() {
        let all = BTreeMap::from([("all".to_owned(), 3)]);
        assert_eq!(
            SlotPlan::from_api(DispatchMode::Integrated, &all),
            Ok(SlotPlan::Integrated(3))
        );
        assert!(SlotPlan::from_api(DispatchMode::Regional, &all).is_err());
        let regional = BTreeMap::from([("Seoul".to_owned(), 2)]);
        assert!(SlotPlan::from_api(DispatchMode::Integrated, &regional).is_err());
        let plan = SlotPlan::from_api(DispatchMode::Regional, &regional).unwrap();
        assert_eq!(plan.mode(), DispatchMode::Regional);
        let huge = BTreeMap::from([("all".to_owned(), 65)]);
        assert!(SlotPlan::from_api(DispatchMode::Integrated, &huge).is_err());

        let rules = JointZoneRules::default();
        let mut slots = CurbSlots::defaults(&rules);
        let busan = SlotPlan::Regional(BTreeMap::from([(Region::parse("busan").unwrap(), 1)]));
        assert!(slots.apply(&busan, &rules).is_err());
        assert_eq!(slots, CurbSlots::defaults(&rules));
        slots.apply(&plan, &rules).unwrap();
        assert_eq!(slots.open_scopes(DispatchMode::Regional).len(), 1);
        assert_eq!(
            slots.as_api(DispatchMode::Integrated)["all"],
            DEFAULT_CURB_SLOTS_PER_LINE
        );
    }

    #[test]
    fn free_bay_takes_the_lowest_number_left() {
        assert_eq!(free_bay(3, &[]), Some(1));
        assert_eq!(free_bay(3, &[1, 3]), Some(2));
        assert_eq!(free_bay(2, &[1, 1]), None);
        assert_eq!(free_bay(2, &[5]), Some(1));
        assert_eq!(free_bay(0, &[]), None);
    }
}
