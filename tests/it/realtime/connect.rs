//! The WebSocket and STOMP handshakes: subprotocols and versions, framing over WebSocket
//! messages, ping/pong and the close handshake.

use std::time::Duration;

use kwanje::auth::Role;
use kwanje::stomp::Command;
use tokio_tungstenite::tungstenite::Message;

use super::client::{frame, Event, Stomp};
use super::session;
use crate::support::{Backend, Server};

#[actix_web::test]
async fn each_subprotocol_connects_with_its_stomp_version() {
    let s = Server::start(Backend::Sqlite).await;
    let token = s.token("viewer-1", Role::Viewer, None);
    for (protocol, accept, version) in [
        ("v10.stomp", None, "1.0"),
        ("v11.stomp", Some("1.1"), "1.1"),
        ("v12.stomp", Some("1.2"), "1.2"),
    ] {
        let mut stomp = Stomp::open(&s.base, &[protocol]).await;
        assert_eq!(stomp.protocol.as_deref(), Some(protocol));
        let mut headers = vec![("passcode", token.as_str()), ("login", "ignored")];
        if let Some(accept) = accept {
            headers.push(("accept-version", accept));
        }
        stomp.send_text(&frame("CONNECT", &headers, "")).await;
        let connected = stomp.expect(Command::Connected).await;
        assert_eq!(connected.header("version"), Some(version), "{protocol}");
        assert!(connected.header("session").is_some_and(|id| !id.is_empty()));
        assert!(connected.header("server").unwrap().starts_with("kwanje/"));
        if version == "1.0" {
            assert_eq!(connected.header("heart-beat"), Some("0,0"));
        } else {
            assert_eq!(connected.header("heart-beat"), Some("10000,10000"));
        }
    }
    // The client's order of preference decides among the server's subprotocols.
    let stomp = Stomp::open(&s.base, &["v11.stomp", "v12.stomp"]).await;
    assert_eq!(stomp.protocol.as_deref(), Some("v11.stomp"));
}

#[actix_web::test]
async fn frames_split_over_messages_and_several_per_message_binary_too() {
    let s = Server::start(Backend::Sqlite).await;
    let token = s.token("viewer-1", Role::Viewer, None);
    let mut stomp = Stomp::open(&s.base, &["v12.stomp"]).await;
    let connect = frame("STOMP", &[("accept-version", "1.2"), ("passcode", &token)], "");
    let (head, tail) = connect.split_at(9);
    stomp.send_text(head).await;
    stomp.expect_silence(Duration::from_millis(100)).await;
    stomp.send_binary(tail.as_bytes()).await;
    stomp.expect(Command::Connected).await;

    let two = frame(
        "SUBSCRIBE",
        &[("id", "a"), ("destination", "/topic/alerts"), ("receipt", "r1")],
        "",
    ) + "\n\n"
        + &frame(
            "SUBSCRIBE",
            &[("id", "b"), ("destination", "/topic/devices"), ("receipt", "r2")],
            "",
        );
    stomp.send_binary(two.as_bytes()).await;
    assert_eq!(stomp.expect(Command::Receipt).await.header("receipt-id"), Some("r1"));
    assert_eq!(stomp.expect(Command::Receipt).await.header("receipt-id"), Some("r2"));

    // A frame whose bytes straddle three messages, the last also starting the next frame.
    let disconnect = frame("DISCONNECT", &[("receipt", "bye")], "");
    let unsub = frame("UNSUBSCRIBE", &[("id", "a"), ("receipt", "r3")], "");
    let all = unsub + &disconnect;
    stomp.send_text(&all[..5]).await;
    stomp.send_text(&all[5..20]).await;
    stomp.send_text(&all[20..]).await;
    assert_eq!(stomp.expect(Command::Receipt).await.header("receipt-id"), Some("r3"));
    assert_eq!(stomp.expect(Command::Receipt).await.header("receipt-id"), Some("bye"));
    assert_eq!(stomp.expect_closed().await, Some(1000));
}

#[actix_web::test]
async fn pings_are_answered_and_close_is_echoed() {
    let s = Server::start(Backend::Sqlite).await;
    let mut stomp = session(&s, "viewer-1", Role::Viewer).await;
    stomp
        .send_ws(Message::Ping(bytes::Bytes::from_static(b"are you there")))
        .await;
    stomp.expect_silence(Duration::from_millis(200)).await;
    assert_eq!(stomp.pongs, vec![bytes::Bytes::from_static(b"are you there")]);
    stomp.close_ws(1001).await;
    match stomp.next_within(Duration::from_secs(5)).await {
        Some(Event::Closed(code)) => assert_eq!(code, Some(1001)),
        other => panic!("expected the close echoed, got {other:?}"),
    }
}

#[actix_web::test]
async fn a_socket_without_connect_is_closed_and_garbage_gets_an_error() {
    let s = Server::start(Backend::Sqlite).await;
    let mut stomp = Stomp::open(&s.base, &["v12.stomp"]).await;
    stomp
        .send_text(&frame(
            "SUBSCRIBE",
            &[("id", "a"), ("destination", "/topic/alerts")],
            "",
        ))
        .await;
    let error = stomp.expect_error().await;
    assert_eq!(error.header("message"), Some("not connected"));

    let mut stomp = Stomp::open(&s.base, &[]).await;
    assert_eq!(stomp.protocol, None, "a client offering no subprotocol is still served");
    stomp.send_text("CONNECT\nbad header line without colon\n\n\0").await;
    let error = stomp.expect_error().await;
    assert!(
        error.header("message").unwrap().starts_with("malformed frame"),
        "{error:?}"
    );
}
