//! Holds, blacklist, licence rules, views, snapshots and the morning sequence.

use super::*;

// ---- holds and blacklist ----

#[test]
fn unregistered_and_blacklisted_plates_are_held_at_arrival() {
    let mut d = terminal(&[("seoul", 1)]);
    let step = arrive_as(&mut d, "X1", None, at(0));
    assert_eq!(
        step.outcome,
        ArrivalOutcome::Held {
            reason: HoldReason::Unregistered,
            repeated: false
        }
    );
    assert!(matches!(
        &step.events[..],
        [DispatchEvent::Held {
            reason: HoldReason::Unregistered,
            ..
        }]
    ));
    let again = arrive_as(&mut d, "X1", None, at(1));
    assert_eq!(
        again,
        Step {
            outcome: ArrivalOutcome::Held {
                reason: HoldReason::Unregistered,
                repeated: true
            },
            events: vec![]
        }
    );

    let black = Registration {
        blacklisted: true,
        ..registration("seoul", TaxiClass::Standard, None)
    };
    let step = arrive_as(&mut d, "B1", Some(black), at(2));
    assert_eq!(
        step.outcome,
        ArrivalOutcome::Held {
            reason: HoldReason::Blacklisted,
            repeated: false
        }
    );
    assert!(d
        .queues()
        .lines
        .iter()
        .all(|l| l.waiting.is_empty() && l.curb.is_empty()));
    assert!(d.taxi(&p("B1")).unwrap().held);
    let stats = d.stats();
    assert_eq!((stats.holds_unattributed, stats.items[0].holds), (1, 1));

    let held: Vec<(String, Option<HoldReason>)> = d
        .queues()
        .held
        .into_iter()
        .map(|h| (h.plate.to_string(), h.reason))
        .collect();
    assert_eq!(
        held,
        [
            ("B1".to_owned(), Some(HoldReason::Blacklisted)),
            ("X1".to_owned(), Some(HoldReason::Unregistered))
        ],
        "most recently held first"
    );

    assert!(d.clear_hold(&p("X1")));
    assert_eq!(d.held_plates().len(), 1, "a cleared hold leaves the list");
    assert_eq!(arrive_as(&mut d, "X1", None, at(3)).events.len(), 1);
}

#[test]
fn holds_survive_a_snapshot_with_their_reasons_and_old_snapshots_still_restore() {
    let mut d = terminal(&[("seoul", 1)]);
    arrive_as(&mut d, "X1", None, at(0));
    let rules = d.rules().clone();
    let json = serde_json::to_value(d.snapshot()).unwrap();
    let restored = Dispatcher::restore(
        serde_json::from_value(json.clone()).unwrap(),
        d.config().clone(),
        rules.clone(),
    )
    .unwrap();
    assert_eq!(restored.held_plates(), d.held_plates());
    // A snapshot stored before reasons were kept holds `[plate, since]` pairs.
    let mut old = json;
    old["held"] = serde_json::json!([["X1", at(0)]]);
    let restored = Dispatcher::restore(serde_json::from_value(old).unwrap(), d.config().clone(), rules).unwrap();
    let held = restored.held_plates();
    assert_eq!(
        (held[0].plate.to_string(), held[0].reason, held[0].held_since),
        ("X1".to_owned(), None, at(0))
    );
}

#[test]
fn a_blacklisted_taxi_in_line_or_at_the_curb_is_removed_and_held() {
    let mut d = terminal(&[("seoul", 1)]);
    arrive(&mut d, "A", "seoul", at(0));
    arrive(&mut d, "B", "seoul", at(1));
    arrive(&mut d, "C", "seoul", at(2));
    let step = d.blacklist(&p("C"), at(3));
    assert!(step.outcome);
    assert!(matches!(
        &step.events[..],
        [
            DispatchEvent::RemovedFromLine {
                reason: RemovalReason::Blacklisted,
                ..
            },
            DispatchEvent::Held {
                reason: HoldReason::Blacklisted,
                ..
            },
        ]
    ));
    assert_eq!(waiting(&d, &seoul()), ["B"]);

    request(&mut d, 1, "seoul", at(4));
    let step = d.blacklist(&p("A"), at(5));
    let kinds: Vec<&str> = step.events.iter().map(DispatchEvent::message_type).collect();
    assert_eq!(
        kinds,
        ["taxi.removed", "dispatch.assigned", "dispatch.called", "taxi.held"]
    );
    assert_eq!(curb(&d, &seoul()), [("B".to_owned(), Some(1))]);
    assert_eq!(d.taxi(&p("B")).unwrap().request, Some(RequestId(1)));
    // The store says blacklisted at the next reading: held again without a new event.
    let black = Registration {
        blacklisted: true,
        ..registration("seoul", TaxiClass::Standard, None)
    };
    assert!(arrive_as(&mut d, "A", Some(black), at(6)).events.is_empty());
}

