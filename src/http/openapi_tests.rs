//! The OpenAPI document against the router, the handlers' rules and API.md.

use std::collections::BTreeSet;

use actix_web::test as actix_test;
use actix_web::{web, App, HttpRequest};

use super::*;
use crate::http::ROUTES;

/// The document as served.
fn spec() -> Value {
    document_json().unwrap()
}

/// Every (method, path) the document describes.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut all = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            all.insert((method.clone(), path.clone()));
        }
    }
    all
}

#[test]
fn the_document_describes_exactly_the_routes_registered() {
    let routed: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(method, path)| (method.to_string(), path.to_string()))
        .collect();
    assert_eq!(routed.len(), ROUTES.len(), "a route is registered twice");
    let doc = spec();
    let documented = documented(&doc);
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from the OpenAPI document: {undocumented:?}"
    );
    assert!(
        unrouted.is_empty(),
        "documented operations no route serves: {unrouted:?}"
    );
}

/// `ROUTES` is generated from the same table as the registrations, so it cannot disagree with
/// them; this checks that nothing is registered beside the table. actix does not list its
/// routes, so the resource map is read through its `Debug` form: each `.route` is one leaf
/// (`nodes: None`). Should actix change that form, this fails loudly rather than passing.
#[actix_web::test]
async fn nothing_is_routed_outside_the_table() {
    const PROBE: &str = "/__probe/resource-map";
    let app = actix_test::init_service(
        App::new()
            .route(
                PROBE,
                web::get().to(|req: HttpRequest| async move { format!("{:?}", req.resource_map()) }),
            )
            .configure(crate::http::routes),
    )
    .await;
    let probe = actix_test::TestRequest::get().uri(PROBE).to_request();
    let map = actix_test::call_and_read_body(&app, probe).await;
    let map = String::from_utf8(map.to_vec()).unwrap();
    let leaves = map.matches("nodes: None").count();
    assert_eq!(
        leaves,
        ROUTES.len() + 1,
        "resources registered: {leaves}; the table has {}",
        ROUTES.len()
    );
    for (_, path) in ROUTES {
        assert!(
            map.contains(&format!("{path:?}")),
            "{path} is in the table but not in the router"
        );
    }
}

#[test]
fn it_is_openapi_3_1_with_the_bearer_scheme() {
    let doc = spec();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let scheme = &doc["components"]["securitySchemes"][BEARER];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    assert_eq!(scheme["bearerFormat"], "JWT");
}

#[test]
fn every_operation_names_its_role_and_its_errors_are_problems() {
    let doc = spec();
    let mut operation_ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap_or_default();
            assert!(
                operation_ids.insert(id.to_owned()),
                "{method} {path}: operationId {id:?} is taken"
            );
            let description = op["description"].as_str().unwrap_or_default();
            assert!(
                description.contains("**Role:**"),
                "{method} {path}: no role in {description:?}"
            );
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            let responses = op["responses"].as_object().unwrap();
            if secured {
                assert!(responses.contains_key("401"), "{method} {path}: no 401");
            }
            if !op["requestBody"].is_null() {
                assert!(responses.contains_key("400"), "{method} {path}: no 400");
            }
            for (status, response) in responses {
                if status.as_str() >= "400" {
                    let schema = &response["content"][PROBLEM_CONTENT_TYPE]["schema"]["$ref"];
                    assert_eq!(schema, "#/components/schemas/Problem", "{method} {path} {status}");
                }
            }
        }
    }
}

/// A response's links name operations that exist, by parameters those operations take.
#[test]
fn links_point_at_documented_operations() {
    let doc = spec();
    let mut operations = std::collections::BTreeMap::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            let params: BTreeSet<String> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| p["name"].as_str().unwrap().to_owned())
                .collect();
            operations.insert(op["operationId"].as_str().unwrap().to_owned(), params);
        }
    }
    let mut links = 0;
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            for response in op["responses"].as_object().unwrap().values() {
                for link in response["links"].as_object().into_iter().flat_map(|l| l.values()) {
                    let target = link["operationId"].as_str().unwrap();
                    let params = operations
                        .get(target)
                        .unwrap_or_else(|| panic!("no operation {target}"));
                    for name in link["parameters"].as_object().unwrap().keys() {
                        assert!(params.contains(name), "{target} takes no parameter {name}");
                    }
                    links += 1;
                }
            }
        }
    }
    assert!(links >= 10, "only {links} links");
}

