//! `GET /api/v1/audit`: who did what and when, newest first, filtered and a page at a time, on
//! every backend; operator or above.

use std::time::Duration;

use kwanje::auth::Role;
use serde_json::{json, Value};

use crate::support::{backends, Backend, Server};

const WAIT: Duration = Duration::from_secs(10);

fn items(body: &Value) -> Vec<Value> {
    body["items"].as_array().cloned().unwrap_or_default()
}

fn actions(body: &Value) -> Vec<String> {
    items(body)
        .iter()
        .map(|e| {
            format!(
                "{} {} {}",
                e["actor"].as_str().unwrap(),
                e["action"].as_str().unwrap(),
                e["target"].as_str().unwrap()
            )
        })
        .collect()
}

async fn audit_lists_filters_and_pages(backend: Backend) {
    let s = Server::start(backend).await;
    s.register("pc-1", &["cam-1"], 5_000, 3).await;
    let (status, _) = s.heartbeat("pc-1", "cam-1", "fault").await;
    assert_eq!(status, 200);
    let open = s
        .wait_for("/api/v1/alerts?state=open&kind=device_fault", WAIT, |b| {
            !items(b).is_empty()
        })
        .await;
    let id = open["items"][0]["id"].as_i64().unwrap();
    let (kim, lee) = (
        s.token("kim", Role::Operator, None),
        s.token("lee", Role::Operator, None),
    );
    let ack = format!("/api/v1/alerts/{id}/ack");
    let (status, body) = s
        .call("POST", &ack, Some(&kim), Some(json!({"note": "sent a technician"})))
        .await;
    assert_eq!(status, 200, "{body}");
    let resolve = format!("/api/v1/alerts/{id}/resolve");
    // A resolution whose note cannot be read is refused, not taken without it.
    let mut resp = awc::Client::default()
        .post(s.url(&resolve))
        .bearer_auth(&lee)
        .insert_header(("Content-Type", "application/json"))
        .send_body("{\"note\": \"lens cl")
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400, "{:?}", resp.body().await);
    let (_, still) = s.get(&format!("/api/v1/alerts/{id}")).await;
    assert_eq!(still["state"], "acknowledged", "{still}");
    let (status, body) = s
        .call("POST", &resolve, Some(&lee), Some(json!({"note": "lens cleaned"})))
        .await;
    assert_eq!(status, 200, "{body}");

    // Alert actions are stored in batches: wait for both to be kept.
    let alert = format!("alert:{id}");
    let all = s
        .wait_for("/api/v1/audit", WAIT, |b| {
            items(b).iter().filter(|e| e["target"] == alert.as_str()).count() == 2
        })
        .await;
    assert_eq!(
        actions(&all),
        [
            format!("lee alert.resolve {alert}"),
            format!("kim alert.ack {alert}"),
            "admin device.register device:cam-1".to_owned(),
            "admin client.register client:pc-1".to_owned(),
        ],
        "{all}"
    );
    assert_eq!(items(&all)[1]["detail"], "sent a technician", "{all}");
    assert_eq!(items(&all)[0]["detail"], "lens cleaned", "{all}");
    assert!(all["next_cursor"].is_null(), "{all}");

    // Each filter narrows; together they all must match.
    let (_, by_kim) = s.call("GET", "/api/v1/audit?actor=kim", Some(&lee), None).await;
    assert_eq!(actions(&by_kim), [format!("kim alert.ack {alert}")], "{by_kim}");
    let (_, resolves) = s.get("/api/v1/audit?action=alert.resolve").await;
    assert_eq!(actions(&resolves), [format!("lee alert.resolve {alert}")], "{resolves}");
    let (_, on_alert) = s.get(&format!("/api/v1/audit?target={alert}&actor=admin")).await;
    assert!(items(&on_alert).is_empty(), "{on_alert}");
    // A trailing `*` matches by prefix, case-sensitively on both backends.
    let (_, alert_actions) = s.get("/api/v1/audit?action=alert.*").await;
    assert_eq!(
        actions(&alert_actions),
        [format!("lee alert.resolve {alert}"), format!("kim alert.ack {alert}")],
        "{alert_actions}"
    );
    let (_, registrations) = s.get("/api/v1/audit?target=c*&action=*.register").await;
    assert!(
        items(&registrations).is_empty(),
        "only a trailing star is a prefix: {registrations}"
    );
    let (_, clients) = s.get("/api/v1/audit?target=client:*").await;
    assert_eq!(actions(&clients), ["admin client.register client:pc-1"], "{clients}");
    let (_, upper) = s.get("/api/v1/audit?target=CLIENT:*").await;
    assert!(items(&upper).is_empty(), "a prefix is case-sensitive: {upper}");
    let acked_at = items(&all)[1]["at_ms"].as_i64().unwrap();
    let resolved_at = items(&all)[0]["at_ms"].as_i64().unwrap();
    let (_, from_ack) = s.get(&format!("/api/v1/audit?since={acked_at}")).await;
    assert_eq!(items(&from_ack).len(), 2, "{from_ack}");
    let (_, before_ack) = s.get(&format!("/api/v1/audit?until={acked_at}")).await;
    assert!(
        items(&before_ack)
            .iter()
            .all(|e| e["action"] != "alert.ack" && e["action"] != "alert.resolve"),
        "{before_ack}"
    );
    let (_, window) = s
        .get(&format!("/api/v1/audit?since={acked_at}&until={}", resolved_at + 1))
        .await;
    assert!(actions(&window).contains(&format!("kim alert.ack {alert}")), "{window}");

    // A page at a time, newest first, the cursor carrying on where the last page stopped.
    let (_, first) = s.get("/api/v1/audit?limit=3").await;
    assert_eq!(actions(&first), actions(&all)[..3], "{first}");
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a full page has a cursor")
        .to_owned();
    let (_, second) = s.get(&format!("/api/v1/audit?limit=3&cursor={cursor}")).await;
    assert_eq!(actions(&second), actions(&all)[3..], "{second}");
    assert!(second["next_cursor"].is_null(), "{second}");
    s.stop().await;
}

#[actix_web::test]
async fn the_audit_log_lists_filters_and_pages_newest_first() {
    for backend in backends() {
        audit_lists_filters_and_pages(backend).await;
    }
}

#[actix_web::test]
async fn the_audit_log_refuses_viewers_and_bad_filters() {
    let s = Server::start(Backend::Sqlite).await;
    s.register("pc-1", &["cam-1"], 5_000, 3).await;
    let viewer = s.token("watcher", Role::Viewer, None);
    let (status, body) = s.call("GET", "/api/v1/audit", Some(&viewer), None).await;
    assert_eq!((status, body["status"].as_u64()), (403, Some(403)), "{body}");
    let (status, body) = s.call("GET", "/api/v1/audit", None, None).await;
    assert_eq!(status, 401, "{body}");
    for bad in [
        "cursor=abc",
        "limit=0",
        "limit=1001",
        "actor=",
        "target=*",
        "since=20&until=10",
        "since=10&until=10",
    ] {
        let (status, body) = s.get(&format!("/api/v1/audit?{bad}")).await;
        assert_eq!((status, body["status"].as_u64()), (422, Some(422)), "{bad}: {body}");
    }
    let (status, body) = s.get("/api/v1/audit?since=yesterday").await;
    assert_eq!(status, 400, "{body}");
    // Refused requests changed nothing: the log is as it was.
    let (status, body) = s.get("/api/v1/audit").await;
    assert_eq!((status, items(&body).len()), (200, 2), "{body}");
    s.stop().await;
}