// ---- licence and joint-zone rules ----

#[test]
fn service_region_changes_follow_the_licence_and_joint_zone_rules() {
    let mut d = terminal(&[]);
    arrive_as(
        &mut d,
        "G1",
        Some(registration("gyeonggi", TaxiClass::Standard, Some("seoul"))),
        at(0),
    );
    arrive(&mut d, "S1", "seoul", at(1));
    assert_eq!(waiting(&d, &seoul()), ["G1", "S1"]);

    let err = d.set_service_region(&p("G1"), r("incheon"), at(2)).unwrap_err();
    assert_eq!(
        err,
        DispatchError::Rule(RuleError::NotAllowed {
            licence: r("gyeonggi"),
            service: r("incheon")
        })
    );
    assert_eq!(err.class(), ErrorClass::Invalid);
    let err = d.set_service_region(&p("S1"), r("gyeonggi"), at(2)).unwrap_err();
    assert_eq!(err.class(), ErrorClass::Invalid);
    assert_eq!(
        d.set_service_region(&p("NOPE"), r("seoul"), at(2)).unwrap_err().class(),
        ErrorClass::NotFound
    );

    let step = d.set_service_region(&p("G1"), r("gyeonggi"), at(3)).unwrap();
    assert!(matches!(&step.events[..], [DispatchEvent::ServiceRegionChanged { ticket, .. }] if ticket.seq == 1));
    arrive(&mut d, "G2", "gyeonggi", at(4));
    assert_eq!(waiting(&d, &line("gyeonggi", TaxiClass::Standard)), ["G1", "G2"]);
    d.set_service_region(&p("G1"), r("seoul"), at(5)).unwrap();
    assert_eq!(waiting(&d, &seoul()), ["G1", "S1"]);

    d.configure(&regional(&[("seoul", 1)]), at(6)).unwrap();
    let err = d.set_service_region(&p("G1"), r("gyeonggi"), at(7)).unwrap_err();
    assert_eq!(
        err,
        DispatchError::TaxiBusy {
            plate: p("G1"),
            state: TaxiStateKind::Called
        }
    );
}

#[test]
fn arrivals_take_an_allowed_service_region_or_are_held() {
    let mut d = terminal(&[]);
    // Chose a region its licence does not allow: it serves its licence region.
    let step = arrive_as(
        &mut d,
        "S1",
        Some(registration("seoul", TaxiClass::Standard, Some("incheon"))),
        at(0),
    );
    assert!(matches!(step.outcome, ArrivalOutcome::Queued { ref line, .. } if *line == seoul()));
    let step = arrive_as(
        &mut d,
        "P1",
        Some(registration("busan", TaxiClass::Standard, Some("seoul"))),
        at(1),
    );
    assert_eq!(
        step.outcome,
        ArrivalOutcome::Held {
            reason: HoldReason::RegionNotAllowed,
            repeated: false
        }
    );
    assert_eq!(d.stats().holds_unattributed, 1);
}

// ---- views and serialisation ----

