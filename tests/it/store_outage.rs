//! A database that is briefly gone: 503 while it is, nothing lost, 200 when it is back
//! (crates.io's chaos proxy: 200, 503, 200). PostgreSQL only: SQLite is in-process.

use std::net::ToSocketAddrs;
use std::time::Duration;

use crate::support::proxy::ChaosProxy;
use crate::support::{fresh_pg_schema, pg_url, Backend, Server};

#[actix_web::test]
async fn a_briefly_gone_database_gives_503_then_recovers_without_losing_alerts() {
    let Some(base) = pg_url() else {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    };
    let url = fresh_pg_schema(&base);
    // Point the server at the proxy instead of the database.
    let host_port = base
        .split('@')
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or("127.0.0.1:5432");
    let upstream = host_port.to_socket_addrs().unwrap().next().unwrap();
    let proxy = ChaosProxy::start(upstream).await;
    let proxied = url.replacen(host_port, &proxy.addr.to_string(), 1);
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_on(Backend::Postgres, &proxied, dir, |_| {}).await;
    s.register("pc-1", &["cam-1"], 100, 2).await;
    s.heartbeat("pc-1", "cam-1", "ok").await;
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
