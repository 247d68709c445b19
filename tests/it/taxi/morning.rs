//! A morning at terminal T1, stepped minute by minute with a manual clock, on every backend:
//! arrivals and holds, requests served at the curb and called forward, a no-show, short and
//! long trips with the priority re-entry honoured and refused, a silent taxi suspended then
//! removed, a taxi actor and the terminal actor crashing without anyone losing their place,
//! and a switch to integrated mode; it ends in the exact line order and statistics.

use serde_json::{json, Value};

use super::{lines, stats_rows, Airport, MIN, WAIT};
use crate::support::backends;

#[actix_web::test]
async fn a_morning_at_the_lot_ends_in_the_expected_lines_and_figures() {
    for backend in backends() {
        morning(Airport::start(backend).await).await;
    }
}

async fn served(a: &Airport, region: &str, km: f64) -> Value {
    let (status, body) = a.request("T1", region, km, None).await;
    assert_eq!(status, 201, "request {region} at {} min: {body}", a.minutes());
    assert_eq!(body["state"], "assigned");
    body
}

async fn morning(a: Airport) {
    for (plate, licence, class) in [
        ("S1", "seoul", "standard"),
        ("S2", "seoul", "standard"),
        ("S3", "seoul", "standard"),
        ("S4", "seoul", "standard"),
        ("G1", "gyeonggi", "standard"),
        ("I1", "incheon", "standard"),
        ("I2", "incheon", "standard"),
        ("D1", "seoul", "deluxe"),
        ("B1", "seoul", "standard"),
    ] {
        a.register(plate, licence, class).await;
    }
    // 06:00: one seoul and one incheon bay per class line; gyeonggi's lines are closed.
    let (status, body) = a.configure("T1", "regional", json!({"seoul": 1, "incheon": 1})).await;
    assert_eq!(status, 200, "{body}");
    // The gyeonggi driver chooses seoul for the shift (the joint zone allows it).
    let (status, body) = a.choose_region("G1", "seoul").await;
    assert_eq!((status, &body["service_region"]), (200, &json!("seoul")), "{body}");
    let (status, body) =
        a.s.call(
            "POST",
            "/api/v1/taxis/B1/blacklist",
            Some(&a.operator),
            Some(json!({"reason": "overcharging"})),
        )
        .await;
    assert_eq!((status, &body["blacklisted"]), (200, &json!(true)), "{body}");

    // Arrivals, one a minute; each driver's app pings from then on.
    for (minute, plate) in ["S1", "S2", "G1", "I1", "S3", "I2", "D1", "S4"].iter().enumerate() {
        a.at(minute as f64).await;
        let (status, body) = a.arrive(plate, "T1").await;
        assert_eq!((status, &body["outcome"]), (201, &json!("queued")), "{plate}: {body}");
        a.goes_live(plate).await;
    }
    assert_eq!(a.arrive("S4", "T1").await.1["outcome"], "already_queued");
    // An unknown plate and a blacklisted one are held for an operator, never queued.
    let (status, held) = a.arrive("X9", "T1").await;
    assert_eq!(
        (status, &held["outcome"], &held["reason"]),
        (200, &json!("held"), &json!("unregistered"))
    );
    let (_, held) = a.arrive("B1", "T1").await;
    assert_eq!(
        (&held["outcome"], &held["reason"]),
        (&json!("held"), &json!("blacklisted"))
    );
    assert_eq!(a.taxi("B1").await["held"], true);

    let q = a.queues("T1").await;
    // The terminal's document lists its held plates, most recently held first, with why.
    let held: Vec<(String, String)> = q["held"]
        .as_array()
        .expect("a held list")
        .iter()
        .map(|h| {
            (
                h["plate"].as_str().unwrap().to_owned(),
                h["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        held,
        [
            ("B1".into(), "blacklisted".into()),
            ("X9".into(), "unregistered".into())
        ],
        "{q}"
    );
    assert!(q["held"][0]["held_ms"].as_i64().unwrap() >= q["held"][1]["held_ms"].as_i64().unwrap());
    assert_eq!(
        lines(&q),
        [
            "incheon/standard: [I1@1] | I2",
            "incheon/deluxe: [] | ",
            "incheon/jumbo: [] | ",
            "seoul/standard: [S1@1] | S2 G1 S3 S4",
            "seoul/deluxe: [D1@1] | ",
            "seoul/jumbo: [] | ",
        ]
    );

    // Requests nothing can serve are refused with a reason, and counted.
    let (status, body) = a.request("T1", "gyeonggi", 30.0, None).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("no curb slots"), "{body}");
    let (status, body) = a.request("T1", "seoul", 30.0, Some("jumbo")).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("no taxi in line seoul/jumbo"),
        "{body}"
    );

    // 06:10 R1 goes to the taxi at the curb; its pickup frees the bay and calls S2 forward.
    a.at(10.0).await;
    // A short trip: 5 km, as the completion below reports.
    let r1 = served(&a, "seoul", 5.0).await;
    assert_eq!(
        (&r1["plate"], &r1["bay"], &r1["from_curb"]),
        (&json!("S1"), &json!(1), &json!(true))
    );
    a.at(11.0).await;
    assert_eq!(a.pickup(&r1["id"]).await["plate"], "S1");
    a.at(12.0).await;
    let r2 = served(&a, "seoul", 40.0).await;
    assert_eq!(r2["plate"], "S2");
    a.at(13.0).await;
    a.pickup(&r2["id"]).await;
    // 06:14 R3 goes to G1, which does not show up: the passenger passes to S3, called to the
    // bay at once, and G1 goes back to the front of its line with its own ticket.
    a.at(14.0).await;
    let r3 = served(&a, "seoul", 12.0).await;
    assert_eq!(r3["plate"], "G1");
    a.at(16.0).await;
    let (status, no_show) = a.report(&r3["id"], "no-show", &a.kiosk.clone(), None).await;
    assert_eq!(status, 200, "{no_show}");
    assert_eq!((&no_show["plate"], &no_show["position"]), (&json!("G1"), &json!(1)));
    assert_eq!(no_show["reassigned"]["plate"], "S3");
    assert_eq!(no_show["reassigned"]["replaces"], "G1");
    assert_eq!(no_show["reassigned"]["bay"], 1);
    a.at(17.0).await;
    assert_eq!(a.pickup(&r3["id"]).await["plate"], "S3");
    assert_eq!(lines(&a.queues("T1").await)[3], "seoul/standard: [G1@1] | S4");

    // Trips end: R1 short (5 km) arms a priority re-entry; R2 and R3 are long.
    a.at(20.0).await;
    let done = a.complete(&r1["id"], 5.0, "S1").await;
    assert_eq!(
        (&done["short"], &done["priority_until_ms"]),
        (&json!(true), &json!(super::MORNING + 80 * MIN))
    );
    a.at(21.0).await;
    assert_eq!(a.complete(&r2["id"], 40.0, "S2").await["short"], false);
    a.at(22.0).await;
    let done = a.complete(&r3["id"], 12.0, "S3").await;
    assert_eq!(
        (&done["short"], &done["priority_until_ms"]),
        (&json!(false), &Value::Null)
    );

    // Back at the lot: S1 within the hour goes ahead of everyone; S2 and S3 (long trips) queue
    // at the back.
    a.at(30.0).await;
    let (_, back) = a.arrive("S1", "T1").await;
    assert_eq!(back["priority"]["decision"], "honoured", "{back}");
    a.at(31.0).await;
    assert_eq!(a.arrive("S2", "T1").await.1["priority"]["decision"], "not_eligible");
    a.at(32.0).await;
    assert_eq!(a.arrive("S3", "T1").await.1["priority"]["decision"], "not_eligible");
    assert_eq!(lines(&a.queues("T1").await)[3], "seoul/standard: [G1@1] | S1* S4 S2 S3");

    // I2's app falls silent at 06:33: suspended at 06:33:30 (it keeps its place), removed
    // after the two-minute grace.
    a.at(33.0).await;
    a.goes_silent("I2");
    a.at(34.0).await;
    let i2 = a.taxi("I2").await;
    assert_eq!((&i2["suspended"], &i2["position"]), (&json!(true), &json!(1)), "{i2}");
    assert_eq!(lines(&a.queues("T1").await)[0], "incheon/standard: [I1@1] | I2~");
    a.at(36.0).await;
    let i2 = a.taxi("I2").await;
    assert_eq!((&i2["state"], &i2["position"]), (&Value::Null, &Value::Null), "{i2}");
    assert_eq!(lines(&a.queues("T1").await)[0], "incheon/standard: [I1@1] | ");

    // S4's actor crashes while it waits: restarted once, its place untouched, pings flow again.
    let before = a.taxi("S4").await;
    let (status, _) = a.s.post("/api/v1/taxis/S4/faults/crash", json!({})).await;
    assert_eq!(status, 202);
    let after =
        a.s.wait_for("/api/v1/taxis/S4", WAIT, |t| {
            t["restarts"] == 1 && t["actor"] == "running"
        })
        .await;
    for field in ["position", "ticket", "line", "state", "blacklisted", "terminal"] {
        assert_eq!(after[field], before[field], "{field}: {before} then {after}");
    }
    assert_eq!(after["position"], 2);
    assert_eq!(a.ping("S4").await.0, 200);

    // T1's dispatcher crashes: rebuilt from its snapshot and the inputs since, in the same order.
    a.at(37.0).await;
    let queues_before = a.queues("T1").await;
    let (_, stats_before) = a.s.get("/api/v1/dispatch/stats?terminal=T1").await;
    let (status, _) = a.s.post("/api/v1/terminals/T1/faults/crash", json!({})).await;
    assert_eq!(status, 202);
    let queues_after =
        a.s.wait_for("/api/v1/queues?terminal=T1", WAIT, |b| {
            b["items"][0]["lines"].is_array()
        })
        .await;
    assert_eq!(queues_after["items"][0], queues_before);
    assert_eq!(a.s.get("/api/v1/dispatch/stats?terminal=T1").await.1, stats_before);
    let terminals = a.s.state.taxis.terminal_supervisor_stats().await.unwrap();
    assert_eq!((terminals.restarts, terminals.escalations), (1, 0));

    // 06:38: integrated mode, two bays per class line. Nobody moves: the lines merge in
    // ticket order (priority first), and the taxis at the curb keep their bays.
    a.at(38.0).await;
    let (status, body) = a.configure("T1", "integrated", json!({"all": 2})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        lines(&body),
        [
            "all/standard: [G1@1 I1@1] | S1* S4 S2 S3",
            "all/deluxe: [D1@1] | ",
            "all/jumbo: [] | ",
        ]
    );
    // Strict first-come: an incheon passenger gets G1 (at the curb since 06:17, ticket 06:02).
    a.at(39.0).await;
    let r4 = served(&a, "incheon", 8.0).await;
    assert_eq!(
        (&r4["plate"], &r4["mode"], &r4["from_curb"]),
        (&json!("G1"), &json!("integrated"), &json!(true))
    );
    a.at(40.0).await;
    a.pickup(&r4["id"]).await;
    a.at(45.0).await;
    assert_eq!(a.complete(&r4["id"], 8.0, "G1").await["short"], true);
    // S1 (priority, called at 06:40) goes before I1 at the curb.
    a.at(46.0).await;
    let r5 = served(&a, "seoul", 20.0).await;
    assert_eq!((&r5["plate"], &r5["bay"]), (&json!("S1"), &json!(2)));
    a.at(47.0).await;
    a.pickup(&r5["id"]).await;

    let q = a.queues("T1").await;
    assert_eq!(
        (&q["mode"], &q["curb_slots"]),
        (&json!("integrated"), &json!({"all": 2}))
    );
    assert_eq!(
        lines(&q),
        [
            "all/standard: [I1@1 S4@2] | S2 S3",
            "all/deluxe: [D1@1] | ",
            "all/jumbo: [] | "
        ]
    );
    let g1 = a.taxi("G1").await;
    assert_eq!(g1["priority_until_ms"], json!(super::MORNING + 105 * MIN), "{g1}");

    // Waits, ticket to call: S1 0, S2 10 min, S3 12 min, G1 15 min, S1 again 10 min.
    let (status, stats) = a.s.get("/api/v1/dispatch/stats?terminal=T1").await;
    assert_eq!(status, 200);
    assert_eq!(
        stats_rows(&stats),
        [
            "gyeonggi/standard served=0 mean=null p50=null max=null short=0 long=0 no_shows=0 refusals=1 holds=0",
            "seoul/standard served=5 mean=564000 p50=600000 max=900000 short=2 long=2 no_shows=1 refusals=0 holds=1",
            "seoul/jumbo served=0 mean=null p50=null max=null short=0 long=0 no_shows=0 refusals=1 holds=0",
        ]
    );
    assert_eq!(stats["terminals"][0]["holds_unattributed"], 1);
    // T2 saw nothing of it.
    let (_, t2) = a.s.get("/api/v1/dispatch/stats?terminal=T2").await;
    assert_eq!(t2["items"], json!([]));

    // Every step is on record, in order, with the assignment's justification.
    a.s.state.taxis.flush().await;
    let records =
        a.s.state
            .store
            .read(|c| kwanje::store::models::dispatch::records(c, "T1"))
            .await
            .unwrap();
    let count = |kind: &str| records.iter().filter(|r| r.kind == kind).count();
    assert_eq!(count("taxi.queued"), 11);
    assert_eq!(count("taxi.held"), 2);
    assert_eq!(count("dispatch.assigned"), 6);
    assert_eq!(count("dispatch.picked_up"), 5);
    assert_eq!(count("dispatch.no_show"), 1);
    assert_eq!(count("dispatch.trip_completed"), 4);
    let liveness: Vec<&str> = records
        .iter()
        .filter(|r| r.kind == "taxi.suspended" || r.kind == "taxi.resumed")
        .map(|r| r.detail.as_str())
        .collect();
    assert_eq!(liveness.len(), 1, "only I2, once: {liveness:?}");
    assert_eq!(
        records
            .iter()
            .find(|r| r.kind == "taxi.suspended")
            .unwrap()
            .plate
            .as_deref(),
        Some("I2")
    );
    assert_eq!(count("taxi.resumed"), 0);
    assert_eq!(count("taxi.removed"), 1);
    assert_eq!(count("dispatch.configured"), 2);
    assert!(
        records.windows(2).all(|w| w[0].at_ms <= w[1].at_ms),
        "records in time order"
    );
    let reassigned = records
        .iter()
        .find(|r| r.kind == "dispatch.assigned" && r.detail.contains("\"replaces\":\"G1\""))
        .expect("the no-show's reassignment is recorded");
    assert_eq!(reassigned.plate.as_deref(), Some("S3"));
    assert_eq!(reassigned.distance_m, Some(12_000));
    let detail: Value = serde_json::from_str(&reassigned.detail).unwrap();
    assert_eq!(detail["assignment"]["position"], 1);
    assert_eq!(detail["assignment"]["from_curb"], false);
    let slots =
        a.s.state
            .store
            .read(|c| kwanje::store::models::dispatch::curb_slots(c, "T1"))
            .await
            .unwrap();
    let slots: Vec<(String, i32)> = slots.into_iter().map(|r| (r.scope, r.slots)).collect();
    assert_eq!(slots, [("all".into(), 2), ("incheon".into(), 1), ("seoul".into(), 1)]);
}
