//! The operator console's delivery: the embedded build served at `/` and at the views' URLs,
//! with its cache headers, CSP and compression; the API's own paths keep their behaviour.

use std::io::Read;
use std::time::Duration;

use crate::support::{Backend, Server};

struct Answer {
    status: u16,
    headers: awc::http::header::HeaderMap,
    body: Vec<u8>,
}

async fn fetch(s: &Server, path: &str, gzip: bool) -> Answer {
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(10))
        .disable_redirects()
        .finish();
    let mut req = client.get(s.url(path)).no_decompress();
    req = req.insert_header(("Accept-Encoding", if gzip { "gzip" } else { "identity" }));
    let mut resp = req.send().await.unwrap();
    let body = resp.body().limit(4 << 20).await.unwrap().to_vec();
    Answer {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body,
    }
}

fn header<'a>(a: &'a Answer, name: &str) -> &'a str {
    a.headers
        .get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or_else(|| panic!("no {name} header"))
}

/// The hashed script the index names.
fn script_of(html: &str) -> String {
    let start = html.find("/assets/").expect("the index names an asset");
    let end = start + html[start..].find('"').unwrap();
    html[start..end].to_owned()
}

#[actix_web::test]
async fn the_root_serves_the_console_with_its_csp_and_no_cache() {
    let s = Server::start(Backend::Sqlite).await;
    let a = fetch(&s, "/", false).await;
    assert_eq!(a.status, 200);
    assert!(header(&a, "content-type").starts_with("text/html"));
    assert_eq!(header(&a, "cache-control"), "no-cache");
    let csp = header(&a, "content-security-policy");
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let host = s.base.trim_start_matches("http://");
    assert!(
        csp.contains(&format!("connect-src 'self' ws://{host} wss://{host};")),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(header(&a, "x-content-type-options"), "nosniff");
    let html = String::from_utf8(a.body).unwrap();
    assert!(html.contains("<div id=\"app\">"), "{html}");
    // The airport's time zone, filled in by the server.
    assert!(html.contains(r#"content="Asia/Seoul""#), "{html}");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "nothing from elsewhere: {html}"
    );
}

#[actix_web::test]
async fn every_view_url_answers_the_index_so_it_can_be_bookmarked() {
    let s = Server::start_with(Backend::Sqlite, |c| c.time_zone = "Europe/Berlin".into()).await;
    for path in [
        "/wall",
        "/wall?state=down",
        "/alerts",
        "/taxis",
        "/audit?action=alert.ack",
        "/devices/cam-1",
    ] {
        let a = fetch(&s, path, false).await;
        assert_eq!(a.status, 200, "{path}");
        let html = String::from_utf8(a.body).unwrap();
        assert!(html.contains(r#"content="Europe/Berlin""#), "{path}: {html}");
    }
}

#[actix_web::test]
async fn hashed_assets_are_immutable_and_gzipped_on_request() {
    let s = Server::start(Backend::Sqlite).await;
    let index = String::from_utf8(fetch(&s, "/", false).await.body).unwrap();
    let script = script_of(&index);
    let plain = fetch(&s, &script, false).await;
    assert_eq!(plain.status, 200, "{script}");
    assert!(header(&plain, "content-type").starts_with("text/javascript"));
    assert_eq!(header(&plain, "cache-control"), "public, max-age=31536000, immutable");

    let zipped = fetch(&s, &script, true).await;
    assert_eq!(header(&zipped, "content-encoding"), "gzip");
    assert!(
        zipped.body.len() < plain.body.len() / 2,
        "{} vs {}",
        zipped.body.len(),
        plain.body.len()
    );
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&zipped.body[..])
        .read_to_end(&mut unzipped)
        .unwrap();
    assert_eq!(unzipped, plain.body);

    let missing = fetch(&s, "/assets/index-nothere.js", false).await;
    assert_eq!(missing.status, 404);
    assert!(header(&missing, "content-type").starts_with("application/problem+json"));
}

#[actix_web::test]
async fn the_api_paths_keep_their_problem_json_404_and_behaviour() {
    let s = Server::start(Backend::Sqlite).await;
    for path in [
        "/api/v1/nothing-here",
        "/api/v1/devices/cam-1/extra",
        "/nothing",
        "/index.html",
        "/ws-nothing",
    ] {
        let a = fetch(&s, path, false).await;
        assert_eq!(a.status, 404, "{path}");
        assert!(
            header(&a, "content-type").starts_with("application/problem+json"),
            "{path}"
        );
    }
    // Served paths answer as before, not with the console.
    let (status, body) = s.call("GET", "/api/v1/devices", None, None).await;
    assert_eq!(status, 401, "{body}");
    let health = fetch(&s, "/healthz", false).await;
    assert_eq!(health.status, 200);
    assert!(!header(&health, "content-type").starts_with("text/html"));
    let info = fetch(&s, "/sockjs/info", false).await;
    assert_eq!(info.status, 200);
    assert!(header(&info, "content-type").starts_with("application/json"));
    // A console path with another method: 405 as problem+json, like the API's paths.
    let (status, body) = s.call("POST", "/wall", None, None).await;
    assert_eq!(status, 405, "{body}");
    assert_eq!(body["status"], 405);
}
