//! The nearest working payment kiosk of a zone (DOMAIN.md's failover table: "a down payment
//! kiosk sends customers to the nearest working one"), and which zones' answers a kiosk's
//! change moved, for the guidance signs.
//!
//! Devices carry no coordinates; they carry a site and a zone. "Nearest" is therefore by
//! placement: a working kiosk of the zone itself, else one of the zone's site, else any working
//! kiosk of the airport; among equals the lowest id, so every node and every sign gives the same
//! answer. A kiosk works only while it is `up`: one that was never heard from does not take a
//! customer's card.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use utoipa::ToSchema;

/// A payment kiosk as the registry holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kiosk {
    pub id: String,
    pub site: Option<String>,
    pub zone: Option<String>,
    /// Up (heard from and healthy).
    pub working: bool,
}

/// How near the kiosk named is to the zone asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    /// In the zone itself.
    SameZone,
    /// Elsewhere on the zone's site.
    SameSite,
    /// On another site.
    OtherSite,
}

/// The kiosk a sign or a kiosk's screen sends a customer to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct NearestKiosk {
    pub id: String,
    pub site: Option<String>,
    pub zone: Option<String>,
    pub placement: Placement,
}

/// The answer for one zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ZoneKiosk {
    pub zone: String,
    /// The zone's site (from its areas or its kiosks), when known.
    pub site: Option<String>,
    /// The nearest working kiosk; absent when no payment kiosk works anywhere.
    pub kiosk: Option<NearestKiosk>,
    /// The zone's own kiosks that do not work now, by id.
    pub down: Vec<String>,
}

/// A zone (and the site it is on, when known) that signs show a kiosk for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ZonePlace {
    pub site: Option<String>,
    pub zone: String,
}

fn placement(kiosk: &Kiosk, place: &ZonePlace) -> Placement {
    if kiosk.zone.as_deref() == Some(place.zone.as_str())
        && (place.site.is_none() || kiosk.site.is_none() || kiosk.site == place.site)
    {
        Placement::SameZone
    } else if place.site.is_some() && kiosk.site == place.site {
        Placement::SameSite
    } else {
        Placement::OtherSite
    }
}

/// The nearest working kiosk for `place`, and the zone's own kiosks that are down.
pub fn nearest(kiosks: &[Kiosk], place: &ZonePlace) -> ZoneKiosk {
    let kiosk = kiosks
        .iter()
        .filter(|k| k.working)
        .map(|k| (placement(k, place), k))
        .min_by(|(pa, a), (pb, b)| pa.cmp(pb).then_with(|| a.id.cmp(&b.id)))
        .map(|(placement, k)| NearestKiosk {
            id: k.id.clone(),
            site: k.site.clone(),
            zone: k.zone.clone(),
            placement,
        });
    let mut down: Vec<String> = kiosks
        .iter()
        .filter(|k| !k.working && placement(k, place) == Placement::SameZone)
        .map(|k| k.id.clone())
        .collect();
    down.sort();
    ZoneKiosk {
        zone: place.zone.clone(),
        site: place.site.clone(),
        kiosk,
        down,
    }
}

/// The zones signs show a kiosk for: those of the configured areas (with their site) and those
/// the kiosks are placed in.
pub fn places(areas: impl IntoIterator<Item = ZonePlace>, kiosks: &[Kiosk]) -> BTreeSet<ZonePlace> {
    let mut out: BTreeSet<ZonePlace> = areas.into_iter().collect();
    for k in kiosks {
        if let Some(zone) = &k.zone {
            let known = out
                .iter()
                .any(|p| &p.zone == zone && (k.site.is_none() || p.site == k.site));
            if !known {
                out.insert(ZonePlace {
                    site: k.site.clone(),
                    zone: zone.clone(),
                });
            }
        }
    }
    out
}

/// The last answer given for every zone, to tell which sites a kiosk's change moved.
#[derive(Debug, Default)]
pub struct KioskSigns {
    last: BTreeMap<ZonePlace, ZoneKiosk>,
}

