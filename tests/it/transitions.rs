//! `GET /api/v1/devices/{id}/transitions`: a device's history, newest first, a page at a time,
//! on every backend.

use std::time::Duration;

use kwanje::auth::Role;
use serde_json::Value;

use crate::support::{backends, Backend, Server};

const WAIT: Duration = Duration::from_secs(10);

fn items(body: &Value) -> Vec<Value> {
    body["items"].as_array().cloned().unwrap_or_default()
}

fn states(page: &[Value]) -> Vec<(String, String)> {
    page.iter()
        .map(|t| {
            (
                t["from_state"].as_str().unwrap().to_owned(),
                t["to_state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// With an admin's heartbeats: pc-1 is never online, so the silence is the device's alone.
async fn history_pages_newest_first(backend: Backend) {
    let s = Server::start(backend).await;
    s.register("pc-1", &["cam-1"], 100, 2).await;
    s.admin_heartbeat("cam-1", "ok").await;
    s.wait_for("/api/v1/devices/cam-1", WAIT, |d| d["state"] == "down")
        .await;
    s.admin_heartbeat("cam-1", "ok").await;
    // Transitions are stored in batches: wait for the third to be kept.
    let all = s
        .wait_for("/api/v1/devices/cam-1/transitions", WAIT, |b| items(b).len() == 3)
        .await;
    let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
    assert_eq!(
        states(&items(&all)),
        [pair("down", "up"), pair("up", "down"), pair("unknown", "up")],
        "{all}"
    );
    assert_eq!(items(&all)[1]["reason"], "heartbeat_missed", "{all}");
    assert!(all["next_cursor"].is_null(), "{all}");

    let viewer = s.token("watcher", Role::Viewer, None);
    let (status, first) = s
        .call("GET", "/api/v1/devices/cam-1/transitions?limit=2", Some(&viewer), None)
        .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(states(&items(&first)), [pair("down", "up"), pair("up", "down")]);
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a full page has a cursor")
        .to_owned();
    let (_, second) = s
        .get(&format!("/api/v1/devices/cam-1/transitions?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(states(&items(&second)), [pair("unknown", "up")], "{second}");
    assert!(second["next_cursor"].is_null(), "{second}");
    s.stop().await;
}

#[actix_web::test]
async fn a_devices_transitions_page_newest_first() {
    for backend in backends() {
        history_pages_newest_first(backend).await;
    }
}

#[actix_web::test]
async fn transitions_refuse_unknown_devices_bad_cursors_and_no_token() {
    let s = Server::start(Backend::Sqlite).await;
    s.register("pc-1", &["cam-1"], 5000, 3).await;
    let (status, body) = s.get("/api/v1/devices/nope/transitions").await;
    assert_eq!((status, body["status"].as_u64()), (404, Some(404)), "{body}");
    let (status, body) = s.get("/api/v1/devices/cam-1/transitions?cursor=abc").await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = s.get("/api/v1/devices/cam-1/transitions?limit=1001").await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = s.call("GET", "/api/v1/devices/cam-1/transitions", None, None).await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = s.get("/api/v1/devices/cam-1/transitions").await;
    assert_eq!((status, items(&body).len()), (200, 0), "{body}");
    s.stop().await;
}
