//! The OpenAPI 3.1 document of the HTTP API (API.md's promise), served at
//! `GET /api/v1/openapi.json`.
//!
//! Nothing in it is written by hand as JSON: every operation comes from its handler's
//! `#[utoipa::path]` (the summary and the role from the handler's doc comment, query parameters
//! and request bodies from its extractors), and every body schema from `#[derive(ToSchema)]` on
//! the serde type the handler actually reads or writes. [`Problems`] adds what the framework
//! layer answers for every operation alike: 401 where a token is read, 400 where a body or a
//! query is parsed, and the problem+json body of every error. Responses that create something
//! link to the operations that take its id, for clients and for stateful fuzzers. The unit tests
//! hold the document to the router's table ([`super::ROUTES`]), both ways, so a route cannot go
//! undocumented.

use std::sync::OnceLock;

use actix_web::http::header::ContentType;
use actix_web::HttpResponse;
use bytes::Bytes;
use serde_json::Value;
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use super::error::{ApiError, Problem, PROBLEM_CONTENT_TYPE};
use super::{alerts, clients, commands, devices, dispatch, health, metrics, taxis, tokens};

/// The name of the bearer JWT scheme that operations refer to.
pub const BEARER: &str = "bearer";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "kwanje",
        description = "The HTTP API of kwanje, the supervision runtime of an airport's vehicle-control centre.

Bodies are JSON in snake_case; times are integers, epoch milliseconds, in fields ending `_ms`. Lists are \
`{\"items\": [...], \"next_cursor\": null or \"...\"}` with `?limit=` (1 to 1000) and `?cursor=`. Errors are \
`application/problem+json` (`type`, `title`, `status`, `detail`).

Send a JWT as `Authorization: Bearer <jwt>` (from `POST /api/v1/auth/token`, or `kwanje token`). Roles: `admin` \
(everything), `operator` (watch, acknowledge, command), `viewer` (watch only), `client` (a gate PC or kiosk, named \
by its `client` claim), `driver` (one taxi, named by its `taxi` claim). Each operation's description names the \
role it needs.

Realtime updates are STOMP over WebSocket at `GET /ws` (subprotocols `v12.stomp`, `v11.stomp`, `v10.stomp`) and \
SockJS at `/sockjs`; see the README."
    ),
    paths(
        health::healthz,
        health::readyz,
        metrics::metrics,
        document,
        tokens::issue,
        clients::create,
        clients::list,
        devices::create,
        devices::list,
        devices::show,
        devices::heartbeat,
        devices::crash,
        commands::issue,
        commands::list,
        commands::show,
        alerts::list,
        alerts::show,
        alerts::acknowledge,
        alerts::resolve,
        taxis::create,
        taxis::arrival,
        taxis::show,
        taxis::heartbeat,
        taxis::service_region,
        taxis::blacklist,
        taxis::unblacklist,
        taxis::crash,
        dispatch::configure,
        dispatch::crash,
        dispatch::queues,
        dispatch::request,
        dispatch::stats,
        dispatch::pickup,
        dispatch::no_show,
        dispatch::complete,
    ),
    components(schemas(Problem)),
    modifiers(&BearerScheme, &Problems),
    tags(
        (name = "health", description = "Liveness, readiness, metrics"),
        (name = "meta", description = "This document"),
        (name = "auth", description = "Tokens"),
        (name = "clients", description = "Gate PCs and kiosks"),
        (name = "devices", description = "Field devices: registration, live view, heartbeats"),
        (name = "commands", description = "Commands to devices' clients"),
        (name = "alerts", description = "Alerts and their lifecycle"),
        (name = "taxis", description = "Taxis: registration, lot arrivals, drivers, blacklist"),
        (name = "dispatch", description = "Terminals' lines, passenger requests, fairness figures"),
    )
)]
pub struct ApiDoc;

/// The bearer JWT scheme every `security(("bearer" = []))` refers to.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A JWT from `POST /api/v1/auth/token` or `kwanje token`; its `role` claim decides access",
                    ))
                    .build(),
            ),
        );
    }
}

/// What the framework layer answers alike for every operation: 401 from the token extractor,
/// 400 from the JSON body and query extractors (`super::routes` sets their error handlers), and
/// a [`Problem`] body for every error status an operation lists.
struct Problems;

