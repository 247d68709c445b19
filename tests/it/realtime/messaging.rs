//! Messaging over the real server: the operators' broadcast channels, receipts, ack modes,
//! transactions and heart-beats.

use std::sync::Arc;
use std::time::Duration;

use kwanje::auth::Role;
use kwanje::stomp::Command;
use kwanje::time::{Clock, ManualClock, Millis};

use super::client::{frame, Stomp};
use super::session;
use crate::support::{Backend, Server};

#[actix_web::test]
async fn ops_channels_relay_as_sent_with_the_sender_and_unique_message_ids() {
    let s = Server::start(Backend::Sqlite).await;
    let mut viewer = session(&s, "viewer-1", Role::Viewer).await;
    viewer.subscribe("ops", "/topic/ops/handover", "auto").await;
    let mut other = session(&s, "viewer-2", Role::Viewer).await;
    other.subscribe("elsewhere", "/topic/ops/notices", "auto").await;
    let mut op = session(&s, "op-kim", Role::Operator).await;
    let headers = [
        ("content-type", "text/plain"),
        ("x-shift", "night"),
        ("sender", "forged"),
    ];
    op.send_with_receipt("/topic/ops/handover", &headers, "gate 3 under repair", "s1")
        .await;
    op.send_with_receipt("/topic/ops/handover", &[], "second", "s2").await;

    let first = viewer.expect(Command::Message).await;
    assert_eq!(&first.body[..], b"gate 3 under repair");
    assert_eq!(first.header("destination"), Some("/topic/ops/handover"));
    assert_eq!(first.header("subscription"), Some("ops"));
    assert_eq!(first.header("x-shift"), Some("night"));
    assert_eq!(first.header("content-type"), Some("text/plain"));
    assert_eq!(first.header("sender"), Some("op-kim"));
    assert_eq!(first.headers.iter().filter(|(k, _)| k == "sender").count(), 1);
    let second = viewer.expect(Command::Message).await;
    assert_eq!(&second.body[..], b"second");
    assert_ne!(first.header("message-id"), second.header("message-id"));
    assert!(first.header("message-id").is_some());
    // Nothing reached the other topic: the first message there is one sent after them.
    op.send_with_receipt("/topic/ops/notices", &[], "marker", "s3").await;
    assert_eq!(&other.expect(Command::Message).await.body[..], b"marker");
}

/// Three messages on `/topic/ops/acks` for `sub`, returning their `ack` ids.
async fn three_messages(s: &Server, sub: &mut Stomp) -> Vec<String> {
    let mut op = session(s, "op-1", Role::Operator).await;
    for n in 0..3 {
        op.send_with_receipt("/topic/ops/acks", &[], &format!("m{n}"), &format!("r{n}"))
            .await;
    }
    let mut acks = Vec::new();
    for _ in 0..3 {
        let message = sub.expect(Command::Message).await;
        acks.push(message.header("ack").expect("an ack header in client modes").to_owned());
    }
    acks
}

#[actix_web::test]
async fn client_acks_are_cumulative_and_client_individual_acks_are_not() {
    let s = Server::start(Backend::Sqlite).await;
    let mut sub = session(&s, "viewer-1", Role::Viewer).await;
    sub.subscribe("c", "/topic/ops/acks", "client").await;
    let acks = three_messages(&s, &mut sub).await;
    sub.send_text(&frame("ACK", &[("id", &acks[1]), ("receipt", "a1")], ""))
        .await;
    sub.await_receipt("a1").await;
    sub.send_text(&frame("ACK", &[("id", &acks[2]), ("receipt", "a2")], ""))
        .await;
    sub.await_receipt("a2").await;
    // The first was covered by the cumulative ACK of the second.
    sub.send_text(&frame("ACK", &[("id", &acks[0]), ("receipt", "a0")], ""))
        .await;
    let error = sub.expect_error().await;
    assert_eq!(error.header("message"), Some("unknown ack id"));
    assert_eq!(error.header("receipt-id"), Some("a0"));

    let mut sub = session(&s, "viewer-1", Role::Viewer).await;
    sub.subscribe("i", "/topic/ops/acks", "client-individual").await;
    let acks = three_messages(&s, &mut sub).await;
    sub.send_text(&frame("ACK", &[("id", &acks[1]), ("receipt", "a1")], ""))
        .await;
    sub.await_receipt("a1").await;
    sub.send_text(&frame("NACK", &[("id", &acks[0]), ("receipt", "n0")], ""))
        .await;
    sub.await_receipt("n0").await;
    sub.send_text(&frame("ACK", &[("id", &acks[1]), ("receipt", "again")], ""))
        .await;
    assert_eq!(sub.expect_error().await.header("message"), Some("unknown ack id"));

    let mut sub = session(&s, "viewer-1", Role::Viewer).await;
    sub.subscribe("auto", "/topic/ops/acks", "auto").await;
    let mut op = session(&s, "op-1", Role::Operator).await;
    op.send_with_receipt("/topic/ops/acks", &[], "x", "r").await;
    let message = sub.expect(Command::Message).await;
    assert_eq!(message.header("ack"), None, "auto mode needs no ACK");
}

