//! Connections are bounded: a request head must arrive whole within its time limit, an idle
//! keep-alive connection is closed, and a browser page from an origin outside
//! `KWANJE_ALLOWED_ORIGINS` cannot open a realtime session.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Error as WsError;

use crate::support::{Backend, Server};

/// Ten times the limits these tests set (300 ms), and under actix-web's own 5 s defaults: a
/// connection still open then was not closed by the setting.
const NEVER: Duration = Duration::from_secs(3);

fn addr(s: &Server) -> String {
    s.url("").trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the connection; what it sent before closing.
async fn until_closed(stream: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let read = tokio::time::timeout(NEVER, stream.read_to_end(&mut got)).await;
    assert!(
        read.is_ok(),
        "still open after {NEVER:?}; got {:?}",
        String::from_utf8_lossy(&got)
    );
    String::from_utf8_lossy(&got).into_owned()
}

#[actix_web::test]
async fn a_half_sent_request_head_is_answered_408_and_closed() {
    let s = Server::start_with(Backend::Sqlite, |c| c.request_head_timeout_ms = 300).await;
    let mut stream = TcpStream::connect(addr(&s)).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: kwanje\r\n")
        .await
        .unwrap();
    let answer = until_closed(&mut stream).await;
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[actix_web::test]
async fn a_head_dribbled_a_byte_at_a_time_is_closed_too() {
    let s = Server::start_with(Backend::Sqlite, |c| c.request_head_timeout_ms = 300).await;
    let mut stream = TcpStream::connect(addr(&s)).await.unwrap();
    let head = b"GET /healthz HTTP/1.1\r\nHost: kwanje\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    // A slowloris client: every byte is fresh activity, and still the head is late.
    let mut closed = false;
    for byte in head.iter() {
        if stream.write_all(&[*byte]).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if !closed {
        // 8 s of dribbling sent; the server must have given up on it long before (it may
        // have closed without the write failing yet: the close is what is read next).
        let answer = until_closed(&mut stream).await;
        assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");
    }
}

#[actix_web::test]
async fn an_idle_keep_alive_connection_is_closed_after_a_whole_request() {
    let s = Server::start_with(Backend::Sqlite, |c| c.keep_alive_ms = 300).await;
    let mut stream = TcpStream::connect(addr(&s)).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: kwanje\r\n\r\n")
        .await
        .unwrap();
    let answer = until_closed(&mut stream).await;
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "the request was served first: {answer}"
    );
}

async fn sockjs_info(s: &Server, origin: Option<&str>) -> (u16, String) {
    let http = awc::Client::default();
    let mut req = http.get(s.url("/sockjs/info"));
    if let Some(o) = origin {
        req = req.insert_header(("Origin", o));
    }
    let mut res = req.send().await.unwrap();
    let body = res.body().await.unwrap();
    (res.status().as_u16(), String::from_utf8_lossy(&body).into_owned())
}

async fn ws_open(s: &Server, origin: Option<&str>) -> Result<(), u16> {
    let mut request = format!("ws://{}/ws", addr(s)).into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "v12.stomp".parse().unwrap());
    if let Some(o) = origin {
        request.headers_mut().insert("Origin", o.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok(_) => Ok(()),
        Err(WsError::Http(res)) => Err(res.status().as_u16()),
        Err(e) => panic!("{e}"),
    }
}

#[actix_web::test]
async fn a_page_from_an_origin_not_allowed_cannot_open_a_session() {
    let s = Server::start_with(Backend::Sqlite, |c| {
        c.allowed_origins = "https://ops.airport.example".into();
    })
    .await;
    let own = s.url("");
    let own = own.trim_end_matches('/');
    for allowed in [None, Some("https://ops.airport.example"), Some(own)] {
        assert_eq!(sockjs_info(&s, allowed).await.0, 200, "{allowed:?}");
        assert_eq!(ws_open(&s, allowed).await, Ok(()), "{allowed:?}");
    }
    let (status, body) = sockjs_info(&s, Some("https://evil.example")).await;
    assert_eq!(status, 403);
    let problem: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(problem["type"], "urn:kwanje:problem:forbidden");
    assert!(
        problem["detail"].as_str().unwrap().contains("https://evil.example"),
        "{problem}"
    );
    assert_eq!(ws_open(&s, Some("https://evil.example")).await, Err(403));
    // The API itself is not a realtime path: an operator's tool from anywhere still works.
    let http = awc::Client::default();
    let res = http
        .get(s.url("/healthz"))
        .insert_header(("Origin", "https://evil.example"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
}

#[actix_web::test]
async fn by_default_every_origin_may_open_a_session() {
    let s = Server::start(Backend::Sqlite).await;
    assert_eq!(sockjs_info(&s, Some("https://anywhere.example")).await.0, 200);
    assert_eq!(ws_open(&s, Some("https://anywhere.example")).await, Ok(()));
}
