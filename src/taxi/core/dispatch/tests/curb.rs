//! Call-forward, requests, pickup and no-show.

use super::*;

// ---- call-forward, requests, pickup ----

#[test]
fn pickup_frees_the_bay_and_calls_the_next() {
    let mut d = terminal(&[("seoul", 1)]);
    let step = arrive(&mut d, "A", "seoul", at(0));
    assert_eq!(called(&step.events), [("A".to_owned(), 1)]);
    arrive(&mut d, "B", "seoul", at(1));
    assert_eq!(curb(&d, &seoul()), [("A".to_owned(), Some(1))]);
    assert_eq!(waiting(&d, &seoul()), ["B"]);

    let step = d.request(ask(7, "seoul", TaxiClass::Standard), at(2)).unwrap();
    let a = step.outcome;
    assert_eq!(
        (a.plate.as_str(), a.from_curb, a.bay, a.position, a.ticket.seq),
        ("A", true, Some(1), 1, 1)
    );
    assert_eq!((a.mode, a.line.clone(), a.at), (DispatchMode::Regional, seoul(), at(2)));
    assert!(matches!(&step.events[..], [DispatchEvent::Assigned { .. }]));

    let step = d.pickup(RequestId(7), at(3)).unwrap();
    assert!(matches!(
        &step.events[0],
        DispatchEvent::PickedUp {
            wait_ms: 0,
            bay: Some(1),
            ..
        }
    ));
    assert_eq!(called(&step.events), [("B".to_owned(), 1)]);
    assert_eq!(d.taxi(&p("A")).unwrap().state, Some(TaxiStateKind::OnTrip));
    let err = d.pickup(RequestId(7), at(4)).unwrap_err();
    assert!(matches!(
        err,
        DispatchError::RequestState {
            state: RequestStateKind::PickedUp,
            ..
        }
    ));
    assert_eq!(err.class(), ErrorClass::Conflict);
}

#[test]
fn with_every_bay_taken_the_next_to_be_called_is_assigned_and_called_first() {
    let mut d = terminal(&[("seoul", 1)]);
    arrive(&mut d, "A", "seoul", at(0));
    arrive(&mut d, "B", "seoul", at(1));
    arrive(&mut d, "C", "seoul", at(2));
    request(&mut d, 1, "seoul", at(3));
    let b = request(&mut d, 2, "seoul", at(4));
    assert_eq!(
        (b.plate.as_str(), b.from_curb, b.bay, b.position),
        ("B", false, None, 1)
    );
    assert_eq!(curb(&d, &seoul()), [("A".to_owned(), Some(1)), ("B".to_owned(), None)]);
    assert_eq!(waiting(&d, &seoul()), ["C"]);
    let step = d.pickup(RequestId(1), at(5)).unwrap();
    assert!(matches!(
        &step.events[1],
        DispatchEvent::Called { plate, bay: 1, request: Some(RequestId(2)), .. } if plate.as_str() == "B"
    ));
    assert_eq!(waiting(&d, &seoul()), ["C"]);
}

#[test]
fn requests_nothing_can_serve_are_typed_errors_and_counted() {
    let mut d = terminal(&[("seoul", 1)]);
    let err = d.request(ask(1, "seoul", TaxiClass::Standard), at(0)).unwrap_err();
    assert_eq!(err, DispatchError::NoTaxi { line: seoul() });
    assert_eq!(err.to_string(), "no taxi in line seoul/standard");
    let err = d.request(ask(2, "busan", TaxiClass::Standard), at(0)).unwrap_err();
    assert_eq!(err, DispatchError::UnknownDestination { region: r("busan") });
    let err = d.request(ask(3, "incheon", TaxiClass::Standard), at(0)).unwrap_err();
    assert_eq!(
        err,
        DispatchError::NoCurbSlots {
            line: line("incheon", TaxiClass::Standard)
        }
    );
    assert!([DispatchError::NoTaxi { line: seoul() }, err]
        .iter()
        .all(|e| e.class() == ErrorClass::Conflict));

    let nan = PassengerRequest {
        distance_km: f64::NAN,
        ..ask(4, "seoul", TaxiClass::Standard)
    };
    assert_eq!(d.request(nan, at(0)).unwrap_err().class(), ErrorClass::Invalid);
    arrive(&mut d, "A", "seoul", at(1));
    request(&mut d, 5, "seoul", at(2));
    assert_eq!(
        d.request(ask(5, "seoul", TaxiClass::Standard), at(3)).unwrap_err(),
        DispatchError::DuplicateRequest { request: RequestId(5) }
    );
    assert_eq!(
        d.complete(RequestId(5), 3.0, at(3)).unwrap_err().class(),
        ErrorClass::Conflict
    );
    assert_eq!(
        d.complete(RequestId(99), 3.0, at(3)).unwrap_err().class(),
        ErrorClass::NotFound
    );
    assert_eq!(
        d.no_show(RequestId(99), at(3)).unwrap_err().class(),
        ErrorClass::NotFound
    );

    let stats = d.stats();
    assert_eq!(stats.refusals_unknown_region, 1);
    let refusals: Vec<(String, u64)> = stats
        .items
        .iter()
        .map(|row| (row.region.to_string(), row.refusals))
        .collect();
    assert_eq!(refusals, [("incheon".to_owned(), 1), ("seoul".to_owned(), 1)]);
}

