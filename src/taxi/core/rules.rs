//! The rules a dispatcher applies that operators configure: which service regions a licence
//! region allows (the airport's joint-zone rules) and the dispatch timings and thresholds.
//!
//! Joint-zone rules: every configured region allows itself; a [`JointPair`] additionally lets
//! taxis licensed in one region serve another. Pairs are directional (a joint zone that works
//! both ways is two pairs, see [`JointPair::both_ways`]). A licence region that is not configured
//! allows only the regions its pairs name. Refusals are [`RuleError`]s, mapped to 422.
//!
//! This module owns no state that changes at run time and knows nothing of lines or taxis.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::model::Region;

/// The regions configured when the operator names none (API.md).
pub const DEFAULT_REGIONS: [&str; 3] = ["seoul", "incheon", "gyeonggi"];
/// Most regions one airport may configure.
pub const MAX_REGIONS: usize = 64;
/// Trips shorter than this arm a priority re-entry.
pub const DEFAULT_SHORT_TRIP_KM: f64 = 10.0;
/// How long after completing a short trip the taxi may re-enter the lot with priority.
pub const DEFAULT_PRIORITY_REENTRY_LIMIT: Duration = Duration::from_secs(60 * 60);
/// A short trip arms a priority only when the distance reported at completion agrees with the
/// request's within this fraction of it (or [`MIN_DISTANCE_TOLERANCE_KM`], whichever is larger).
pub const DEFAULT_TRIP_DISTANCE_TOLERANCE: f64 = 0.5;
/// The least disagreement between a request's distance and a completed one always allowed.
pub const MIN_DISTANCE_TOLERANCE_KM: f64 = 1.0;
/// The fastest average speed a trip and the drive back can be made at: a priority re-entry
/// sooner after the pickup than twice the request's distance at this speed is refused.
pub const DEFAULT_MAX_TRIP_SPEED_KMH: f64 = 80.0;
/// Highest speed setting accepted.
pub const MAX_TRIP_SPEED_KMH: f64 = 300.0;
/// A waiting taxi whose driver app has been silent this long is suspended (keeps its place).
pub const DEFAULT_SUSPEND_AFTER_SILENCE: Duration = Duration::from_secs(30);
/// A suspended taxi still silent this long after its suspension is removed from its line.
pub const DEFAULT_REMOVAL_GRACE: Duration = Duration::from_secs(2 * 60);
/// A picked-up trip not completed within this time is abandoned (frees its memory).
pub const DEFAULT_OPEN_TRIP_TTL: Duration = Duration::from_secs(6 * 60 * 60);
/// Longest trip distance accepted as input; anything above is a typing or resolver error.
pub const MAX_TRIP_KM: f64 = 1_000.0;
/// Longest duration any setting may take, so that time arithmetic stays far from overflow.
pub const MAX_SETTING_DURATION: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Why a rule or a setting refused something.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuleError {
    #[error("region {region} is not configured")]
    UnknownRegion { region: Region },
    #[error("a taxi licensed in {licence} may not serve {service}")]
    NotAllowed { licence: Region, service: Region },
    #[error("no region is configured")]
    NoRegions,
    #[error("more than {max} regions configured")]
    TooManyRegions { max: usize },
    #[error("invalid setting {field}: {reason}")]
    InvalidSetting { field: &'static str, reason: String },
}

/// Taxis licensed in `licence` may serve `service`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct JointPair {
    pub licence: Region,
    pub service: Region,
}

impl JointPair {
    /// A joint zone that works both ways: `a` may serve `b` and `b` may serve `a`.
    pub fn both_ways(a: Region, b: Region) -> [JointPair; 2] {
        [
            JointPair {
                licence: a.clone(),
                service: b.clone(),
            },
            JointPair { licence: b, service: a },
        ]
    }
}

/// The configured regions and the joint pairs between them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JointZoneRules {
    regions: BTreeSet<Region>,
    joint: BTreeSet<JointPair>,
}