/// The bounds written as literals in `#[schema]`/`#[param]` attributes are the ones the
/// handlers enforce.
#[test]
fn documented_bounds_are_the_enforced_ones() {
    use crate::command::service::{MAX_REASON_LEN, MAX_TTL, MIN_TTL};
    use crate::device::model::{MAX_HEARTBEAT_INTERVAL, MAX_MISS_TOLERANCE, MIN_HEARTBEAT_INTERVAL};
    use crate::http::clients::MAX_TEXT;
    use crate::ids::MAX_KEY_LEN;
    use crate::store::models::MAX_PAGE;
    use crate::taxi::core::card::MAX_REASON_CHARS;
    use crate::taxi::core::model::{MAX_REGION_BYTES, MAX_TERMINAL_BYTES};
    use crate::taxi::core::rules::MAX_TRIP_KM;

    let doc = spec();
    let schemas = &doc["components"]["schemas"];
    let device = &schemas["NewDevice"]["properties"];
    assert_eq!(
        device["heartbeat_interval_ms"]["minimum"],
        MIN_HEARTBEAT_INTERVAL.as_millis() as u64
    );
    assert_eq!(
        device["heartbeat_interval_ms"]["maximum"],
        MAX_HEARTBEAT_INTERVAL.as_millis() as u64
    );
    assert_eq!(device["miss_tolerance"]["maximum"], MAX_MISS_TOLERANCE);
    let key = format!("^[A-Za-z0-9._:-]{{1,{MAX_KEY_LEN}}}$");
    for (schema, field) in [
        ("NewDevice", "id"),
        ("NewDevice", "client_id"),
        ("NewClient", "id"),
        ("ArrivalBody", "camera_id"),
    ] {
        assert_eq!(schemas[schema]["properties"][field]["pattern"], key, "{schema}.{field}");
    }
    let command = &schemas["NewCommand"]["properties"];
    assert_eq!(command["ttl_ms"]["minimum"], MIN_TTL.as_millis() as u64);
    assert_eq!(command["ttl_ms"]["maximum"], MAX_TTL.as_millis() as u64);
    assert_eq!(command["reason"]["maxLength"], MAX_REASON_LEN);
    for (schema, field) in [
        ("NewClient", "name"),
        ("NewClient", "site"),
        ("NewDevice", "site"),
        ("NewDevice", "zone"),
        ("NewDevice", "lane"),
    ] {
        assert_eq!(
            schemas[schema]["properties"][field]["maxLength"], MAX_TEXT,
            "{schema}.{field}"
        );
    }
    assert_eq!(
        schemas["BlacklistBody"]["properties"]["reason"]["maxLength"],
        MAX_REASON_CHARS
    );
    for schema in ["RequestBody", "CompleteBody"] {
        assert_eq!(
            schemas[schema]["properties"]["distance_km"]["maximum"], MAX_TRIP_KM,
            "{schema}"
        );
    }
    let region = format!("^[A-Za-z0-9_-]{{1,{MAX_REGION_BYTES}}}$");
    let terminal = format!("^[A-Za-z0-9_-]{{1,{MAX_TERMINAL_BYTES}}}$");
    for (schema, field, pattern) in [
        ("NewTaxi", "license_region", &region),
        ("RegionBody", "region", &region),
        ("RequestBody", "destination_region", &region),
        ("RequestBody", "terminal", &terminal),
        ("ArrivalBody", "terminal", &terminal),
    ] {
        assert_eq!(
            schemas[schema]["properties"][field]["pattern"], *pattern,
            "{schema}.{field}"
        );
    }
    for path in [
        "/api/v1/clients",
        "/api/v1/devices",
        "/api/v1/commands",
        "/api/v1/alerts",
    ] {
        let params = doc["paths"][path]["get"]["parameters"].as_array().unwrap();
        let limit = params.iter().find(|p| p["name"] == "limit").unwrap();
        assert_eq!(limit["schema"]["maximum"], MAX_PAGE, "{path}");
    }
}

