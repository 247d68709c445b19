//! The guidance actor: owns the occupancy book ([`super::core::occupancy`]), feeds it checked
//! reports and camera state changes, and publishes each changed site on `/topic/parking/{site}`;
//! on a payment kiosk's change it publishes the sites whose nearest working kiosk moved
//! ([`super::core::kiosks`]) on the same topic. Wiring only; the decisions are the cores'.

use std::sync::Arc;

use actix::prelude::*;
use bytes::Bytes;
use serde_json::json;

use super::core::area::Name;
use super::core::kiosks::{self, Kiosk, KioskSigns, ZoneKiosk, ZonePlace};
use super::core::occupancy::Occupancy;
use super::core::service_state::in_service;
use super::core::view::SiteView;
use super::messages::{AddArea, GetOccupancy, RecordReadings};
use crate::broker::messages::Publish;
use crate::broker::{Bus, Published};
use crate::device::messages::DeviceChanged;
use crate::device::DeviceKind;
use crate::time::Clock;

/// The topic of one site's occupancy.
pub fn parking_topic(site: &str) -> String {
    format!("/topic/parking/{site}")
}

/// The `parking.occupancy` message: one site's whole view.
pub fn occupancy_message(view: &SiteView) -> Bytes {
    let mut value = serde_json::to_value(view).unwrap_or_default();
    if let serde_json::Value::Object(fields) = &mut value {
        fields.insert("type".to_owned(), json!("parking.occupancy"));
    }
    Bytes::from(value.to_string())
}

/// The `parking.kiosks` message: the nearest working payment kiosk of every zone of a site.
pub fn kiosks_message(site: &str, zones: &[ZoneKiosk]) -> Bytes {
    Bytes::from(json!({"type": "parking.kiosks", "site": site, "zones": zones}).to_string())
}

/// The payment kiosks as the registry holds them now.
pub type KiosksNow = Arc<dyn Fn() -> Vec<Kiosk> + Send + Sync>;

pub struct Guidance {
    book: Occupancy,
    signs: KioskSigns,
    kiosks: KiosksNow,
    bus: Arc<dyn Bus>,
    clock: Arc<dyn Clock>,
}

impl Guidance {
    pub fn new(book: Occupancy, kiosks: KiosksNow, bus: Arc<dyn Bus>, clock: Arc<dyn Clock>) -> Guidance {
        let mut guidance = Guidance {
            book,
            signs: KioskSigns::default(),
            kiosks,
            bus,
            clock,
        };
        // The answers as of the start, so that only a later move is published.
        guidance.kiosks_moved();
        guidance
    }

    /// Recomputes every zone's nearest kiosk; the sites whose answers moved.
    fn kiosks_moved(&mut self) -> std::collections::BTreeMap<Option<String>, Vec<ZoneKiosk>> {
        let kiosks = (self.kiosks)();
        let areas = self.book.directory().iter().map(|a| ZonePlace {
            site: Some(a.site.to_string()),
            zone: a.zone.to_string(),
        });
        let places = kiosks::places(areas, &kiosks);
        self.signs.update(&places, &kiosks)
    }

    fn publish_kiosks(&mut self) {
        for (site, zones) in self.kiosks_moved() {
            let Some(site) = site else {
                log::warn!(
                    "parking kiosks of zones without a site are not published zones={}",
                    zones.len()
                );
                continue;
            };
            for zone in &zones {
                log::info!(
                    "parking nearest kiosk site={site} zone={} kiosk={} down={}",
                    zone.zone,
                    zone.kiosk.as_ref().map_or("none", |k| k.id.as_str()),
                    zone.down.len()
                );
            }
            self.bus.publish(Published::Topic(Publish {
                destination: parking_topic(&site),
                headers: vec![("content-type".to_owned(), "application/json".to_owned())],
                body: kiosks_message(&site, &zones),
            }));
        }
    }

    fn publish(&self, sites: impl IntoIterator<Item = Name>) {
        for site in sites {
            let Some(view) = self.book.site(site.as_str()) else {
                continue;
            };
            log::debug!(
                "parking occupancy site={site} free={} unknown_areas={}",
                view.free,
                view.unknown_areas
            );
            self.bus.publish(Published::Topic(Publish {
                destination: parking_topic(site.as_str()),
                headers: vec![("content-type".to_owned(), "application/json".to_owned())],
                body: occupancy_message(&view),
            }));
        }
    }
}

impl Actor for Guidance {
    type Context = Context<Self>;
}

impl Handler<RecordReadings> for Guidance {
    type Result = ();
    fn handle(&mut self, msg: RecordReadings, _: &mut Context<Self>) {
        let changed = self.book.apply(&msg.readings, self.clock.now());
        self.publish(changed);
    }
}

impl Handler<AddArea> for Guidance {
    type Result = ();
    fn handle(&mut self, msg: AddArea, _: &mut Context<Self>) {
        let (site, camera) = (msg.area.site.clone(), msg.area.camera_id.clone());
        if let Err(err) = self.book.add_area(msg.area) {
            log::warn!("parking area not added error={err}");
            return;
        }
        self.book.camera(&camera, msg.in_service);
        self.publish([site]);
        self.publish_kiosks();
    }
}

impl Handler<GetOccupancy> for Guidance {
    type Result = MessageResult<GetOccupancy>;
    fn handle(&mut self, msg: GetOccupancy, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.book.view(msg.site.as_deref(), msg.zone.as_deref()))
    }
}

impl Handler<DeviceChanged> for Guidance {
    type Result = ();
    fn handle(&mut self, msg: DeviceChanged, _: &mut Context<Self>) {
        if msg.entry.spec().kind == DeviceKind::PaymentKiosk {
            self.publish_kiosks();
            return;
        }
        if msg.entry.spec().kind != DeviceKind::GuidanceCamera {
            return;
        }
        let spec = msg.entry.spec();
        let camera = spec.id.as_str();
        let serving = in_service(msg.transition.to);
        let changed = self.book.camera(camera, serving);
        if !changed.is_empty() {
            log::info!(
                "parking camera state camera={camera} state={} in_service={serving}",
                msg.transition.to.as_str()
            );
        }
        self.publish(changed);
    }
}
