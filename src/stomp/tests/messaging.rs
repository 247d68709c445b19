//! Session rules once connected: SUBSCRIBE, UNSUBSCRIBE, SEND, deliveries, ACK and NACK.

use bytes::Bytes;

use crate::stomp::frame::{Command, Frame};
use crate::stomp::message::SharedMessage;
use crate::stomp::{Action, Delivery};
use crate::time::Millis;

use super::support::{frame, text_message, Client, SHORT_EXPIRY};

fn subscribe(client: &mut Client, id: &str, destination: &str, ack: &str) -> Vec<Action> {
    client.send(frame(
        Command::Subscribe,
        &[("id", id), ("destination", destination), ("ack", ack)],
    ))
}

/// Delivers one message on `subscription` and returns the MESSAGE frame the client gets.
fn delivered(client: &mut Client, subscription: &str) -> Frame {
    let (delivery, out) = client.deliver(subscription, &text_message("{}"));
    assert_eq!(delivery, Delivery::Sent);
    let frames = client.replies(&out);
    assert_eq!(frames.len(), 1);
    frames[0].clone()
}

#[test]
fn subscribe_registers_with_the_broker_then_receipts() {
    let mut client = Client::connected(Some("1.2"));
    let out = client.send(frame(
        Command::Subscribe,
        &[("id", "0"), ("destination", "/topic/alerts"), ("receipt", "r-7")],
    ));
    assert_eq!(
        out[0],
        Action::Subscribe {
            id: "0".into(),
            destination: "/topic/alerts".into()
        }
    );
    let receipt = &client.replies(&out[1..])[0];
    assert_eq!(receipt.command, Command::Receipt);
    assert_eq!(receipt.header("receipt-id"), Some("r-7"));
}

#[test]
fn subscribe_requires_destination_and_id_from_1_1_on() {
    for version in ["1.1", "1.2"] {
        let mut client = Client::connected(Some(version));
        let out = client.send(frame(Command::Subscribe, &[("destination", "/topic/alerts")]));
        let error = client.expect_error(&out);
        assert_eq!(
            error.header("message"),
            Some("SUBSCRIBE frame is missing the \"id\" header")
        );
        let mut client = Client::connected(Some(version));
        let out = client.send(frame(Command::Subscribe, &[("id", "1")]));
        let error = client.expect_error(&out);
        assert_eq!(
            error.header("message"),
            Some("SUBSCRIBE frame is missing the \"destination\" header")
        );
    }
}

#[test]
fn in_1_0_the_subscription_id_defaults_to_the_destination() {
    let mut client = Client::connected(None);
    let out = client.send(frame(Command::Subscribe, &[("destination", "/topic/alerts")]));
    assert_eq!(
        out,
        [Action::Subscribe {
            id: "/topic/alerts".into(),
            destination: "/topic/alerts".into()
        }]
    );
    let out = client.send(frame(Command::Unsubscribe, &[("destination", "/topic/alerts")]));
    assert_eq!(
        out,
        [Action::Unsubscribe {
            id: "/topic/alerts".into(),
            destination: "/topic/alerts".into()
        }]
    );
}

#[test]
fn a_duplicate_subscription_id_is_an_error() {
    let mut client = Client::connected(Some("1.2"));
    subscribe(&mut client, "a", "/topic/alerts", "auto");
    let out = subscribe(&mut client, "a", "/topic/devices", "auto");
    let error = client.expect_error(&out);
    assert_eq!(error.header("message"), Some("duplicate subscription id"));
    // The close releases what the session held.
    assert!(out.contains(&Action::Unsubscribe {
        id: "a".into(),
        destination: "/topic/alerts".into()
    }));
}

#[test]
fn an_invalid_ack_mode_is_an_error() {
    let mut client = Client::connected(Some("1.2"));
    let out = subscribe(&mut client, "a", "/topic/alerts", "sometimes");
    assert!(client
        .expect_error(&out)
        .header("message")
        .unwrap()
        .starts_with("invalid \"ack\" header"));
}

