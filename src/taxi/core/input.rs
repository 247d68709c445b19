//! Every change to a terminal's dispatcher as one value, [`Input`], applied by one function,
//! [`apply`]. Pure: no actix, no clock.
//!
//! The terminal actor changes its dispatcher only through [`apply`], and keeps each input it
//! completed (with its time) until its next snapshot. The dispatcher is deterministic, so a
//! restarted actor rebuilds exactly the state the crashed one had reached: the last snapshot,
//! then the same inputs at the same times ([`replay`]). An input during which the actor
//! panicked is not kept, so its half-done effects are dropped and it cannot crash the restart.
//! This keeps crash recovery exact without copying the whole dispatcher on every change.

use super::curb::SlotPlan;
use super::dispatch::{Arrival, Dispatcher, PassengerRequest};
use super::events::{ArrivalOutcome, Assignment, DispatchError, NoShowOutcome, Step, TripOutcome};
use super::model::{Plate, Region, RequestId};
use crate::time::Millis;

/// One change to a dispatcher.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Arrive(Arrival),
    Ping(Plate),
    Request(PassengerRequest),
    Pickup(RequestId),
    NoShow(RequestId),
    Complete {
        request: RequestId,
        distance_km: f64,
    },
    Configure(SlotPlan),
    SetServiceRegion {
        plate: Plate,
        region: Region,
    },
    Blacklist(Plate),
    ClearHold(Plate),
    /// Read at another terminal's lot: it leaves this one.
    MovedAway(Plate),
    Tick,
}

impl Input {
    /// A name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Input::Arrive(_) => "arrive",
            Input::Ping(_) => "ping",
            Input::Request(_) => "request",
            Input::Pickup(_) => "pickup",
            Input::NoShow(_) => "no_show",
            Input::Complete { .. } => "complete",
            Input::Configure(_) => "configure",
            Input::SetServiceRegion { .. } => "set_service_region",
            Input::Blacklist(_) => "blacklist",
            Input::ClearHold(_) => "clear_hold",
            Input::MovedAway(_) => "moved_away",
            Input::Tick => "tick",
        }
    }
}

/// What an input led to, by kind of input.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Arrival(ArrivalOutcome),
    Assignment(Assignment),
    NoShow(NoShowOutcome),
    Trip(TripOutcome),
    /// Blacklist and moved-away (was the taxi present), clear-hold (was it held).
    Flag(bool),
    Done,
}

/// Applies one input at `now`. An error changed nothing but what the dispatcher documents
/// (a refused request is counted), and replaying it does the same again.
pub fn apply(d: &mut Dispatcher, input: &Input, now: Millis) -> Result<Step<Outcome>, DispatchError> {
    fn wrap<T>(step: Step<T>, f: impl FnOnce(T) -> Outcome) -> Step<Outcome> {
        Step {
            outcome: f(step.outcome),
            events: step.events,
        }
    }
    let done = |step: Step<()>| wrap(step, |()| Outcome::Done);
    Ok(match input {
        Input::Arrive(arrival) => wrap(d.arrive(arrival.clone(), now)?, Outcome::Arrival),
        Input::Ping(plate) => done(d.ping(plate, now)?),
        Input::Request(req) => wrap(d.request(req.clone(), now)?, Outcome::Assignment),
        Input::Pickup(request) => done(d.pickup(*request, now)?),
        Input::NoShow(request) => wrap(d.no_show(*request, now)?, Outcome::NoShow),
        Input::Complete { request, distance_km } => wrap(d.complete(*request, *distance_km, now)?, Outcome::Trip),
        Input::Configure(plan) => done(d.configure(plan, now)?),
        Input::SetServiceRegion { plate, region } => done(d.set_service_region(plate, region.clone(), now)?),
        Input::Blacklist(plate) => wrap(d.blacklist(plate, now), Outcome::Flag),
        Input::MovedAway(plate) => wrap(d.moved_away(plate, now), Outcome::Flag),
        Input::ClearHold(plate) => Step {
            outcome: Outcome::Flag(d.clear_hold(plate)),
            events: Vec::new(),
        },
        Input::Tick => Step {
            outcome: Outcome::Done,
            events: d.tick(now),
        },
    })
}

/// Re-applies completed inputs in order, discarding their outcomes and events (they were
/// answered and recorded the first time).
pub fn replay<'a>(d: &mut Dispatcher, inputs: impl IntoIterator<Item = &'a (Input, Millis)>) {
    for (input, at) in inputs {
        let _ = apply(d, input, *at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taxi::core::dispatch::Registration;
    use crate::taxi::core::model::{TaxiClass, TerminalId};
    use crate::taxi::core::rules::{DispatchConfig, JointZoneRules};

    const MIN: i64 = 60_000;

    fn p(s: &str) -> Plate {
        Plate::parse(s).unwrap()
    }

    fn seoul() -> Region {
        Region::parse("seoul").unwrap()
    }

    fn arrival(plate: &str) -> Input {
        Input::Arrive(Arrival {
            plate: p(plate),
            registration: Some(Registration {
                licence_region: seoul(),
                class: TaxiClass::Standard,
                service_region: None,
                blacklisted: false,
            }),
        })
    }

    fn fresh() -> Dispatcher {
        let t = TerminalId::parse("T1").unwrap();
        Dispatcher::new(t, DispatchConfig::default(), JointZoneRules::default()).unwrap()
    }

    #[test]
    fn a_snapshot_plus_replayed_inputs_is_the_same_dispatcher() {
        let mut d = fresh();
        let mut log = Vec::new();
        let run = |d: &mut Dispatcher, log: &mut Vec<(Input, Millis)>, input: Input, at: i64| {
            let out = apply(d, &input, Millis(at));
            log.push((input, Millis(at)));
            out
        };
        for (i, plate) in ["A1", "A2", "A3", "A4"].iter().enumerate() {
            run(&mut d, &mut log, arrival(plate), i as i64 * MIN).unwrap();
        }
        let snapshot = d.snapshot();
        log.clear();
        let ask = PassengerRequest {
            id: RequestId(7),
            destination_region: seoul(),
            distance_km: 4.0,
            class: TaxiClass::Standard,
        };
        let got = run(&mut d, &mut log, Input::Request(ask.clone()), 5 * MIN).unwrap();
        assert!(matches!(got.outcome, Outcome::Assignment(ref a) if a.plate == p("A1")));
        run(&mut d, &mut log, Input::Pickup(RequestId(7)), 6 * MIN).unwrap();
        // A refused input is kept too: the refusal is counted, and must be again.
        let nobody = PassengerRequest {
            id: RequestId(8),
            destination_region: Region::parse("incheon").unwrap(),
            ..ask
        };
        assert!(run(&mut d, &mut log, Input::Request(nobody), 6 * MIN).is_err());
        run(&mut d, &mut log, Input::Ping(p("A3")), 6 * MIN).unwrap();
        run(&mut d, &mut log, Input::Tick, 7 * MIN).unwrap();

        let mut rebuilt = Dispatcher::restore(snapshot, DispatchConfig::default(), JointZoneRules::default()).unwrap();
        replay(&mut rebuilt, &log);
        assert_eq!(rebuilt.queues(), d.queues());
        assert_eq!(rebuilt.stats(), d.stats());
        assert_eq!(rebuilt.taxi(&p("A3")), d.taxi(&p("A3")));
        assert_eq!(rebuilt.next_deadline(), d.next_deadline());
        let incheon = &rebuilt.stats().items[0];
        assert_eq!((incheon.region.as_str(), incheon.refusals), ("incheon", 1));
    }
}
