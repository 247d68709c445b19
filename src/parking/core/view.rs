//! Read views of occupancy: per area, zone and site, as `GET /api/v1/parking/occupancy`
//! answers and `/topic/parking/{site}` publishes them. Data only; [`super::occupancy`] fills it.

use serde::Serialize;
use utoipa::ToSchema;

/// Whether a sign may show an area's count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AreaState {
    Known,
    Unknown,
}

/// Why an area is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnknownReason {
    /// Its camera has not reported since it was configured or came back into service.
    NoReport,
    /// Its camera is down, unreachable, in maintenance, flapping or quarantined.
    CameraOutOfService,
}

/// One area.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AreaView {
    pub id: String,
    pub zone: String,
    pub camera_id: String,
    pub state: AreaState,
    /// Free bays; absent while unknown (never a stale count).
    pub free: Option<u32>,
    /// Bays as last reported; the configured bays while unknown.
    pub total: u32,
    pub unknown_reason: Option<UnknownReason>,
    /// When the count shown was reported.
    pub reported_ms: Option<i64>,
}

/// Sums over areas: free bays and bays of the known areas, bays and areas unknown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Sums {
    free: u32,
    known_bays: u32,
    unknown_bays: u32,
    unknown_areas: u32,
}

/// One zone of a site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ZoneView {
    pub zone: String,
    /// Free bays in the known areas.
    pub free: u32,
    /// Bays of the known areas.
    pub known_bays: u32,
    /// Bays of the unknown areas (configured counts).
    pub unknown_bays: u32,
    pub unknown_areas: u32,
    /// `known_bays + unknown_bays`.
    pub total: u32,
    pub areas: Vec<AreaView>,
}

/// One site, as published on `/topic/parking/{site}` (with `type: parking.occupancy`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SiteView {
    pub site: String,
    pub free: u32,
    pub known_bays: u32,
    pub unknown_bays: u32,
    pub unknown_areas: u32,
    pub total: u32,
    pub zones: Vec<ZoneView>,
}

fn add(sums: &mut Sums, area: &AreaView) {
    match (area.state, area.free) {
        (AreaState::Known, Some(free)) => {
            sums.free += free;
            sums.known_bays += area.total;
        }
        _ => {
            sums.unknown_bays += area.total;
            sums.unknown_areas += 1;
        }
    }
}

impl ZoneView {
    pub(super) fn empty(zone: &str) -> ZoneView {
        ZoneView {
            zone: zone.to_owned(),
            free: 0,
            known_bays: 0,
            unknown_bays: 0,
            unknown_areas: 0,
            total: 0,
            areas: Vec::new(),
        }
    }

    pub(super) fn push(&mut self, area: AreaView) {
        let mut s = Sums {
            free: self.free,
            known_bays: self.known_bays,
            unknown_bays: self.unknown_bays,
            unknown_areas: self.unknown_areas,
        };
        add(&mut s, &area);
        (self.free, self.known_bays, self.unknown_bays, self.unknown_areas) =
            (s.free, s.known_bays, s.unknown_bays, s.unknown_areas);
        self.total = s.known_bays + s.unknown_bays;
        self.areas.push(area);
    }
}

impl SiteView {
    pub(super) fn empty(site: &str) -> SiteView {
        SiteView {
            site: site.to_owned(),
            free: 0,
            known_bays: 0,
            unknown_bays: 0,
            unknown_areas: 0,
            total: 0,
            zones: Vec::new(),
        }
    }

    /// Counts `area` into the site's sums (its zone counts it in [`ZoneView::push`]).
    pub(super) fn count(&mut self, area: &AreaView) {
        let mut s = Sums {
            free: self.free,
            known_bays: self.known_bays,
            unknown_bays: self.unknown_bays,
            unknown_areas: self.unknown_areas,
        };
        add(&mut s, area);
        (self.free, self.known_bays, self.unknown_bays, self.unknown_areas) =
            (s.free, s.known_bays, s.unknown_bays, s.unknown_areas);
        self.total = s.known_bays + s.unknown_bays;
    }
}
