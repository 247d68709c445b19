//! Session rules for transactions, receipts, DISCONNECT and the end of a session.

use bytes::Bytes;

use crate::stomp::frame::{Command, Frame};
use crate::stomp::transaction::{MAX_OPEN_TRANSACTIONS, MAX_TRANSACTION_BYTES, MAX_TRANSACTION_FRAMES};
use crate::stomp::{Action, Delivery, Phase};

use super::support::{frame, text_message, Client};

fn publish(destination: &str, body: &'static str) -> Action {
    Action::Publish {
        destination: destination.into(),
        headers: Vec::new(),
        body: Bytes::from_static(body.as_bytes()),
        target: (),
    }
}

fn send_in(client: &mut Client, transaction: &str, body: &'static str) -> Vec<Action> {
    client.send(
        frame(
            Command::Send,
            &[("destination", "/app/heartbeat"), ("transaction", transaction)],
        )
        .with_body(body),
    )
}

#[test]
fn sends_in_a_transaction_take_effect_at_commit_in_order() {
    let mut client = Client::connected(Some("1.2"));
    assert!(client.send(frame(Command::Begin, &[("transaction", "t1")])).is_empty());
    assert!(send_in(&mut client, "t1", "one").is_empty());
    let plain = client.send(frame(Command::Send, &[("destination", "/app/faults")]).with_body("now"));
    assert_eq!(plain, [publish("/app/faults", "now")]);
    assert!(send_in(&mut client, "t1", "two").is_empty());
    let out = client.send(frame(Command::Commit, &[("transaction", "t1"), ("receipt", "c")]));
    assert_eq!(
        out[..2],
        [publish("/app/heartbeat", "one"), publish("/app/heartbeat", "two")]
    );
    assert_eq!(client.replies(&out[2..])[0].header("receipt-id"), Some("c"));
    // Committed: the transaction is gone.
    let out = client.send(frame(Command::Commit, &[("transaction", "t1")]));
    assert_eq!(client.expect_error(&out).header("message"), Some("unknown transaction"));
}

#[test]
fn abort_drops_what_the_transaction_buffered() {
    let mut client = Client::connected(Some("1.2"));
    client.send(frame(Command::Begin, &[("transaction", "t1")]));
    send_in(&mut client, "t1", "one");
    assert!(client.send(frame(Command::Abort, &[("transaction", "t1")])).is_empty());
    let out = send_in(&mut client, "t1", "late");
    let error = client.expect_error(&out);
    assert_eq!(error.header("message"), Some("unknown transaction"));
    assert!(!out.iter().any(|a| matches!(a, Action::Publish { .. })));
}

#[test]
fn acks_in_a_transaction_take_effect_at_commit() {
    let mut client = Client::connected(Some("1.2"));
    client.send(frame(
        Command::Subscribe,
        &[("id", "a"), ("destination", "/topic/alerts"), ("ack", "client")],
    ));
    let (_, out) = client.deliver("a", &text_message("{}"));
    let id = client.replies(&out)[0].header("ack").unwrap().to_owned();
    client.send(frame(Command::Begin, &[("transaction", "t")]));
    assert!(client
        .send(frame(Command::Ack, &[("id", &id), ("transaction", "t")]))
        .is_empty());
    assert_eq!(client.session.unacked(), 1);
    client.send(frame(Command::Commit, &[("transaction", "t")]));
    assert_eq!(client.session.unacked(), 0);
    // An aborted NACK leaves the message pending.
    let (_, out) = client.deliver("a", &text_message("{}"));
    let id = client.replies(&out)[0].header("ack").unwrap().to_owned();
    client.send(frame(Command::Begin, &[("transaction", "u")]));
    client.send(frame(Command::Nack, &[("id", &id), ("transaction", "u")]));
    client.send(frame(Command::Abort, &[("transaction", "u")]));
    assert_eq!(client.session.unacked(), 1);
}

#[test]
fn unknown_transactions_are_errors_on_every_command() {
    for (command, extra) in [
        (Command::Send, ("destination", "/app/x")),
        (Command::Ack, ("id", "s1-0")),
        (Command::Commit, ("x", "y")),
        (Command::Abort, ("x", "y")),
    ] {
        let mut client = Client::connected(Some("1.2"));
        let out = client.send(frame(command.clone(), &[("transaction", "nope"), extra]));
        let error = client.expect_error(&out);
        assert_eq!(error.header("message"), Some("unknown transaction"), "{command}");
        assert!(String::from_utf8_lossy(&error.body).contains("nope"));
    }
}

#[test]
fn a_duplicate_begin_is_an_error() {
    let mut client = Client::connected(Some("1.2"));
    client.send(frame(Command::Begin, &[("transaction", "t")]));
    let out = client.send(frame(Command::Begin, &[("transaction", "t")]));
    assert_eq!(
        client.expect_error(&out).header("message"),
        Some("duplicate transaction")
    );
}

#[test]
fn transaction_commands_require_the_transaction_header() {
    for command in [Command::Begin, Command::Commit, Command::Abort] {
        let mut client = Client::connected(Some("1.2"));
        let out = client.send(frame(command.clone(), &[]));
        let message = client.expect_error(&out).header("message").unwrap().to_owned();
        assert_eq!(
            message,
            format!("{command} frame is missing the \"transaction\" header")
        );
    }
}

