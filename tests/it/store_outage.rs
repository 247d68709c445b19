//! A database that is briefly gone: 503 while it is, nothing lost, 200 when it is back
//! (crates.io's chaos proxy: 200, 503, 200; PostgreSQL only, since SQLite is in-process); a
//! batch retried after a lost commit acknowledgement; and a write that panics.

use std::time::Duration;

use crate::support::proxy::proxied_postgres;
use crate::support::{Backend, Server};

#[actix_web::test]
#[cfg_attr(not(pg_tests), ignore = "needs TEST_DATABASE_URL")]
async fn a_briefly_gone_database_gives_503_then_recovers_without_losing_alerts() {
    // The server reaches the database through a proxy the test can cut.
    let (proxy, proxied) = proxied_postgres().await;
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_on(Backend::Postgres, &proxied, dir, |_| {}).await;
    s.register("pc-1", &["cam-1"], 100, 2).await;
    // An admin's heartbeat: pc-1 is never online, so the silence is the device's alone.
    s.admin_heartbeat("cam-1", "ok").await;
    let (status, _) = s.call("GET", "/readyz", None, None).await;
    assert_eq!(status, 200);

    proxy.cut();
    let (status, body) = s.call("GET", "/readyz", None, None).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], 503);
    let (status, _) = s.get("/api/v1/alerts").await;
    assert_eq!(status, 503);
    // The device goes down while the store is gone: the live view still answers, and its
    // alert waits to be stored; it is not lost.
    let down = s
        .wait_for("/api/v1/devices/cam-1", Duration::from_secs(10), |d| {
            d["state"] == "down"
        })
        .await;
    assert_eq!(down["alerts"][0]["kind"], "heartbeat_missed", "{down}");
    actix_web::rt::time::sleep(Duration::from_millis(700)).await;

    proxy.restore();
    s.wait_for("/api/v1/alerts?state=open", Duration::from_secs(20), |b| {
        b["items"]
            .as_array()
            .is_some_and(|a| a.len() == 1 && a[0]["kind"] == "heartbeat_missed")
    })
    .await;
    let (status, _) = s.call("GET", "/readyz", None, None).await;
    assert_eq!(status, 200);
}

/// A journal batch retried after a commit whose acknowledgement was lost carries the same
/// record ids: the second write must store nothing new and refuse nothing, or the records
/// would be dropped one by one as conflicts.
#[test]
#[cfg_attr(not(pg_tests), ignore = "needs TEST_DATABASE_URL")]
fn dispatch_records_written_again_are_stored_once_on_postgres() {
    use kwanje::store::models::dispatch::{insert_records, records, DispatchRecord};
    let base = crate::support::pg_url().expect("TEST_DATABASE_URL");
    let store = kwanje::store::Store::open(&crate::support::fresh_pg_schema(&base)).unwrap();
    store.migrate().unwrap();
    let batch: Vec<DispatchRecord> = (1..=3)
        .map(|id| DispatchRecord {
            id,
            terminal: "T1".into(),
            kind: "taxi.queued".into(),
            plate: Some(format!("S{id}")),
            request_id: None,
            distance_m: None,
            detail: "{}".into(),
            at_ms: 1_000 + id,
        })
        .collect();
    for _ in 0..2 {
        let batch = batch.clone();
        store.write_blocking(move |c| insert_records(c, &batch)).unwrap();
    }
    let stored = store.read_blocking(|c| records(c, "T1")).unwrap();
    assert_eq!(stored.iter().map(|r| r.id).collect::<Vec<_>>(), [1, 2, 3]);
}

/// A write whose own code panics is a permanent failure, which batching writers drop alone;
/// were it "unavailable" they would retry it for ever and block every write behind it. The
/// writer connection still serves the next write.
#[actix_web::test]
async fn a_write_that_panics_is_a_permanent_failure_and_the_store_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let url = crate::support::database_url(Backend::Sqlite, &dir);
    let store = kwanje::store::Store::open(&url).unwrap();
    store.migrate().unwrap();
    let failed = store
        .write(|_| -> diesel::QueryResult<()> { panic!("a bug in a write closure") })
        .await;
    let err = failed.unwrap_err();
    assert!(matches!(err, kwanje::store::StoreError::Panicked(_)), "{err}");
    assert!(!err.is_unavailable());
    assert!(store.write(|_| Ok(())).await.is_ok());
}
