//! Session rules up to CONNECTED: first frame, versions, heart-beats, credentials, and the timers.

use std::time::Duration;

use crate::stomp::frame::{Command, Version};
use crate::stomp::heartbeat::Negotiated;
use crate::stomp::{Action, Phase};
use crate::time::Millis;

use super::support::{frame, Client, SHORT_EXPIRY, T0};

fn connect_with(headers: &[(&str, &str)]) -> (Client, Vec<Action>) {
    let mut client = Client::new();
    let out = client.send(frame(Command::Connect, headers));
    (client, out)
}

#[test]
fn the_first_frame_must_be_connect_or_stomp() {
    let mut client = Client::new();
    let out = client.send(frame(
        Command::Subscribe,
        &[("id", "1"), ("destination", "/x"), ("receipt", "r1")],
    ));
    let error = client.expect_error(&out);
    assert_eq!(error.header("message"), Some("not connected"));
    assert_eq!(error.header("receipt-id"), Some("r1"));
    assert!(String::from_utf8_lossy(&error.body).contains("SUBSCRIBE"));
    assert_eq!(client.session.phase(), Phase::Closed);
}

#[test]
fn connected_carries_version_heart_beat_session_and_server() {
    let (client, out) = connect_with(&[
        ("accept-version", "1.1,1.2"),
        ("host", "kwanje"),
        ("heart-beat", "500,3000"),
        ("passcode", "good"),
    ]);
    assert_eq!(out.len(), 1);
    let connected = &client.replies(&out)[0];
    assert_eq!(connected.command, Command::Connected);
    assert_eq!(connected.header("version"), Some("1.2"));
    // The client's wish: beats to it every 3 s; from it every 500 ms, raised to the 1 s floor.
    assert_eq!(connected.header("heart-beat"), Some("3000,1000"));
    assert_eq!(connected.header("session"), Some("s1"));
    assert_eq!(connected.header("server"), Some("kwanje/0.1.0"));
    assert_eq!(client.session.version(), Some(Version::V1_2));
    assert_eq!(client.session.principal().map(String::as_str), Some("alice"));
    assert_eq!(
        client.session.heart_beat(),
        Negotiated {
            outgoing: Some(Duration::from_millis(3_000)),
            incoming: Some(Duration::from_millis(1_000)),
        }
    );
}

#[test]
fn the_stomp_command_connects_too_and_host_may_be_absent() {
    let mut client = Client::new();
    let out = client.send(frame(
        Command::Stomp,
        &[("accept-version", "1.2"), ("passcode", "good")],
    ));
    assert_eq!(client.replies(&out)[0].command, Command::Connected);
    assert_eq!(client.session.phase(), Phase::Connected);
}

#[test]
fn no_accept_version_means_1_0_without_heart_beats() {
    let (client, out) = connect_with(&[("passcode", "good"), ("heart-beat", "1000,1000")]);
    let connected = &client.replies(&out)[0];
    assert_eq!(connected.header("version"), Some("1.0"));
    assert_eq!(connected.header("heart-beat"), Some("0,0"));
    assert_eq!(client.session.heart_beat(), Negotiated::NONE);
    assert_eq!(client.session.next_deadline(), None);
}

#[test]
fn the_highest_common_version_wins() {
    let (client, out) = connect_with(&[("accept-version", "1.0,1.1,3.0"), ("passcode", "good")]);
    assert_eq!(client.replies(&out)[0].header("version"), Some("1.1"));
}

#[test]
fn no_common_version_is_an_error_listing_the_supported_ones() {
    let (client, out) = connect_with(&[("accept-version", "2.0,2.1"), ("passcode", "good")]);
    let error = client.expect_error(&out);
    assert_eq!(error.header("message"), Some("unsupported STOMP version"));
    assert_eq!(error.header("version"), Some("1.0,1.1,1.2"));
    assert!(String::from_utf8_lossy(&error.body).contains("2.0,2.1"));
}

#[test]
fn a_malformed_heart_beat_is_an_error() {
    let (client, out) = connect_with(&[("accept-version", "1.2"), ("heart-beat", "soon"), ("passcode", "good")]);
    let error = client.expect_error(&out);
    assert!(error.header("message").unwrap().contains("heart-beat"));
}

#[test]
fn missing_or_bad_credentials_are_refused() {
    let (client, out) = connect_with(&[("accept-version", "1.2")]);
    let error = client.expect_error(&out);
    assert_eq!(error.header("message"), Some("authentication failed"));
    assert!(String::from_utf8_lossy(&error.body).contains("no token"));
    let (client, out) = connect_with(&[("accept-version", "1.2"), ("passcode", "forged")]);
    let error = client.expect_error(&out);
    assert_eq!(error.header("message"), Some("authentication failed"));
    assert_eq!(&error.body[..], b"invalid token");
    assert_eq!(client.session.principal(), None);
}

#[test]
fn a_bearer_header_is_accepted_and_wins_over_the_passcode() {
    let (client, out) = connect_with(&[
        ("accept-version", "1.2"),
        ("Authorization", "Bearer short"),
        ("login", "anything"),
        ("passcode", "forged"),
    ]);
    assert_eq!(client.replies(&out)[0].command, Command::Connected);
    assert_eq!(client.session.principal().map(String::as_str), Some("bob"));
}

#[test]
fn an_already_expired_token_is_refused_at_connect() {
    let (client, out) = connect_with(&[("accept-version", "1.2"), ("passcode", "stale")]);
    let error = client.expect_error(&out);
    assert_eq!(error.header("message"), Some("token expired"));
}

