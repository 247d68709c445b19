//! A terminal's dispatcher in cluster mode: the node that owns the terminal's partition runs
//! it, and when that node leaves, the one that takes the partition carries on with the same
//! lines, in the same order.

use std::time::Duration;

use kwanje::auth::{Claims, Keys, Role};
use kwanje::ownership::{Partition, Partitions};
use kwanje::time::Millis;
use serde_json::{json, Value};

use super::{engines, owned_by, split_evenly, token, wait_for, Node, PARTITIONS};

/// Every line of `terminal` as `line: curb plates | waiting plates`, in order.
fn lines(queues: &Value, terminal: &str) -> Vec<String> {
    let items = queues["items"].as_array().cloned().unwrap_or_default();
    let t = items
        .iter()
        .find(|t| t["terminal"] == terminal)
        .unwrap_or_else(|| panic!("no {terminal}: {queues}"));
    let plates = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|e| e["plate"].as_str().unwrap().to_owned())
            .collect()
    };
    t["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| !l["curb"].as_array().unwrap().is_empty() || !l["waiting"].as_array().unwrap().is_empty())
        .map(|l| {
            format!(
                "{}/{}: {:?} | {:?}",
                l["line"]["scope"].as_str().unwrap(),
                l["line"]["class"].as_str().unwrap(),
                plates(&l["curb"]),
                plates(&l["waiting"])
            )
        })
        .collect()
}

/// A driver app's token for taxi `plate`.
fn driver_token(plate: &str) -> String {
    let mut claims = Claims::new("driver", Role::Driver, Millis::now(), Duration::from_secs(600));
    claims.taxi = Some(plate.to_owned());
    Keys::hs256(super::SECRET.as_bytes()).issue(&claims).unwrap()
}

