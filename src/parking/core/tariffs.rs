//! The tariff of every zone: one configured per zone, a default for the rest.
//!
//! Pure: the lookup [`super::sessions`] and the kiosks' answers use.

use std::collections::BTreeMap;

use super::tariff::Tariff;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tariffs {
    default: Tariff,
    zones: BTreeMap<String, Tariff>,
}

impl Tariffs {
    /// Every zone on `default` until one is set.
    pub fn new(default: Tariff) -> Tariffs {
        Tariffs {
            default,
            zones: BTreeMap::new(),
        }
    }

    /// The zone's tariff, or the default.
    pub fn of(&self, zone: &str) -> Tariff {
        self.zones.get(zone).copied().unwrap_or(self.default)
    }

    pub fn set(&mut self, zone: &str, tariff: Tariff) {
        self.zones.insert(zone.to_owned(), tariff);
    }

    pub fn default_tariff(&self) -> Tariff {
        self.default
    }

    /// The zones with their own tariff, by zone.
    pub fn configured(&self) -> impl Iterator<Item = (&str, Tariff)> {
        self.zones.iter().map(|(z, t)| (z.as_str(), *t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zone_without_its_own_tariff_has_the_default() {
        let mut t = Tariffs::new(Tariff::SHORT_TERM);
        t.set("P3", Tariff::LONG_TERM);
        assert_eq!(t.of("P3"), Tariff::LONG_TERM);
        assert_eq!(t.of("P1"), Tariff::SHORT_TERM);
        assert_eq!(t.configured().count(), 1);
    }
}