#[test]
fn connect_twice_is_an_error() {
    let mut client = Client::connected(Some("1.2"));
    let out = client.send(frame(
        Command::Connect,
        &[("accept-version", "1.2"), ("passcode", "good")],
    ));
    assert_eq!(client.expect_error(&out).header("message"), Some("already connected"));
}

#[test]
fn a_silent_connection_is_closed_at_the_connect_timeout() {
    let mut client = Client::new();
    let deadline = client.session.next_deadline().unwrap();
    assert_eq!(deadline, T0 + Duration::from_secs(30));
    client.now = Millis(deadline.0 - 1);
    assert!(client.tick().is_empty());
    client.now = deadline;
    let out = client.tick();
    assert_eq!(client.expect_error(&out).header("message"), Some("no CONNECT received"));
    assert_eq!(client.session.next_deadline(), None);
}

#[test]
fn the_server_beats_only_when_idle() {
    let mut client = Client::new();
    client.send(frame(
        Command::Connect,
        &[
            ("accept-version", "1.2"),
            ("heart-beat", "0,1000"),
            ("passcode", "good"),
        ],
    ));
    assert_eq!(client.session.next_deadline(), Some(T0 + Duration::from_secs(1)));
    client.advance(999);
    assert!(client.tick().is_empty());
    client.advance(1);
    assert_eq!(
        client.tick(),
        [Action::Send {
            bytes: bytes::Bytes::from_static(b"\n"),
            text: true
        }]
    );
    // Something else went out (reported by the transport): no beat is owed for another second.
    client.advance(500);
    client.session.on_sent(client.now);
    client.advance(700);
    assert!(client.tick().is_empty());
    client.advance(300);
    assert_eq!(client.tick().len(), 1);
}

#[test]
fn a_silent_client_is_closed_after_its_interval_times_the_grace_factor() {
    let mut client = Client::new();
    client.send(frame(
        Command::Connect,
        &[
            ("accept-version", "1.2"),
            ("heart-beat", "3000,0"),
            ("passcode", "good"),
        ],
    ));
    // incoming = max(3000, 2000) = 3 s; silence limit = 6 s.
    assert_eq!(client.session.next_deadline(), Some(T0 + Duration::from_secs(6)));
    client.advance(4_000);
    client.bytes(b"\n");
    client.advance(5_999);
    assert!(client.tick().is_empty());
    client.advance(1);
    client.session.on_data_received(client.now);
    client.advance(5_999);
    assert!(client.tick().is_empty());
    client.advance(1);
    let out = client.tick();
    let error = client.expect_error(&out);
    assert_eq!(error.header("message"), Some("heart-beat timeout"));
    assert!(String::from_utf8_lossy(&error.body).contains("6000 ms"));
}

#[test]
fn an_expiring_token_closes_the_session_on_tick() {
    let mut client = Client::new();
    client.send(frame(
        Command::Connect,
        &[
            ("accept-version", "1.2"),
            ("heart-beat", "0,1000"),
            ("passcode", "short"),
        ],
    ));
    assert_eq!(client.session.next_deadline(), Some(T0 + Duration::from_secs(1)));
    client.now = Millis(SHORT_EXPIRY.0 - 1);
    client.session.on_data_received(client.now);
    client.session.on_sent(client.now);
    assert_eq!(client.session.next_deadline(), Some(SHORT_EXPIRY));
    assert!(client.tick().is_empty());
    client.now = SHORT_EXPIRY;
    let out = client.tick();
    let error = client.expect_error(&out);
    assert_eq!(error.header("message"), Some("token expired"));
}

#[test]
fn a_pipelined_connect_switches_the_decoder_to_the_negotiated_escaping() {
    let mut client = Client::new();
    let out = client.bytes(
        b"CONNECT\naccept-version:1.2\npasscode:good\n\n\0\
          SUBSCRIBE\nid:a\\cb\ndestination:/topic/devices/g\\c1\n\n\0",
    );
    assert_eq!(
        out[1],
        Action::Subscribe {
            id: "a:b".into(),
            destination: "/topic/devices/g:1".into()
        }
    );
}

#[test]
fn a_decode_error_is_an_error_and_a_close() {
    let mut client = Client::connected(Some("1.2"));
    let out = client.bytes(b"SEND\ndestination:/app/x\nbad\\t:1\n\n\0SEND\n\n\0");
    let error = client.expect_error(&out);
    assert_eq!(
        error.header("message"),
        Some("malformed frame: undefined escape sequence \"\\\\t\" in a header")
    );
    let mut client = Client::connected(Some("1.2"));
    let mut out = Vec::new();
    client.session.on_decode_error(
        crate::stomp::error::CodecError::FrameTooLarge { limit: 1 },
        client.now,
        &mut out,
    );
    assert!(client
        .expect_error(&out)
        .header("message")
        .unwrap()
        .contains("larger than 1 bytes"));
}

#[test]
fn errors_before_connect_are_not_escaped_and_stay_well_formed() {
    let mut client = Client::new();
    let out = client.send(frame(Command::Unknown("BAD\nCMD:x".into()), &[]));
    let error = client.expect_error(&out);
    assert_eq!(error.header("message"), Some("not connected"));
    const PREFIX: &[u8] = b"ERROR\nmessage:not connected\n";
    assert!(matches!(&out[0], Action::Send { bytes, .. } if bytes.starts_with(PREFIX)));
}