impl JointZoneRules {
    /// Builds the rules; every service region a pair names must be configured.
    pub fn new(
        regions: impl IntoIterator<Item = Region>,
        joint: impl IntoIterator<Item = JointPair>,
    ) -> Result<Self, RuleError> {
        let regions: BTreeSet<Region> = regions.into_iter().take(MAX_REGIONS + 1).collect();
        if regions.is_empty() {
            return Err(RuleError::NoRegions);
        }
        if regions.len() > MAX_REGIONS {
            return Err(RuleError::TooManyRegions { max: MAX_REGIONS });
        }
        let mut pairs = BTreeSet::new();
        for pair in joint {
            if !regions.contains(&pair.service) {
                return Err(RuleError::UnknownRegion { region: pair.service });
            }
            if pair.licence != pair.service {
                pairs.insert(pair);
            }
        }
        Ok(JointZoneRules { regions, joint: pairs })
    }

    pub fn is_known(&self, region: &Region) -> bool {
        self.regions.contains(region)
    }

    /// The configured regions, in name order.
    pub fn regions(&self) -> impl Iterator<Item = &Region> {
        self.regions.iter()
    }

    pub fn joint_pairs(&self) -> impl Iterator<Item = &JointPair> {
        self.joint.iter()
    }

    /// Whether a taxi licensed in `licence` may choose `service` as its service region.
    pub fn allows(&self, licence: &Region, service: &Region) -> bool {
        self.check(licence, service).is_ok()
    }

    /// The same as [`Self::allows`], with the reason for a refusal.
    pub fn check(&self, licence: &Region, service: &Region) -> Result<(), RuleError> {
        if !self.regions.contains(service) {
            return Err(RuleError::UnknownRegion {
                region: service.clone(),
            });
        }
        let joint = JointPair {
            licence: licence.clone(),
            service: service.clone(),
        };
        if licence == service || self.joint.contains(&joint) {
            Ok(())
        } else {
            Err(RuleError::NotAllowed {
                licence: licence.clone(),
                service: service.clone(),
            })
        }
    }

    /// Every service region a licence allows, in name order (for the driver app's picker).
    pub fn allowed_service_regions(&self, licence: &Region) -> Vec<Region> {
        self.regions
            .iter()
            .filter(|s| self.allows(licence, s))
            .cloned()
            .collect()
    }
}

impl Default for JointZoneRules {
    /// The default regions, each allowing only itself.
    fn default() -> Self {
        let regions = DEFAULT_REGIONS
            .iter()
            .filter_map(|name| Region::parse(name).ok())
            .collect();
        JointZoneRules {
            regions,
            joint: BTreeSet::new(),
        }
    }
}

/// What happens to a taxi that did not show up for its passenger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoShowPolicy {
    /// It keeps its original ticket, so it goes back to the front of its line.
    #[default]
    KeepTicket,
    /// It gets a new ordinary ticket stamped now, at the back of its line.
    BackOfLine,
}

/// A terminal dispatcher's thresholds and timings.
#[derive(Debug, Clone, PartialEq)]
pub struct DispatchConfig {
    /// A completed trip strictly shorter than this (km) arms a priority re-entry.
    pub short_trip_km: f64,
    /// The re-entry must be seen by the lot's LPR camera within this time of the completion.
    pub priority_reentry_limit: Duration,
    /// The completed distance must agree with the request's within this fraction of it (at
    /// least [`MIN_DISTANCE_TOLERANCE_KM`]) for a short trip to arm a priority.
    pub trip_distance_tolerance: f64,
    /// A re-entry sooner after the pickup than the request's distance there and back at this
    /// average speed (km/h) is refused its priority; 0 turns the time check off.
    pub max_trip_speed_kmh: f64,
    /// Silence (no ping) after which a waiting taxi is suspended.
    pub suspend_after_silence: Duration,
    /// Time a suspended taxi keeps its place before it is removed.
    pub removal_grace: Duration,
    pub no_show_policy: NoShowPolicy,
    /// A trip picked up but not completed within this time is abandoned.
    pub open_trip_ttl: Duration,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        DispatchConfig {
            short_trip_km: DEFAULT_SHORT_TRIP_KM,
            priority_reentry_limit: DEFAULT_PRIORITY_REENTRY_LIMIT,
            trip_distance_tolerance: DEFAULT_TRIP_DISTANCE_TOLERANCE,
            max_trip_speed_kmh: DEFAULT_MAX_TRIP_SPEED_KMH,
            suspend_after_silence: DEFAULT_SUSPEND_AFTER_SILENCE,
            removal_grace: DEFAULT_REMOVAL_GRACE,
            no_show_policy: NoShowPolicy::default(),
            open_trip_ttl: DEFAULT_OPEN_TRIP_TTL,
        }
    }
}

