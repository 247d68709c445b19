//! Per-address connection limit (`KWANJE_MAX_CONNECTIONS_PER_ADDR`, every listener) and
//! per-principal STOMP session limit (`KWANJE_MAX_SESSIONS_PER_PRINCIPAL`, every transport):
//! each refused with its documented answer, counted in `/metrics`, and its place given back
//! when a connection or session ends.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kwanje::auth::Role;
use kwanje::stomp::Command;
use kwanje::time::{ManualClock, Millis};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::realtime::client::{Stomp, WAIT};
use crate::support::{backends, Backend, Server};

fn addr(s: &Server) -> String {
    s.url("").trim_start_matches("http://").to_owned()
}

const HEALTH: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: kwanje\r\n\r\n";

/// A connection the server has surely accepted and counted: one request answered on it, and it
/// stays open (keep-alive).
async fn held_http(s: &Server) -> TcpStream {
    let mut stream = TcpStream::connect(addr(s)).await.unwrap();
    stream.write_all(HEALTH).await.unwrap();
    let mut buf = [0u8; 512];
    let n = stream.read(&mut buf).await.unwrap();
    let head = String::from_utf8_lossy(&buf[..n]);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    stream
}

/// One request on a fresh connection `Connection: close`; everything the server sent.
async fn one_request(s: &Server, request: &str) -> String {
    let mut stream = TcpStream::connect(addr(s)).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut got))
        .await
        .expect("the server closes the connection")
        .unwrap();
    String::from_utf8_lossy(&got).into_owned()
}

