//! Short-trip fairness and liveness.

use super::*;

// ---- short-trip fairness ----

/// A taxi "A" that took request 1 at 06:03 and was picked up at 06:04, with B and C behind it.
fn out_on_a_trip() -> Dispatcher {
    let mut d = terminal(&[("seoul", 1)]);
    arrive(&mut d, "A", "seoul", at(0));
    arrive(&mut d, "B", "seoul", at(1));
    arrive(&mut d, "C", "seoul", at(2));
    request(&mut d, 1, "seoul", at(3));
    d.pickup(RequestId(1), at(4)).unwrap();
    d
}

#[test]
fn short_trip_and_prompt_reentry_earn_a_priority_ticket() {
    let mut d = out_on_a_trip();
    let done = d.complete(RequestId(1), 4.0, at(20)).unwrap();
    assert_eq!(done.outcome.priority_until, Some(at(80)));
    assert!(matches!(
        done.events[..],
        [DispatchEvent::TripCompleted { short: true, .. }]
    ));
    assert_eq!(d.taxi(&p("A")).unwrap().priority_until, Some(at(80)));
    arrive(&mut d, "D", "seoul", at(30));
    let step = arrive(&mut d, "A", "seoul", at(80));
    assert!(matches!(step.outcome, ArrivalOutcome::Queued {
        priority: PriorityDecision::Honoured { earned_at }, position: 1, ticket, ..
    } if earned_at == at(20) && ticket.entered_at == at(80)));
    assert_eq!(waiting(&d, &seoul()), ["A", "C", "D"]);
    let view = &d.queues().lines[0].waiting[0];
    assert!(view.priority && view.priority_earned_at == Some(at(20)));
}

#[test]
fn a_short_trip_whose_distance_disagrees_with_the_request_arms_no_priority() {
    // Request 1 was for 4 km; the driver reports 0.5 km (3.5 km off, over max(50 %, 1 km)).
    let mut d = out_on_a_trip();
    let done = d.complete(RequestId(1), 0.5, at(20)).unwrap();
    assert_eq!(
        done.outcome,
        TripOutcome {
            short: true,
            priority_until: None,
            priority_refused: Some(PriorityRefusal::DistanceMismatch),
        }
    );
    assert!(matches!(
        done.events[..],
        [DispatchEvent::TripCompleted {
            priority_refused: Some(PriorityRefusal::DistanceMismatch),
            ..
        }]
    ));
    let step = arrive(&mut d, "A", "seoul", at(30));
    assert!(matches!(
        step.outcome,
        ArrivalOutcome::Queued {
            priority: PriorityDecision::NotEligible,
            ..
        }
    ));
    assert_eq!(waiting(&d, &seoul()), ["C", "A"]);
    assert_eq!(d.stats().items[0].priority_refusals, 1);
    // Within the tolerance it is honoured: 4 km asked, 5.9 km driven.
    let mut d = out_on_a_trip();
    assert!(d
        .complete(RequestId(1), 5.9, at(20))
        .unwrap()
        .outcome
        .priority_until
        .is_some());
}

#[test]
fn a_reentry_sooner_than_the_trip_could_be_driven_is_refused_its_priority() {
    // Picked up at 06:04 for 4 km: there and back at 80 km/h is 6 min, so 06:10 at the earliest.
    let mut d = out_on_a_trip();
    d.complete(RequestId(1), 4.0, at(5)).unwrap();
    let step = arrive(&mut d, "A", "seoul", at_s(9 * 60 + 59));
    assert!(matches!(step.outcome, ArrivalOutcome::Queued {
        priority: PriorityDecision::Refused { reason: PriorityRefusal::TooSoon, earliest }, ..
    } if earliest == at(10)));
    assert_eq!(waiting(&d, &seoul()), ["C", "A"], "an ordinary ticket");
    assert_eq!(d.stats().items[0].priority_refusals, 1);
    assert_eq!(d.taxi(&p("A")).unwrap().priority_until, None, "the priority is spent");

    // At the earliest moment itself, it is honoured.
    let mut d = out_on_a_trip();
    d.complete(RequestId(1), 4.0, at(5)).unwrap();
    let step = arrive(&mut d, "A", "seoul", at(10));
    assert!(matches!(
        step.outcome,
        ArrivalOutcome::Queued {
            priority: PriorityDecision::Honoured { .. },
            ..
        }
    ));
    assert_eq!(d.stats().items[0].priority_refusals, 0);
}