#[test]
fn transactions_are_capped_in_size_and_number() {
    let mut client = Client::connected(Some("1.2"));
    client.send(frame(Command::Begin, &[("transaction", "t")]));
    for _ in 0..MAX_TRANSACTION_FRAMES {
        assert!(send_in(&mut client, "t", "x").is_empty());
    }
    let out = send_in(&mut client, "t", "x");
    assert_eq!(
        client.expect_error(&out).header("message"),
        Some("transaction too large")
    );

    let mut client = Client::connected(Some("1.2"));
    client.send(frame(Command::Begin, &[("transaction", "big")]));
    let body = Bytes::from(vec![b'x'; 64 * 1024]);
    let per_frame = MAX_TRANSACTION_BYTES / body.len();
    for _ in 0..per_frame {
        let send = frame(Command::Send, &[("destination", "/app/x"), ("transaction", "big")]);
        assert!(client.send(send.with_body(body.clone())).is_empty());
    }
    let send = frame(Command::Send, &[("destination", "/app/x"), ("transaction", "big")]);
    let out = client.send(send.with_body(body));
    assert_eq!(
        client.expect_error(&out).header("message"),
        Some("transaction too large")
    );

    let mut client = Client::connected(Some("1.2"));
    for n in 0..MAX_OPEN_TRANSACTIONS {
        let id = n.to_string();
        assert!(client.send(frame(Command::Begin, &[("transaction", &id)])).is_empty());
    }
    let out = client.send(frame(Command::Begin, &[("transaction", "one-more")]));
    assert_eq!(
        client.expect_error(&out).header("message"),
        Some("too many open transactions")
    );
}

#[test]
fn disconnect_aborts_open_transactions_releases_subscriptions_and_receipts_before_close() {
    let mut client = Client::connected(Some("1.2"));
    client.send(frame(
        Command::Subscribe,
        &[("id", "a"), ("destination", "/topic/alerts")],
    ));
    client.send(frame(Command::Begin, &[("transaction", "t")]));
    send_in(&mut client, "t", "never");
    let out = client.send(frame(Command::Disconnect, &[("receipt", "bye")]));
    assert_eq!(out.len(), 3, "{out:?}");
    assert_eq!(
        out[0],
        Action::Unsubscribe {
            id: "a".into(),
            destination: "/topic/alerts".into()
        }
    );
    let receipt = &client.replies(&out[1..2])[0];
    assert_eq!(receipt.command, Command::Receipt);
    assert_eq!(receipt.header("receipt-id"), Some("bye"));
    assert_eq!(out[2], Action::Close);
    assert_eq!(client.session.phase(), Phase::Disconnected);
}

#[test]
fn disconnect_without_receipt_just_closes() {
    let mut client = Client::connected(Some("1.1"));
    assert_eq!(client.send(frame(Command::Disconnect, &[])), [Action::Close]);
    assert!(client.session.is_closed());
    assert_eq!(client.session.next_deadline(), None);
}

#[test]
fn a_frame_after_disconnect_is_an_error() {
    let mut client = Client::connected(Some("1.2"));
    let out = client.bytes(b"DISCONNECT\n\n\0\nSEND\ndestination:/app/x\n\n\0");
    assert_eq!(out[0], Action::Close);
    let error = client.expect_error(&out[1..]);
    assert_eq!(error.header("message"), Some("frame after DISCONNECT"));
    assert!(!out.iter().any(|a| matches!(a, Action::Publish { .. })));
    assert_eq!(client.session.phase(), Phase::Closed);
}

#[test]
fn a_closed_session_ignores_everything() {
    let mut client = Client::connected(Some("1.2"));
    client.send(frame(
        Command::Subscribe,
        &[("id", "a"), ("destination", "/topic/alerts")],
    ));
    client.send(Frame::new(Command::Unknown("X".into())));
    assert!(client
        .send(frame(Command::Send, &[("destination", "/app/x")]))
        .is_empty());
    assert!(client.bytes(b"garbage\n").is_empty());
    client.advance(1_000_000);
    assert!(client.tick().is_empty());
    assert_eq!(
        client.deliver("a", &text_message("{}")),
        (Delivery::NotConnected, vec![])
    );
    assert_eq!(client.session.next_deadline(), None);
}

#[test]
fn a_lost_transport_releases_subscriptions_without_frames() {
    let mut client = Client::connected(Some("1.2"));
    client.send(frame(Command::Subscribe, &[("id", "b"), ("destination", "/topic/b")]));
    client.send(frame(Command::Subscribe, &[("id", "a"), ("destination", "/topic/a")]));
    client.send(frame(Command::Begin, &[("transaction", "t")]));
    let mut out = Vec::new();
    client.session.on_transport_closed(&mut out);
    assert_eq!(
        out,
        [
            Action::Unsubscribe {
                id: "a".into(),
                destination: "/topic/a".into()
            },
            Action::Unsubscribe {
                id: "b".into(),
                destination: "/topic/b".into()
            }
        ]
    );
    assert_eq!(client.session.phase(), Phase::Closed);
}

#[test]
fn abort_sends_the_error_releases_and_closes_once() {
    let mut client = Client::connected(Some("1.2"));
    client.send(frame(Command::Subscribe, &[("id", "a"), ("destination", "/topic/a")]));
    let mut out = Vec::new();
    let err = crate::stomp::ProtocolError::SlowConsumer {
        detail: "2000 bytes wait; the limit is 1000".into(),
    };
    client.session.abort(err, client.now, &mut out);
    let error = client.expect_error(&out);
    assert_eq!(error.header("message"), Some("slow consumer"));
    assert!(std::str::from_utf8(&error.body).unwrap().contains("2000 bytes"));
    assert!(out.contains(&Action::Unsubscribe {
        id: "a".into(),
        destination: "/topic/a".into()
    }));
    let mut again = Vec::new();
    let err = crate::stomp::ProtocolError::Rejected {
        destination: "/app/heartbeat".into(),
        reason: "bad JSON".into(),
    };
    client.session.abort(err, client.now, &mut again);
    assert!(again.is_empty(), "{again:?}");
}
