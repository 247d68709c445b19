//! The edges' handle on parking control: configure areas, take reports, read the views.
//!
//! Cheap to clone. The area directory is shared (read without waiting) so that a STOMP report
//! is checked on the session's thread, like a heartbeat, and refused there when it is wrong;
//! only checked readings reach the guidance actor. Lane readings are checked the same way
//! (the camera is a registered `lpr_camera` the sender hosts, with a lane) and placed at their
//! lane and gate before they reach the sessions actor.

use std::sync::{Arc, RwLock};

use actix::prelude::*;

use super::core::area::{AreaDirectory, AreaSpec};
use super::core::kiosks::{self, Kiosk, ZoneKiosk, ZonePlace};
use super::core::lpr::LprBody;
use super::core::occupancy::Occupancy;
use super::core::report::{self, Report, Reporter};
use super::core::service_state::in_service;
use super::core::session::Payment;
use super::core::session_view::{LaneAnswer, Receipt, SessionView};
use super::core::sessions::{Lane, SessionBook, SessionError, Sighting};
use super::core::tariff::Tariff;
use super::core::tariffs::Tariffs;
use super::core::view::SiteView;
use super::error::ParkingError;
use super::guidance::{Guidance, KiosksNow};
use super::messages::{
    AddArea, CloseLost, FindOpen, Gate, GetOccupancy, GetOpen, Pay, RecordReadings, SetTariff, Sight,
};
use super::sessions::{GateOf, SessionKeeper};
use super::settings::ParkingSettings;
use super::stored;
use crate::broker::Bus;
use crate::command::CommandService;
use crate::device::{DeviceKind, DeviceState, Devices};
use crate::ids::IdGen;
use crate::listen::Tells;
use crate::store::models::audit;
use crate::store::models::parking as rows;
use crate::store::models::{parking_payments, parking_sessions, parking_tariffs};
use crate::store::{Store, StoreError};
use crate::time::Clock;

/// What parking control starts from, read from the store.
#[derive(Debug, Default)]
pub struct ParkingBoot {
    pub areas: Vec<AreaSpec>,
    /// The sessions still open, with their payments.
    pub sessions: Vec<super::core::session::Session>,
    /// The zones with their own tariff.
    pub tariffs: Vec<(String, Tariff)>,
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
        let sessions = SessionKeeper::read_open(store)?;
        let tariffs = store
            .read_blocking(parking_tariffs::all)?
            .iter()
            .filter_map(|row| match stored::tariff(row).check() {
                Ok(t) => Some((row.zone.clone(), t)),
                Err(err) => {
                    log::error!("parking tariff unreadable, default used zone={} error={err}", row.zone);
                    None
                }
            })
            .collect();
        Ok(ParkingBoot {
            areas,
            sessions,
            tariffs,
        })
    }
}

