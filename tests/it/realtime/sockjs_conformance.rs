//! The SockJS test suite's services under `/sockjs-test/` (`KWANJE_CONFORMANCE=1`), on the same
//! SockJS layer as `/sockjs`: the official suite (sockjs-protocol) runs against them outside
//! `cargo test` (README); these check here what it checks of each service, and that they are
//! not served by default.

use std::io::{Read, Write};

use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

use super::client::{next_message, WAIT};
use super::sockjs_client::{http, new_session_id, read_exact};
use crate::support::{Backend, Server};

async fn conformance() -> Server {
    Server::start_with(Backend::Sqlite, |c| c.conformance = true).await
}

fn session_url(s: &Server, service: &str) -> String {
    s.url(&format!("/sockjs-test/{service}/000/{}", new_session_id()))
}

async fn post(url: &str, body: &str) -> (u16, String) {
    let mut resp = http().post(url).send_body(body.to_owned()).await.unwrap();
    let bytes = resp.body().await.unwrap();
    (resp.status().as_u16(), String::from_utf8_lossy(&bytes).into_owned())
}

#[actix_web::test]
async fn the_services_are_served_only_in_conformance_mode() {
    let s = Server::start(Backend::Sqlite).await;
    let resp = http().get(s.url("/sockjs-test/echo/info")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 404);
}