#[test]
fn a_denied_subscription_names_the_destination() {
    let mut client = Client::connected(Some("1.2"));
    let out = subscribe(&mut client, "a", "/forbidden/x", "auto");
    let error = client.expect_error(&out);
    assert_eq!(
        error.header("message"),
        Some("not allowed to subscribe to /forbidden/x")
    );
    assert_eq!(&error.body[..], b"alice lacks the viewer role");
    assert!(!out.iter().any(|a| matches!(a, Action::Subscribe { .. })));
}

#[test]
fn unsubscribe_by_id_and_unknown_ids_are_errors() {
    let mut client = Client::connected(Some("1.2"));
    subscribe(&mut client, "a", "/topic/alerts", "auto");
    let out = client.send(frame(Command::Unsubscribe, &[("id", "a")]));
    assert_eq!(
        out,
        [Action::Unsubscribe {
            id: "a".into(),
            destination: "/topic/alerts".into()
        }]
    );
    let out = client.send(frame(Command::Unsubscribe, &[("id", "a")]));
    assert_eq!(
        client.expect_error(&out).header("message"),
        Some("unknown subscription id")
    );
}

#[test]
fn send_publishes_with_the_clients_own_headers() {
    let mut client = Client::connected(Some("1.2"));
    let send = frame(
        Command::Send,
        &[
            ("destination", "/topic/ops/shift"),
            ("content-type", "text/plain"),
            ("sender", "forged"),
            ("x-note", "a:b"),
        ],
    )
    .with_body("handover at 18:00");
    let out = client.send(send);
    assert_eq!(
        out,
        [Action::Publish {
            destination: "/topic/ops/shift".into(),
            headers: vec![
                ("content-type".into(), "text/plain".into()),
                ("x-note".into(), "a:b".into())
            ],
            body: Bytes::from_static(b"handover at 18:00"),
            target: (),
        }]
    );
}

#[test]
fn send_requires_a_destination_and_permission() {
    let mut client = Client::connected(Some("1.2"));
    let out = client.send(frame(Command::Send, &[]));
    assert_eq!(
        client.expect_error(&out).header("message"),
        Some("SEND frame is missing the \"destination\" header")
    );
    let mut client = Client::connected(Some("1.2"));
    let out = client.send(frame(
        Command::Send,
        &[("destination", "/app/forbidden/x"), ("receipt", "r")],
    ));
    let error = client.expect_error(&out);
    assert_eq!(error.header("message"), Some("not allowed to send to /app/forbidden/x"));
    assert_eq!(error.header("receipt-id"), Some("r"));
    assert!(!out.iter().any(|a| matches!(a, Action::Publish { .. })));
}

#[test]
fn an_expired_token_is_caught_on_subscribe_and_on_send() {
    for command in [Command::Subscribe, Command::Send] {
        let mut client = Client::new();
        client.send(frame(
            Command::Connect,
            &[("accept-version", "1.2"), ("passcode", "short")],
        ));
        client.now = SHORT_EXPIRY;
        let out = client.send(frame(command.clone(), &[("id", "1"), ("destination", "/topic/alerts")]));
        let error = client.expect_error(&out);
        assert_eq!(error.header("message"), Some("token expired"), "{command}");
        assert!(!out
            .iter()
            .any(|a| matches!(a, Action::Subscribe { .. } | Action::Publish { .. })));
    }
}

#[test]
fn auto_deliveries_carry_subscription_and_unique_message_ids_without_ack() {
    let mut client = Client::connected(Some("1.2"));
    subscribe(&mut client, "sub-0", "/topic/alerts", "auto");
    let first = delivered(&mut client, "sub-0");
    let second = delivered(&mut client, "sub-0");
    assert_eq!(first.command, Command::Message);
    assert_eq!(first.header("subscription"), Some("sub-0"));
    assert_eq!(first.header("destination"), Some("/topic/alerts"));
    assert_eq!(first.header("content-type"), Some("application/json"));
    assert_eq!(first.header("message-id"), Some("s1-0"));
    assert_eq!(second.header("message-id"), Some("s1-1"));
    assert_eq!(first.header("ack"), None);
    assert_eq!(&first.body[..], b"{}");
    assert_eq!(client.session.unacked(), 0);
}

