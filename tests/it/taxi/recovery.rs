//! Crashes and restarts that must not cost anyone their place: a taxi actor in a crash loop
//! (quarantined, with one critical alert, its place kept by the terminal), a whole server
//! restarted on the same database (each terminal resumes from its stored snapshot), and the
//! listener hook the broker uses, which sees every stored event once, in order.

use std::sync::{Arc, Mutex};

use actix::prelude::*;
use kwanje::listen::Tells;
use kwanje::taxi::messages::DispatchRecorded;
use serde_json::json;

use super::{lines, settings, Airport, WAIT};
use crate::support::{backends, Backend};

#[actix_web::test]
async fn a_taxi_actor_in_a_crash_loop_is_quarantined_and_keeps_its_place() {
    let a = Airport::start(Backend::Sqlite).await;
    a.register("S1", "seoul", "standard").await;
    a.register("S2", "seoul", "standard").await;
    a.arrive("S1", "T1").await;
    a.arrive("S2", "T1").await;
    a.arrive("S1", "T2").await;
    let (_, s2) = a.arrive("S2", "T2").await;
    assert_eq!(s2["outcome"], "queued");
    let before = lines(&a.queues("T2").await);
    // Default policy: 5 restarts within 60 s; the 6th crash escalates.
    for n in 1..=5u32 {
        let (status, _) = a.s.post("/api/v1/taxis/S2/faults/crash", json!({})).await;
        assert_eq!(status, 202);
        a.s.wait_for("/api/v1/taxis/S2", WAIT, |t| {
            t["restarts"] == n && t["actor"] == "running"
        })
        .await;
    }
    a.s.post("/api/v1/taxis/S2/faults/crash", json!({})).await;
    a.s.wait_for("/api/v1/taxis/S2", WAIT, |t| t["actor"] == "quarantined")
        .await;
    let (status, body) = a.ping("S2").await;
    assert_eq!(status, 409, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("quarantined"), "{body}");
    let alerts =
        a.s.wait_for("/api/v1/alerts?state=open", WAIT, |b| {
            b["items"].as_array().is_some_and(|i| i.len() == 1)
        })
        .await;
    let alert = &alerts["items"][0];
    assert_eq!(
        (
            &alert["subject_type"],
            &alert["subject_id"],
            &alert["kind"],
            &alert["severity"]
        ),
        (&json!("taxi"), &json!("S2"), &json!("crash_loop"), &json!("critical"))
    );
    assert_eq!(lines(&a.queues("T2").await), before, "the terminal kept its place");
    let st = a.s.state.taxis.taxi_supervisor_stats().await.unwrap();
    assert_eq!((st.restarts, st.escalations), (5, 1));
    // Its restart count is stored.
    a.s.state.taxis.flush().await;
    let row =
        a.s.state
            .store
            .read(|c| kwanje::store::models::taxis::find(c, "S2"))
            .await
            .unwrap()
            .unwrap();
    assert_eq!((row.restarts, row.terminal.as_deref()), (5, Some("T2")), "{row:?}");
}

/// What the journal told a listener: record id, terminal, message type.
type Heard = Arc<Mutex<Vec<(i64, String, &'static str)>>>;

/// Collects what the journal tells its listeners.
struct Listener(Heard);

impl Actor for Listener {
    type Context = Context<Self>;
}

impl Handler<DispatchRecorded> for Listener {
    type Result = ();
    fn handle(&mut self, msg: DispatchRecorded, _: &mut Context<Self>) {
        self.0
            .lock()
            .unwrap()
            .push((msg.id, msg.terminal.to_string(), msg.event.message_type()));
    }
}

#[actix_web::test]
async fn a_restarted_server_resumes_every_terminal_from_its_stored_snapshot() {
    for backend in backends() {
        let a = Airport::start(backend).await;
        let heard = Arc::new(Mutex::new(Vec::new()));
        a.s.state.taxis.listen(Listener(heard.clone()).start().recipient());
        for plate in ["S1", "S2", "S3", "I1"] {
            a.register(plate, if plate == "I1" { "incheon" } else { "seoul" }, "standard")
                .await;
        }
        a.configure("T2", "regional", json!({"seoul": 1, "incheon": 0})).await;
        for plate in ["S1", "S2", "S3", "I1"] {
            a.at(a.minutes() + 1.0).await;
            a.arrive(plate, "T2").await;
            a.goes_live(plate).await;
        }
        let (status, r1) = a.request("T2", "seoul", 4.0, None).await;
        assert_eq!(status, 201, "{r1}");
        a.at(6.0).await;
        a.pickup(&r1["id"]).await;
        a.configure("T2", "integrated", json!({"all": 1})).await;
        let before = a.queues("T2").await;
        assert_eq!(
            lines(&before),
            ["all/standard: [S2@1] | S3 I1", "all/deluxe: [] | ", "all/jumbo: [] | "]
        );
        let (_, stats_before) = a.s.get("/api/v1/dispatch/stats?terminal=T2").await;

        a.s.state.taxis.flush().await;
        let told: Vec<&'static str> = heard.lock().unwrap().iter().map(|(_, _, kind)| *kind).collect();
        assert_eq!(
            told,
            [
                "dispatch.configured",
                "taxi.queued",
                "dispatch.called",
                "taxi.queued",
                "taxi.queued",
                "taxi.queued",
                "dispatch.assigned",
                "dispatch.picked_up",
                "dispatch.called",
                "dispatch.configured",
            ]
        );
        assert!(heard
            .lock()
            .unwrap()
            .windows(2)
            .all(|w| w[0].0 < w[1].0 && w[0].1 == "T2"));

        let clock = a.clock.clone();
        let s = a.s.restart(settings).await;
        let b = Airport::with(s, clock);
        assert_eq!(b.queues("T2").await, before);
        assert_eq!(b.s.get("/api/v1/dispatch/stats?terminal=T2").await.1, stats_before);
        // It carries on: the open trip completes and the registered taxis answer.
        let done = b.complete(&r1["id"], 4.0, "S1").await;
        assert_eq!(done["short"], true);
        assert_eq!(b.taxi("S3").await["position"], 1);
        assert_eq!(b.ping("S3").await.0, 200);
        b.s.shut_down().await;
    }
}
