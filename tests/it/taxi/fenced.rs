//! A taxi's own rows under the fence of its partition: once a newer token is recorded for the
//! partition of the terminal a taxi is queued at (another node taking it over), a change this
//! node's actor still makes to the taxi's card is not stored, while a taxi in another
//! partition goes on being stored.

use std::time::{Duration, Instant};

use kwanje::ownership::{Fence, Partitions};
use kwanje::store::models::taxis;
use kwanje::time::Millis;
use serde_json::json;

use super::Airport;
use crate::support::backends;

/// The stored row of `plate`, once `done` holds for it (or the last one read, after 10 s).
async fn stored(a: &Airport, plate: &'static str, done: impl Fn(&taxis::Taxi) -> bool) -> taxis::Taxi {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let row = a.s.state.store.read(move |c| taxis::find(c, plate)).await.unwrap();
        let row = row.expect("registered");
        if done(&row) || Instant::now() > deadline {
            return row;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

#[actix_web::test]
async fn a_taxi_card_is_not_stored_once_its_partition_is_taken_over() {
    for backend in backends() {
        let a = Airport::start(backend).await;
        // F1 queues at T1; F2 stays at no terminal, in its plate's partition.
        assert_ne!(Partitions::DEFAULT.of("T1"), Partitions::DEFAULT.of("F2"));
        a.register("F1", "seoul", "standard").await;
        a.register("F2", "seoul", "standard").await;
        let (status, body) = a.arrive("F1", "T1").await;
        assert!(status < 300, "{status} {body}");
        let row = stored(&a, "F1", |t| t.terminal.as_deref() == Some("T1")).await;
        assert_eq!(
            row.terminal.as_deref(),
            Some("T1"),
            "{backend:?}: stored before the takeover"
        );

        let fence = Fence {
            partition: Partitions::DEFAULT.of("T1"),
            token: 7,
        };
        let recorded =
            a.s.state
                .store
                .advance_fence(fence, 9, Millis::now().as_i64())
                .await
                .unwrap();
        assert!(recorded, "{backend:?}");

        let reason = |r: &str| Some(json!({ "reason": r }));
        for plate in ["F1", "F2"] {
            let (status, body) =
                a.s.call(
                    "POST",
                    &format!("/api/v1/taxis/{plate}/blacklist"),
                    Some(&a.operator),
                    reason("test"),
                )
                .await;
            assert!(status < 300, "{plate}: {status} {body}");
        }
        // F2's change is written after F1's (the journal keeps the order): once it is stored,
        // F1's has been refused.
        let other = stored(&a, "F2", |t| t.blacklisted).await;
        assert!(other.blacklisted, "{backend:?}: another partition is not held up");
        let fenced = stored(&a, "F1", |_| true).await;
        assert!(
            !fenced.blacklisted,
            "{backend:?}: nothing stored under the superseded token: {fenced:?}"
        );
        a.s.stop().await;
    }
}
