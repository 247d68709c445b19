//! Occupancy: the last count of every area and which guidance cameras are out of service, and
//! what a guidance sign may show of them.
//!
//! Pure (time comes in as `now`). An area is **known** when its camera is in service and has
//! reported since it last went out of service; otherwise it is **unknown**, and its bays are
//! counted as unknown, never with its last numbers (DOMAIN.md's failover table). Every change
//! answers the sites whose view changed, so the actor publishes only what changed.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::area::{AreaDirectory, AreaError, AreaSpec, Name};
use super::report::Reading;
use super::view::{AreaState, AreaView, SiteView, UnknownReason, ZoneView};
use crate::time::Millis;

/// One area's last count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Count {
    free: u32,
    total: u32,
    at: Millis,
}

/// What a sign may show of one area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Visible {
    Known { free: u32, total: u32 },
    Unknown(UnknownReason),
}

/// The occupancy book of every area.
#[derive(Debug, Default)]
pub struct Occupancy {
    directory: AreaDirectory,
    counts: HashMap<Name, Count>,
    /// Cameras down, unreachable, in maintenance, flapping or quarantined.
    out_of_service: HashSet<String>,
}

impl Occupancy {
    pub fn new(directory: AreaDirectory) -> Occupancy {
        Occupancy {
            directory,
            ..Occupancy::default()
        }
    }

    pub fn directory(&self) -> &AreaDirectory {
        &self.directory
    }

    /// Adds a configured area (unknown until its camera reports).
    pub fn add_area(&mut self, area: AreaSpec) -> Result<(), AreaError> {
        self.directory.add(area)
    }

    fn visible(&self, area: &AreaSpec) -> Visible {
        if self.out_of_service.contains(&area.camera_id) {
            return Visible::Unknown(UnknownReason::CameraOutOfService);
        }
        match self.counts.get(area.id.as_str()) {
            Some(c) => Visible::Known {
                free: c.free,
                total: c.total,
            },
            None => Visible::Unknown(UnknownReason::NoReport),
        }
    }

    /// Records checked readings; answers the sites whose view changed.
    pub fn apply(&mut self, readings: &[Reading], now: Millis) -> BTreeSet<Name> {
        let mut changed = BTreeSet::new();
        for r in readings {
            let Some(area) = self.directory.get(r.area.as_str()) else {
                continue;
            };
            let before = self.visible(area);
            self.counts.insert(
                r.area.clone(),
                Count {
                    free: r.free,
                    total: r.total,
                    at: now,
                },
            );
            if self.visible(area) != before {
                changed.insert(area.site.clone());
            }
        }
        changed
    }

    /// A camera went out of service (`in_service` false) or came back; answers the sites
    /// whose view changed. Out of service drops its areas' counts at once: they come back with
    /// the camera's next report, not with the numbers it had before.
    pub fn camera(&mut self, camera: &str, in_service: bool) -> BTreeSet<Name> {
        let areas: Vec<AreaSpec> = self
            .directory
            .of_camera(camera)
            .iter()
            .filter_map(|id| self.directory.get(id.as_str()).cloned())
            .collect();
        let before: Vec<Visible> = areas.iter().map(|a| self.visible(a)).collect();
        if in_service {
            self.out_of_service.remove(camera);
        } else if self.out_of_service.insert(camera.to_owned()) {
            for area in &areas {
                self.counts.remove(area.id.as_str());
            }
        }
        areas
            .iter()
            .zip(before)
            .filter(|(area, before)| self.visible(area) != *before)
            .map(|(area, _)| area.site.clone())
            .collect()
    }

    /// Is `camera` out of service as far as this book knows?
    pub fn is_out_of_service(&self, camera: &str) -> bool {
        self.out_of_service.contains(camera)
    }

    fn area_view(&self, area: &AreaSpec) -> AreaView {
        let (state, free, total, reason) = match self.visible(area) {
            Visible::Known { free, total } => (AreaState::Known, Some(free), total, None),
            Visible::Unknown(reason) => (AreaState::Unknown, None, area.total, Some(reason)),
        };
        AreaView {
            id: area.id.to_string(),
            zone: area.zone.to_string(),
            camera_id: area.camera_id.clone(),
            state,
            free,
            total,
            unknown_reason: reason,
            reported_ms: self.counts.get(area.id.as_str()).map(|c| c.at.0),
        }
    }

    /// The view of every site (or the one named), with its zones (or the one named) and areas.
    /// Sites and zones are in name order; a site or zone with no area matching is left out.
    pub fn view(&self, site: Option<&str>, zone: Option<&str>) -> Vec<SiteView> {
        let mut sites: Vec<SiteView> = Vec::new();
        let mut areas: Vec<&AreaSpec> = self
            .directory
            .iter()
            .filter(|a| site.is_none_or(|s| a.site.as_str() == s) && zone.is_none_or(|z| a.zone.as_str() == z))
            .collect();
        areas.sort_by(|a, b| (&a.site, &a.zone, &a.id).cmp(&(&b.site, &b.zone, &b.id)));
        for area in areas {
            let view = self.area_view(area);
            if sites.last().is_none_or(|s| s.site != area.site.as_str()) {
                sites.push(SiteView::empty(area.site.as_str()));
            }
            let site_view = sites.last_mut().expect("pushed above");
            if site_view.zones.last().is_none_or(|z| z.zone != area.zone.as_str()) {
                site_view.zones.push(ZoneView::empty(area.zone.as_str()));
            }
            site_view.count(&view);
            site_view.zones.last_mut().expect("pushed above").push(view);
        }
        sites
    }

