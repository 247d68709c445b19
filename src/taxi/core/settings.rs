//! The taxi settings an operator gives in the environment, read into the cores' types: the
//! terminals, the configured regions and joint zones, and the dispatch timings.
//!
//! Pure: takes the raw text (from [`crate::config::Config`]) and answers a [`TaxiSettings`] or a
//! message saying which setting is wrong, so a bad setting stops the server at start, not later.

use std::time::Duration;

use super::model::{Region, TerminalId};
use super::rules::{DispatchConfig, JointPair, JointZoneRules, NoShowPolicy};

/// Most terminals one server runs dispatchers for.
pub const MAX_TERMINALS: usize = 16;

/// The raw settings, as text and numbers from the environment.
#[derive(Debug, Clone, PartialEq)]
pub struct RawSettings<'a> {
    /// Comma-separated terminal ids (`T1,T2`).
    pub terminals: &'a str,
    /// Comma-separated region names.
    pub regions: &'a str,
    /// Comma-separated `licence:service` pairs (`gyeonggi:seoul`); `a<>b` for both ways.
    pub joint_zones: &'a str,
    pub suspend_after_ms: u64,
    pub removal_grace_ms: u64,
    pub short_trip_km: f64,
    pub priority_reentry_ms: u64,
    /// Fraction of a request's distance the completed one may differ by (priority rule).
    pub trip_distance_tolerance: f64,
    /// Fastest average speed (km/h) a short trip and the drive back can be made at.
    pub max_trip_speed_kmh: f64,
    /// `keep_ticket` or `back_of_line`.
    pub no_show_policy: &'a str,
}

/// Everything the taxi service starts with.
#[derive(Debug, Clone, PartialEq)]
pub struct TaxiSettings {
    pub terminals: Vec<TerminalId>,
    pub rules: JointZoneRules,
    pub dispatch: DispatchConfig,
}

fn names(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').map(str::trim).filter(|s| !s.is_empty())
}

impl RawSettings<'_> {
    /// Reads and checks every setting.
    pub fn parse(&self) -> Result<TaxiSettings, String> {
        let mut terminals = Vec::new();
        for name in names(self.terminals) {
            let t = TerminalId::parse(name).map_err(|e| format!("KWANJE_TERMINALS: {e}"))?;
            if !terminals.contains(&t) {
                terminals.push(t);
            }
        }
        if terminals.is_empty() || terminals.len() > MAX_TERMINALS {
            return Err(format!("KWANJE_TERMINALS: name 1 to {MAX_TERMINALS} terminals"));
        }
        let regions = names(self.regions)
            .map(Region::parse)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("KWANJE_TAXI_REGIONS: {e}"))?;
        let mut pairs = Vec::new();
        for pair in names(self.joint_zones) {
            let bad = |why: String| format!("KWANJE_TAXI_JOINT_ZONES: {pair:?}: {why}");
            let (both, (a, b)) = match pair.split_once("<>") {
                Some(split) => (true, split),
                None => (
                    false,
                    pair.split_once(':').ok_or_else(|| bad("use licence:service".into()))?,
                ),
            };
            let a = Region::parse(a).map_err(|e| bad(e.to_string()))?;
            let b = Region::parse(b).map_err(|e| bad(e.to_string()))?;
            if both {
                pairs.extend(JointPair::both_ways(a, b));
            } else {
                pairs.push(JointPair { licence: a, service: b });
            }
        }
        let rules = JointZoneRules::new(regions, pairs).map_err(|e| format!("KWANJE_TAXI_REGIONS: {e}"))?;
        let no_show_policy = match self.no_show_policy.trim() {
            "keep_ticket" => NoShowPolicy::KeepTicket,
            "back_of_line" => NoShowPolicy::BackOfLine,
            other => {
                return Err(format!(
                    "KWANJE_TAXI_NO_SHOW_POLICY: {other:?}: use keep_ticket or back_of_line"
                ))
            }
        };
        let dispatch = DispatchConfig {
            short_trip_km: self.short_trip_km,
            priority_reentry_limit: Duration::from_millis(self.priority_reentry_ms),
            trip_distance_tolerance: self.trip_distance_tolerance,
            max_trip_speed_kmh: self.max_trip_speed_kmh,
            suspend_after_silence: Duration::from_millis(self.suspend_after_ms),
            removal_grace: Duration::from_millis(self.removal_grace_ms),
            no_show_policy,
            ..DispatchConfig::default()
        };
        dispatch.validate().map_err(|e| format!("taxi settings: {e}"))?;
        Ok(TaxiSettings {
            terminals,
            rules,
            dispatch,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawSettings<'static> {
        RawSettings {
            terminals: "t1, T2,T1",
            regions: "seoul,incheon,gyeonggi",
            joint_zones: "gyeonggi:seoul, incheon<>seoul",
            suspend_after_ms: 30_000,
            removal_grace_ms: 120_000,
            short_trip_km: 10.0,
            priority_reentry_ms: 3_600_000,
            trip_distance_tolerance: 0.5,
            max_trip_speed_kmh: 80.0,
            no_show_policy: "keep_ticket",
        }
    }

    fn r(s: &str) -> Region {
        Region::parse(s).unwrap()
    }

    #[test]
    fn defaults_read_into_the_cores_types() {
        let s = raw().parse().unwrap();
        assert_eq!(s.terminals.len(), 2);
        assert_eq!(s.terminals[0].as_str(), "T1");
        assert!(s.rules.allows(&r("gyeonggi"), &r("seoul")));
        assert!(!s.rules.allows(&r("seoul"), &r("gyeonggi")));
        assert!(s.rules.allows(&r("seoul"), &r("incheon")) && s.rules.allows(&r("incheon"), &r("seoul")));
        assert_eq!(s.dispatch, DispatchConfig::default());
    }

    #[test]
    fn bad_settings_name_themselves() {
        let bad = |f: fn(&mut RawSettings<'static>)| {
            let mut r = raw();
            f(&mut r);
            r.parse().unwrap_err()
        };
        assert!(bad(|r| r.terminals = " ,").contains("KWANJE_TERMINALS"));
        assert!(bad(|r| r.terminals = "T/1").contains("KWANJE_TERMINALS"));
        assert!(bad(|r| r.regions = "").contains("KWANJE_TAXI_REGIONS"));
        assert!(bad(|r| r.joint_zones = "seoul").contains("KWANJE_TAXI_JOINT_ZONES"));
        assert!(bad(|r| r.joint_zones = "seoul:busan").contains("KWANJE_TAXI_REGIONS"));
        assert!(bad(|r| r.no_show_policy = "forgive").contains("KWANJE_TAXI_NO_SHOW_POLICY"));
        assert!(bad(|r| r.removal_grace_ms = 0).contains("removal_grace"));
        assert_eq!(
            {
                let mut r = raw();
                r.no_show_policy = "back_of_line";
                r.parse().unwrap().dispatch.no_show_policy
            },
            NoShowPolicy::BackOfLine
        );
    }
}