impl Modify for Problems {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        for item in doc.paths.paths.values_mut() {
            for operation in operations_mut(item) {
                add_framework_errors(operation);
            }
        }
    }
}

fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

fn add_framework_errors(operation: &mut Operation) {
    let responses = &mut operation.responses.responses;
    let mut add = |status: &str, description: &str| {
        responses
            .entry(status.to_owned())
            .or_insert_with(|| ResponseBuilder::new().description(description).build().into());
    };
    if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
        add("401", "the token is missing, malformed, expired or forged");
    }
    if operation.request_body.is_some() {
        add(
            "400",
            "the body is not JSON of the documented shape, or is larger than 64 KiB",
        );
    }
    let has_query = operation
        .parameters
        .iter()
        .flatten()
        .any(|p| p.parameter_in == ParameterIn::Query);
    if has_query {
        add("400", "the query string does not parse");
    }
    let problem = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Problem")))
        .build();
    for (status, response) in responses.iter_mut() {
        let is_error = status.parse::<u16>().is_ok_and(|s| s >= 400);
        if let (true, RefOr::T(response)) = (is_error, response) {
            if response.content.is_empty() {
                response
                    .content
                    .insert(PROBLEM_CONTENT_TYPE.to_owned(), problem.clone());
            }
        }
    }
}

/// The document as served.
///
/// utoipa 5.5 writes a Link object's fields in snake_case (`operation_id`), where OpenAPI
/// names them `operationId`, `operationRef` and `requestBody`; they are renamed here, the one
/// place the JSON is touched after generation.
pub fn document_json() -> Result<Value, serde_json::Error> {
    let mut doc = serde_json::to_value(ApiDoc::openapi())?;
    let links = doc["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
        .filter_map(|op| op.get_mut("responses").and_then(Value::as_object_mut))
        .flat_map(|responses| responses.values_mut())
        .filter_map(|response| response.get_mut("links").and_then(Value::as_object_mut))
        .flat_map(|links| links.values_mut())
        .filter_map(Value::as_object_mut);
    for link in links {
        for (from, to) in [
            ("operation_id", "operationId"),
            ("operation_ref", "operationRef"),
            ("request_body", "requestBody"),
        ] {
            if let Some(value) = link.remove(from) {
                link.insert(to.to_owned(), value);
            }
        }
    }
    Ok(doc)
}

/// The document as served, rendered once.
fn rendered() -> Result<Bytes, ApiError> {
    static RENDERED: OnceLock<Bytes> = OnceLock::new();
    if let Some(bytes) = RENDERED.get() {
        return Ok(bytes.clone());
    }
    let bytes = document_json()
        .and_then(|doc| serde_json::to_vec(&doc))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(RENDERED.get_or_init(|| Bytes::from(bytes)).clone())
}

/// This document.
///
/// OpenAPI 3.1, generated from the handlers and the types they read and write.
///
/// **Role:** none; no token needed.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    operation_id = "openapi",
    tag = "meta",
    responses((status = 200, description = "the OpenAPI document", body = Object, content_type = "application/json"))
)]
pub async fn document() -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().content_type(ContentType::json()).body(rendered()?))
}

#[cfg(test)]
mod tests {
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
        use crate::taxi::card::MAX_REASON_CHARS;
        use crate::taxi::model::{MAX_REGION_BYTES, MAX_TERMINAL_BYTES};
        use crate::taxi::rules::MAX_TRIP_KM;

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
                "maintenance_off"
            ])
        );
        assert_eq!(
            enumeration("CommandState"),
            set(&["pending", "delivered", "acked", "failed", "timed_out", "expired"])
        );
        assert_eq!(enumeration("AlertState"), set(&["open", "acknowledged", "resolved"]));
        assert_eq!(enumeration("Severity"), set(&["critical", "major", "minor", "info"]));
        assert_eq!(enumeration("SubjectType"), set(&["device", "client", "taxi"]));
        assert_eq!(enumeration("TaxiClass"), set(&["standard", "deluxe", "jumbo"]));
        assert_eq!(enumeration("DispatchMode"), set(&["regional", "integrated"]));
    }
}
