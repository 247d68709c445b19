//! Cluster mode: a request about a device, a taxi or a terminal another node owns, passed to
//! that node.
//!
//! The console, a gate PC or a driver's app may reach any node, but only the owner of a
//! partition runs its actors and its command book. Such a request (a device command, an alert's
//! ack, a taxi's registration or heartbeat, a lot reading, a terminal's dispatch change) is sent on, as it came (method, path, query, `Authorization`, `Idempotency-Key`, body), to
//! the owner's advertised HTTP address (`KWANJE_ADVERTISE_ADDR`), and its answer is the answer.
//! A request that was passed on once is not passed again (`Kwanje-Passed` header): while a
//! partition moves, two nodes that each think the other owns it answer 503 rather than loop.

use std::time::Duration;

use actix_web::http::header::{HeaderName, AUTHORIZATION, CONTENT_TYPE};
use actix_web::{web, HttpRequest, HttpResponse};

use super::error::ApiError;
use super::AppState;

/// Marks a request one node passed to another.
const PASSED: &str = "kwanje-passed";
/// Headers sent on as they came.
const KEPT: [&str; 2] = ["idempotency-key", "accept-language"];
/// How long the owner may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Where to pass a request about `client`'s devices: `None` when this node acts on it itself.
pub fn owner_addr(state: &AppState, req: &HttpRequest, client: &str) -> Option<Result<String, ApiError>> {
    let node = state.cluster.as_ref()?;
    let partition = node.settings.partitions.of(client);
    let owner = node.owner_of(partition);
    if owner == Some(node.settings.node_id) {
        return None;
    }
    if req.headers().contains_key(PASSED) {
        return Some(Err(ApiError::Unavailable(format!(
            "partition {} is moving between nodes; retry",
            partition.0
        ))));
    }
    let addr = owner.and_then(|id| node.addr_of(id));
    Some(addr.ok_or_else(|| {
        ApiError::Unavailable(format!(
            "no node owns partition {} at this moment (it is moving); retry",
            partition.0
        ))
    }))
}

/// Sends `req` with `body` to the node at `addr` and answers with what it answered.
pub async fn pass(addr: &str, req: &HttpRequest, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let (status, kind, bytes) = send(addr, req, path, body).await?;
    let mut response = HttpResponse::build(status);
    if let Some(kind) = kind {
        response.insert_header((CONTENT_TYPE, kind));
    }
    Ok(response.body(bytes))
}

/// `path` at the node at `addr`, with `req`'s method and caller, read as JSON: for a part of an
/// answer that another node holds (a terminal's lines). An answer other than 200 is a 503 that
/// names it (the whole answer cannot be given).
pub async fn fetch_json(addr: &str, req: &HttpRequest, path: &str) -> Result<serde_json::Value, ApiError> {
    let (status, _, bytes) = send(addr, req, path, web::Bytes::new()).await?;
    if status != actix_web::http::StatusCode::OK {
        return Err(ApiError::Unavailable(format!(
            "the owner answered {} for {path}; retry",
            status.as_u16()
        )));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::Unavailable(format!("the owner's answer was unreadable ({e})")))
}

/// Sends `req`'s method, kept headers and `body` to `path` at `addr`: the answer's status, type
/// and body.
async fn send(
    addr: &str,
    req: &HttpRequest,
    path: &str,
    body: web::Bytes,
) -> Result<
    (
        actix_web::http::StatusCode,
        Option<actix_web::http::header::HeaderValue>,
        web::Bytes,
    ),
    ApiError,
> {
    let url = format!("http://{addr}{path}");
    let client = awc::Client::builder().timeout(TIMEOUT).finish();
    let mut out = client.request(req.method().clone(), &url).insert_header((PASSED, "1"));
    for name in [AUTHORIZATION, CONTENT_TYPE]
        .into_iter()
        .chain(KEPT.iter().map(|n| HeaderName::from_static(n)))
    {
        if let Some(value) = req.headers().get(&name) {
            out = out.insert_header((name.clone(), value.clone()));
        }
    }
    let mut answer = out.send_body(body).await.map_err(|e| {
        log::warn!("request not passed to its owner url={url} error=\"{e}\"");
        ApiError::Unavailable(format!("the node that owns this partition did not answer ({e}); retry"))
    })?;
    let bytes = answer
        .body()
        .limit(4 * 1024 * 1024)
        .await
        .map_err(|e| ApiError::Unavailable(format!("the owner's answer was cut ({e}); retry")))?;
    log::debug!(
        "request passed to its owner url={url} status={}",
        answer.status().as_u16()
    );
    Ok((answer.status(), answer.headers().get(CONTENT_TYPE).cloned(), bytes))
}
