//! A taxi's registration corrected and a taxi decommissioned (issue #16), on every backend:
//! both off the lots only, both audited; a decommissioned taxi's driver token is refused, its
//! plate can be registered again, and the edit is still there after a restart.

use serde_json::{json, Value};

use super::{Airport, WAIT};
use crate::support::backends;

async fn patch(a: &Airport, plate: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
    let path = format!("/api/v1/taxis/{plate}");
    a.s.call("PATCH", &path, Some(&a.s.admin), Some(body)).await
}

#[actix_web::test]
async fn a_taxi_is_corrected_and_decommissioned_off_the_lots_only() {
    for backend in backends() {
        let a = Airport::start(backend).await;
        a.register("S1", "seoul", "standard").await;
        a.register("S2", "seoul", "standard").await;

        let (status, edited) = patch(&a, "S1", json!({"license_region": "incheon", "class": "jumbo"})).await;
        assert_eq!(status, 200, "{edited}");
        assert_eq!(edited["changed"], json!(["license_region", "class"]));
        assert_eq!(
            (&edited["license_region"], &edited["class"]),
            (&json!("incheon"), &json!("jumbo"))
        );
        let (status, same) = patch(&a, "S1", json!({"class": "jumbo"})).await;
        assert_eq!((status, &same["changed"]), (200, &json!([])), "{same}");
        for (body, want) in [
            (json!({"plate": "S9"}), 400),
            (json!({"class": "limousine"}), 422),
            (json!({"license_region": ""}), 422),
        ] {
            let (status, problem) = patch(&a, "S1", body.clone()).await;
            assert_eq!(status, want, "{body}: {problem}");
        }
        assert_eq!(patch(&a, "S404", json!({"class": "jumbo"})).await.0, 404);
        // A new licence region clears the service region its driver chose under the old one.
        a.register("G1", "gyeonggi", "standard").await;
        let (status, chosen) = a.choose_region("G1", "seoul").await;
        assert_eq!((status, &chosen["service_region"]), (200, &json!("seoul")), "{chosen}");
        let (status, moved) = patch(&a, "G1", json!({"license_region": "incheon"})).await;
        assert_eq!(status, 200, "{moved}");
        assert_eq!(a.taxi("G1").await["service_region"], Value::Null);
        let (status, _) =
            a.s.call(
                "PATCH",
                "/api/v1/taxis/S1",
                Some(&a.operator),
                Some(json!({"class": "deluxe"})),
            )
            .await;
        assert_eq!(status, 403, "an admin's");

        // At a lot: neither.
        let (status, body) = a.arrive("S2", "T1").await;
        assert!(status == 200 || status == 201, "{body}");
        let (status, problem) = patch(&a, "S2", json!({"class": "deluxe"})).await;
        assert_eq!(status, 409, "{problem}");
        assert!(problem["detail"].as_str().unwrap().contains("lot"), "{problem}");
        let (status, problem) = a.s.call("DELETE", "/api/v1/taxis/S2", Some(&a.s.admin), None).await;
        assert_eq!(status, 409, "{problem}");
        assert_eq!(a.taxi("S2").await["actor"], "running", "refused, it runs on");

        // Off the lots: decommissioned; its driver's token no longer works.
        // Issued by the server (its clock is the test's manual one).
        let (status, issued) = a.s.post("/api/v1/taxis/S1/token", json!({})).await;
        assert_eq!(status, 200, "{issued}");
        let driver = issued["access_token"].as_str().unwrap().to_owned();
        let (status, done) = a.s.call("DELETE", "/api/v1/taxis/S1", Some(&a.s.admin), None).await;
        assert_eq!(status, 200, "{done}");
        assert_eq!(a.s.get("/api/v1/taxis/S1").await.0, 404);
        let (status, _) =
            a.s.call("POST", "/api/v1/taxis/S1/heartbeat", Some(&driver), None)
                .await;
        assert_eq!(status, 401, "its driver's token is revoked");
        assert_eq!(
            a.s.call("DELETE", "/api/v1/taxis/S1", Some(&a.s.admin), None).await.0,
            404
        );
        let (_, audit) = a.s.get("/api/v1/audit?target=taxi:S1").await;
        let actions: Vec<&str> = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert!(
            actions.contains(&"taxi.update") && actions.contains(&"taxi.decommission"),
            "{audit}"
        );

        // The edit of S2's neighbour stays across a restart; S1 stays gone, and comes back new.
        a.register("S3", "seoul", "standard").await;
        patch(&a, "S3", json!({"class": "deluxe"})).await;
        let clock = a.clock.clone();
        let b = Airport::with(a.s.restart(super::settings).await, clock);
        assert_eq!(b.s.get("/api/v1/taxis/S1").await.0, 404);
        let s3 =
            b.s.wait_for("/api/v1/taxis/S3", WAIT, |t| t["actor"] == "running")
                .await;
        assert_eq!(s3["class"], "deluxe", "{s3}");
        b.register("S1", "gyeonggi", "standard").await;
        let s1 = b.taxi("S1").await;
        assert_eq!(
            (&s1["license_region"], &s1["class"]),
            (&json!("gyeonggi"), &json!("standard"))
        );
    }
}