impl DispatchConfig {
    /// Checks every setting is in range; a dispatcher refuses a config that does not pass.
    pub fn validate(&self) -> Result<(), RuleError> {
        if !(self.short_trip_km.is_finite() && self.short_trip_km > 0.0 && self.short_trip_km <= MAX_TRIP_KM) {
            return Err(RuleError::InvalidSetting {
                field: "short_trip_km",
                reason: format!("must be in (0, {MAX_TRIP_KM}]"),
            });
        }
        if !(self.trip_distance_tolerance.is_finite() && (0.0..=10.0).contains(&self.trip_distance_tolerance)) {
            return Err(RuleError::InvalidSetting {
                field: "trip_distance_tolerance",
                reason: "must be in [0, 10] (a fraction of the request's distance)".into(),
            });
        }
        if !(self.max_trip_speed_kmh.is_finite() && (0.0..=MAX_TRIP_SPEED_KMH).contains(&self.max_trip_speed_kmh)) {
            return Err(RuleError::InvalidSetting {
                field: "max_trip_speed_kmh",
                reason: format!("must be in [0, {MAX_TRIP_SPEED_KMH}] (0: no time check)"),
            });
        }
        let durations = [
            ("priority_reentry_limit", self.priority_reentry_limit),
            ("suspend_after_silence", self.suspend_after_silence),
            ("removal_grace", self.removal_grace),
            ("open_trip_ttl", self.open_trip_ttl),
        ];
        for (field, d) in durations {
            if d.is_zero() || d > MAX_SETTING_DURATION {
                return Err(RuleError::InvalidSetting {
                    field,
                    reason: format!("must be in (0, {} s]", MAX_SETTING_DURATION.as_secs()),
                });
            }
        }
        Ok(())
    }

    /// Whether a trip of this length counts as short.
    pub fn is_short_trip(&self, distance_km: f64) -> bool {
        distance_km < self.short_trip_km
    }

    /// Whether the distance reported at completion is plausible for the request's.
    pub fn distance_agrees(&self, requested_km: f64, completed_km: f64) -> bool {
        let allowed = (self.trip_distance_tolerance * requested_km).max(MIN_DISTANCE_TOLERANCE_KM);
        (completed_km - requested_km).abs() <= allowed
    }

    /// The least time a trip of `distance_km` and the drive back to the lot can take (none
    /// when the speed setting is 0: the time check is off).
    pub fn round_trip(&self, distance_km: f64) -> Duration {
        if self.max_trip_speed_kmh == 0.0 {
            return Duration::ZERO;
        }
        let hours = 2.0 * distance_km / self.max_trip_speed_kmh;
        // Both inputs are validated: finite, and at most 1,000 km at no less than a crawl.
        Duration::from_secs_f64((hours * 3600.0).clamp(0.0, MAX_SETTING_DURATION.as_secs_f64()))
    }
}

