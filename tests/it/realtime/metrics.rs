//! What `/metrics` says of STOMP: sessions counted by the transport under them while they are
//! connected (and no longer once they end), frames received and sent by command, heart-beats
//! apart.

use std::time::{Duration, Instant};

use kwanje::auth::Role;
use kwanje::stomp::Command;

use super::client::frame;
use super::sockjs_client::{SockJs, Transport};
use super::{session, tcp_session};
use crate::support::scrape::Scrape;
use crate::support::{Backend, Server};

/// Scrapes until `check` holds, or panics after 10 s with the last scrape.
async fn scrape_until(s: &Server, check: impl Fn(&Scrape) -> bool) -> Scrape {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let scrape = Scrape::of(s).await;
        if check(&scrape) {
            return scrape;
        }
        assert!(Instant::now() < deadline, "{}", scrape.text);
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

#[actix_web::test]
async fn sessions_are_counted_by_transport_and_frames_by_command() {
    let s = Server::start_with(Backend::Sqlite, |c| c.stomp_tcp = Some("127.0.0.1:0".into())).await;
    let mut ws = session(&s, "op-1", Role::Operator).await;
    let mut tcp = tcp_session(&s, "viewer-1", Role::Viewer).await;
    let mut sock = SockJs::open(&s, Transport::Polling).await;
    sock.connect(&s.token("viewer-2", Role::Viewer, None)).await;
    // A session that never CONNECTs is not counted.
    let _unconnected = super::client::Stomp::open(&s.base, &["v12.stomp"]).await;

    ws.subscribe("sub-0", "/topic/ops/shift", "auto").await;
    ws.send_with_receipt("/topic/ops/shift", &[], "hello", "r-1").await;
    ws.expect(Command::Message).await;
    // A command STOMP does not have: an ERROR, and counted as `other`.
    tcp.send_text(&frame("HELLO", &[], "")).await;
    tcp.expect_error().await;

    let per = |transport| [("transport", transport)];
    let scrape = scrape_until(&s, |m| m.number("kwanje_stomp_sessions", &per("tcp")) == Some(0.0)).await;
    let text = &scrape.text;
    assert_eq!(
        scrape.number("kwanje_stomp_sessions", &per("websocket")),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        scrape.number("kwanje_stomp_sessions", &per("sockjs")),
        Some(1.0),
        "{text}"
    );
    for transport in ["websocket", "sockjs", "tcp"] {
        let connected = scrape.number("kwanje_stomp_sessions_connected", &per(transport));
        assert_eq!(connected, Some(1.0), "{transport}: {text}");
    }
    let received = |command| scrape.number("kwanje_stomp_frames_received", &[("command", command)]);
    let sent = |command| scrape.number("kwanje_stomp_frames_sent", &[("command", command)]);
    assert_eq!(received("CONNECT"), Some(3.0), "{text}");
    assert_eq!(received("SUBSCRIBE"), Some(1.0), "{text}");
    assert_eq!(received("SEND"), Some(1.0), "{text}");
    assert_eq!(received("other"), Some(1.0), "{text}");
    assert_eq!(received("MESSAGE"), Some(0.0), "{text}");
    assert_eq!(sent("CONNECTED"), Some(3.0), "{text}");
    assert_eq!(sent("RECEIPT"), Some(2.0), "{text}");
    assert_eq!(sent("MESSAGE"), Some(1.0), "{text}");
    assert_eq!(sent("ERROR"), Some(1.0), "{text}");
    assert!(scrape.number("kwanje_stomp_heart_beats_sent", &[]).is_some(), "{text}");

    ws.close_ws(1000).await;
    scrape_until(&s, |m| {
        m.number("kwanje_stomp_sessions", &per("websocket")) == Some(0.0)
    })
    .await;
    drop(sock);
    s.stop().await;
}