#[test]
fn a_terminal_dispatcher_that_moves_nodes_keeps_its_line_order() {
    let Some((nats, db)) = engines() else { return };
    let cluster = super::cluster_name();
    // Leases of 60 s: only the SIGTERM hand-over moves the terminal within the waits below.
    let mut nodes = [1, 2].map(|id| {
        Some(Node::start(Node::command(&db, &nats, &cluster, id, 60_000)).unwrap_or_else(|(_, log)| panic!("{log}")))
    });
    let view = wait_for(
        nodes[0].as_ref().unwrap(),
        Duration::from_secs(15),
        "an even split",
        split_evenly,
    );
    let Partition(p) = Partitions::new(PARTITIONS).unwrap().of("T1");
    let owner_id = view["partitions"][usize::from(p)]["owner"].as_u64().unwrap();
    let (owner_at, survivor_at) = if owner_id == 1 { (0, 1) } else { (1, 0) };
    let owner = nodes[owner_at].as_ref().unwrap();

    // Registered, and read by T1's lot camera in this order, all at the terminal's owner. The
    // plates are ones whose partition the terminal's owner holds too: a taxi whose plate another
    // node owns cannot queue at this terminal yet (README, "Taxis in a cluster").
    let admin = token(Role::Admin, None);
    let gate = token(Role::Client, Some("gate-lot"));
    let partitions = Partitions::new(PARTITIONS).unwrap();
    let owned: Vec<String> = (1000..2000)
        .map(|n| format!("11A{n}"))
        .filter(|plate| {
            let Partition(p) = partitions.of(plate);
            view["partitions"][usize::from(p)]["owner"].as_u64() == Some(owner_id)
        })
        .take(8)
        .collect();
    let (plates, through_other, next) = (&owned[..6], &owned[6], &owned[7]);
    for plate in plates {
        let taxi = json!({"plate": plate, "license_region": "seoul", "class": "standard"});
        let (status, body) = owner.call("POST", "/api/v1/taxis", &admin, Some(taxi));
        assert_eq!(status, 201, "{body}");
    }
    for plate in plates {
        let reading = json!({"plate": plate, "terminal": "T1", "camera_id": "lpr-lot-t1"});
        let (status, body) = owner.call("POST", "/api/v1/taxis/arrivals", &gate, Some(reading));
        assert_eq!((status, &body["outcome"]), (201, &json!("queued")), "{plate}: {body}");
    }
    // The other node passes a registration to the owner of the plate's partition, a lot
    // camera's reading to the terminal's owner, and shows the owner's lines.
    let other = nodes[survivor_at].as_ref().unwrap();
    let taxi = json!({"plate": through_other, "license_region": "seoul", "class": "standard"});
    let (status, body) = other.call("POST", "/api/v1/taxis", &admin, Some(taxi.clone()));
    assert_eq!((status, &body["actor"]), (201, &json!("running")), "{body}");
    let (status, body) = other.call("POST", "/api/v1/taxis", &admin, Some(taxi));
    assert_eq!(status, 409, "registered once: {body}");
    let reading = json!({"plate": through_other, "terminal": "T1", "camera_id": "lpr-lot-t1"});
    let (status, body) = other.call("POST", "/api/v1/taxis/arrivals", &gate, Some(reading));
    assert_eq!((status, &body["outcome"]), (201, &json!("queued")), "{body}");
    let viewer = token(Role::Viewer, None);
    let (_, at_owner) = owner.call("GET", "/api/v1/queues", &viewer, None);
    let before = lines(&at_owner, "T1");
    assert!(
        before.iter().any(|l| l.ends_with(&format!("\"{through_other}\"]"))),
        "queued last at the owner: {before:?}"
    );
    // A driver's ping at the other node reaches the node that runs the taxi.
    let driver = driver_token(through_other);
    let (status, pinged) = other.call(
        "POST",
        &format!("/api/v1/taxis/{through_other}/heartbeat"),
        &driver,
        None,
    );
    assert_eq!((status, &pinged["terminal"]), (200, &json!("T1")), "{pinged}");
    // A driver's STOMP ping at the other node reaches the node that runs the taxi as well.
    let stomp_plate = plates[0].clone();
    let (_, before_ping) = owner.call("GET", &format!("/api/v1/taxis/{stomp_plate}"), &viewer, None);
    assert!(before_ping["last_ping_ms"].is_null(), "{before_ping}");
    let driver_of_first = driver_token(&stomp_plate);
    actix_web::rt::System::new().block_on(async {
        let mut app = crate::realtime::client::Stomp::open(&other.addr, &["v12.stomp"]).await;
        app.connect(&driver_of_first, "1.2").await;
        app.send_with_receipt("/app/taxi/ping", &[], "", "ping").await;
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, taxi) = owner.call("GET", &format!("/api/v1/taxis/{stomp_plate}"), &viewer, None);
        if taxi["last_ping_ms"].is_i64() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the ping did not reach the owner: {taxi}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (status, at_other) = other.call("GET", "/api/v1/queues", &viewer, None);
    assert_eq!(status, 200, "{at_other}");
    assert_eq!(lines(&at_other, "T1"), before, "the other node shows the owner's lines");
    let owners: Vec<(String, u64)> = at_other["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["terminal"].as_str().unwrap().to_owned(),
                t["owner_node"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(owners.contains(&("T1".to_owned(), owner_id)), "{owners:?}");
    assert_eq!(owners.len(), 2, "every terminal, wherever it runs: {owners:?}");
    // A dispatch change at the other node is made by the owner (here: the plan it has now).
    let t1 = at_other["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["terminal"] == "T1")
        .cloned()
        .unwrap();
    let plan = json!({"mode": t1["mode"], "curb_slots": t1["curb_slots"]});
    let operator = token(Role::Operator, None);
    let (status, changed) = other.call("PUT", "/api/v1/terminals/T1/dispatch", &operator, Some(plan));
    assert_eq!((status, &changed["owner_node"]), (200, &json!(owner_id)), "{changed}");
    assert_eq!(
        lines(&json!({"items": [changed]}), "T1"),
        before,
        "the same plan keeps the lines"
    );

    // The owner leaves; the survivor takes T1 over and shows the same lines in the same order.
    let mut leaving = nodes[owner_at].take().unwrap();
    leaving.signal("-TERM");
    assert!(leaving.child.wait().unwrap().success(), "{}", leaving.log_text());
    let survivor = nodes[survivor_at].as_ref().unwrap();
    wait_for(survivor, Duration::from_secs(15), "the survivor owns all", |v| {
        owned_by(v, survivor_at as u64 + 1) == usize::from(PARTITIONS)
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let after = loop {
        let (status, queues) = survivor.call("GET", "/api/v1/queues?terminal=T1", &viewer, None);
        if status == 200 {
            let after = lines(&queues, "T1");
            if after == before || std::time::Instant::now() > deadline {
                break after;
            }
        }
        assert!(std::time::Instant::now() < deadline, "{status} {queues}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(after, before, "{}", survivor.log_text());

    // It carries on there: the next arrival queues behind them.
    let taxi = json!({"plate": next, "license_region": "seoul", "class": "standard"});
    let (status, body) = survivor.call("POST", "/api/v1/taxis", &admin, Some(taxi));
    assert_eq!(status, 201, "{body}");
    let reading = json!({"plate": next, "terminal": "T1", "camera_id": "lpr-lot-t1"});
    let (status, body) = survivor.call("POST", "/api/v1/taxis/arrivals", &gate, Some(reading));
    assert_eq!((status, &body["outcome"]), (201, &json!("queued")), "{body}");
    let (_, queues) = survivor.call("GET", "/api/v1/queues?terminal=T1", &viewer, None);
    let last = lines(&queues, "T1");
    assert!(
        last.iter().any(|l| l.ends_with(&format!("\"{next}\"]"))),
        "behind the others: {last:?}"
    );
}

#[test]
fn a_terminals_crash_loop_alert_acknowledged_at_the_other_node_is_acknowledged_by_its_owner() {
    let Some((nats, db)) = engines() else { return };
    let cluster = super::cluster_name();
    let nodes = [1, 2].map(|id| {
        let mut cmd = Node::command(&db, &nats, &cluster, id, 60_000);
        cmd.env("KWANJE_FAULT_INJECTION", "1");
        Node::start(cmd).unwrap_or_else(|(_, log)| panic!("{log}"))
    });
    let view = wait_for(&nodes[0], Duration::from_secs(15), "an even split", split_evenly);
    let Partition(p) = Partitions::new(PARTITIONS).unwrap().of("T1");
    let owner_id = view["partitions"][usize::from(p)]["owner"].as_u64().unwrap();
    let (owner, other) = if owner_id == 1 {
        (&nodes[0], &nodes[1])
    } else {
        (&nodes[1], &nodes[0])
    };

    // T1's dispatcher crashes until its supervisor gives up: one crash_loop alert at its owner.
    let admin = token(Role::Admin, None);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let alert = loop {
        let (_, found) = owner.call("GET", "/api/v1/alerts?kind=crash_loop&subject_id=T1", &admin, None);
        if let Some(alert) = found["items"].as_array().and_then(|a| a.first()).cloned() {
            break alert;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no crash_loop alert: {found}\n{}",
            owner.log_text()
        );
        owner.call("POST", "/api/v1/terminals/T1/faults/crash", &admin, Some(json!({})));
        std::thread::sleep(Duration::from_millis(300));
    };
    let id = alert["id"].as_u64().unwrap_or_else(|| panic!("{alert}"));

    // Acknowledged at the other node: passed to the owner, which keeps it and says so.
    let operator = token(Role::Operator, None);
    let path = format!("/api/v1/alerts/{id}/ack");
    let (status, acked) = other.call("POST", &path, &operator, Some(json!({"note": "on it"})));
    assert_eq!((status, &acked["state"]), (200, &json!("acknowledged")), "{acked}");
    let (_, at_owner) = owner.call("GET", &format!("/api/v1/alerts/{id}"), &admin, None);
    assert_eq!(at_owner["state"], "acknowledged", "{at_owner}");
}

/// A driver's service-region choice and an operator's blacklisting, sent to the node that does
/// not run the taxi, are passed to the one that does, which keeps them; a refusal there comes
/// back as it is.
#[test]
fn service_region_and_blacklist_at_the_other_node_reach_the_taxis_owner() {
    let Some((nats, db)) = engines() else { return };
    let cluster = super::cluster_name();
    let nodes = [1, 2].map(|id| {
        let mut cmd = Node::command(&db, &nats, &cluster, id, 60_000);
        cmd.env("KWANJE_TAXI_JOINT_ZONES", "gyeonggi:seoul");
        Node::start(cmd).unwrap_or_else(|(_, log)| panic!("{log}"))
    });
    let view = wait_for(&nodes[0], Duration::from_secs(15), "an even split", split_evenly);
    let partitions = Partitions::new(PARTITIONS).unwrap();
    let plate = (1000..2000)
        .map(|n| format!("22B{n}"))
        .find(|plate| {
            let Partition(p) = partitions.of(plate);
            view["partitions"][usize::from(p)]["owner"].as_u64() == Some(1)
        })
        .unwrap();
    let (owner, other) = (&nodes[0], &nodes[1]);
    let admin = token(Role::Admin, None);
    let taxi = json!({"plate": plate, "license_region": "gyeonggi", "class": "standard"});
    let (status, body) = owner.call("POST", "/api/v1/taxis", &admin, Some(taxi));
    assert_eq!(status, 201, "{body}");

    // The driver chooses seoul at the other node (the joint zone allows it).
    let driver = driver_token(&plate);
    let path = format!("/api/v1/taxis/{plate}/service-region");
    let (status, body) = other.call("PUT", &path, &driver, Some(json!({"region": "seoul"})));
    assert_eq!((status, &body["service_region"]), (200, &json!("seoul")), "{body}");
    let viewer = token(Role::Viewer, None);
    let (_, at_owner) = owner.call("GET", &format!("/api/v1/taxis/{plate}"), &viewer, None);
    assert_eq!(at_owner["service_region"], "seoul", "{at_owner}");
    // A region its licence does not allow: the owner's 422 comes back through the other node.
    let (status, body) = other.call("PUT", &path, &driver, Some(json!({"region": "incheon"})));
    assert_eq!(status, 422, "{body}");

    // Blacklisted and lifted at the other node; the owner holds the plate and lets it go.
    let operator = token(Role::Operator, None);
    let path = format!("/api/v1/taxis/{plate}/blacklist");
    let (status, body) = other.call("POST", &path, &operator, Some(json!({"reason": "overcharging"})));
    assert_eq!((status, &body["blacklisted"]), (200, &json!(true)), "{body}");
    let (_, at_owner) = owner.call("GET", &format!("/api/v1/taxis/{plate}"), &viewer, None);
    assert_eq!(at_owner["blacklisted"], true, "{at_owner}");
    let (status, body) = other.call("DELETE", &path, &operator, None);
    assert_eq!((status, &body["blacklisted"]), (200, &json!(false)), "{body}");
    let (_, at_owner) = owner.call("GET", &format!("/api/v1/taxis/{plate}"), &viewer, None);
    assert_eq!(at_owner["blacklisted"], false, "{at_owner}");
}
