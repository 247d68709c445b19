//! The OpenAPI 3.1 document of the HTTP API (API.md's promise), served at
//! `GET /api/v1/openapi.json`.
//!
//! Nothing in it is written by hand as JSON: every operation comes from its handler's
//! `#[utoipa::path]` (the summary and the role from the handler's doc comment, query parameters
//! and request bodies from its extractors), and every body schema from `#[derive(ToSchema)]` on
//! the serde type the handler actually reads or writes. `Problems` adds what the framework
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

use super::cluster;
use super::error::{ApiError, Problem, PROBLEM_CONTENT_TYPE};
use super::{
    alerts, audit, client_edits, client_heartbeats, clients, commands, device_edits, devices, dispatch, field_tokens,
    health, metrics, parking_areas, parking_kiosks, parking_occupancy, parking_sessions, parking_tariffs,
    passenger_requests, provision, receivers, taxi_edits, taxis, tokens, transitions, users,
};

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
        client_edits::update,
        client_edits::decommission,
        field_tokens::client,
        client_heartbeats::batch,
        devices::create,
        devices::list,
        devices::show,
        device_edits::update,
        device_edits::decommission,
        transitions::list,
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
        taxi_edits::update,
        taxi_edits::decommission,
        taxis::heartbeat,
        taxis::service_region,
        taxis::blacklist,
        taxis::unblacklist,
        taxis::restart,
        field_tokens::driver,
        taxis::crash,
        dispatch::configure,
        dispatch::restart,
        dispatch::crash,
        dispatch::queues,
        passenger_requests::request,
        dispatch::stats,
        passenger_requests::pickup,
        passenger_requests::no_show,
        passenger_requests::complete,
        cluster::show,
        parking_areas::create,
        parking_areas::list,
        parking_occupancy::report,
        parking_occupancy::show,
        parking_sessions::lane_reading,
        parking_sessions::find,
        parking_sessions::show,
        parking_sessions::pay,
        parking_sessions::lost_ticket,
        parking_kiosks::nearest,
        parking_tariffs::list,
        parking_tariffs::set,
        audit::list,
        provision::provision,
        receivers::create,
        receivers::list,
        receivers::delete,
        provision::export,
        users::create,
        users::list,
        users::update,
        users::change_password,
        field_tokens::revoke_client,
        field_tokens::revoke_driver,
    ),
    components(schemas(Problem)),
    modifiers(&BearerScheme, &Problems),
    tags(
        (name = "health", description = "Liveness, readiness, metrics"),
        (name = "meta", description = "This document"),
        (name = "auth", description = "Tokens"),
        (name = "users", description = "Operator accounts"),
        (name = "clients", description = "Gate PCs and kiosks"),
        (name = "devices", description = "Field devices: registration, live view, heartbeats"),
        (name = "commands", description = "Commands to devices' clients"),
        (name = "alerts", description = "Alerts and their lifecycle"),
        (name = "taxis", description = "Taxis: registration, lot arrivals, drivers, blacklist"),
        (name = "dispatch", description = "Terminals' lines, passenger requests, fairness figures"),
        (name = "cluster", description = "Nodes and partition ownership"),
        (name = "parking", description = "Parking control: areas, occupancy from the guidance cameras, sessions from the lane cameras, tariffs, payments"),
        (name = "audit", description = "Who did what, and when"),
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
#[path = "openapi_tests.rs"]
mod tests;
