//! The OpenAPI document over real HTTP: served without a token, OpenAPI 3.1, every documented
//! operation served (and every other method on a documented path answered 405 with the
//! documented methods in `Allow`), and real answers shaped as the document says.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::support::{Backend, Server};

const DOCUMENT: &str = "/api/v1/openapi.json";
const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

async fn fetch_document(s: &Server) -> Value {
    let resp = awc::Client::default().get(s.url(DOCUMENT)).send().await;
    let mut resp = resp.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let content_type = resp.headers().get("content-type").unwrap().to_str().unwrap().to_owned();
    assert!(content_type.starts_with("application/json"), "{content_type}");
    let bytes = resp.body().limit(4 * 1024 * 1024).await.unwrap();
    serde_json::from_slice(&bytes).expect("the document is JSON")
}

/// The answer was the router's fallback: no route matched the method and path (404), or the
/// path is served with other methods only (405).
fn is_fallback(status: u16, body: &Value) -> bool {
    let no_route = status == 404
        && body["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("no such endpoint"));
    no_route || status == 405
}

/// A concrete path for a documented template: every `{param}` becomes a value no resource has.
fn concrete(template: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').unwrap() + open;
        out.push_str(&rest[..open]);
        out.push_str("probe-1");
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

#[actix_web::test]
async fn the_document_is_served_without_a_token_as_openapi_3_1() {
    let s = Server::start(Backend::Sqlite).await;
    let doc = fetch_document(&s).await;
    let version = doc["openapi"].as_str().unwrap();
    assert!(version.starts_with("3.1"), "{version}");
    assert_eq!(doc["info"]["title"], "kwanje");
    assert!(doc["paths"].as_object().unwrap().len() > 25);
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    // The document describes itself, and every operation outside health and login needs a token.
    assert!(doc["paths"][DOCUMENT]["get"].is_object());
    let device = &doc["paths"]["/api/v1/devices/{id}"]["get"];
    assert_eq!(device["security"], json!([{"bearer": []}]));
    assert!(device["description"].as_str().unwrap().contains("**Role:** viewer"));
}

/// `path` is one of `template`'s paths (`{param}` matches any one segment).
fn matches(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len() && t.iter().zip(&p).all(|(t, p)| t == p || t.starts_with('{'))
}

/// Every documented operation reaches a handler (its answer is not the router's fallback), and
/// every other method on a documented path is the fallback: so the document and the router
/// agree over the wire, not only in the unit test that compares the tables.
#[actix_web::test]
async fn every_documented_operation_is_served_and_nothing_else_on_its_path() {
    let s = Server::start(Backend::Sqlite).await;
    let doc = fetch_document(&s).await;
    let paths = doc["paths"].as_object().unwrap();
    let mut checked = 0;
    for template in paths.keys() {
        let path = concrete(template);
        // The methods documented for any template this path matches (`/taxis/{plate}` also
        // matches the path of `/taxis/arrivals`).
        let documented: BTreeSet<&str> = paths
            .iter()
            .filter(|(other, _)| matches(other, &path))
            .flat_map(|(_, item)| item.as_object().unwrap().keys().map(String::as_str))
            .collect();
        for method in METHODS {
            let (status, body) = s.call(&method.to_uppercase(), &path, Some(&s.admin), None).await;
            if documented.contains(method) {
                assert!(
                    !is_fallback(status, &body),
                    "{method} {template} is documented but not routed: {status} {body}"
                );
                checked += 1;
            } else {
                // The router's fallback for a path it serves with other methods.
                assert_eq!(
                    (status, body["type"].as_str()),
                    (405, Some("urn:kwanje:problem:method-not-allowed")),
                    "{method} {template} is routed but not documented: {status} {body}"
                );
            }
        }
    }
    assert!(checked >= 35, "only {checked} operations checked");
}

/// A 405's `Allow` names exactly the documented methods of the path, matched as OpenAPI
/// matches paths: a concrete path before the templates it also fits (the router serves
/// `GET /taxis/arrivals` with `/taxis/{plate}`, but the document gives that path POST alone).
#[actix_web::test]
async fn a_wrong_method_is_told_the_documented_methods_in_allow() {
    let s = Server::start(Backend::Sqlite).await;
    let doc = fetch_document(&s).await;
    let paths = doc["paths"].as_object().unwrap();
    let methods_of = |fits: &dyn Fn(&str) -> bool| -> BTreeSet<String> {
        paths
            .iter()
            .filter(|(template, _)| fits(template))
            .flat_map(|(_, item)| item.as_object().unwrap().keys().map(|m| m.to_uppercase()))
            .collect()
    };
    let mut checked = 0;
    for template in paths.keys() {
        let path = concrete(template);
        let routed = methods_of(&|other| matches(other, &path));
        let documented = if paths.contains_key(&path) {
            methods_of(&|other| other == path)
        } else {
            routed.clone()
        };
        let Some(method) = METHODS.iter().find(|m| !routed.contains(&m.to_uppercase())) else {
            continue;
        };
        let method = actix_web::http::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let resp = awc::Client::default()
            .request(method.clone(), s.url(&path))
            .bearer_auth(&s.admin)
            .send()
            .await
            .unwrap();
        let allow: BTreeSet<String> = resp
            .headers()
            .get("allow")
            .unwrap_or_else(|| panic!("{method} {path}: no Allow header"))
            .to_str()
            .unwrap()
            .split(", ")
            .map(str::to_owned)
            .collect();
        assert_eq!(allow, documented, "{method} {path}");
        checked += 1;
    }
    assert!(checked >= 25, "only {checked} paths checked");
}

/// The keys of a real answer against a documented schema: every required field present, and
/// nothing the schema does not name.
fn assert_matches(doc: &Value, schema: &str, answer: &Value) {
    let schema_doc = &doc["components"]["schemas"][schema];
    let properties: BTreeSet<&str> = schema_doc["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("no schema {schema}"))
        .keys()
        .map(String::as_str)
        .collect();
    let have: BTreeSet<&str> = answer.as_object().unwrap().keys().map(String::as_str).collect();
    for required in schema_doc["required"].as_array().unwrap() {
        let required = required.as_str().unwrap();
        assert!(have.contains(required), "{schema}: {required} missing from {answer}");
    }
    let unknown: Vec<_> = have.difference(&properties).collect();
    assert!(unknown.is_empty(), "{schema}: undocumented {unknown:?} in {answer}");
}

#[actix_web::test]
async fn real_answers_have_the_documented_fields() {
    let s = Server::start(Backend::Sqlite).await;
    let doc = fetch_document(&s).await;

    let (status, client) = s
        .post("/api/v1/clients", json!({"id": "pc-1", "name": "T1 entry"}))
        .await;
    assert_eq!(status, 201, "{client}");
    assert_matches(&doc, "ClientView", &client);

    let (status, device) = s
        .post(
            "/api/v1/devices",
            json!({"id": "cam-1", "kind": "lpr_camera", "client_id": "pc-1", "lane": "E3"}),
        )
        .await;
    assert_eq!(status, 201, "{device}");
    assert_matches(&doc, "DeviceView", &device);
    let (_, shown) = s.get("/api/v1/devices/cam-1").await;
    assert_matches(&doc, "DeviceView", &shown);

    let (status, beat) = s.heartbeat("pc-1", "cam-1", "ok").await;
    assert_eq!(status, 200, "{beat}");
    assert_matches(&doc, "HeartbeatAnswer", &beat);

    let (status, token) = s.login("admin", "admin-pw").await;
    assert_eq!(status, 200, "{token}");
    assert_matches(&doc, "TokenResponse", &token);

    let (status, problem) = s.get("/api/v1/devices/nope").await;
    assert_eq!(status, 404);
    assert_matches(&doc, "Problem", &problem);
}

/// Found by schemathesis: the document says `integer`, which in JSON Schema includes `5000.0`,
/// and the server answered 400 to it. Whole numbers are now read in either spelling; fractions
/// are still refused.
#[actix_web::test]
async fn whole_numbers_written_with_a_fraction_are_accepted() {
    let s = Server::start(Backend::Sqlite).await;
    let (status, body) = s.post("/api/v1/clients", json!({"id": "pc-1", "name": "pc"})).await;
    assert_eq!(status, 201, "{body}");
    let device = json!({
        "id": "cam-1", "kind": "gate", "client_id": "pc-1",
        "heartbeat_interval_ms": 5000.0, "miss_tolerance": 3.0
    });
    let (status, body) = s.post("/api/v1/devices", device).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["heartbeat_interval_ms"], 5000);
    assert_eq!(body["miss_tolerance"], 3);

    let fraction = json!({"id": "cam-2", "kind": "gate", "client_id": "pc-1", "heartbeat_interval_ms": 5000.5});
    let (status, body) = s.post("/api/v1/devices", fraction).await;
    assert_eq!(status, 400, "{body}");

    let command = json!({"kind": "fail_open", "ttl_ms": 60000.0});
    let (status, body) = s.post("/api/v1/devices/cam-1/commands", command).await;
    assert_eq!(status, 202, "{body}");

    let admin = s.admin.clone();
    let slots = json!({"mode": "regional", "curb_slots": {"seoul": 2.0, "incheon": 1, "gyeonggi": 1}});
    let (status, body) = s
        .call("PUT", "/api/v1/terminals/T1/dispatch", Some(&admin), Some(slots))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["curb_slots"]["seoul"], 2);
}
