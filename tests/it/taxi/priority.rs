//! The short-trip priority cannot be gamed over HTTP: a completion whose distance disagrees
//! with the request's arms nothing, and a re-entry sooner than the trip could have been driven
//! there and back gets an ordinary ticket. Both are answered with their reason and counted.

use serde_json::json;

use super::{lines, Airport};
use crate::support::backends;

#[actix_web::test]
async fn implausible_short_trips_earn_no_priority_and_are_counted() {
    for backend in backends() {
        let a = Airport::start(backend).await;
        for plate in ["S1", "S2", "S3"] {
            a.register(plate, "seoul", "standard").await;
            a.goes_live(plate).await;
        }
        for (minute, plate) in [(0.0, "S1"), (0.5, "S2"), (1.0, "S3")] {
            a.at(minute).await;
            assert_eq!(a.arrive(plate, "T1").await.0, 201, "{plate}");
        }
        // S1 is sent 25 km and reports 2; S2 is sent 4 km and is back a minute after pickup.
        a.at(2.0).await;
        let (status, far) = a.request("T1", "seoul", 25.0, None).await;
        assert_eq!((status, &far["plate"]), (201, &json!("S1")), "{far}");
        a.pickup(&far["id"]).await;
        a.at(3.0).await;
        let (status, near) = a.request("T1", "seoul", 4.0, None).await;
        assert_eq!((status, &near["plate"]), (201, &json!("S2")), "{near}");
        a.pickup(&near["id"]).await;

        a.at(3.5).await;
        let done = a.complete(&near["id"], 4.0, "S2").await;
        assert!(done["priority_until_ms"].is_number(), "armed: {done}");
        a.at(4.0).await;
        let (status, back) = a.arrive("S2", "T1").await;
        assert_eq!(status, 201, "{back}");
        // Picked up at 06:03, 2 x 4 km at 80 km/h: not back before 06:09.
        let earliest = super::MORNING + 9 * super::MIN;
        assert_eq!(
            back["priority"],
            json!({"decision": "refused", "reason": "too_soon", "earliest_ms": earliest}),
            "{backend:?}: {back}"
        );

        a.at(10.0).await;
        let done = a.complete(&far["id"], 2.0, "S1").await;
        assert_eq!(
            (&done["short"], &done["priority_until_ms"], &done["priority_refused"]),
            (&json!(true), &json!(null), &json!("distance_mismatch")),
            "{backend:?}: {done}"
        );
        a.at(40.0).await;
        let (_, back) = a.arrive("S1", "T1").await;
        assert_eq!(back["priority"]["decision"], "not_eligible", "{back}");

        let seoul: Vec<String> = lines(&a.queues("T1").await)
            .into_iter()
            .filter(|l| l.starts_with("seoul/standard"))
            .collect();
        assert_eq!(
            seoul,
            ["seoul/standard: [S3@1 S2@2] | S1"],
            "{backend:?}: ordinary tickets, in arrival order (two called to the curb)"
        );
        let (_, stats) = a.s.get("/api/v1/dispatch/stats?terminal=T1").await;
        let row = &stats["items"][0];
        assert_eq!(
            (&row["region"], &row["priority_refusals"], &row["short_trips"]),
            (&json!("seoul"), &json!(2), &json!(2)),
            "{stats}"
        );
        a.s.stop().await;
    }
}