#[test]
fn views_show_the_curb_the_line_and_one_taxi() {
    let mut d = terminal(&[("seoul", 1)]);
    arrive(&mut d, "A", "seoul", at(0));
    arrive(&mut d, "B", "seoul", at(1));
    let q = d.queues();
    assert_eq!(
        (q.terminal.as_str(), q.mode, q.curb_slots.clone()),
        ("T1", DispatchMode::Regional, BTreeMap::from([("seoul".to_owned(), 1)]))
    );
    assert_eq!(
        q.lines.iter().map(|l| l.line.to_string()).collect::<Vec<_>>(),
        ["seoul/standard", "seoul/deluxe", "seoul/jumbo"]
    );
    let json = serde_json::to_value(&q.lines[0]).unwrap();
    assert_eq!(json["curb"][0]["plate"], "A");
    assert_eq!(json["curb"][0]["state"], "called");
    assert_eq!(json["waiting"][0]["entered_ms"], at(1).0);
    assert_eq!(json["waiting"][0]["priority"], false);
    assert_eq!(json["waiting"][0]["suspended"], false);

    let b = d.taxi(&p("B")).unwrap();
    assert_eq!(
        (b.state, b.position, b.line, b.bay),
        (Some(TaxiStateKind::Waiting), Some(1), Some(seoul()), None)
    );
    let a = d.taxi(&p("A")).unwrap();
    assert_eq!(
        (a.state, a.position, a.bay),
        (Some(TaxiStateKind::Called), None, Some(1))
    );
    assert!(d.taxi(&p("Z")).is_none());
}

#[test]
fn events_serialise_with_a_type_and_ms_times() {
    let mut d = terminal(&[("seoul", 1)]);
    let step = arrive(&mut d, "A", "seoul", at(0));
    let json = serde_json::to_value(&step.events[1]).unwrap();
    assert_eq!(json["type"], "called");
    assert_eq!(json["line"]["scope"], "seoul");
    assert_eq!(json["at_ms"], at(0).0);
    assert_eq!(step.events[1].message_type(), "dispatch.called");
    let back: DispatchEvent = serde_json::from_value(json).unwrap();
    assert_eq!(back, step.events[1]);
}

#[test]
fn a_restored_snapshot_carries_on_exactly_like_the_original() {
    let mut d = terminal(&[("seoul", 1)]);
    arrive(&mut d, "A", "seoul", at(0));
    arrive(&mut d, "B", "seoul", at(1));
    arrive(&mut d, "C", "seoul", at(2));
    arrive_as(&mut d, "X", None, at(2));
    request(&mut d, 1, "seoul", at(3));
    request(&mut d, 2, "seoul", at(4)); // B booked: the only bay is A's
    d.pickup(RequestId(1), at(5)).unwrap();
    d.complete(RequestId(1), 3.0, at(6)).unwrap();
    d.tick(at_s(7 * 60 + 1));

    let json = serde_json::to_string(&d.snapshot()).unwrap();
    let snapshot: DispatcherSnapshot = serde_json::from_str(&json).unwrap();
    let rules = d.rules().clone();
    let mut restored = Dispatcher::restore(snapshot, d.config().clone(), rules).unwrap();
    assert_eq!(restored.queues(), d.queues());
    assert_eq!(restored.stats(), d.stats());
    assert_eq!(restored.next_deadline(), d.next_deadline());
    for plate in ["A", "B", "C", "X"] {
        assert_eq!(restored.taxi(&p(plate)), d.taxi(&p(plate)));
    }
    let go_on = |d: &mut Dispatcher| {
        let mut events = d.pickup(RequestId(2), at(8)).unwrap().events;
        events.extend(arrive(d, "A", "seoul", at(9)).events);
        events.extend(arrive(d, "D", "seoul", at(10)).events);
        events.extend(d.tick(at(11)));
        events
    };
    assert_eq!(go_on(&mut restored), go_on(&mut d));
}