#[actix_web::test]
async fn echo_sends_every_message_back_over_polling_and_the_websocket() {
    let s = conformance().await;
    let url = session_url(&s, "echo");
    assert_eq!(post(&format!("{url}/xhr"), "").await, (200, "o\n".into()));
    let (status, _) = post(&format!("{url}/xhr_send"), r#"["a","b\u0000c"]"#).await;
    assert_eq!(status, 204);
    assert_eq!(
        post(&format!("{url}/xhr"), "").await,
        (200, "a[\"a\",\"b\\u0000c\"]\n".into())
    );

    let ws_url = session_url(&s, "echo").replace("http://", "ws://") + "/websocket";
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url).await.unwrap();
    assert_eq!(next_message(&mut ws).await, Message::text("o"));
    ws.send(Message::text(r#"["hello"]"#)).await.unwrap();
    assert_eq!(next_message(&mut ws).await, Message::text(r#"a["hello"]"#));

    // The raw WebSocket: plain messages, no SockJS framing.
    let raw = s.url("/sockjs-test/echo/websocket").replace("http://", "ws://");
    let (mut ws, _) = tokio_tungstenite::connect_async(raw).await.unwrap();
    ws.send(Message::text("Hello world!\u{ffff}")).await.unwrap();
    assert_eq!(next_message(&mut ws).await, Message::text("Hello world!\u{ffff}"));
}

#[actix_web::test]
async fn close_opens_then_sends_the_client_away() {
    let s = conformance().await;
    let url = session_url(&s, "close");
    assert_eq!(post(&format!("{url}/xhr"), "").await, (200, "o\n".into()));
    assert_eq!(
        post(&format!("{url}/xhr"), "").await,
        (200, "c[3000,\"Go away!\"]\n".into())
    );

    let raw = s.url("/sockjs-test/close/websocket").replace("http://", "ws://");
    let (mut ws, _) = tokio_tungstenite::connect_async(raw).await.unwrap();
    match next_message(&mut ws).await {
        Message::Close(Some(close)) => {
            assert_eq!((close.code, close.reason.as_str()), (CloseCode::from(3000), "Go away!"));
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
}

#[actix_web::test]
async fn info_says_what_each_service_offers_and_the_cookie_service_sets_jsessionid() {
    let s = conformance().await;
    let info = |service: &str| {
        let url = s.url(&format!("/sockjs-test/{service}/info"));
        async move {
            let mut resp = http().get(url).send().await.unwrap();
            assert!(resp.headers().get("set-cookie").is_none(), "info sets no cookie");
            resp.json::<serde_json::Value>().await.unwrap()
        }
    };
    assert_eq!(info("echo").await["websocket"], true);
    assert_eq!(info("disabled_websocket_echo").await["websocket"], false);
    assert_eq!(info("cookie_needed_echo").await["cookie_needed"], true);
    let ws_url = session_url(&s, "disabled_websocket_echo").replace("http://", "ws://") + "/websocket";
    assert!(tokio_tungstenite::connect_async(ws_url).await.is_err(), "refused");

    let url = session_url(&s, "cookie_needed_echo");
    let resp = http().post(format!("{url}/xhr")).send().await.unwrap();
    assert_eq!(resp.headers().get("set-cookie").unwrap(), "JSESSIONID=dummy; path=/");
    let url = session_url(&s, "cookie_needed_echo");
    let resp = http()
        .post(format!("{url}/xhr"))
        .insert_header(("Cookie", "JSESSIONID=abcdef"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers().get("set-cookie").unwrap(), "JSESSIONID=abcdef; path=/");
}

/// A streaming response ends after 4,096 bytes of frames here, its prelude in a chunk of its
/// own.
#[actix_web::test]
async fn a_streaming_response_of_the_services_ends_after_4096_bytes() {
    let s = conformance().await;
    let url = session_url(&s, "echo");
    let resp = http().post(format!("{url}/xhr_streaming")).send().await.unwrap();
    let mut resp: std::pin::Pin<Box<dyn futures_util::Stream<Item = _>>> = Box::pin(resp);
    let mut buf = Vec::new();
    assert_eq!(read_exact(&mut resp, &mut buf, 2049).await.len(), 2049);
    assert_eq!(read_exact(&mut resp, &mut buf, 2).await, b"o\n");
    let message = format!("\"{}\"", "x".repeat(128));
    for _ in 0..31 {
        let (status, _) = post(&format!("{url}/xhr_send"), &format!("[{message}]")).await;
        assert_eq!(status, 204);
        let frame = format!("a[{message}]\n");
        assert_eq!(read_exact(&mut resp, &mut buf, frame.len()).await, frame.as_bytes());
    }
    assert!(read_exact(&mut resp, &mut buf, 1).await.is_empty(), "ended");
}

/// HTTP/1.0 has no chunked encoding: a streaming response is ended by closing the connection.
#[actix_web::test]
async fn an_http_1_0_streaming_response_is_not_chunked() {
    let s = conformance().await;
    let url = session_url(&s, "close");
    let path = url.split_once("//").unwrap().1.split_once('/').unwrap().1.to_owned();
    let addr = s.base.trim_start_matches("http://").to_owned();
    let answer = tokio::task::spawn_blocking(move || {
        let mut conn = std::net::TcpStream::connect(addr).unwrap();
        conn.set_read_timeout(Some(WAIT)).unwrap();
        write!(
            conn,
            "POST /{path}/xhr_streaming HTTP/1.0\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        conn.read_to_string(&mut answer).unwrap();
        answer
    })
    .await
    .unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let head = head.to_ascii_lowercase();
    assert!(
        head.starts_with("http/1.0 200") || head.starts_with("http/1.1 200"),
        "{head}"
    );
    assert!(
        !head.contains("transfer-encoding") && !head.contains("content-length"),
        "{head}"
    );
    assert_eq!(body, format!("{}\no\nc[3000,\"Go away!\"]\n", "h".repeat(2048)));
}

/// A method a transport does not take is 405 with `Allow` and no body; on a session URL that is
/// not a valid one it is 404 (at `/sockjs` as at the test services).
#[actix_web::test]
async fn a_wrong_method_is_405_and_an_invalid_session_url_404() {
    let s = Server::start(Backend::Sqlite).await;
    let mut resp = http()
        .get(s.url(&format!("/sockjs/000/{}/xhr", new_session_id())))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 405);
    assert_eq!(resp.headers().get("allow").unwrap(), "OPTIONS, POST");
    assert!(resp.headers().get("content-type").is_none());
    assert!(resp.body().await.unwrap().is_empty());
    for path in ["/sockjs/a./a/xhr", "/sockjs/a/a./xhr"] {
        let resp = http().get(s.url(path)).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 404, "{path}");
    }
}
