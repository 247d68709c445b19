//! Arrival order, regional and integrated lines, mode switches and class separation.

use super::*;

// ---- arrival and first-come order ----

#[test]
fn tickets_are_first_come_with_sequence_breaking_ties() {
    let mut d = terminal(&[]);
    let first = arrive(&mut d, "A", "seoul", at(0));
    arrive(&mut d, "C", "seoul", at(1));
    arrive(&mut d, "B", "seoul", at(1));
    arrive(&mut d, "D", "seoul", at(2));
    assert_eq!(waiting(&d, &seoul()), ["A", "C", "B", "D"]);
    assert_eq!((seq(&d, "A"), seq(&d, "C"), seq(&d, "B")), (1, 2, 3));
    let Step { outcome, events } = first;
    assert!(matches!(
        outcome,
        ArrivalOutcome::Queued {
            position: 1,
            priority: PriorityDecision::NotEligible,
            ..
        }
    ));
    assert!(matches!(&events[..], [DispatchEvent::Queued { position: 1, .. }]));
}

#[test]
fn a_second_reading_of_a_queued_plate_changes_nothing() {
    let mut d = terminal(&[]);
    arrive(&mut d, "A", "seoul", at(0));
    arrive(&mut d, "B", "seoul", at(1));
    let again = arrive(&mut d, " b ", "seoul", at(5));
    assert!(again.events.is_empty());
    assert!(
        matches!(again.outcome, ArrivalOutcome::AlreadyQueued { position: 2, ticket, .. } if ticket.entered_at == at(1))
    );
    assert_eq!(waiting(&d, &seoul()), ["A", "B"]);
}

// ---- regional and integrated mode ----

#[test]
fn switching_mode_both_ways_mid_queue_keeps_every_place() {
    let mut d = terminal(&[]);
    arrive(&mut d, "S1", "seoul", at(1));
    arrive(&mut d, "I1", "incheon", at(2));
    arrive(&mut d, "S2", "seoul", at(3));
    arrive(&mut d, "I2", "incheon", at(4));
    assert_eq!(waiting(&d, &seoul()), ["S1", "S2"]);
    assert_eq!(waiting(&d, &line("incheon", TaxiClass::Standard)), ["I1", "I2"]);

    let step = d.configure(&SlotPlan::Integrated(0), at(5)).unwrap();
    assert!(matches!(
        &step.events[..],
        [DispatchEvent::Configured {
            from_mode: DispatchMode::Regional,
            mode: DispatchMode::Integrated,
            ..
        }]
    ));
    let all = line("all", TaxiClass::Standard);
    assert_eq!(waiting(&d, &all), ["S1", "I1", "S2", "I2"]);
    arrive(&mut d, "S3", "seoul", at(6));
    arrive(&mut d, "G1", "gyeonggi", at(7));
    assert_eq!(waiting(&d, &all), ["S1", "I1", "S2", "I2", "S3", "G1"]);

    d.configure(&regional(&[]), at(8)).unwrap();
    assert_eq!(waiting(&d, &seoul()), ["S1", "S2", "S3"]);
    assert_eq!(waiting(&d, &line("incheon", TaxiClass::Standard)), ["I1", "I2"]);
    assert_eq!(waiting(&d, &line("gyeonggi", TaxiClass::Standard)), ["G1"]);
    assert_eq!((seq(&d, "S1"), seq(&d, "I2"), seq(&d, "G1")), (1, 4, 6));
}

#[test]
fn integrated_mode_serves_any_region_strictly_first_come() {
    let mut d = terminal(&[]);
    d.configure(&SlotPlan::Integrated(1), at(0)).unwrap();
    let step = arrive(&mut d, "I1", "incheon", at(1));
    assert_eq!(called(&step.events), [("I1".to_owned(), 1)]);
    arrive(&mut d, "S1", "seoul", at(2));
    let a = request(&mut d, 1, "seoul", at(3));
    assert_eq!(
        (a.plate.as_str(), a.mode, a.line.clone()),
        ("I1", DispatchMode::Integrated, line("all", TaxiClass::Standard))
    );
}

#[test]
fn vehicle_class_always_has_its_own_line() {
    let mut d = terminal(&[]);
    arrive_as(
        &mut d,
        "D1",
        Some(registration("seoul", TaxiClass::Deluxe, None)),
        at(0),
    );
    arrive(&mut d, "S1", "seoul", at(1));
    arrive_as(&mut d, "J1", Some(registration("seoul", TaxiClass::Jumbo, None)), at(2));
    assert_eq!(waiting(&d, &seoul()), ["S1"]);
    assert_eq!(waiting(&d, &line("seoul", TaxiClass::Deluxe)), ["D1"]);
    d.configure(&SlotPlan::Integrated(1), at(3)).unwrap();
    assert_eq!(
        curb(&d, &line("all", TaxiClass::Standard)),
        [("S1".to_owned(), Some(1))]
    );
    assert_eq!(curb(&d, &line("all", TaxiClass::Deluxe)), [("D1".to_owned(), Some(1))]);
    let a = d.request(ask(1, "incheon", TaxiClass::Jumbo), at(4)).unwrap().outcome;
    assert_eq!(a.plate.as_str(), "J1");
    let err = d.request(ask(2, "seoul", TaxiClass::Jumbo), at(5)).unwrap_err();
    assert_eq!(
        err,
        DispatchError::NoTaxi {
            line: line("all", TaxiClass::Jumbo)
        }
    );
}

#[test]
fn taxis_at_the_curb_stay_when_the_mode_switches() {
    let mut d = terminal(&[("seoul", 1), ("incheon", 1)]);
    arrive(&mut d, "S1", "seoul", at(0));
    arrive(&mut d, "I1", "incheon", at(1));
    arrive(&mut d, "S2", "seoul", at(2));
    d.configure(&SlotPlan::Integrated(1), at(3)).unwrap();
    let all = line("all", TaxiClass::Standard);
    // Two taxis at a one-bay line: nobody is sent back and nobody new is called.
    assert_eq!(curb(&d, &all), [("S1".to_owned(), Some(1)), ("I1".to_owned(), Some(1))]);
    assert_eq!(waiting(&d, &all), ["S2"]);
    let a = request(&mut d, 1, "incheon", at(4));
    assert_eq!((a.plate.as_str(), a.from_curb), ("S1", true));
    let step = d.pickup(RequestId(1), at(5)).unwrap();
    assert!(called(&step.events).is_empty());
    let a = request(&mut d, 2, "seoul", at(6));
    let step = d.pickup(a.request, at(7)).unwrap();
    assert_eq!(called(&step.events), [("S2".to_owned(), 1)]);
}