/// Checks a distance given as input (a request's or a completed trip's).
pub fn valid_distance(distance_km: f64) -> bool {
    distance_km.is_finite() && (0.0..=MAX_TRIP_KM).contains(&distance_km)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(name: &str) -> Region {
        Region::parse(name).unwrap()
    }

    #[test]
    fn default_rules_allow_each_region_itself_only() {
        let rules = JointZoneRules::default();
        assert_eq!(rules.regions().count(), 3);
        assert!(rules.allows(&r("seoul"), &r("seoul")));
        assert_eq!(
            rules.check(&r("seoul"), &r("incheon")),
            Err(RuleError::NotAllowed {
                licence: r("seoul"),
                service: r("incheon")
            })
        );
        assert_eq!(
            rules.check(&r("seoul"), &r("busan")),
            Err(RuleError::UnknownRegion { region: r("busan") })
        );
        assert!(rules.allowed_service_regions(&r("busan")).is_empty());
    }

    #[test]
    fn joint_pairs_are_directional() {
        let rules = JointZoneRules::new(
            [r("seoul"), r("incheon"), r("gyeonggi")],
            [JointPair {
                licence: r("incheon"),
                service: r("seoul"),
            }],
        )
        .unwrap();
        assert!(rules.allows(&r("incheon"), &r("seoul")));
        assert!(!rules.allows(&r("seoul"), &r("incheon")));
        assert_eq!(
            rules.allowed_service_regions(&r("incheon")),
            vec![r("incheon"), r("seoul")]
        );

        let both = JointZoneRules::new(
            [r("seoul"), r("incheon")],
            JointPair::both_ways(r("seoul"), r("incheon")),
        )
        .unwrap();
        assert!(both.allows(&r("seoul"), &r("incheon")) && both.allows(&r("incheon"), &r("seoul")));
    }

    #[test]
    fn joint_pairs_may_come_from_unconfigured_licence_regions_only() {
        let rules = JointZoneRules::new(
            [r("seoul")],
            [JointPair {
                licence: r("busan"),
                service: r("seoul"),
            }],
        )
        .unwrap();
        assert!(rules.allows(&r("busan"), &r("seoul")));
        assert_eq!(
            JointZoneRules::new(
                [r("seoul")],
                [JointPair {
                    licence: r("seoul"),
                    service: r("busan")
                }]
            ),
            Err(RuleError::UnknownRegion { region: r("busan") })
        );
        assert_eq!(JointZoneRules::new([], []), Err(RuleError::NoRegions));
    }

    #[test]
    fn config_defaults_and_validation() {
        let cfg = DispatchConfig::default();
        assert_eq!(cfg.short_trip_km, 10.0);
        assert_eq!(cfg.priority_reentry_limit, Duration::from_secs(3600));
        assert_eq!(cfg.suspend_after_silence, Duration::from_secs(30));
        assert_eq!(cfg.removal_grace, Duration::from_secs(120));
        assert_eq!(cfg.no_show_policy, NoShowPolicy::KeepTicket);
        assert!(cfg.validate().is_ok());
        assert!(cfg.is_short_trip(9.9) && !cfg.is_short_trip(10.0));
        // Half the request's distance either way, and never less than 1 km.
        assert!(cfg.distance_agrees(4.0, 6.0) && cfg.distance_agrees(4.0, 2.0));
        assert!(!cfg.distance_agrees(4.0, 6.01) && !cfg.distance_agrees(4.0, 1.99));
        assert!(cfg.distance_agrees(0.5, 1.5) && !cfg.distance_agrees(0.5, 1.51));
        // 2 x 4 km at 80 km/h: 6 minutes.
        assert_eq!(cfg.round_trip(4.0), Duration::from_secs(360));
        assert_eq!(cfg.round_trip(0.0), Duration::ZERO);
        for bad in [f64::NAN, -0.1, 10.1] {
            let c = DispatchConfig {
                trip_distance_tolerance: bad,
                ..DispatchConfig::default()
            };
            assert!(c.validate().is_err(), "tolerance {bad}");
        }
        let off = DispatchConfig {
            max_trip_speed_kmh: 0.0,
            ..DispatchConfig::default()
        };
        assert!(off.validate().is_ok());
        assert_eq!(off.round_trip(4.0), Duration::ZERO);
        for bad in [f64::NAN, -5.0, 301.0, f64::INFINITY] {
            let c = DispatchConfig {
                max_trip_speed_kmh: bad,
                ..DispatchConfig::default()
            };
            assert!(c.validate().is_err(), "speed {bad}");
        }
        let bad = DispatchConfig {
            short_trip_km: f64::NAN,
            ..DispatchConfig::default()
        };
        assert!(bad.validate().is_err());
        let bad = DispatchConfig {
            removal_grace: Duration::ZERO,
            ..DispatchConfig::default()
        };
        assert!(matches!(
            bad.validate(),
            Err(RuleError::InvalidSetting {
                field: "removal_grace",
                ..
            })
        ));
        assert!(valid_distance(0.0) && !valid_distance(-1.0) && !valid_distance(f64::INFINITY));
    }
}
