//! Parking areas: a row of bays one guidance camera watches, in a zone of a site
//! (DOMAIN.md: site > zone > area), and the directory of every configured area.
//!
//! Pure: validated names and the lookups the edges need (an area by id, the areas of a
//! camera). It must not know device states or counts; [`super::occupancy`] does.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::Serialize;
use thiserror::Error;

/// Longest name accepted for an area, a site or a zone.
pub const MAX_NAME_LEN: usize = crate::ids::MAX_KEY_LEN;
/// Most bays one area may have (a camera watches a row, not a car park).
pub const MAX_AREA_BAYS: u32 = 10_000;

/// Why an area could not be configured.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AreaError {
    #[error("invalid {what} {value:?}: use 1 to {MAX_NAME_LEN} of A-Z a-z 0-9 . _ - :")]
    BadName { what: &'static str, value: String },
    #[error("an area has 1 to {MAX_AREA_BAYS} bays; {0} is out of range")]
    BadTotal(u32),
    #[error("area {0} is already configured")]
    Exists(String),
}

/// A name in the natural-key alphabet ([`crate::ids::validate`]), as devices and clients are.
fn check_name(what: &'static str, value: &str) -> Result<(), AreaError> {
    crate::ids::validate(what, value).map_err(|e| AreaError::BadName {
        what: e.what,
        value: e.value,
    })
}

/// A validated area, site or zone name (the natural-key alphabet, so it fits a destination).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Name(String);

impl Name {
    /// `what` names the field in the error (`area id`, `site`, `zone`).
    pub fn parse(what: &'static str, value: &str) -> Result<Name, AreaError> {
        check_name(what, value)?;
        Ok(Name(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::borrow::Borrow<str> for Name {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// One configured area.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AreaSpec {
    pub id: Name,
    pub site: Name,
    pub zone: Name,
    /// Bays in the area as configured: what is counted as unknown while its camera is down.
    pub total: u32,
    /// The guidance camera (a registered device) that reports the area.
    pub camera_id: String,
}

impl AreaSpec {
    /// Validates an area as the API or the store gives it.
    pub fn new(id: &str, site: &str, zone: &str, total: u32, camera_id: &str) -> Result<AreaSpec, AreaError> {
        if total == 0 || total > MAX_AREA_BAYS {
            return Err(AreaError::BadTotal(total));
        }
        check_name("camera id", camera_id)?;
        Ok(AreaSpec {
            id: Name::parse("area id", id)?,
            site: Name::parse("site", site)?,
            zone: Name::parse("zone", zone)?,
            total,
            camera_id: camera_id.to_owned(),
        })
    }
}

/// Every configured area, by id and by camera.
#[derive(Debug, Clone, Default)]
pub struct AreaDirectory {
    areas: BTreeMap<Name, AreaSpec>,
    by_camera: HashMap<String, Vec<Name>>,
}

impl AreaDirectory {
    pub fn new(areas: impl IntoIterator<Item = AreaSpec>) -> AreaDirectory {
        let mut directory = AreaDirectory::default();
        for area in areas {
            // Stored areas were checked when they were created; a duplicate cannot be stored.
            let _ = directory.add(area);
        }
        directory
    }

    /// Adds an area; an id already configured is refused.
    pub fn add(&mut self, area: AreaSpec) -> Result<(), AreaError> {
        if self.areas.contains_key(area.id.as_str()) {
            return Err(AreaError::Exists(area.id.to_string()));
        }
        self.by_camera
            .entry(area.camera_id.clone())
            .or_default()
            .push(area.id.clone());
        self.areas.insert(area.id.clone(), area);
        Ok(())
    }

    pub fn get(&self, id: &str) -> Option<&AreaSpec> {
        self.areas.get(id)
    }

    /// The areas `camera` reports, in no particular order.
    pub fn of_camera(&self, camera: &str) -> &[Name] {
        self.by_camera.get(camera).map_or(&[], Vec::as_slice)
    }

    /// Every area, by id.
    pub fn iter(&self) -> impl Iterator<Item = &AreaSpec> {
        self.areas.values()
    }

    pub fn len(&self) -> usize {
        self.areas.len()
    }

    pub fn is_empty(&self) -> bool {
        self.areas.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_area_is_validated() {
        assert!(AreaSpec::new("T1-P1-A03", "T1", "short-term", 40, "gcam-1").is_ok());
        assert_eq!(
            AreaSpec::new("T1-P1-A03", "T1", "short-term", 0, "gcam-1"),
            Err(AreaError::BadTotal(0))
        );
        assert_eq!(
            AreaSpec::new("a", "T1", "z", MAX_AREA_BAYS + 1, "c"),
            Err(AreaError::BadTotal(MAX_AREA_BAYS + 1))
        );
        assert!(matches!(
            AreaSpec::new("has space", "T1", "z", 1, "c"),
            Err(AreaError::BadName { what: "area id", .. })
        ));
        assert!(matches!(
            AreaSpec::new("a", "T1/x", "z", 1, "c"),
            Err(AreaError::BadName { what: "site", .. })
        ));
        assert!(matches!(
            AreaSpec::new("a", "T1", "", 1, "c"),
            Err(AreaError::BadName { what: "zone", .. })
        ));
    }

    #[test]
    fn the_directory_finds_areas_by_id_and_camera_and_refuses_duplicates() {
        let mut d = AreaDirectory::default();
        d.add(AreaSpec::new("A1", "T1", "short", 10, "cam-1").unwrap()).unwrap();
        d.add(AreaSpec::new("A2", "T1", "short", 10, "cam-1").unwrap()).unwrap();
        d.add(AreaSpec::new("B1", "T2", "long", 10, "cam-2").unwrap()).unwrap();
        assert_eq!(
            d.add(AreaSpec::new("A1", "T2", "long", 5, "cam-9").unwrap()),
            Err(AreaError::Exists("A1".into()))
        );
        assert_eq!(d.len(), 3);
        assert_eq!(d.get("A1").unwrap().camera_id, "cam-1");
        let mut of_cam: Vec<&str> = d.of_camera("cam-1").iter().map(Name::as_str).collect();
        of_cam.sort_unstable();
        assert_eq!(of_cam, ["A1", "A2"]);
        assert!(d.of_camera("cam-9").is_empty());
    }
}
