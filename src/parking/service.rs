//! The edges' handle on parking control: configure areas, take reports, read the views.
//!
//! Cheap to clone. The area directory is shared (read without waiting) so that a STOMP report
//! is checked on the session's thread, like a heartbeat, and refused there when it is wrong;
//! only checked readings reach the guidance actor.

use std::sync::{Arc, RwLock};

use actix::prelude::*;

use super::core::area::{AreaDirectory, AreaSpec};
use super::core::occupancy::Occupancy;
use super::core::report::{self, Report, Reporter};
use super::core::service_state::in_service;
use super::core::view::SiteView;
use super::error::ParkingError;
use super::guidance::Guidance;
use super::messages::{AddArea, GetOccupancy, RecordReadings};
use crate::broker::Bus;
use crate::device::{DeviceKind, Devices};
use crate::ids::IdGen;
use crate::listen::Tells;
use crate::store::models::audit;
use crate::store::models::parking as rows;
use crate::store::{Store, StoreError};
use crate::time::Clock;

/// What parking control starts from, read from the store.
#[derive(Debug, Default)]
pub struct ParkingBoot {
    pub areas: Vec<AreaSpec>,
}

impl ParkingBoot {
    /// Reads the configured areas. Blocking.
    pub fn read(store: &Store) -> Result<ParkingBoot, StoreError> {
        let rows = store.read_blocking(rows::all)?;
        let mut areas = Vec::with_capacity(rows.len());
        for row in rows {
            match AreaSpec::new(
                &row.id,
                &row.site,
                &row.zone,
                u32::try_from(row.total).unwrap_or(0),
                &row.camera_id,
            ) {
                Ok(area) => areas.push(area),
                Err(err) => log::error!("parking area unreadable, skipped id={} error={err}", row.id),
            }
        }
        Ok(ParkingBoot { areas })
    }
}

/// The handle.
#[derive(Clone)]
pub struct Parking {
    guidance: Addr<Guidance>,
    directory: Arc<RwLock<AreaDirectory>>,
    devices: Devices,
    store: Store,
    clock: Arc<dyn Clock>,
    ids: Arc<IdGen>,
}

impl std::fmt::Debug for Parking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Parking")
    }
}

impl Parking {
    /// Starts the guidance actor on the current arbiter, listening to device transitions.
    pub fn start(
        boot: ParkingBoot,
        devices: Devices,
        store: Store,
        bus: Arc<dyn Bus>,
        clock: Arc<dyn Clock>,
        ids: Arc<IdGen>,
    ) -> Parking {
        let directory = AreaDirectory::new(boot.areas);
        let mut book = Occupancy::new(directory.clone());
        for area in directory.iter() {
            let serving = devices.get(&area.camera_id).is_none_or(|d| in_service(d.state()));
            book.camera(&area.camera_id, serving);
        }
        let guidance = Guidance::new(book, bus, clock.clone()).start();
        devices.listen(guidance.clone().recipient());
        Parking {
            guidance,
            directory: Arc::new(RwLock::new(directory)),
            devices,
            store,
            clock,
            ids,
        }
    }

    fn directory(&self) -> std::sync::RwLockReadGuard<'_, AreaDirectory> {
        // The directory is only ever replaced whole; a poisoned lock still holds a whole one.
        self.directory.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every configured area, by id.
    pub fn areas(&self) -> Vec<AreaSpec> {
        self.directory().iter().cloned().collect()
    }

    /// Configures an area (audited as `by`): its camera must be a registered guidance camera,
    /// its id new.
    pub async fn create_area(&self, area: AreaSpec, by: &str) -> Result<AreaSpec, ParkingError> {
        let camera = self
            .devices
            .get(&area.camera_id)
            .ok_or_else(|| ParkingError::UnknownCamera(area.camera_id.clone()))?;
        if camera.spec.kind != DeviceKind::GuidanceCamera {
            return Err(ParkingError::NotAGuidanceCamera {
                id: area.camera_id.clone(),
                kind: camera.spec.kind.as_str(),
            });
        }
        if self.directory().get(area.id.as_str()).is_some() {
            return Err(super::core::area::AreaError::Exists(area.id.to_string()).into());
        }
        let row = rows::ParkingArea {
            id: area.id.to_string(),
            site: area.site.to_string(),
            zone: area.zone.to_string(),
            total: i32::try_from(area.total).unwrap_or(i32::MAX),
            camera_id: area.camera_id.clone(),
            created_ms: self.clock.now().0,
        };
        let now = self.clock.now();
        let entry = audit::AuditEntry {
            id: self.ids.next(now),
            at_ms: now.0,
            principal: by.to_owned(),
            action: "parking.area.create".into(),
            target: format!("parking_area:{}", area.id),
            detail: Some(format!(
                "site={} zone={} total={} camera={}",
                area.site, area.zone, area.total, area.camera_id
            )),
        };
        self.store
            .write(move |c| {
                rows::insert(c, &row)?;
                audit::insert(c, &entry)
            })
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => super::core::area::AreaError::Exists(area.id.to_string()).into(),
                other => ParkingError::from(other),
            })?;
        {
            let mut directory = self
                .directory
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            directory.add(area.clone())?;
        }
        log::info!(
            "parking area created id={} site={} zone={} total={} camera={}",
            area.id,
            area.site,
            area.zone,
            area.total,
            area.camera_id
        );
        self.guidance.do_send(AddArea {
            area: area.clone(),
            in_service: in_service(camera.state()),
        });
        Ok(area)
    }

    /// Checks a report whole and hands its readings to the guidance actor without waiting.
    /// Answers how many areas it counted.
    pub fn report_nowait(&self, who: Reporter<'_>, body: &[u8]) -> Result<usize, ParkingError> {
        let readings = self.check(who, Report::parse(body)?)?;
        let count = readings.len();
        // `do_send`, not `try_send`: a burst of reports from many cameras must queue, not
        // fill the mailbox's bound and end the sending sessions.
        self.guidance.do_send(RecordReadings { readings });
        Ok(count)
    }

    /// Checks a report whole and waits until the guidance actor has counted it (the HTTP
    /// form: a `GET` after the answer sees it). Answers how many areas it counted.
    pub async fn report(&self, who: Reporter<'_>, report: Report) -> Result<usize, ParkingError> {
        let readings = self.check(who, report)?;
        let count = readings.len();
        self.guidance
            .send(RecordReadings { readings })
            .await
            .map_err(|e| ParkingError::Unavailable(format!("the guidance actor is unreachable: {e}")))?;
        Ok(count)
    }

    fn check(&self, who: Reporter<'_>, report: Report) -> Result<Vec<super::core::report::Reading>, ParkingError> {
        let readings = {
            let directory = self.directory();
            report::check(
                &directory,
                who,
                |camera| self.devices.get(camera).map(|d| d.spec.client_id.to_string()),
                report,
            )?
        };
        Ok(readings)
    }

    /// The views of every site (or `site`), with every zone (or `zone`).
    pub async fn occupancy(&self, site: Option<String>, zone: Option<String>) -> Result<Vec<SiteView>, ParkingError> {
        self.guidance
            .send(GetOccupancy { site, zone })
            .await
            .map_err(|e| ParkingError::Unavailable(format!("the guidance actor is unreachable: {e}")))
    }
}
