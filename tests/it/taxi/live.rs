//! Live updates over STOMP: every stored dispatch event on `/topic/dispatch`, each line's on
//! `/topic/taxis/{terminal}/{region}`, a driver's own on `/user/queue/dispatch`, and the
//! driver app's ping over `/app/taxi/ping`.

use kwanje::auth::Role;
use kwanje::time::Millis;
use serde_json::{json, Value};

use super::{Airport, WAIT};
use crate::realtime::client::Stomp;
use crate::realtime::session;
use crate::support::Backend;

fn kind(v: &Value) -> (String, String) {
    let plate = v["plate"]
        .as_str()
        .or_else(|| v["assignment"]["plate"].as_str())
        .unwrap_or("-");
    (v["type"].as_str().unwrap().to_owned(), plate.to_owned())
}

#[actix_web::test]
async fn dispatch_events_reach_the_topics_and_the_drivers_queue() {
    let start = Millis::now();
    let a = Airport::start_at(Backend::Sqlite, start).await;
    a.register("S1", "seoul", "standard").await;
    a.register("S2", "seoul", "standard").await;
    a.register("I1", "incheon", "standard").await;
    let mut all = session(&a.s, "console-1", Role::Viewer).await;
    all.subscribe("all", "/topic/dispatch", "auto").await;
    let mut seoul = session(&a.s, "console-2", Role::Viewer).await;
    seoul.subscribe("seoul", "/topic/taxis/T1/seoul", "auto").await;
    let mut driver = Stomp::open(&a.s.base, &["v12.stomp"]).await;
    driver.connect(&a.driver("S2"), "1.2").await;
    driver.subscribe("mine", "/user/queue/dispatch", "auto").await;

    assert_eq!(
        a.configure("T1", "regional", json!({"seoul": 1, "incheon": 1})).await.0,
        200
    );
    a.arrive("S1", "T1").await;
    a.arrive("I1", "T1").await;
    a.arrive("S2", "T1").await;
    let (_, r) = a.request("T1", "seoul", 20.0, None).await;
    a.pickup(&r["id"]).await;

    let mut seen = Vec::new();
    for _ in 0..9 {
        let (frame, body) = all.recv_json().await;
        assert_eq!(frame.header("destination"), Some("/topic/dispatch"));
        assert_eq!(body["terminal"], "T1");
        seen.push(kind(&body));
    }
    let expected = [
        ("dispatch.configured", "-"),
        ("taxi.queued", "S1"),
        ("dispatch.called", "S1"),
        ("taxi.queued", "I1"),
        ("dispatch.called", "I1"),
        ("taxi.queued", "S2"),
        ("dispatch.assigned", "S1"),
        ("dispatch.picked_up", "S1"),
        ("dispatch.called", "S2"),
    ];
    let expected: Vec<(String, String)> = expected.iter().map(|(t, p)| (t.to_string(), p.to_string())).collect();
    assert_eq!(seen, expected);

    // The seoul line's topic has the seoul events only (no incheon taxi, no configuration).
    let mut line = Vec::new();
    for _ in 0..6 {
        line.push(kind(&seoul.recv_json().await.1));
    }
    let seoul_only: Vec<(String, String)> = expected
        .iter()
        .filter(|(t, p)| p != "I1" && t != "dispatch.configured")
        .cloned()
        .collect();
    assert_eq!(line, seoul_only);

    // S2's driver hears about S2 only: its ticket, then its call to bay 1.
    let (_, queued) = driver.recv_json().await;
    assert_eq!(kind(&queued), ("taxi.queued".into(), "S2".into()));
    assert_eq!(queued["position"], 1);
    let (frame, called) = driver.recv_json().await;
    assert_eq!(frame.header("destination"), Some("/user/queue/dispatch"));
    assert_eq!(
        (&called["type"], &called["bay"]),
        (&json!("dispatch.called"), &json!(1))
    );

    // The driver app pings over STOMP.
    assert_eq!(a.taxi("S2").await["last_ping_ms"], Value::Null);
    driver.send_with_receipt("/app/taxi/ping", &[], "", "ping-1").await;
    a.s.wait_for("/api/v1/taxis/S2", WAIT, |t| t["last_ping_ms"] == json!(start.0))
        .await;
}