    /// The view of one site, as published on its topic (`None`: the site has no area).
    pub fn site(&self, site: &str) -> Option<SiteView> {
        self.view(Some(site), None).pop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book() -> Occupancy {
        Occupancy::new(AreaDirectory::new([
            AreaSpec::new("A1", "T1", "short", 40, "cam-1").unwrap(),
            AreaSpec::new("A2", "T1", "short", 20, "cam-1").unwrap(),
            AreaSpec::new("A3", "T1", "long", 100, "cam-2").unwrap(),
            AreaSpec::new("B1", "T2", "long", 50, "cam-3").unwrap(),
        ]))
    }

    fn reading(area: &str, free: u32, total: u32) -> Reading {
        Reading {
            area: Name::parse("area id", area).unwrap(),
            free,
            total,
        }
    }

    fn names(sites: BTreeSet<Name>) -> Vec<String> {
        sites.into_iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn areas_are_unknown_until_reported_and_sum_up_per_zone_and_site() {
        let mut b = book();
        let t1 = b.site("T1").unwrap();
        assert_eq!(
            (t1.free, t1.known_bays, t1.unknown_bays, t1.unknown_areas),
            (0, 0, 160, 3)
        );
        assert_eq!(t1.total, 160);
        let changed = b.apply(&[reading("A1", 12, 40), reading("A3", 30, 98)], Millis(5));
        assert_eq!(names(changed), ["T1"]);
        let t1 = b.site("T1").unwrap();
        assert_eq!(
            (t1.free, t1.known_bays, t1.unknown_bays, t1.unknown_areas),
            (42, 138, 20, 1)
        );
        assert_eq!(t1.total, 158);
        let short = &t1.zones[1];
        assert_eq!(short.zone, "short");
        assert_eq!(
            (short.free, short.known_bays, short.unknown_bays, short.unknown_areas),
            (12, 40, 20, 1)
        );
        let a2 = &short.areas[1];
        assert_eq!((a2.id.as_str(), a2.state, a2.free), ("A2", AreaState::Unknown, None));
        assert_eq!(a2.unknown_reason, Some(UnknownReason::NoReport));
        assert_eq!(short.areas[0].reported_ms, Some(5));
    }

    #[test]
    fn the_same_count_again_changes_nothing() {
        let mut b = book();
        assert_eq!(names(b.apply(&[reading("A1", 12, 40)], Millis(1))), ["T1"]);
        assert!(b.apply(&[reading("A1", 12, 40)], Millis(2)).is_empty());
        assert_eq!(names(b.apply(&[reading("A1", 11, 40)], Millis(3))), ["T1"]);
    }

    #[test]
    fn a_camera_out_of_service_makes_its_areas_unknown_at_once_and_its_next_report_brings_them_back() {
        let mut b = book();
        b.apply(
            &[reading("A1", 12, 40), reading("A2", 5, 20), reading("A3", 30, 100)],
            Millis(1),
        );
        assert_eq!(names(b.camera("cam-1", false)), ["T1"]);
        let t1 = b.site("T1").unwrap();
        assert_eq!((t1.free, t1.unknown_bays, t1.unknown_areas), (30, 60, 2));
        let a1 = &t1.zones[1].areas[0];
        assert_eq!((a1.state, a1.free), (AreaState::Unknown, None));
        assert_eq!(a1.unknown_reason, Some(UnknownReason::CameraOutOfService));
        // Twice out of service is one change.
        assert!(b.camera("cam-1", false).is_empty());
        // Back in service: still unknown (never the last numbers) until it reports again; only
        // the reason changes.
        assert_eq!(names(b.camera("cam-1", true)), ["T1"]);
        let t1 = b.site("T1").unwrap();
        assert_eq!(
            (t1.unknown_areas, t1.zones[1].areas[0].unknown_reason),
            (2, Some(UnknownReason::NoReport))
        );
        assert_eq!(names(b.apply(&[reading("A1", 9, 40)], Millis(2))), ["T1"]);
        let t1 = b.site("T1").unwrap();
        assert_eq!((t1.free, t1.unknown_areas), (39, 1));
    }

    #[test]
    fn a_report_while_out_of_service_counts_once_the_camera_is_back() {
        let mut b = book();
        b.camera("cam-2", false);
        assert!(b.apply(&[reading("A3", 30, 100)], Millis(1)).is_empty());
        assert_eq!(b.site("T1").unwrap().free, 0);
        assert_eq!(names(b.camera("cam-2", true)), ["T1"]);
        assert_eq!(b.site("T1").unwrap().free, 30);
    }

    #[test]
    fn the_view_filters_by_site_and_zone() {
        let mut b = book();
        b.apply(&[reading("B1", 7, 50)], Millis(1));
        assert_eq!(b.view(None, None).len(), 2);
        let long = b.view(None, Some("long"));
        assert_eq!(long.len(), 2);
        assert!(long.iter().all(|s| s.zones.len() == 1 && s.zones[0].zone == "long"));
        let t2 = b.view(Some("T2"), None);
        assert_eq!((t2.len(), t2[0].free), (1, 7));
        assert!(b.view(Some("T9"), None).is_empty());
        assert!(
            b.camera("cam-9", false).is_empty(),
            "a camera with no area changes nothing"
        );
    }
}