#[actix_web::test]
async fn sends_in_a_transaction_take_effect_at_commit_and_vanish_at_abort() {
    // The server's time moves only when told (the heartbeat below is stamped with it).
    let clock = ManualClock::new(Millis::now());
    let s = Server::start_clocked(Backend::Sqlite, Arc::new(clock.clone()), |_| {}).await;
    let mut viewer = session(&s, "viewer-1", Role::Viewer).await;
    viewer.subscribe("ops", "/topic/ops/tx", "auto").await;
    let mut op = session(&s, "op-1", Role::Operator).await;
    op.send_text(&frame("BEGIN", &[("transaction", "t1"), ("receipt", "b")], ""))
        .await;
    op.await_receipt("b").await;
    for body in ["one", "two"] {
        op.send_text(&frame(
            "SEND",
            &[("destination", "/topic/ops/tx"), ("transaction", "t1")],
            body,
        ))
        .await;
    }
    op.send_text(&frame("BEGIN", &[("transaction", "t2")], "")).await;
    op.send_text(&frame(
        "SEND",
        &[("destination", "/topic/ops/tx"), ("transaction", "t2")],
        "aborted",
    ))
    .await;
    op.send_text(&frame("ABORT", &[("transaction", "t2"), ("receipt", "ab")], ""))
        .await;
    op.await_receipt("ab").await;
    // A message sent outside the transactions comes first: none of theirs went out before it.
    op.send_with_receipt("/topic/ops/tx", &[], "before commit", "m1").await;
    assert_eq!(&viewer.expect(Command::Message).await.body[..], b"before commit");
    op.send_text(&frame("COMMIT", &[("transaction", "t1"), ("receipt", "c")], ""))
        .await;
    op.await_receipt("c").await;
    assert_eq!(&viewer.expect(Command::Message).await.body[..], b"one");
    assert_eq!(&viewer.expect(Command::Message).await.body[..], b"two");
    // And nothing else (the aborted one) follows them before the next message.
    op.send_with_receipt("/topic/ops/tx", &[], "after commit", "m2").await;
    assert_eq!(&viewer.expect(Command::Message).await.body[..], b"after commit");

    // A heartbeat batch in a transaction reaches the device only at COMMIT.
    s.register("gate-1", &["cam-1"], 60_000, 3).await;
    let mut gate = session(&s, "gate-1", Role::Client).await;
    let beat = r#"{"devices":[{"id":"cam-1","status":"ok"}]}"#;
    gate.send_text(&frame("BEGIN", &[("transaction", "hb")], "")).await;
    gate.send_text(&frame(
        "SEND",
        &[
            ("destination", "/app/heartbeat"),
            ("transaction", "hb"),
            ("receipt", "s"),
        ],
        beat,
    ))
    .await;
    gate.await_receipt("s").await;
    // Committed later: the device is up since the COMMIT, not since the SEND. (The COMMIT's
    // heartbeat reaches the device's actor behind anything the SEND would have sent it.)
    let committed = clock.now() + Duration::from_secs(10);
    clock.set(committed);
    gate.send_text(&frame("COMMIT", &[("transaction", "hb")], "")).await;
    let up = s
        .wait_for("/api/v1/devices/cam-1", Duration::from_secs(5), |d| d["state"] == "up")
        .await;
    assert_eq!(up["state_since_ms"].as_i64(), Some(committed.0), "{up}");

    op.send_text(&frame("COMMIT", &[("transaction", "nope")], "")).await;
    assert_eq!(op.expect_error().await.header("message"), Some("unknown transaction"));
}

#[actix_web::test]
async fn a_client_silent_past_its_heart_beat_is_dropped_and_a_beating_one_is_not() {
    let s = Server::start_with(Backend::Sqlite, |c| {
        c.stomp_heart_beat_ms = 100;
        c.stomp_heart_beat_min_ms = 100;
    })
    .await;
    let token = s.token("viewer-1", Role::Viewer, None);

    let mut beating = Stomp::open(&s.base, &["v12.stomp"]).await;
    let connect = frame(
        "CONNECT",
        &[("accept-version", "1.2"), ("passcode", &token), ("heart-beat", "100,0")],
        "",
    );
    beating.send_text(&connect).await;
    beating.expect(Command::Connected).await;
    // Beats every 80 ms for half a second, well past the 200 ms silence limit.
    for _ in 0..6 {
        beating.send_text("\n").await;
        tokio::time::sleep(Duration::from_millis(80)).await;
    }
    beating.send_text(&frame("DISCONNECT", &[("receipt", "bye")], "")).await;
    beating.await_receipt("bye").await;

    let mut silent = Stomp::open(&s.base, &["v12.stomp"]).await;
    let connect = frame(
        "CONNECT",
        &[
            ("accept-version", "1.2"),
            ("passcode", &token),
            ("heart-beat", "100,100"),
        ],
        "",
    );
    silent.send_text(&connect).await;
    let connected = silent.expect(Command::Connected).await;
    assert_eq!(connected.header("heart-beat"), Some("100,100"));
    // The server keeps beating while the client says nothing; the silence limit is 2 x 100 ms.
    silent.expect_heart_beat_timeout().await;
}

#[actix_web::test]
async fn receipts_answer_every_frame_in_order() {
    let s = Server::start(Backend::Sqlite).await;
    let mut stomp = session(&s, "op-1", Role::Operator).await;
    let frames = [
        frame(
            "SUBSCRIBE",
            &[("id", "a"), ("destination", "/topic/devices"), ("receipt", "1")],
            "",
        ),
        frame("SEND", &[("destination", "/topic/ops/x"), ("receipt", "2")], "hi"),
        frame("BEGIN", &[("transaction", "t"), ("receipt", "3")], ""),
        frame("ABORT", &[("transaction", "t"), ("receipt", "4")], ""),
        frame("UNSUBSCRIBE", &[("id", "a"), ("receipt", "5")], ""),
    ]
    .concat();
    stomp.send_text(&frames).await;
    for n in 1..=5 {
        stomp.await_receipt(&n.to_string()).await;
    }
}