/// Doc for a schema's properties, from the document.
fn properties(doc: &Value, schema: &str) -> BTreeSet<String> {
    doc["components"]["schemas"][schema]["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("no schema {schema}"))
        .keys()
        .cloned()
        .collect()
}

/// API.md's field names, in the document's schemas.
#[test]
fn key_bodies_have_api_md_field_names() {
    let doc = spec();
    let expect = |schema: &str, fields: &[&str]| {
        let have = properties(&doc, schema);
        for field in fields {
            assert!(have.contains(*field), "{schema} lacks {field}; it has {have:?}");
        }
    };
    expect(
        "DeviceView",
        &[
            "id",
            "kind",
            "client_id",
            "state",
            "last_seen_ms",
            "state_since_ms",
            "restarts",
            "active",
            "standby_id",
        ],
    );
    expect(
        "NewDevice",
        &[
            "id",
            "kind",
            "client_id",
            "site",
            "zone",
            "lane",
            "standby_id",
            "heartbeat_interval_ms",
            "miss_tolerance",
            "auto_failover",
        ],
    );
    expect(
        "Alert",
        &[
            "id",
            "subject_type",
            "subject_id",
            "kind",
            "severity",
            "state",
            "count",
            "opened_ms",
            "acked_by",
            "resolved_ms",
            "suppressed_by",
        ],
    );
    expect("TokenResponse", &["access_token", "token_type", "expires_in"]);
    expect("TokenRequest", &["username", "password"]);
    expect("NewClient", &["id", "name", "site"]);
    expect("HeartbeatBody", &["status", "detail"]);
    expect("NewCommand", &["kind", "reason", "ttl_ms"]);
    expect("AckBody", &["note"]);
    expect("NewTaxi", &["plate", "license_region", "class"]);
    expect("BlacklistBody", &["reason"]);
    expect("RegionBody", &["region"]);
    expect("DispatchBody", &["mode", "curb_slots"]);
    expect("ArrivalBody", &["plate", "terminal", "camera_id"]);
    expect(
        "RequestBody",
        &["terminal", "destination_region", "distance_km", "class"],
    );
    expect("AssignmentView", &["id", "plate", "bay", "state"]);
    expect("CompleteBody", &["distance_km"]);
    expect("Problem", &["type", "title", "status", "detail"]);
    let enumeration = |schema: &str| -> BTreeSet<String> {
        doc["components"]["schemas"][schema]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{schema} is not an enumeration"))
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    let set = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        enumeration("DeviceKind"),
        set(&[
            "vehicle_detector",
            "lpr_camera",
            "gate",
            "guidance_camera",
            "payment_kiosk"
        ])
    );
    assert_eq!(
        enumeration("DeviceState"),
        set(&[
            "unknown",
            "up",
            "down",
            "unreachable",
            "flapping",
            "quarantined",
            "maintenance"
        ])
    );
    assert_eq!(
        enumeration("CommandKind"),
        set(&[
            "switch_to_standby",
            "failback",
            "restart",
            "fail_open",
            "fail_closed",
            "maintenance_on",
            "maintenance_off",
            // Beyond API.md's list (an extension, README "Parking"): a lane's gate opens once.
            "open_gate"
        ])
    );
    assert_eq!(
        enumeration("CommandState"),
        set(&["pending", "delivered", "acked", "failed", "timed_out", "expired"])
    );
    assert_eq!(enumeration("AlertState"), set(&["open", "acknowledged", "resolved"]));
    assert_eq!(enumeration("Severity"), set(&["critical", "major", "minor", "info"]));
    assert_eq!(
        enumeration("SubjectType"),
        set(&["device", "client", "taxi", "terminal", "server"])
    );
    assert_eq!(enumeration("TaxiClass"), set(&["standard", "deluxe", "jumbo"]));
    assert_eq!(enumeration("DispatchMode"), set(&["regional", "integrated"]));
}
