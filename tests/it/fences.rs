//! Fenced writes through the real server: once a newer fencing token is recorded for a gate
//! PC's partition (what another node taking it over does), nothing this node still does for
//! that gate PC's devices is stored or told (not a command, not a transition, not an alert),
//! while the devices of other partitions go on as before.

use std::time::Duration;

use kwanje::ownership::{Fence, Partitions};
use kwanje::time::Millis;
use serde_json::json;

use crate::support::{backends, Server};

/// Two gate PCs that fall in different partitions, one device each.
async fn two_partitions(s: &Server) -> (&'static str, &'static str) {
    let (taken, kept) = ("pc-taken", "pc-kept");
    assert_ne!(Partitions::DEFAULT.of(taken), Partitions::DEFAULT.of(kept));
    // Down about 3 s after the last heartbeat: long after the takeover below is recorded.
    s.register(taken, &["cam-taken"], 1_000, 2).await;
    s.register(kept, &["cam-kept"], 1_000, 2).await;
    for (client, device) in [(taken, "cam-taken"), (kept, "cam-kept")] {
        let (status, body) = s.heartbeat(client, device, "ok").await;
        assert!(status < 300, "{status} {body}");
        s.wait_for(
            &format!("/api/v1/devices/{device}/transitions"),
            Duration::from_secs(5),
            |b| {
                b["items"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|t| t["to_state"] == "up"))
            },
        )
        .await;
    }
    (taken, kept)
}

async fn command(s: &Server, device: &str) -> (u16, serde_json::Value) {
    s.call(
        "POST",
        &format!("/api/v1/devices/{device}/commands"),
        Some(&s.admin),
        Some(json!({"kind": "restart"})),
    )
    .await
}

#[actix_web::test]
async fn a_partition_taken_over_elsewhere_gets_no_write_from_this_node() {
    for backend in backends() {
        let s = Server::start(backend).await;
        let (taken, _) = two_partitions(&s).await;
        let (status, body) = command(&s, "cam-taken").await;
        assert!(status < 300, "before the takeover: {status} {body}");

        // Another node takes the partition over: its token is recorded.
        let fence = Fence {
            partition: Partitions::DEFAULT.of(taken),
            token: 7,
        };
        let recorded = s
            .state
            .store
            .advance_fence(fence, 9, Millis::now().as_i64())
            .await
            .unwrap();
        assert!(recorded, "{backend:?}");

        let (status, body) = command(&s, "cam-taken").await;
        assert_eq!(status, 503, "{backend:?}: {body}");
        let detail = body["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains("fence of partition") && detail.contains("token 7"),
            "{body}"
        );
        let (_, listed) = s.get("/api/v1/commands?device_id=cam-taken").await;
        assert_eq!(
            listed["items"].as_array().map(Vec::len),
            Some(1),
            "only the first: {listed}"
        );
        let (status, _) = command(&s, "cam-kept").await;
        assert!(status < 300, "another partition is not held up");

        // Both devices fall silent: the kept one's alert is stored and listed (the barrier);
        // the taken one's transition and alert are refused.
        let alerts = s
            .wait_for("/api/v1/alerts?subject_id=cam-kept", Duration::from_secs(10), |b| {
                b["items"].as_array().is_some_and(|a| !a.is_empty())
            })
            .await;
        assert_eq!(alerts["items"][0]["kind"], "heartbeat_missed", "{alerts}");
        let writer = s
            .state
            .alerts
            .send(kwanje::alert::messages::GetAlertStats)
            .await
            .unwrap();
        assert!(writer.refused >= 1, "{backend:?}: {writer:?}");
        let (_, none) = s.get("/api/v1/alerts?subject_id=cam-taken").await;
        assert_eq!(
            none["items"],
            json!([]),
            "{backend:?}: nothing stored for the taken partition"
        );
        let (_, history) = s.get("/api/v1/devices/cam-taken/transitions").await;
        let stored: Vec<&str> = history["items"]
            .as_array()
            .map(|a| a.iter().filter_map(|t| t["to_state"].as_str()).collect())
            .unwrap_or_default();
        assert!(
            !stored.contains(&"down"),
            "{backend:?}: no down stored under the old token: {history}"
        );
        s.stop().await;
    }
}