#[test]
fn priority_tickets_go_in_the_order_they_were_earned() {
    let mut d = terminal(&[("seoul", 2)]);
    for (i, plate) in ["A", "B"].iter().enumerate() {
        arrive(&mut d, plate, "seoul", at(i as i64));
        request(&mut d, i as i64 + 1, "seoul", at(2));
        d.pickup(RequestId(i as i64 + 1), at(3)).unwrap();
    }
    arrive(&mut d, "C", "seoul", at(4));
    arrive(&mut d, "D", "seoul", at(5));
    arrive(&mut d, "E", "seoul", at(6));
    d.complete(RequestId(1), 2.0, at(10)).unwrap();
    d.complete(RequestId(2), 2.0, at(12)).unwrap();
    arrive(&mut d, "B", "seoul", at(20));
    arrive(&mut d, "A", "seoul", at(25));
    assert_eq!(waiting(&d, &seoul()), ["A", "B", "E"]);
}

#[test]
fn priority_is_refused_when_the_reentry_is_too_late() {
    let mut d = out_on_a_trip();
    d.complete(RequestId(1), 4.0, at(20)).unwrap();
    let step = arrive(&mut d, "A", "seoul", at(81));
    assert!(
        matches!(step.outcome, ArrivalOutcome::Queued { priority: PriorityDecision::Lapsed { expired_at }, .. } if expired_at == at(80))
    );
    assert_eq!(waiting(&d, &seoul()), ["C", "A"]);
}

#[test]
fn priority_is_refused_for_a_trip_that_is_not_short() {
    let mut d = out_on_a_trip();
    let done = d.complete(RequestId(1), 10.0, at(20)).unwrap();
    assert_eq!(
        done.outcome,
        TripOutcome {
            short: false,
            priority_until: None,
            priority_refused: None,
        }
    );
    let step = arrive(&mut d, "A", "seoul", at(30));
    assert!(matches!(
        step.outcome,
        ArrivalOutcome::Queued {
            priority: PriorityDecision::NotEligible,
            ..
        }
    ));
    assert_eq!(waiting(&d, &seoul()), ["C", "A"]);
}

#[test]
fn priority_lapses_without_an_lpr_sighting() {
    let mut d = terminal(&[("seoul", 1)]);
    arrive(&mut d, "A", "seoul", at(0));
    request(&mut d, 1, "seoul", at(1));
    d.pickup(RequestId(1), at(2)).unwrap();
    d.complete(RequestId(1), 4.0, at(20)).unwrap();
    // Driver-app pings are not camera sightings.
    assert!(matches!(
        d.ping(&p("A"), at(30)),
        Err(DispatchError::UnknownTaxi { .. })
    ));
    assert_eq!(d.next_deadline(), Some(at(80) + Duration::from_millis(1)));
    assert!(d.tick(at(80)).is_empty());
    let lapsed = d.tick(at(81));
    assert_eq!(
        lapsed,
        [DispatchEvent::PriorityLapsed {
            plate: p("A"),
            expired_at: at(80)
        }]
    );
    assert_eq!(d.taxi(&p("A")), None);
    let step = arrive(&mut d, "A", "seoul", at(82));
    assert!(matches!(
        step.outcome,
        ArrivalOutcome::Queued {
            priority: PriorityDecision::NotEligible,
            ..
        }
    ));
}

#[test]
fn priority_is_refused_when_the_trip_was_never_completed_before_reentry() {
    let mut d = out_on_a_trip();
    let step = arrive(&mut d, "A", "seoul", at(10));
    assert!(matches!(
        step.outcome,
        ArrivalOutcome::Queued {
            priority: PriorityDecision::NotEligible,
            ..
        }
    ));
    let done = d.complete(RequestId(1), 1.0, at(11)).unwrap();
    assert_eq!(
        done.outcome,
        TripOutcome {
            short: true,
            priority_until: None,
            priority_refused: None,
        }
    );
    assert_eq!(d.taxi(&p("A")).unwrap().priority_until, None);
    assert_eq!(waiting(&d, &seoul()), ["C", "A"]);
}

