//! Who may call each taxi and dispatch endpoint, and the 404, 409 and 422 answers, each with
//! a reason a client can act on.

use serde_json::{json, Value};

use super::Airport;
use crate::support::{Backend, Server};
use kwanje::auth::Role;

async fn status(a: &Airport, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> u16 {
    a.s.call(method, path, token, body).await.0
}

#[actix_web::test]
async fn taxi_endpoints_check_roles_and_input() {
    let a = Airport::start(Backend::Sqlite).await;
    let viewer = a.s.token("v", Role::Viewer, None);
    let admin = a.s.admin.clone();
    let new =
        |plate: &str, licence: &str, class: &str| json!({"plate": plate, "license_region": licence, "class": class});

    // Registration: admin only; bad plate, region or class 422; a second time 409.
    assert_eq!(
        status(&a, "POST", "/api/v1/taxis", None, Some(new("S1", "seoul", "standard"))).await,
        401
    );
    let op = a.operator.clone();
    assert_eq!(
        status(
            &a,
            "POST",
            "/api/v1/taxis",
            Some(&op),
            Some(new("S1", "seoul", "standard"))
        )
        .await,
        403
    );
    for bad in [
        new("S/1", "seoul", "standard"),
        new("S1", "all", "standard"),
        new("S1", "seoul", "limo"),
    ] {
        assert_eq!(status(&a, "POST", "/api/v1/taxis", Some(&admin), Some(bad)).await, 422);
    }
    let (code, taxi) = a.s.post("/api/v1/taxis", new(" s1 ", "Seoul", "standard")).await;
    assert_eq!(
        (code, &taxi["plate"], &taxi["actor"]),
        (201, &json!("S1"), &json!("running")),
        "{taxi}"
    );
    assert_eq!(
        status(
            &a,
            "POST",
            "/api/v1/taxis",
            Some(&admin),
            Some(new("S1", "seoul", "standard"))
        )
        .await,
        409
    );
    a.register("S2", "seoul", "standard").await;

    // Reading a taxi: viewer+, or its own driver; an unknown plate 404.
    assert_eq!(status(&a, "GET", "/api/v1/taxis/S1", Some(&viewer), None).await, 200);
    assert_eq!(
        status(&a, "GET", "/api/v1/taxis/S1", Some(&a.driver("S1")), None).await,
        200
    );
    assert_eq!(
        status(&a, "GET", "/api/v1/taxis/S1", Some(&a.driver("S2")), None).await,
        403
    );
    assert_eq!(status(&a, "GET", "/api/v1/taxis/NOPE", Some(&viewer), None).await, 404);

    // Heartbeats: the taxi's own driver only.
    assert_eq!(a.ping("S1").await.0, 200);
    let other = a.driver("S2");
    assert_eq!(
        status(&a, "POST", "/api/v1/taxis/S1/heartbeat", Some(&other), None).await,
        403
    );
    assert_eq!(
        status(&a, "POST", "/api/v1/taxis/S1/heartbeat", Some(&op), None).await,
        403
    );
    assert_eq!(a.ping("NOPE").await.0, 404);

    // Service region: own driver or operator+; a licence that does not allow it is 422.
    let region = |r: &str| Some(json!({ "region": r }));
    let path = "/api/v1/taxis/S1/service-region";
    assert_eq!(status(&a, "PUT", path, Some(&other), region("seoul")).await, 403);
    assert_eq!(status(&a, "PUT", path, Some(&viewer), region("seoul")).await, 403);
    let (code, body) = a.s.call("PUT", path, Some(&a.driver("S1")), region("incheon")).await;
    assert_eq!(code, 422, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("may not serve incheon"),
        "{body}"
    );
    assert_eq!(status(&a, "PUT", path, Some(&op), region("busan")).await, 422);
    assert_eq!(status(&a, "PUT", path, Some(&op), region("all")).await, 422);
    assert_eq!(status(&a, "PUT", path, Some(&op), region("seoul")).await, 200);
    assert_eq!(
        status(
            &a,
            "PUT",
            "/api/v1/taxis/NOPE/service-region",
            Some(&op),
            region("seoul")
        )
        .await,
        404
    );
    // At the curb the region cannot change (409).
    assert_eq!(a.arrive("S1", "T1").await.0, 201);
    assert_eq!(a.taxi("S1").await["state"], "called");
    let (code, body) = a.s.call("PUT", path, Some(&a.driver("S1")), region("seoul")).await;
    assert_eq!(code, 409, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("Called"), "{body}");
    let (code, body) = a.s.call("PUT", path, Some(&op), region("gyeonggi")).await;
    assert_eq!(code, 422, "seoul licence, gyeonggi service: {body}");

    // Blacklist: operator+, with a reason; lifting it lets the plate queue again.
    let reason = |r: &str| Some(json!({ "reason": r }));
    assert_eq!(
        status(&a, "POST", "/api/v1/taxis/S2/blacklist", Some(&viewer), reason("x")).await,
        403
    );
    assert_eq!(
        status(&a, "POST", "/api/v1/taxis/S2/blacklist", Some(&op), reason("  ")).await,
        422
    );
    assert_eq!(
        status(&a, "POST", "/api/v1/taxis/S2/blacklist", Some(&op), None).await,
        400
    );
    assert_eq!(
        status(&a, "POST", "/api/v1/taxis/NOPE/blacklist", Some(&op), reason("x")).await,
        404
    );
    assert_eq!(
        status(&a, "POST", "/api/v1/taxis/S2/blacklist", Some(&op), reason("refused")).await,
        200
    );
    assert_eq!(a.arrive("S2", "T1").await.1["outcome"], "held");
    assert_eq!(
        status(&a, "DELETE", "/api/v1/taxis/S2/blacklist", Some(&viewer), None).await,
        403
    );
    let (code, body) = a.s.call("DELETE", "/api/v1/taxis/S2/blacklist", Some(&op), None).await;
    assert_eq!(
        (code, &body["blacklisted"], &body["held"]),
        (200, &json!(false), &json!(false)),
        "{body}"
    );
    assert_eq!(a.arrive("S2", "T1").await.1["outcome"], "queued");

    // Arrivals: clients only; bad plate 422; an unknown terminal 404; a registered camera
    // hosted by another client 403.
    let arrival = |plate: &str, terminal: &str, camera: &str| {
        Some(json!({"plate": plate, "terminal": terminal, "camera_id": camera}))
    };
    let path = "/api/v1/taxis/arrivals";
    assert_eq!(
        status(&a, "POST", path, Some(&op), arrival("S1", "T1", "cam")).await,
        403
    );
    assert_eq!(
        status(&a, "POST", path, Some(&a.driver("S1")), arrival("S1", "T1", "cam")).await,
        403
    );
    let gate = a.gate.clone();
    assert_eq!(
        status(&a, "POST", path, Some(&gate), arrival("", "T1", "cam")).await,
        422
    );
    assert_eq!(
        status(&a, "POST", path, Some(&gate), arrival("S1", "T9", "cam")).await,
        404
    );
    assert_eq!(
        status(&a, "POST", path, Some(&gate), arrival("S1", "T1", "bad id")).await,
        422
    );
    a.s.register("other-pc", &["lpr-other"], 5_000, 3).await;
    assert_eq!(
        status(&a, "POST", path, Some(&gate), arrival("S1", "T1", "lpr-other")).await,
        403
    );

    // Crash injection is not there without KWANJE_FAULT_INJECTION.
    let plain = Server::start(Backend::Sqlite).await;
    let (code, _) = plain.post("/api/v1/taxis/S1/faults/crash", json!({})).await;
    assert_eq!(code, 404);
    let (code, _) = plain.post("/api/v1/terminals/T1/faults/crash", json!({})).await;
    assert_eq!(code, 404);
    assert_eq!(
        status(&a, "POST", "/api/v1/taxis/S1/faults/crash", Some(&op), None).await,
        403
    );
    assert_eq!(
        status(&a, "POST", "/api/v1/taxis/NOPE/faults/crash", Some(&admin), None).await,
        404
    );
}

#[actix_web::test]
async fn dispatch_endpoints_check_roles_and_input() {
    let a = Airport::start(Backend::Sqlite).await;
    let viewer = a.s.token("v", Role::Viewer, None);
    let op = a.operator.clone();
    a.register("S1", "seoul", "standard").await;
    a.register("S2", "seoul", "standard").await;

    // Settings: operator+; unknown terminal 404; bad mode or slots 422.
    let path = "/api/v1/terminals/T1/dispatch";
    let plan = |mode: &str, slots: Value| Some(json!({"mode": mode, "curb_slots": slots}));
    assert_eq!(
        status(&a, "PUT", path, Some(&viewer), plan("regional", json!({"seoul": 1}))).await,
        403
    );
    assert_eq!(
        status(
            &a,
            "PUT",
            "/api/v1/terminals/T9/dispatch",
            Some(&op),
            plan("regional", json!({"seoul": 1}))
        )
        .await,
        404
    );
    assert_eq!(
        status(&a, "PUT", path, Some(&op), plan("mixed", json!({"seoul": 1}))).await,
        422
    );
    assert_eq!(
        status(&a, "PUT", path, Some(&op), plan("integrated", json!({"seoul": 1}))).await,
        422
    );
    assert_eq!(
        status(&a, "PUT", path, Some(&op), plan("regional", json!({"busan": 1}))).await,
        422
    );
    assert_eq!(
        status(&a, "PUT", path, Some(&op), plan("regional", json!({"seoul": 65}))).await,
        422
    );
    assert_eq!(
        status(&a, "PUT", path, Some(&op), plan("regional", json!({"seoul": -1}))).await,
        400
    );
    assert_eq!(
        status(&a, "PUT", path, Some(&op), plan("regional", json!({"seoul": 1}))).await,
        200
    );

    // Reads: viewer+; unknown terminal 404.
    assert_eq!(status(&a, "GET", "/api/v1/queues", None, None).await, 401);
    assert_eq!(
        status(&a, "GET", "/api/v1/queues", Some(&a.driver("S1")), None).await,
        403
    );
    let (code, all) = a.s.call("GET", "/api/v1/queues", Some(&viewer), None).await;
    assert_eq!((code, all["items"].as_array().map(Vec::len)), (200, Some(2)), "{all}");
    assert_eq!(
        status(&a, "GET", "/api/v1/queues?terminal=T9", Some(&viewer), None).await,
        404
    );
    assert_eq!(
        status(&a, "GET", "/api/v1/dispatch/stats?terminal=T9", Some(&viewer), None).await,
        404
    );
    assert_eq!(
        status(&a, "GET", "/api/v1/dispatch/stats", Some(&viewer), None).await,
        200
    );

    // Requests: kiosks and operators; bad input 422; nothing to serve 409 with the reason.
    let ask = |terminal: &str, region: &str, km: f64| {
        Some(json!({"terminal": terminal, "destination_region": region, "distance_km": km}))
    };
    let path = "/api/v1/dispatch/requests";
    assert_eq!(
        status(&a, "POST", path, Some(&viewer), ask("T1", "seoul", 5.0)).await,
        403
    );
    assert_eq!(
        status(&a, "POST", path, Some(&a.driver("S1")), ask("T1", "seoul", 5.0)).await,
        403
    );
    assert_eq!(status(&a, "POST", path, Some(&op), ask("T9", "seoul", 5.0)).await, 404);
    assert_eq!(status(&a, "POST", path, Some(&op), ask("T1", "se oul", 5.0)).await, 422);
    assert_eq!(status(&a, "POST", path, Some(&op), ask("T1", "seoul", -1.0)).await, 422);
    assert_eq!(
        status(&a, "POST", path, Some(&op), ask("T1", "seoul", 5_000.0)).await,
        422
    );
    let (code, body) =
        a.s.call(
            "POST",
            path,
            Some(&op),
            Some(json!({"terminal": "T1", "destination_region": "seoul", "distance_km": 5, "class": "limo"})),
        )
        .await;
    assert_eq!(code, 422, "{body}");
    let (code, body) = a.request("T1", "seoul", 5.0, None).await;
    assert_eq!(code, 409, "{body}");
    assert_eq!(body["detail"], "no taxi in line seoul/standard");
    let (code, body) = a.request("T1", "busan", 5.0, None).await;
    assert_eq!(code, 409, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("not served"), "{body}");

    // Reports on a request: kiosks, operators, the serving taxi's driver; unknown ids 404;
    // out of order 409.
    a.arrive("S1", "T1").await;
    a.arrive("S2", "T1").await;
    let (code, r) = a.request("T1", "seoul", 5.0, None).await;
    assert_eq!((code, &r["plate"]), (201, &json!("S1")), "{r}");
    let id = &r["id"];
    assert_eq!(
        status(&a, "POST", "/api/v1/dispatch/42/pickup", Some(&op), None).await,
        404
    );
    assert_eq!(
        status(&a, "POST", "/api/v1/dispatch/abc/pickup", Some(&op), None).await,
        404
    );
    assert_eq!(a.report(id, "pickup", &viewer, None).await.0, 403);
    assert_eq!(a.report(id, "pickup", &a.driver("S2"), None).await.0, 403);
    let (code, body) = a.report(id, "complete", &op, Some(json!({"distance_km": 5.0}))).await;
    assert_eq!(code, 409, "not picked up yet: {body}");
    assert_eq!(a.report(id, "pickup", &a.driver("S1"), None).await.0, 200);
    assert_eq!(a.report(id, "pickup", &op, None).await.0, 409);
    assert_eq!(a.report(id, "no-show", &op, None).await.0, 409);
    assert_eq!(
        a.report(id, "complete", &op, Some(json!({"distance_km": -3.0})))
            .await
            .0,
        422
    );
    assert_eq!(a.report(id, "complete", &op, Some(json!({}))).await.0, 400);
    assert_eq!(
        a.report(id, "complete", &a.driver("S2"), Some(json!({"distance_km": 3.0})))
            .await
            .0,
        403
    );
    assert_eq!(
        a.report(id, "complete", &a.kiosk.clone(), Some(json!({"distance_km": 3.0})))
            .await
            .0,
        200
    );
    assert_eq!(
        a.report(id, "complete", &op, Some(json!({"distance_km": 3.0}))).await.0,
        404
    );
}