/// The handle.
#[derive(Clone)]
pub struct Parking {
    guidance: Addr<Guidance>,
    sessions: Addr<SessionKeeper>,
    settings: ParkingSettings,
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
    /// Starts the guidance actor (listening to device transitions) and the sessions actor on
    /// the current arbiter.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        boot: ParkingBoot,
        settings: ParkingSettings,
        devices: Devices,
        commands: Addr<CommandService>,
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
        let kiosk_devices = devices.clone();
        let kiosks_now: KiosksNow = Arc::new(move || kiosks_of(&kiosk_devices));
        let guidance = Guidance::new(book, kiosks_now, bus.clone(), clock.clone()).start();
        devices.listen(guidance.clone().recipient());
        let mut tariffs = Tariffs::new(settings.default_tariff);
        for (zone, tariff) in boot.tariffs {
            tariffs.set(&zone, tariff);
        }
        let book = SessionBook::restore(settings.exit_grace, tariffs, boot.sessions);
        let gate_devices = devices.clone();
        let gate_of: GateOf = Arc::new(move |site: &str, lane: &str| gate_of(&gate_devices, site, lane));
        let sessions =
            SessionKeeper::new(book, store.clone(), commands, bus, clock.clone(), ids.clone(), gate_of).start();
        Parking {
            guidance,
            sessions,
            settings,
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
        if camera.spec().kind != DeviceKind::GuidanceCamera {
            return Err(ParkingError::NotAGuidanceCamera {
                id: area.camera_id.clone(),
                kind: camera.spec().kind.as_str(),
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
                |camera| self.devices.get(camera).map(|d| d.spec().client_id.to_string()),
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

    /// The nearest working payment kiosk for `zone` (of `site`, or of the site its areas or
    /// its kiosks are on), and the zone's own kiosks that are down. Read from the registry as
    /// it is now; the same rule as the `parking.kiosks` messages on `/topic/parking/{site}`.
    pub fn nearest_kiosk(&self, zone: &str, site: Option<&str>) -> Result<ZoneKiosk, ParkingError> {
        let kiosks = kiosks_of(&self.devices);
        let site = match site {
            Some(site) => Some(site.to_owned()),
            None => {
                let mut sites: std::collections::BTreeSet<Option<String>> = self
                    .directory()
                    .iter()
                    .filter(|a| a.zone.as_str() == zone)
                    .map(|a| Some(a.site.to_string()))
                    .collect();
                if sites.is_empty() {
                    sites = kiosks
                        .iter()
                        .filter(|k| k.zone.as_deref() == Some(zone))
                        .map(|k| k.site.clone())
                        .collect();
                }
                if sites.is_empty() {
                    return Err(ParkingError::UnknownZone(zone.to_owned()));
                }
                if sites.len() > 1 {
                    let named: Vec<&str> = sites.iter().flatten().map(String::as_str).collect();
                    return Err(ParkingError::ZoneOnSites {
                        zone: zone.to_owned(),
                        sites: named.join(", "),
                    });
                }
                sites.into_iter().next().flatten()
            }
        };
        let known = self
            .directory()
            .iter()
            .any(|a| a.zone.as_str() == zone && site.as_deref().is_none_or(|s| a.site.as_str() == s))
            || kiosks
                .iter()
                .any(|k| k.zone.as_deref() == Some(zone) && (site.is_none() || k.site.is_none() || k.site == site));
        if !known {
            return Err(ParkingError::UnknownZone(zone.to_owned()));
        }
        Ok(kiosks::nearest(
            &kiosks,
            &ZonePlace {
                site,
                zone: zone.to_owned(),
            },
        ))
    }

    /// The time as parking control sees it.
    pub fn now(&self) -> crate::time::Millis {
        self.clock.now()
    }

    fn unreachable(e: MailboxError) -> ParkingError {
        ParkingError::Unavailable(format!("the parking sessions actor is unreachable: {e}"))
    }

    /// Reads and checks a lane reading and places it at its camera's lane and gate.
    fn place(&self, who: Reporter<'_>, body: &[u8]) -> Result<(String, Sighting, Option<Gate>), ParkingError> {
        let reading = LprBody::parse(body)?.check(self.clock.now(), self.settings.min_confidence)?;
        let camera = self
            .devices
            .get(&reading.camera_id)
            .ok_or_else(|| ParkingError::UnknownCamera(reading.camera_id.clone()))?;
        if camera.spec().kind != DeviceKind::LprCamera {
            return Err(ParkingError::NotALaneCamera {
                id: reading.camera_id.clone(),
                kind: camera.spec().kind.as_str(),
            });
        }
        if let Reporter::Client(client) = who {
            if camera.spec().client_id.as_str() != client {
                return Err(ParkingError::NotHosted {
                    camera: reading.camera_id.clone(),
                    host: camera.spec().client_id.to_string(),
                    client: client.to_owned(),
                });
            }
        }
        let lane =
            lane_of(&self.devices, &camera.spec()).ok_or_else(|| ParkingError::NoLane(reading.camera_id.clone()))?;
        let gate = gate_of(&self.devices, &lane.site, &lane.lane);
        let sighting = Sighting {
            lane,
            read: reading.read,
            direction: reading.direction,
            at: reading.at,
        };
        Ok((reading.camera_id, sighting, gate))
    }

    /// A lane reading over HTTP: checked, applied, answered with what it did.
    pub async fn lane_reading(&self, who: Reporter<'_>, body: &[u8]) -> Result<LaneAnswer, ParkingError> {
        let (camera_id, sighting, gate) = self.place(who, body)?;
        self.sessions
            .send(Sight {
                camera_id,
                sighting,
                gate,
                tell: None,
            })
            .await
            .map_err(Self::unreachable)
    }

    /// A lane reading over STOMP: checked on the session's thread (a refusal is the session's
    /// ERROR), then applied without waiting; the answer goes to `client`'s
    /// `/user/queue/parking`.
    pub fn lane_reading_nowait(&self, client: &str, body: &[u8]) -> Result<(), ParkingError> {
        let (camera_id, sighting, gate) = self.place(Reporter::Client(client), body)?;
        self.sessions.do_send(Sight {
            camera_id,
            sighting,
            gate,
            tell: Some(client.to_owned()),
        });
        Ok(())
    }

    /// The open session of a plate or ticket (normalized as the lanes read them), if any.
    pub async fn open_session(&self, key: &str) -> Result<Option<SessionView>, ParkingError> {
        let key = super::core::lpr::normalize("plate", key)?;
        self.sessions.send(FindOpen { key }).await.map_err(Self::unreachable)
    }

    /// An open session by id, or the stored one (closed) when it is not open.
    pub async fn session(&self, id: i64) -> Result<Option<SessionView>, ParkingError> {
        if let Some(open) = self.sessions.send(GetOpen { id }).await.map_err(Self::unreachable)? {
            return Ok(Some(open));
        }
        self.stored_session(id).await
    }

    async fn stored_session(&self, id: i64) -> Result<Option<SessionView>, ParkingError> {
        let found = self
            .store
            .read(move |c| {
                let Some(row) = parking_sessions::get(c, id)? else {
                    return Ok(None);
                };
                let payments = parking_payments::of_sessions(c, &[id])?;
                Ok(Some((row, payments)))
            })
            .await?;
        Ok(found.and_then(|(row, payments)| {
            let payments = payments.into_iter().map(stored::payment).collect();
            stored::session(row, payments).map(|s| SessionView::of(&s, s.fee.unwrap_or(0), 0, None))
        }))
    }

    /// Records what a kiosk's card terminal took. A repeat of the key answers the same payment,
    /// even after the session closed (the kiosk's retry after a lost answer).
    pub async fn pay(&self, payment: Payment) -> Result<Receipt, ParkingError> {
        let session_id = payment.session_id;
        let key = payment.key.clone();
        match self.sessions.send(Pay { payment }).await.map_err(Self::unreachable)? {
            Ok(paid) => {
                let view = match self.session(session_id).await? {
                    Some(view) => view,
                    None => return Err(SessionError::NotOpen(session_id).into()),
                };
                Ok(Receipt {
                    payment: paid.payment,
                    session: view,
                    replay: paid.replay,
                })
            }
            Err(ParkingError::Session(SessionError::NotOpen(_))) => {
                let lookup = key.clone();
                let earlier = self.store.read(move |c| parking_payments::by_key(c, &lookup)).await?;
                match (earlier, self.stored_session(session_id).await?) {
                    (Some(row), Some(view)) if row.session_id == session_id => Ok(Receipt {
                        payment: stored::payment(row),
                        session: view,
                        replay: true,
                    }),
                    (Some(_), _) => Err(SessionError::KeyReused(key).into()),
                    _ => Err(SessionError::NotOpen(session_id).into()),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// An operator closes a session as a lost ticket (audited); a car held at an exit is let out.
    pub async fn close_lost(&self, id: i64, by: &str, reason: Option<String>) -> Result<SessionView, ParkingError> {
        self.sessions
            .send(CloseLost {
                id,
                by: by.to_owned(),
                reason,
            })
            .await
            .map_err(Self::unreachable)?
    }

    /// The default tariff and the zones with their own.
    pub fn default_tariff(&self) -> Tariff {
        self.settings.default_tariff
    }

    /// The zones with their own tariff, as stored.
    pub async fn tariffs(&self) -> Result<Vec<(String, Tariff)>, ParkingError> {
        let rows = self.store.read(parking_tariffs::all).await?;
        Ok(rows.iter().map(|r| (r.zone.clone(), stored::tariff(r))).collect())
    }

    /// Sets a zone's tariff (audited as `by`): stored first, then charged from now on.
    pub async fn set_tariff(&self, zone: &str, tariff: Tariff, by: &str) -> Result<Tariff, ParkingError> {
        let zone = super::core::area::Name::parse("zone", zone)?;
        let tariff = tariff.check()?;
        let now = self.clock.now();
        let row = stored::tariff_row(zone.as_str(), &tariff, now);
        let entry = audit::AuditEntry {
            id: self.ids.next(now),
            at_ms: now.0,
            principal: by.to_owned(),
            action: "parking.tariff.set".into(),
            target: format!("parking_zone:{zone}"),
            detail: Some(format!(
                "free_minutes={} period_minutes={} rate_per_period={} daily_cap={} utc_offset_minutes={}",
                tariff.free_minutes,
                tariff.period_minutes,
                tariff.rate_per_period,
                tariff.daily_cap.map(|c| c.to_string()).unwrap_or_else(|| "none".into()),
                tariff.utc_offset_minutes
            )),
        };
        self.store
            .write(move |c| {
                parking_tariffs::upsert(c, &row)?;
                audit::insert(c, &entry)
            })
            .await?;
        self.sessions
            .send(SetTariff {
                zone: zone.to_string(),
                tariff,
            })
            .await
            .map_err(Self::unreachable)?;
        log::info!("parking tariff set zone={zone} by={by}");
        Ok(tariff)
    }
}

/// The lane a camera reads for: its own registration's site, zone and lane, or, for a standby
/// registered without them, those of the camera it stands by for.
fn lane_of(devices: &Devices, spec: &crate::device::DeviceSpec) -> Option<Lane> {
    let own = |s: &crate::device::DeviceSpec| match (&s.site, &s.zone, &s.lane) {
        (Some(site), Some(zone), Some(lane)) => Some(Lane {
            site: site.clone(),
            zone: zone.clone(),
            lane: lane.clone(),
        }),
        _ => None,
    };
    own(spec).or_else(|| {
        devices
            .registry()
            .all()
            .iter()
            .find(|d| {
                d.spec()
                    .standby_id
                    .as_ref()
                    .is_some_and(|s| s.as_str() == spec.id.as_str())
            })
            .and_then(|primary| own(&primary.spec()))
    })
}

/// The registered payment kiosks, working while `up`.
fn kiosks_of(devices: &Devices) -> Vec<Kiosk> {
    devices
        .registry()
        .all()
        .iter()
        .filter(|d| d.spec().kind == DeviceKind::PaymentKiosk)
        .map(|d| Kiosk {
            id: d.spec().id.to_string(),
            site: d.spec().site.clone(),
            zone: d.spec().zone.clone(),
            working: d.state() == DeviceState::Up,
        })
        .collect()
}

/// The gate registered for a lane of a site (a `gate` device with that lane), and its client.
fn gate_of(devices: &Devices, site: &str, lane: &str) -> Option<Gate> {
    devices
        .registry()
        .all()
        .iter()
        .filter(|d| d.spec().kind == DeviceKind::Gate && d.spec().lane.as_deref() == Some(lane))
        .find(|d| d.spec().site.as_deref().is_none_or(|s| s == site))
        .map(|d| Gate {
            device_id: d.spec().id.to_string(),
            client_id: d.spec().client_id.to_string(),
        })
}