#[test]
fn a_double_arrival_neither_doubles_nor_consumes_priority_twice() {
    let mut d = out_on_a_trip();
    d.complete(RequestId(1), 4.0, at(20)).unwrap();
    arrive(&mut d, "A", "seoul", at(30));
    let again = arrive(&mut d, "A", "seoul", at(31));
    assert!(
        matches!(again.outcome, ArrivalOutcome::AlreadyQueued { position: 1, ticket, .. } if ticket.seq == 4 && ticket.is_priority())
    );
    assert!(again.events.is_empty());
    assert_eq!(waiting(&d, &seoul()), ["A", "C"]);
    // At the curb or assigned, a reading is ignored.
    let a = request(&mut d, 2, "seoul", at(33));
    assert_eq!(a.plate.as_str(), "B");
    d.pickup(RequestId(2), at(34)).unwrap();
    let busy = arrive(&mut d, "A", "seoul", at(35));
    assert_eq!(
        busy,
        Step {
            outcome: ArrivalOutcome::Busy {
                state: TaxiStateKind::Called
            },
            events: vec![]
        }
    );
    assert_eq!(d.taxi(&p("A")).unwrap().ticket.map(|t| t.seq), Some(4));
}

// ---- liveness ----

#[test]
fn silent_taxis_are_suspended_keep_their_place_and_are_removed_after_grace() {
    let mut d = terminal(&[]);
    arrive(&mut d, "A", "seoul", at_s(0));
    arrive(&mut d, "B", "seoul", at_s(0));
    arrive(&mut d, "C", "seoul", at_s(0));
    d.ping(&p("B"), at_s(20)).unwrap();
    let events = d.tick(at_s(30));
    let suspended: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            DispatchEvent::Suspended { plate, at, .. } if *at == at_s(30) => Some(plate.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(suspended, ["A", "C"]);
    assert_eq!(waiting(&d, &seoul()), ["A", "B", "C"]);

    // Call-forward skips the suspended head, which keeps its place.
    let step = d.configure(&regional(&[("seoul", 1)]), at_s(31)).unwrap();
    assert_eq!(called(&step.events), [("B".to_owned(), 1)]);
    let resumed = d.ping(&p("A"), at_s(40)).unwrap();
    assert!(matches!(&resumed.events[..], [DispatchEvent::Resumed { plate, .. }] if plate.as_str() == "A"));
    assert_eq!(waiting(&d, &seoul()), ["A", "C"]);

    let events = d.tick(at_s(150));
    assert!(
        matches!(&events[0], DispatchEvent::Suspended { plate, at, .. } if plate.as_str() == "A" && *at == at_s(70))
    );
    assert!(matches!(
        &events[1],
        DispatchEvent::RemovedFromLine { plate, reason: RemovalReason::Silent, at, .. } if plate.as_str() == "C" && *at == at_s(150)
    ));
    assert_eq!(events.len(), 2);
    assert_eq!(waiting(&d, &seoul()), ["A"]);
    assert!(matches!(
        d.ping(&p("C"), at_s(151)),
        Err(DispatchError::UnknownTaxi { .. })
    ));
    assert_eq!(d.next_deadline(), Some(at_s(190)));
}

#[test]
fn a_request_skips_suspended_taxis_and_says_so() {
    let mut d = terminal(&[("seoul", 1)]);
    arrive(&mut d, "A", "seoul", at_s(0));
    arrive(&mut d, "B", "seoul", at_s(0));
    arrive(&mut d, "C", "seoul", at_s(10));
    d.request(ask(1, "seoul", TaxiClass::Standard), at_s(1)).unwrap();
    d.tick(at_s(35));
    let a = request(&mut d, 2, "seoul", at_s(36));
    assert_eq!(
        (a.plate.as_str(), a.position, a.skipped_suspended.clone()),
        ("C", 2, vec![p("B")])
    );
}

// ---- moving to another terminal's lot ----

#[test]
fn a_taxi_read_at_another_lot_leaves_this_one_and_its_bay_calls_the_next() {
    let mut d = terminal(&[("seoul", 1)]);
    arrive(&mut d, "A", "seoul", at(0));
    arrive(&mut d, "B", "seoul", at(1));
    arrive(&mut d, "C", "seoul", at(2));
    assert_eq!(curb(&d, &seoul()), [("A".to_owned(), Some(1))]);

    let step = d.moved_away(&p("B"), at(3));
    assert!(step.outcome);
    assert!(matches!(
        &step.events[..],
        [DispatchEvent::RemovedFromLine { plate, reason: RemovalReason::MovedLot, at: when, .. }]
            if plate.as_str() == "B" && *when == at(3)
    ));
    assert_eq!(waiting(&d, &seoul()), ["C"]);

    // The taxi at the curb drives off to the other lot: its bay calls the next in line.
    let step = d.moved_away(&p("A"), at(4));
    assert!(step.outcome);
    assert_eq!(called(&step.events), [("C".to_owned(), 1)]);
    assert!(waiting(&d, &seoul()).is_empty());
    assert!(d.taxi(&p("A")).is_none());

    // A plate this lot does not have: nothing happens.
    let step = d.moved_away(&p("Z"), at(5));
    assert!(!step.outcome && step.events.is_empty());
}

#[test]
fn an_assigned_taxi_that_moves_lot_passes_its_passenger_on_and_a_trip_is_kept() {
    let mut d = terminal(&[("seoul", 1)]);
    arrive(&mut d, "A", "seoul", at(0));
    arrive(&mut d, "B", "seoul", at(1));
    assert_eq!(request(&mut d, 1, "seoul", at(2)).plate.as_str(), "A");

    let step = d.moved_away(&p("A"), at(3));
    let reassigned: Vec<&str> = step
        .events
        .iter()
        .filter_map(|e| match e {
            DispatchEvent::Assigned { assignment } => Some(assignment.plate.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(reassigned, ["B"], "{:?}", step.events);

    // B is on the trip when the other lot reads it: the trip stays here to be completed.
    d.pickup(RequestId(1), at(4)).unwrap();
    let step = d.moved_away(&p("B"), at(5));
    assert!(!step.outcome && step.events.is_empty());
    assert!(d.complete(RequestId(1), 20.0, at(30)).is_ok());
}

#[test]
fn readings_missed_while_down_are_found_from_where_each_taxi_was_read_last() {
    let mut d = terminal(&[("seoul", 1)]);
    arrive(&mut d, "A", "seoul", at(0));
    arrive(&mut d, "B", "seoul", at(1));
    arrive(&mut d, "C", "seoul", at(2));
    request(&mut d, 1, "seoul", at(3));
    d.pickup(RequestId(1), at(4)).unwrap();
    // A is on a trip (read at T2 after it, which is normal); B was read at T2 while this
    // dispatcher was down; C was last read here; nothing is known of D.
    let last_read_at = |plate: &Plate| match plate.as_str() {
        "A" | "B" => Some(TerminalId::parse("T2").unwrap()),
        "C" => Some(TerminalId::parse("T1").unwrap()),
        _ => None,
    };
    assert_eq!(d.read_elsewhere(last_read_at), [p("B")]);
}

#[test]
fn a_held_plate_read_elsewhere_is_a_new_sighting_when_it_comes_back() {
    let mut d = terminal(&[("seoul", 1)]);
    let step = arrive_as(&mut d, "X", None, at(0));
    assert!(matches!(step.events[..], [DispatchEvent::Held { .. }]));
    assert!(arrive_as(&mut d, "X", None, at(1)).events.is_empty(), "a repeat");
    d.moved_away(&p("X"), at(2));
    let back = arrive_as(&mut d, "X", None, at(3));
    assert!(
        matches!(back.events[..], [DispatchEvent::Held { .. }]),
        "{:?}",
        back.events
    );
}