impl KioskSigns {
    /// Recomputes every zone's answer; returns the sites (`None`: zones without a site) whose
    /// answers changed, each with the answers for all of its zones, in zone order.
    pub fn update(
        &mut self,
        places: &BTreeSet<ZonePlace>,
        kiosks: &[Kiosk],
    ) -> BTreeMap<Option<String>, Vec<ZoneKiosk>> {
        let now: BTreeMap<ZonePlace, ZoneKiosk> = places.iter().map(|p| (p.clone(), nearest(kiosks, p))).collect();
        let mut moved: BTreeSet<Option<String>> = BTreeSet::new();
        for (place, answer) in &now {
            if self.last.get(place) != Some(answer) {
                moved.insert(place.site.clone());
            }
        }
        for place in self.last.keys() {
            if !now.contains_key(place) {
                moved.insert(place.site.clone());
            }
        }
        self.last = now;
        moved
            .into_iter()
            .map(|site| {
                let zones = self
                    .last
                    .iter()
                    .filter(|(p, _)| p.site == site)
                    .map(|(_, a)| a.clone())
                    .collect();
                (site, zones)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kiosk(id: &str, site: &str, zone: &str, working: bool) -> Kiosk {
        Kiosk {
            id: id.into(),
            site: Some(site.into()),
            zone: Some(zone.into()),
            working,
        }
    }

    fn place(site: &str, zone: &str) -> ZonePlace {
        ZonePlace {
            site: Some(site.into()),
            zone: zone.into(),
        }
    }

    #[test]
    fn the_zones_own_working_kiosk_comes_first_then_the_site_then_anywhere() {
        let mut kiosks = vec![
            kiosk("K-9", "T2", "P9", true),
            kiosk("K-5", "T1", "P2", true),
            kiosk("K-2", "T1", "P1", true),
            kiosk("K-1", "T1", "P1", true),
        ];
        let p1 = place("T1", "P1");
        let a = nearest(&kiosks, &p1);
        assert_eq!(
            a.kiosk.as_ref().map(|k| (k.id.as_str(), k.placement)),
            Some(("K-1", Placement::SameZone))
        );
        assert!(a.down.is_empty());

        kiosks[3].working = false;
        let a = nearest(&kiosks, &p1);
        assert_eq!(
            a.kiosk.as_ref().map(|k| k.id.as_str()),
            Some("K-2"),
            "the lowest id among equals"
        );
        assert_eq!(a.down, vec!["K-1".to_owned()]);

        kiosks[2].working = false;
        let a = nearest(&kiosks, &p1);
        assert_eq!(
            a.kiosk.as_ref().map(|k| (k.id.as_str(), k.placement)),
            Some(("K-5", Placement::SameSite))
        );
        assert_eq!(a.down, vec!["K-1".to_owned(), "K-2".to_owned()]);

        kiosks[1].working = false;
        let a = nearest(&kiosks, &p1);
        assert_eq!(
            a.kiosk.as_ref().map(|k| (k.id.as_str(), k.placement)),
            Some(("K-9", Placement::OtherSite))
        );

        kiosks[0].working = false;
        assert_eq!(nearest(&kiosks, &p1).kiosk, None, "none works anywhere");
    }

    #[test]
    fn a_zone_of_the_same_name_on_another_site_is_not_the_same_zone() {
        let kiosks = vec![kiosk("K-1", "T2", "P1", true), kiosk("K-7", "T1", "P4", true)];
        let a = nearest(&kiosks, &place("T1", "P1"));
        assert_eq!(
            a.kiosk.map(|k| (k.id, k.placement)),
            Some(("K-7".into(), Placement::SameSite))
        );
    }

    #[test]
    fn places_are_the_areas_zones_and_the_kiosks_zones_once() {
        let kiosks = vec![kiosk("K-1", "T1", "P1", true), kiosk("K-2", "T1", "P7", true)];
        let got = places([place("T1", "P1"), place("T1", "P2")], &kiosks);
        let zones: Vec<&str> = got.iter().map(|p| p.zone.as_str()).collect();
        assert_eq!(zones, vec!["P1", "P2", "P7"]);
    }

    #[test]
    fn signs_hear_of_a_site_only_when_one_of_its_answers_moved() {
        let mut kiosks = vec![
            kiosk("K-1", "T1", "P1", true),
            kiosk("K-2", "T1", "P2", true),
            kiosk("K-8", "T2", "Q1", true),
        ];
        let places = places([], &kiosks);
        let mut signs = KioskSigns::default();
        let first = signs.update(&places, &kiosks);
        assert_eq!(first.len(), 2, "every site is news the first time");
        assert!(signs.update(&places, &kiosks).is_empty(), "nothing moved");

        kiosks[0].working = false;
        let moved = signs.update(&places, &kiosks);
        let t1 = moved.get(&Some("T1".to_owned())).expect("T1 moved");
        assert_eq!(moved.len(), 1, "T2's answer is the same");
        assert_eq!(t1.len(), 2, "the whole site is published");
        let p1 = t1.iter().find(|z| z.zone == "P1").unwrap();
        assert_eq!(p1.kiosk.as_ref().map(|k| k.id.as_str()), Some("K-2"));
        assert_eq!(p1.down, vec!["K-1".to_owned()]);

        kiosks[0].working = true;
        let moved = signs.update(&places, &kiosks);
        let p1 = moved[&Some("T1".to_owned())]
            .iter()
            .find(|z| z.zone == "P1")
            .cloned()
            .unwrap();
        assert_eq!(p1.kiosk.map(|k| k.id), Some("K-1".to_owned()), "back to its own kiosk");
    }
}
