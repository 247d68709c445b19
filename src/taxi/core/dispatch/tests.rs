//! The dispatcher's rules, one or more tests each, with hand-stepped time: shared helpers
//! here, the tests by theme in the submodules.

use std::collections::BTreeMap;

use super::*;
use crate::taxi::core::curb::SlotPlan;
use crate::taxi::core::events::{
    ArrivalOutcome, Assignment, DropReason, ErrorClass, HoldReason, NoShowOutcome, PriorityDecision, PriorityRefusal,
    RequestStateKind, TripOutcome,
};
use crate::taxi::core::rules::{JointPair, NoShowPolicy};

const SEC: i64 = 1_000;
const MIN: i64 = 60 * SEC;
/// 06:00 on some morning, so times read as clock times.
const BASE: i64 = 1_700_000_000_000;

fn at(minutes: i64) -> Millis {
    Millis(BASE + minutes * MIN)
}
fn at_s(seconds: i64) -> Millis {
    Millis(BASE + seconds * SEC)
}
fn p(s: &str) -> Plate {
    Plate::parse(s).unwrap()
}
fn r(s: &str) -> Region {
    Region::parse(s).unwrap()
}
fn line(scope: &str, class: TaxiClass) -> LineKey {
    let scope = if scope == "all" {
        LineScope::All
    } else {
        LineScope::Region(r(scope))
    };
    LineKey { scope, class }
}

fn dispatcher(config: DispatchConfig) -> Dispatcher {
    let rules = JointZoneRules::new(
        [r("seoul"), r("incheon"), r("gyeonggi")],
        [JointPair {
            licence: r("gyeonggi"),
            service: r("seoul"),
        }],
    )
    .unwrap();
    Dispatcher::new(TerminalId::parse("T1").unwrap(), config, rules).unwrap()
}

/// A terminal with the given regional bays (regions left out are closed).
fn terminal(bays: &[(&str, u16)]) -> Dispatcher {
    let mut d = dispatcher(DispatchConfig::default());
    d.configure(&regional(bays), Millis(0)).unwrap();
    d
}

fn regional(bays: &[(&str, u16)]) -> SlotPlan {
    SlotPlan::Regional(bays.iter().map(|(name, n)| (r(name), *n)).collect())
}

fn registration(licence: &str, class: TaxiClass, service: Option<&str>) -> Registration {
    Registration {
        licence_region: r(licence),
        class,
        service_region: service.map(r),
        blacklisted: false,
    }
}

fn arrive_as(d: &mut Dispatcher, plate: &str, reg: Option<Registration>, now: Millis) -> Step<ArrivalOutcome> {
    d.arrive(
        Arrival {
            plate: p(plate),
            registration: reg,
        },
        now,
    )
    .unwrap()
}

/// A standard taxi licensed in and serving `region`.
fn arrive(d: &mut Dispatcher, plate: &str, region: &str, now: Millis) -> Step<ArrivalOutcome> {
    arrive_as(d, plate, Some(registration(region, TaxiClass::Standard, None)), now)
}

fn ask(id: i64, region: &str, class: TaxiClass) -> PassengerRequest {
    PassengerRequest {
        id: RequestId(id),
        destination_region: r(region),
        // A short trip: the completions of the short-trip tests agree with it.
        distance_km: 4.0,
        class,
    }
}

fn request(d: &mut Dispatcher, id: i64, region: &str, now: Millis) -> Assignment {
    d.request(ask(id, region, TaxiClass::Standard), now).unwrap().outcome
}

fn waiting(d: &Dispatcher, key: &LineKey) -> Vec<String> {
    d.queues()
        .lines
        .into_iter()
        .filter(|l| l.line == *key)
        .flat_map(|l| l.waiting)
        .map(|w| w.plate.to_string())
        .collect()
}

fn curb(d: &Dispatcher, key: &LineKey) -> Vec<(String, Option<u16>)> {
    d.queues()
        .lines
        .into_iter()
        .filter(|l| l.line == *key)
        .flat_map(|l| l.curb)
        .map(|c| (c.plate.to_string(), c.bay))
        .collect()
}

fn seq(d: &Dispatcher, plate: &str) -> u64 {
    d.taxi(&p(plate)).and_then(|t| t.ticket).map(|t| t.seq).unwrap()
}

fn called(events: &[DispatchEvent]) -> Vec<(String, u16)> {
    events
        .iter()
        .filter_map(|e| match e {
            DispatchEvent::Called { plate, bay, .. } => Some((plate.to_string(), *bay)),
            _ => None,
        })
        .collect()
}

fn seoul() -> LineKey {
    line("seoul", TaxiClass::Standard)
}

mod curb;
mod lines;
mod operations;
mod presence;