/// Retries `attempt` until it returns true, or panics after [`WAIT`].
async fn eventually<F: std::future::Future<Output = bool>>(what: &str, mut attempt: impl FnMut() -> F) {
    let deadline = Instant::now() + WAIT;
    while !attempt().await {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The value of an unlabelled sample in `/metrics`, read over a connection of its own (tried
/// again while the connection limit still counts one that just closed).
async fn metric(s: &Server, name: &str) -> f64 {
    let deadline = Instant::now() + WAIT;
    let text = loop {
        let text = one_request(s, "GET /metrics HTTP/1.1\r\nHost: kwanje\r\nConnection: close\r\n\r\n").await;
        if text.starts_with("HTTP/1.1 200") || Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

#[actix_web::test]
async fn an_http_connection_past_the_per_address_limit_is_answered_503_and_closed() {
    let s = Server::start_with(Backend::Sqlite, |c| c.max_connections_per_addr = 2).await;
    let first = held_http(&s).await;
    let _second = held_http(&s).await;

    let answer = one_request(&s, "GET /healthz HTTP/1.1\r\nHost: kwanje\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    let lower = answer.to_ascii_lowercase();
    assert!(lower.contains("content-type: application/problem+json"), "{answer}");
    assert!(lower.contains("retry-after: 1"), "{answer}");
    assert!(
        answer.contains("the limit is 2 (KWANJE_MAX_CONNECTIONS_PER_ADDR)"),
        "{answer}"
    );

    // A WebSocket upgrade past the limit is refused the same way, before any session exists.
    let upgrade = one_request(
        &s,
        "GET /ws HTTP/1.1\r\nHost: kwanje\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    )
    .await;
    assert!(upgrade.starts_with("HTTP/1.1 503"), "{upgrade}");

    // A closed connection gives its place back.
    drop(first);
    eventually("a new connection is served once one closed", || async {
        one_request(&s, "GET /healthz HTTP/1.1\r\nHost: kwanje\r\nConnection: close\r\n\r\n")
            .await
            .starts_with("HTTP/1.1 200")
    })
    .await;
    assert!(metric(&s, "kwanje_connections_refused_total").await >= 2.0);
}

#[actix_web::test]
async fn a_tcp_stomp_connection_past_the_per_address_limit_gets_an_error_frame_and_is_closed() {
    let s = Server::start_with(Backend::Sqlite, |c| {
        c.stomp_tcp = Some("127.0.0.1:0".into());
        c.max_connections_per_addr = 2;
    })
    .await;
    let tcp = s.stomp_tcp.unwrap();
    let token = s.admin.clone();
    // HTTP and TCP STOMP connections count against the same limit.
    let _http = held_http(&s).await;
    let mut held = Stomp::open_tcp(tcp).await;
    held.connect(&token, "1.2").await;

    let mut refused = Stomp::open_tcp(tcp).await;
    let error = refused.expect_error().await;
    assert_eq!(error.header("message"), Some("too many connections"));
    let body = String::from_utf8_lossy(&error.body).into_owned();
    assert!(
        body.contains("the limit is 2 (KWANJE_MAX_CONNECTIONS_PER_ADDR)"),
        "{body}"
    );

    // The session that was admitted is untouched, and its place comes back when it ends.
    held.subscribe("alerts", "/topic/alerts", "auto").await;
    held.shutdown_tcp().await;
    eventually("a new TCP STOMP session connects once one ended", || async {
        let mut again = Stomp::open_tcp(tcp).await;
        again
            .send_text(&format!(
                "CONNECT\naccept-version:1.2\nhost:kwanje\npasscode:{token}\n\n\0"
            ))
            .await;
        again.recv().await.command == Command::Connected
    })
    .await;
}

#[actix_web::test]
async fn connect_past_the_per_principal_session_limit_gets_an_error_naming_it() {
    for backend in backends() {
        let s = Server::start_with(backend, |c| {
            c.stomp_tcp = Some("127.0.0.1:0".into());
            c.max_sessions_per_principal = 2;
        })
        .await;
        let gate = s.token("gate-1", Role::Client, Some("gate-1"));
        let mut first = Stomp::open(&s.base, &["v12.stomp"]).await;
        first.connect(&gate, "1.2").await;
        let mut second = Stomp::open_tcp(s.stomp_tcp.unwrap()).await;
        second.connect(&gate, "1.2").await;

        // The third, on any transport, is refused with the limit named.
        let mut third = Stomp::open(&s.base, &["v12.stomp"]).await;
        third
            .send_text(&format!(
                "CONNECT\naccept-version:1.2\nhost:kwanje\npasscode:{gate}\n\n\0"
            ))
            .await;
        let error = third.expect_error().await;
        assert_eq!(error.header("message"), Some("too many sessions"));
        let body = String::from_utf8_lossy(&error.body).into_owned();
        assert!(
            body.contains("gate-1 already holds 2 sessions, the limit is 2 (KWANJE_MAX_SESSIONS_PER_PRINCIPAL)"),
            "{body}"
        );

        // Another principal is not affected, and the two admitted sessions still work.
        let mut other = Stomp::open(&s.base, &["v12.stomp"]).await;
        other
            .connect(&s.token("gate-2", Role::Client, Some("gate-2")), "1.2")
            .await;
        first.subscribe("cmd", "/user/queue/commands", "auto").await;

        // A session that ends gives its place back.
        second.shutdown_tcp().await;
        eventually("gate-1 connects again once one of its sessions ended", || async {
            let mut again = Stomp::open(&s.base, &["v12.stomp"]).await;
            again
                .send_text(&format!(
                    "CONNECT\naccept-version:1.2\nhost:kwanje\npasscode:{gate}\n\n\0"
                ))
                .await;
            again.recv().await.command == Command::Connected
        })
        .await;
        assert!(metric(&s, "kwanje_stomp_sessions_refused_total").await >= 1.0);
        drop((first, other));
    }
}

/// A CONNECT with `token` as `passcode` on a fresh TCP connection; the ERROR it gets (the
/// connection closes after it).
async fn bad_connect(tcp: std::net::SocketAddr, token: &str) -> String {
    let mut stomp = Stomp::open_tcp(tcp).await;
    stomp
        .send_text(&format!(
            "CONNECT\naccept-version:1.2\nhost:kwanje\npasscode:{token}\n\n\0"
        ))
        .await;
    let error = stomp.expect_error().await;
    assert_eq!(error.header("message"), Some("authentication failed"));
    String::from_utf8_lossy(&error.body).into_owned()
}

#[actix_web::test]
async fn repeated_bad_connects_from_one_address_are_refused_unchecked_with_a_growing_wait() {
    // A clock that stands still: the wait does not run out while the test looks at it.
    let clock = Arc::new(ManualClock::new(Millis::now()));
    let s = Server::start_clocked(Backend::Sqlite, clock.clone(), |c| {
        c.stomp_tcp = Some("127.0.0.1:0".into());
        c.login_free_attempts = 2;
    })
    .await;
    let tcp = s.stomp_tcp.unwrap();
    for _ in 0..2 {
        let body = bad_connect(tcp, "x.y.z").await;
        assert!(!body.contains("retry after"), "{body}");
    }
    // Past the free attempts the address waits: a CONNECT is refused before its token is looked
    // at (a good one too) ...
    let body = bad_connect(tcp, "x.y.z").await;
    assert!(
        body.starts_with("too many failed CONNECTs from 127.0.0.1: retry after"),
        "{body}"
    );
    let body = bad_connect(tcp, &s.admin).await;
    assert!(body.contains("retry after"), "{body}");
    // ... and a WebSocket upgrade or a SockJS request is answered 429 and closed before any
    // session exists.
    for request in [
        "GET /ws HTTP/1.1\r\nHost: kwanje\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        "POST /sockjs/000/abcdefgh/xhr HTTP/1.1\r\nHost: kwanje\r\nContent-Length: 0\r\n\r\n",
    ] {
        let answer = one_request(&s, request).await;
        assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
        let lower = answer.to_ascii_lowercase();
        assert!(lower.contains("retry-after: "), "{answer}");
        assert!(lower.contains("content-type: application/problem+json"), "{answer}");
    }
    // Other paths are not the CONNECT throttle's business.
    let health = one_request(&s, "GET /healthz HTTP/1.1\r\nHost: kwanje\r\nConnection: close\r\n\r\n").await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(metric(&s, "kwanje_realtime_requests_throttled_total").await >= 2.0);
    assert!(metric(&s, "kwanje_stomp_connect_throttled_total").await >= 2.0);
    assert!(metric(&s, "kwanje_stomp_connect_failures_total").await >= 2.0);

    // Once the wait is over, the address may try again: a good token connects.
    clock.advance(Duration::from_secs(2));
    let mut stomp = Stomp::open_tcp(tcp).await;
    stomp.connect(&s.admin, "1.2").await;
}

#[actix_web::test]
async fn bad_connects_over_sockjs_count_towards_the_same_wait() {
    use crate::realtime::sockjs_client::{SockJs, Transport};
    let clock = Arc::new(ManualClock::new(Millis::now()));
    let s = Server::start_clocked(Backend::Sqlite, clock, |c| c.login_free_attempts = 1).await;
    let mut sock = SockJs::open(&s, Transport::Streaming).await;
    sock.send_stomp("CONNECT", &[("accept-version", "1.2"), ("passcode", "x.y.z")], "")
        .await;
    // The one free attempt is spent: the address now waits, and SockJS requests are refused.
    eventually("the SockJS client's address is throttled", || async {
        one_request(
            &s,
            "POST /sockjs/000/zyxwvuts/xhr HTTP/1.1\r\nHost: kwanje\r\nContent-Length: 0\r\n\r\n",
        )
        .await
        .starts_with("HTTP/1.1 429")
    })
    .await;
}