#[test]
fn a_damaged_snapshot_restores_to_a_consistent_dispatcher() {
    let mut d = terminal(&[("seoul", 1), ("incheon", 1)]);
    arrive(&mut d, "S1", "seoul", at(0));
    arrive(&mut d, "I1", "incheon", at(1));
    arrive(&mut d, "I2", "incheon", at(2));
    request(&mut d, 1, "seoul", at(3));
    let mut json = serde_json::to_value(d.snapshot()).unwrap();
    json["requests"] = serde_json::json!([]);
    let snapshot: DispatcherSnapshot = serde_json::from_value(json).unwrap();
    // The rules no longer know incheon, and request 1 was lost.
    let rules = JointZoneRules::new([r("seoul")], []).unwrap();
    let restored = Dispatcher::restore(snapshot, DispatchConfig::default(), rules).unwrap();
    assert_eq!(curb(&restored, &seoul()), [("S1".to_owned(), Some(1))]);
    let s1 = restored.taxi(&p("S1")).unwrap();
    assert_eq!((s1.state, s1.request), (Some(TaxiStateKind::Called), None));
    assert!(restored.taxi(&p("I1")).is_none() && restored.taxi(&p("I2")).is_none());
    assert!(serde_json::from_str::<DispatcherSnapshot>(r#"{"terminal":""}"#).is_err());
}

// ---- the morning ----

/// A morning at T1 with one bay per line in seoul and incheon: arrivals, a hold, requests, a
/// no-show with nobody to take over, a short and a long trip, a priority re-entry and a refusal.
#[test]
fn morning_sequence() {
    let mut d = terminal(&[("seoul", 1), ("incheon", 1)]);
    arrive(&mut d, "S1", "seoul", at(0)); // called at once
    arrive(&mut d, "S2", "seoul", at(1));
    arrive(&mut d, "I1", "incheon", at(2)); // called at once
    arrive(&mut d, "S3", "seoul", at(3));
    arrive_as(
        &mut d,
        "D1",
        Some(registration("seoul", TaxiClass::Deluxe, None)),
        at(4),
    ); // called
    arrive_as(&mut d, "X9", None, at(5)); // held
    assert_eq!(request(&mut d, 1, "seoul", at(6)).plate.as_str(), "S1");
    d.pickup(RequestId(1), at(7)).unwrap(); // S2 called, waited 6 min
    assert_eq!(request(&mut d, 2, "incheon", at(8)).plate.as_str(), "I1");
    let dropped = d.no_show(RequestId(2), at(9)).unwrap(); // nobody else: dropped, I1 called back
    assert!(dropped.outcome.reassigned.is_none());
    assert_eq!(request(&mut d, 3, "seoul", at(10)).plate.as_str(), "S2");
    d.pickup(RequestId(3), at(11)).unwrap(); // S3 called, waited 8 min
    d.complete(RequestId(1), 4.0, at(20)).unwrap(); // short: priority until 07:20
    d.complete(RequestId(3), 15.0, at(25)).unwrap(); // long
    arrive(&mut d, "S4", "seoul", at(30));
    arrive(&mut d, "S1", "seoul", at(40)); // priority re-entry
    arrive(&mut d, "S2", "seoul", at(41)); // ordinary
    let refused = d.request(ask(4, "seoul", TaxiClass::Jumbo), at(42)).unwrap_err();
    assert_eq!(
        refused,
        DispatchError::NoTaxi {
            line: line("seoul", TaxiClass::Jumbo)
        }
    );
    assert_eq!(request(&mut d, 5, "seoul", at(43)).plate.as_str(), "S3");
    d.pickup(RequestId(5), at(44)).unwrap(); // S1 called ahead of S4

    assert_eq!(curb(&d, &seoul()), [("S1".to_owned(), Some(1))]);
    assert_eq!(waiting(&d, &seoul()), ["S4", "S2"]);
    assert_eq!(
        curb(&d, &line("incheon", TaxiClass::Standard)),
        [("I1".to_owned(), Some(1))]
    );
    assert_eq!(
        curb(&d, &line("seoul", TaxiClass::Deluxe)),
        [("D1".to_owned(), Some(1))]
    );
    let s1 = d.taxi(&p("S1")).unwrap().ticket.unwrap();
    assert_eq!((s1.entered_at, s1.priority_earned_at), (at(40), Some(at(20))));

    let stats = d.stats();
    assert_eq!((stats.holds_unattributed, stats.refusals_unknown_region), (1, 0));
    let rows: Vec<String> = stats
        .items
        .iter()
        .map(|s| {
            format!(
                "{}/{} served={} mean={:?} p50={:?} max={:?} short={} long={} no_shows={} refusals={} holds={}",
                s.region,
                s.class,
                s.served,
                s.wait_mean_ms,
                s.wait_p50_ms,
                s.wait_max_ms,
                s.short_trips,
                s.long_trips,
                s.no_shows,
                s.refusals,
                s.holds
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            "incheon/standard served=0 mean=None p50=None max=None short=0 long=0 no_shows=1 refusals=1 holds=0",
            "seoul/standard served=3 mean=Some(280000) p50=Some(360000) max=Some(480000) short=1 long=1 no_shows=0 refusals=0 holds=0",
            "seoul/jumbo served=0 mean=None p50=None max=None short=0 long=0 no_shows=0 refusals=1 holds=0",
        ]
    );
}
