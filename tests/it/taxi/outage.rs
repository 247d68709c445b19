//! Dispatch on the wall clock and through a store outage: the tick timer alone suspends and
//! removes a silent taxi, and requests are served while the database is gone, their records
//! stored once it is back.

use std::time::{Duration, Instant};

use serde_json::json;

use super::{settings, Airport};
use crate::support::proxy::proxied_postgres;
use crate::support::{Backend, Server};
use kwanje::store::models::dispatch::{records, DispatchRecord};
use kwanje::time::ManualClock;

async fn t1_records(s: &Server) -> Vec<DispatchRecord> {
    s.state.store.read(|c| records(c, "T1")).await.unwrap()
}

#[actix_web::test]
async fn the_timer_alone_suspends_then_removes_a_silent_taxi() {
    let s = Server::start_with(Backend::Sqlite, |c| {
        settings(c);
        c.taxi_suspend_after_ms = 150;
        c.taxi_grace_ms = 150;
    })
    .await;
    let a = Airport::with(s, ManualClock::default());
    a.register("S1", "seoul", "standard").await;
    a.register("S2", "seoul", "standard").await;
    assert_eq!(a.configure("T1", "regional", json!({"seoul": 1})).await.0, 200);
    a.arrive("S1", "T1").await;
    a.arrive("S2", "T1").await;
    // Nothing is asked of the terminal from now on: only its own timer can act.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        a.s.state.taxis.flush().await;
        let kinds: Vec<String> = t1_records(&a.s).await.into_iter().map(|r| r.kind).collect();
        if kinds.iter().any(|k| k == "taxi.removed") {
            let tail: Vec<&str> = kinds.iter().map(String::as_str).skip(3).collect();
            // S1 was called to the curb (not supervised there); S2 waited silently.
            assert_eq!(tail, ["taxi.queued", "taxi.suspended", "taxi.removed"]);
            break;
        }
        assert!(Instant::now() < deadline, "no removal: {kinds:?}");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    let lines = super::lines(&a.queues("T1").await);
    assert_eq!(lines[0], "seoul/standard: [S1@1] | ");
}

#[actix_web::test]
#[cfg_attr(not(pg_tests), ignore = "needs TEST_DATABASE_URL")]
async fn requests_are_served_while_the_store_is_gone_and_recorded_after() {
    let (proxy, proxied) = proxied_postgres().await;
    let clock = ManualClock::new(kwanje::time::Millis(super::MORNING));
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_clocked_on(
        Backend::Postgres,
        &proxied,
        dir,
        std::sync::Arc::new(clock.clone()),
        settings,
    )
    .await;
    let a = Airport::with(s, clock);
    a.register("S1", "seoul", "standard").await;
    a.register("S2", "seoul", "standard").await;
    assert_eq!(a.configure("T1", "regional", json!({"seoul": 1})).await.0, 200);
    a.s.state.taxis.flush().await;

    proxy.cut();
    assert_eq!(a.arrive("S1", "T1").await.0, 201);
    assert_eq!(a.arrive("S2", "T1").await.0, 201);
    let (status, r) = a.request("T1", "seoul", 30.0, None).await;
    assert_eq!((status, &r["plate"]), (201, &json!("S1")), "{r}");
    a.pickup(&r["id"]).await;
    assert_eq!(super::lines(&a.queues("T1").await)[0], "seoul/standard: [S2@1] | ");
    actix_web::rt::time::sleep(Duration::from_millis(700)).await;

    proxy.restore();
    a.s.state.taxis.flush().await;
    let kinds: Vec<String> = t1_records(&a.s).await.into_iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [
            "dispatch.configured",
            "taxi.queued",
            "dispatch.called",
            "taxi.queued",
            "dispatch.assigned",
            "dispatch.picked_up",
            "dispatch.called",
        ]
    );
    let row =
        a.s.state
            .store
            .read(|c| kwanje::store::models::taxis::find(c, "S2"))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(row.terminal.as_deref(), Some("T1"));
}
