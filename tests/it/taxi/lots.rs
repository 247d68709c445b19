//! A taxi read at another terminal's lot entrance leaves the first lot at once: it is never in
//! two lines, and the first lot's operators see it go (`taxi.removed`, reason `moved_lot`).

use kwanje::auth::Role;
use serde_json::{json, Value};

use super::{lines, Airport, WAIT};
use crate::realtime::session;
use crate::support::backends;

/// The standard-class seoul line of a terminal's queues.
fn seoul(queues: &Value) -> String {
    let all = lines(queues);
    all.into_iter().find(|l| l.starts_with("seoul/standard")).unwrap()
}

#[actix_web::test]
async fn a_taxi_read_at_another_lot_leaves_the_first_one() {
    for backend in backends() {
        let a = Airport::start(backend).await;
        for plate in ["S1", "S2", "S3"] {
            a.register(plate, "seoul", "standard").await;
        }
        assert_eq!(a.configure("T1", "regional", json!({"seoul": 1})).await.0, 200);
        let mut console = session(&a.s, "console-t1", Role::Viewer).await;
        console.subscribe("t1", "/topic/taxis/T1/seoul", "auto").await;
        for plate in ["S1", "S2", "S3"] {
            assert_eq!(a.arrive(plate, "T1").await.0, 201);
        }
        assert_eq!(seoul(&a.queues("T1").await), "seoul/standard: [S1@1] | S2 S3");

        // S2 waits in line and S1 stands at the curb; both drive over to T2's lot.
        for plate in ["S2", "S1"] {
            let (status, body) = a.arrive(plate, "T2").await;
            assert_eq!((status, &body["outcome"]), (201, &json!("queued")), "{body}");
        }
        let t1 =
            a.s.wait_for("/api/v1/queues?terminal=T1", WAIT, |b| {
                seoul(&b["items"][0]) == "seoul/standard: [S3@1] | "
            })
            .await;
        assert_eq!(seoul(&t1["items"][0]), "seoul/standard: [S3@1] | ");
        assert_eq!(seoul(&a.queues("T2").await), "seoul/standard: [S2@1 S1@2] | ");
        assert_eq!(a.taxi("S1").await["terminal"], "T2");

        // The first lot's console was told each one left, and why.
        let mut removed = Vec::new();
        while removed.len() < 2 {
            let (_, body): (_, Value) = console.recv_json().await;
            if body["type"] == "taxi.removed" {
                assert_eq!(
                    (&body["terminal"], &body["reason"]),
                    (&json!("T1"), &json!("moved_lot")),
                    "{body}"
                );
                removed.push(body["plate"].as_str().unwrap().to_owned());
            }
        }
        assert_eq!(removed, ["S2", "S1"]);
    }
}

#[actix_web::test]
async fn a_lot_whose_dispatcher_was_down_lets_go_of_a_taxi_read_elsewhere_meanwhile() {
    let a = Airport::start(crate::support::Backend::Sqlite).await;
    for plate in ["S1", "S2"] {
        a.register(plate, "seoul", "standard").await;
        assert_eq!(a.arrive(plate, "T1").await.0, 201);
    }
    super::lift::quarantine_terminal(&a, "T1").await;
    // T1's dispatcher is down when T2's camera reads S2: nobody hears that it left.
    let (status, body) = a.arrive("S2", "T2").await;
    assert_eq!((status, &body["outcome"]), (201, &json!("queued")), "{body}");

    let op = a.s.token("op", Role::Operator, None);
    let (status, body) = a.s.call("POST", "/api/v1/terminals/T1/restart", Some(&op), None).await;
    assert_eq!(status, 200, "{body}");
    // Back up, T1 finds from S2's card that it was read elsewhere, and lets it go.
    let t1 =
        a.s.wait_for("/api/v1/queues?terminal=T1", WAIT, |b| {
            !seoul(&b["items"][0]).contains("S2")
        })
        .await;
    assert!(seoul(&t1["items"][0]).contains("S1"), "{t1}");
    assert!(seoul(&a.queues("T2").await).contains("S2"));
}