#[test]
fn deliveries_to_unknown_subscriptions_or_unconnected_sessions_do_nothing() {
    let mut client = Client::new();
    assert_eq!(
        client.deliver("x", &text_message("{}")),
        (Delivery::NotConnected, vec![])
    );
    let mut client = Client::connected(Some("1.2"));
    assert_eq!(
        client.deliver("x", &text_message("{}")),
        (Delivery::UnknownSubscription, vec![])
    );
}

#[test]
fn binary_bodies_go_out_as_binary() {
    let mut client = Client::connected(Some("1.2"));
    subscribe(&mut client, "a", "/topic/alerts", "auto");
    let message = SharedMessage::new("/topic/alerts", Vec::new(), Bytes::from_static(&[0, 159]));
    let (_, out) = client.deliver("a", &message);
    assert!(matches!(&out[..], [Action::Send { text: false, .. }]));
    let (_, out) = client.deliver("a", &text_message("ok"));
    assert!(matches!(&out[..], [Action::Send { text: true, .. }]));
}

#[test]
fn client_mode_acks_are_cumulative() {
    let mut client = Client::connected(Some("1.2"));
    subscribe(&mut client, "a", "/topic/alerts", "client");
    subscribe(&mut client, "b", "/topic/devices", "client");
    let ids: Vec<String> = (0..3)
        .map(|_| delivered(&mut client, "a").header("ack").unwrap().to_owned())
        .collect();
    delivered(&mut client, "b");
    assert_eq!(client.session.unacked(), 4);
    assert!(client.send(frame(Command::Ack, &[("id", &ids[1])])).is_empty());
    // The two earlier of subscription `a` are settled; b's message is not.
    assert_eq!(client.session.unacked(), 2);
    let out = client.send(frame(Command::Ack, &[("id", &ids[0])]));
    assert_eq!(client.expect_error(&out).header("message"), Some("unknown ack id"));
}

#[test]
fn client_individual_acks_settle_one_message() {
    let mut client = Client::connected(Some("1.2"));
    subscribe(&mut client, "a", "/topic/alerts", "client-individual");
    let ids: Vec<String> = (0..3)
        .map(|_| delivered(&mut client, "a").header("ack").unwrap().to_owned())
        .collect();
    client.send(frame(Command::Ack, &[("id", &ids[1])]));
    assert_eq!(client.session.unacked(), 2);
    assert!(client.send(frame(Command::Ack, &[("id", &ids[0])])).is_empty());
    let out = client.send(frame(Command::Ack, &[("id", &ids[1]), ("receipt", "r")]));
    let error = client.expect_error(&out);
    assert_eq!(error.header("message"), Some("unknown ack id"));
    assert_eq!(error.header("receipt-id"), Some("r"));
}

#[test]
fn nack_settles_like_ack_in_1_2() {
    let mut client = Client::connected(Some("1.2"));
    subscribe(&mut client, "a", "/topic/alerts", "client");
    let id = delivered(&mut client, "a").header("ack").unwrap().to_owned();
    assert!(client.send(frame(Command::Nack, &[("id", &id)])).is_empty());
    assert_eq!(client.session.unacked(), 0);
}

#[test]
fn in_1_1_acks_name_message_id_and_subscription() {
    let mut client = Client::connected(Some("1.1"));
    subscribe(&mut client, "a", "/topic/alerts", "client");
    subscribe(&mut client, "b", "/topic/alerts", "client");
    let message = delivered(&mut client, "a");
    assert_eq!(message.header("ack"), None);
    let id = message.header("message-id").unwrap().to_owned();
    let out = client.send(frame(Command::Ack, &[("message-id", &id), ("subscription", "a")]));
    assert!(out.is_empty());
    assert_eq!(client.session.unacked(), 0);
    let id = delivered(&mut client, "a").header("message-id").unwrap().to_owned();
    let out = client.send(frame(Command::Nack, &[("message-id", &id), ("subscription", "b")]));
    assert_eq!(client.expect_error(&out).header("message"), Some("unknown ack id"));
}

#[test]
fn in_1_0_acks_name_the_message_id_and_nack_does_not_exist() {
    let mut client = Client::connected(None);
    client.send(frame(
        Command::Subscribe,
        &[("destination", "/topic/alerts"), ("ack", "client")],
    ));
    let id = delivered(&mut client, "/topic/alerts")
        .header("message-id")
        .unwrap()
        .to_owned();
    assert!(client.send(frame(Command::Ack, &[("message-id", &id)])).is_empty());
    assert_eq!(client.session.unacked(), 0);
    let out = client.send(frame(Command::Nack, &[("message-id", &id)]));
    assert_eq!(
        client.expect_error(&out).header("message"),
        Some("NACK does not exist in STOMP 1.0")
    );
}