// ---- no-show ----

fn no_show_setup(policy: NoShowPolicy) -> (Dispatcher, Step<NoShowOutcome>) {
    let mut d = dispatcher(DispatchConfig {
        no_show_policy: policy,
        ..DispatchConfig::default()
    });
    d.configure(&regional(&[("seoul", 1)]), Millis(0)).unwrap();
    arrive(&mut d, "A", "seoul", at(0));
    arrive(&mut d, "B", "seoul", at(1));
    arrive(&mut d, "C", "seoul", at(2));
    request(&mut d, 1, "seoul", at(3));
    let step = d.no_show(RequestId(1), at(4)).unwrap();
    (d, step)
}

#[test]
fn no_show_passes_the_passenger_on_and_keeps_the_ticket_by_default() {
    let (d, step) = no_show_setup(NoShowPolicy::KeepTicket);
    let NoShowOutcome {
        ticket,
        position,
        reassigned,
    } = &step.outcome;
    assert_eq!((ticket.seq, ticket.entered_at, *position), (1, at(0), 1));
    let again = reassigned.as_ref().unwrap();
    assert_eq!(
        (
            again.plate.as_str(),
            again.replaces.as_ref().map(Plate::as_str),
            again.bay
        ),
        ("B", Some("A"), Some(1))
    );
    assert!(matches!(
        &step.events[0],
        DispatchEvent::NoShow {
            no_shows: 1,
            policy: NoShowPolicy::KeepTicket,
            ..
        }
    ));
    assert!(matches!(&step.events[1], DispatchEvent::Assigned { .. }));
    assert_eq!(called(&step.events), [("B".to_owned(), 1)]);
    assert_eq!(waiting(&d, &seoul()), ["A", "C"]);
    assert_eq!(d.taxi(&p("A")).unwrap().no_shows, 1);
    assert_eq!(d.stats().items[0].no_shows, 1);
}

#[test]
fn no_show_back_of_line_policy_issues_a_new_ticket() {
    let (d, step) = no_show_setup(NoShowPolicy::BackOfLine);
    assert_eq!(
        (
            step.outcome.ticket.seq,
            step.outcome.ticket.entered_at,
            step.outcome.position
        ),
        (4, at(4), 2)
    );
    assert_eq!(waiting(&d, &seoul()), ["C", "A"]);
}

#[test]
fn a_no_show_with_nobody_to_take_over_drops_the_request() {
    let mut d = terminal(&[("seoul", 1)]);
    arrive(&mut d, "A", "seoul", at(0));
    request(&mut d, 1, "seoul", at(1));
    let step = d.no_show(RequestId(1), at(2)).unwrap();
    assert!(step.outcome.reassigned.is_none());
    assert!(matches!(
        step.events[1],
        DispatchEvent::RequestDropped {
            reason: DropReason::NoTaxi,
            ..
        }
    ));
    // Kept its ticket, so it is called straight back to the free bay.
    assert_eq!(called(&step.events), [("A".to_owned(), 1)]);
    assert!(matches!(
        d.pickup(RequestId(1), at(3)),
        Err(DispatchError::UnknownRequest { .. })
    ));
}
