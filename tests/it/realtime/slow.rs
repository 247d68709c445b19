//! The slow-consumer policy: a client that does not read is sent an ERROR and dropped once
//! its backlog passes the limit, while a fast one keeps receiving everything.

use std::time::Duration;

use kwanje::auth::Role;
use kwanje::broker::messages::GetBrokerStats;
use kwanje::stomp::Command;

use super::client::{frame, Event, Stomp};
use super::session;
use crate::support::{Backend, Server};

const LIMIT: usize = 256 * 1024;
const MESSAGES: usize = 400;
const BODY: usize = 8 * 1024;

#[actix_web::test]
async fn a_slow_consumer_is_dropped_while_a_fast_one_keeps_receiving() {
    let s = Server::start_with(Backend::Sqlite, |c| c.ws_outbound_limit_bytes = LIMIT).await;
    let token = s.token("viewer-slow", Role::Viewer, None);
    let mut slow = Stomp::open_path(&s.base, "/ws", &["v12.stomp"], Some(4 * 1024)).await;
    slow.connect(&token, "1.2").await;
    slow.subscribe("s", "/topic/ops/flood", "auto").await;
    let mut fast = session(&s, "viewer-fast", Role::Viewer).await;
    fast.subscribe("f", "/topic/ops/flood", "auto").await;
    let stats = s.state.broker.send(GetBrokerStats).await.unwrap();
    assert_eq!(stats.subscriptions, 2);

    // The slow client reads nothing while 3 MiB are published; the fast one reads as it goes.
    let reader = actix_web::rt::spawn(async move {
        for _ in 0..MESSAGES {
            let frame = fast.recv().await;
            assert_eq!(frame.command, Command::Message, "{frame:?}");
            assert_eq!(frame.body.len(), BODY);
        }
        fast
    });
    let mut op = session(&s, "op-1", Role::Operator).await;
    let body = "x".repeat(BODY);
    for n in 0..MESSAGES {
        let receipt = n.to_string();
        op.send_with_receipt("/topic/ops/flood", &[], &body, &receipt).await;
    }
    let mut fast = reader.await.expect("the fast client received every message");

    // Now the slow client reads: some messages, then the ERROR, then the end.
    let mut before_error = 0;
    let error = loop {
        match slow.next_within(Duration::from_secs(5)).await {
            Some(Event::Frame(frame)) if frame.command == Command::Message => before_error += 1,
            Some(Event::Frame(frame)) if frame.command == Command::Error => break frame,
            other => panic!("expected MESSAGEs then an ERROR, got {other:?} after {before_error}"),
        }
    };
    assert_eq!(error.header("message"), Some("slow consumer"));
    assert!(
        before_error < MESSAGES,
        "the slow client got everything: {before_error}"
    );
    slow.expect_closed().await;
    let stats = s.state.broker.send(GetBrokerStats).await.unwrap();
    assert_eq!(stats.subscriptions, 1, "{stats:?}");

    // The fast client is still served.
    op.send_text(&frame(
        "SEND",
        &[("destination", "/topic/ops/flood"), ("receipt", "r")],
        "after",
    ))
    .await;
    op.await_receipt("r").await;
    assert_eq!(&fast.expect(Command::Message).await.body[..], b"after");
}