#[test]
fn unknown_ack_ids_are_errors() {
    for id in ["s2-0", "s1-99", "s1-", "s1-+0", "garbage"] {
        let mut client = Client::connected(Some("1.2"));
        subscribe(&mut client, "a", "/topic/alerts", "client");
        delivered(&mut client, "a");
        let out = client.send(frame(Command::Ack, &[("id", id)]));
        let error = client.expect_error(&out);
        assert_eq!(error.header("message"), Some("unknown ack id"), "{id}");
        assert!(String::from_utf8_lossy(&error.body).contains(id));
    }
}

#[test]
fn the_unacked_cap_ends_a_consumer_that_does_not_ack() {
    let mut client = Client::connected(Some("1.2"));
    subscribe(&mut client, "auto", "/topic/devices", "auto");
    subscribe(&mut client, "a", "/topic/alerts", "client");
    for _ in 0..4 {
        delivered(&mut client, "a");
        delivered(&mut client, "auto");
    }
    // Auto deliveries never count.
    delivered(&mut client, "auto");
    let (delivery, out) = client.deliver("a", &text_message("{}"));
    assert_eq!(delivery, Delivery::ClosedSession);
    let error = client.expect_error(&out);
    assert_eq!(error.header("message"), Some("too many unacknowledged messages"));
}

#[test]
fn a_delivery_after_the_token_expired_closes_the_session() {
    let mut client = Client::new();
    client.send(frame(
        Command::Connect,
        &[("accept-version", "1.2"), ("passcode", "short")],
    ));
    subscribe(&mut client, "a", "/topic/alerts", "auto");
    client.now = Millis(SHORT_EXPIRY.0 + 5);
    let (delivery, out) = client.deliver("a", &text_message("{}"));
    assert_eq!(delivery, Delivery::ClosedSession);
    assert_eq!(client.expect_error(&out).header("message"), Some("token expired"));
}

#[test]
fn unknown_and_server_commands_are_errors() {
    for (command, message) in [
        (Command::Unknown("FROB".into()), "unknown command FROB"),
        (Command::Message, "unknown command MESSAGE"),
    ] {
        let mut client = Client::connected(Some("1.2"));
        let out = client.send(Frame::new(command));
        assert_eq!(client.expect_error(&out).header("message"), Some(message));
    }
}

#[test]
fn a_counted_session_tallies_what_it_receives_and_sends() {
    let tally = std::sync::Arc::new(crate::stomp::StompTally::default());
    let mut client = Client::counted(Some(tally.clone()));
    let out = client.send(frame(
        Command::Connect,
        &[
            ("passcode", "good"),
            ("accept-version", "1.2"),
            ("heart-beat", "1000,1000"),
        ],
    ));
    assert_eq!(client.replies(&out)[0].command, Command::Connected);
    subscribe(&mut client, "sub-0", "/topic/alerts", "auto");
    client.send(frame(
        Command::Subscribe,
        &[("id", "sub-1"), ("destination", "/topic/x"), ("receipt", "r1")],
    ));
    delivered(&mut client, "sub-0");
    delivered(&mut client, "sub-0");
    client.bytes(b"\n");
    client.advance(1_000);
    client.tick();
    let snap = tally.snapshot();
    let of = |counts: &crate::stomp::tally::FrameCounts, name: &str| {
        counts.by_command.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    };
    assert_eq!(of(&snap.received, "CONNECT"), Some(1));
    assert_eq!(of(&snap.received, "SUBSCRIBE"), Some(2));
    assert_eq!(snap.received.heart_beats, 1);
    assert_eq!(of(&snap.sent, "CONNECTED"), Some(1));
    assert_eq!(of(&snap.sent, "RECEIPT"), Some(1));
    assert_eq!(of(&snap.sent, "MESSAGE"), Some(2));
    assert_eq!(snap.sent.heart_beats, 1);
}
