//! Fuzzes the STOMP session state machine (`kwanje::stomp::Session::on_bytes`) with a test gate
//! and a one-process "broker" that routes every `Publish` back to matching subscriptions.
//!
//! Input: `[mode, clock, stream...]`.
//! - `mode & 3` picks a prelude put before the stream: none, a 1.0 CONNECT, a 1.1 CONNECT +
//!   SUBSCRIBE (ack:client), or a 1.2 STOMP + SUBSCRIBE (ack:client-individual) with a token that
//!   expires, so the fuzzer starts in every phase.
//! - `mode >> 2` is the chunk length (0: the whole stream at once).
//! - `clock >> 1` is how far the clock moves between chunks (x 250 ms); when `clock & 1` every live
//!   subscription also gets a broker message after each chunk.
//!
//! Checked: every `Send` decodes cleanly as the client would and says `text` exactly when it is
//! UTF-8; subscriptions are registered and released in balance (nothing left after the transport
//! closes); a `Publish` carries no reserved header; nothing but ERROR and `Close` follows a `Close`,
//! and nothing at all once the session is closed.

#![no_main]

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use kwanje::stomp::client::RESERVED_SEND_HEADERS;
use kwanje::stomp::heartbeat::HeartBeat;
use kwanje::stomp::{
    Action, Authenticated, Command, Connect, Decoder, Delivery, Denied, Gate, Inbound, Limits, Phase, Session,
    SessionConfig, SharedMessage, Version,
};
use kwanje::time::Millis;
use libfuzzer_sys::fuzz_target;

const T0: Millis = Millis(1_700_000_000_000);
const SHORT_EXPIRY: Millis = Millis(T0.0 + 60_000);

/// Tokens `good` (no expiry), `short` (expires 60 s in) and `stale` (already expired); anything
/// else is refused. Subscribing under `/forbidden` and sending under `/app/forbidden` are denied.
struct FuzzGate;

impl Gate for FuzzGate {
    type Principal = String;
    type Target = ();

    fn authenticate(&self, connect: &Connect, _now: Millis) -> Result<Authenticated<String>, Denied> {
        let (principal, expires) = match connect.credential() {
            Some("good") => ("alice", None),
            Some("short") => ("bob", Some(SHORT_EXPIRY)),
            Some("stale") => ("carol", Some(Millis(T0.0 - 1))),
            Some(_) => return Err(Denied::new("invalid token")),
            None => return Err(Denied::new("no token")),
        };
        Ok(Authenticated {
            principal: principal.to_owned(),
            expires,
        })
    }

    fn may_subscribe(&self, _who: &String, destination: &str) -> Result<(), Denied> {
        if destination.starts_with("/forbidden") {
            return Err(Denied::new("forbidden"));
        }
        Ok(())
    }

    fn may_send(&self, _who: &String, destination: &str) -> Result<(), Denied> {
        if destination.starts_with("/app/forbidden") {
            return Err(Denied::new("forbidden"));
        }
        Ok(())
    }
}

const PRELUDES: [&[u8]; 4] = [
    b"",
    b"CONNECT\npasscode:good\n\n\0",
    b"CONNECT\naccept-version:1.0,1.1\nheart-beat:500,1000\nlogin:x\npasscode:good\n\n\0\
      SUBSCRIBE\nid:0\ndestination:/topic/a\nack:client\n\n\0",
    b"STOMP\naccept-version:1.2\nheart-beat:0,1000\nAuthorization:Bearer short\n\n\0\
      SUBSCRIBE\nid:sub-1\ndestination:/topic/a\nack:client-individual\nreceipt:r1\n\n\0",
];

/// Decodes what the server wrote as a client would.
const CLIENT_LIMITS: Limits = Limits {
    max_frame_bytes: 1 << 24,
    max_headers: 1 << 16,
    max_header_line: 1 << 24,
};

/// What the harness has seen so far, to check the actions of each call against.
struct Observer {
    /// Live subscriptions by id, from the `Subscribe`/`Unsubscribe` actions.
    live: BTreeMap<String, String>,
    closed_pushed: bool,
}

impl Observer {
    /// Checks one call's actions; returns the `Publish`es for the broker.
    fn check(&mut self, session: &Session<String>, was_closed: bool, out: &[Action]) -> Vec<SharedMessage> {
        if was_closed {
            assert!(out.is_empty(), "actions after the session closed: {out:?}");
        }
        let version = session.version().unwrap_or(Version::V1_0);
        let mut published = Vec::new();
        for action in out {
            match action {
                Action::Send { bytes, text } => {
                    assert_eq!(
                        *text,
                        std::str::from_utf8(bytes).is_ok(),
                        "text flag wrong for {bytes:?}"
                    );
                    for frame in decode_server_bytes(version, bytes) {
                        if self.closed_pushed {
                            assert_eq!(frame.command, Command::Error, "{frame:?} after Close");
                        }
                        assert!(
                            matches!(
                                frame.command,
                                Command::Connected | Command::Error | Command::Receipt | Command::Message
                            ),
                            "server sent {frame:?}"
                        );
                    }
                }
                Action::Subscribe { id, destination } => {
                    assert!(!self.closed_pushed, "Subscribe after Close");
                    let previous = self.live.insert(id.clone(), destination.clone());
                    assert_eq!(previous, None, "subscription id {id:?} registered twice");
                }
                Action::Unsubscribe { id, destination } => {
                    assert!(!self.closed_pushed, "Unsubscribe after Close");
                    assert_eq!(
                        self.live.remove(id).as_ref(),
                        Some(destination),
                        "released a subscription {id:?} that was not live"
                    );
                }
                Action::Publish {
                    destination,
                    headers,
                    body,
                    ..
                } => {
                    assert!(!self.closed_pushed, "Publish after Close");
                    assert!(!destination.is_empty(), "Publish without a destination");
                    for (name, _) in headers {
                        assert!(!RESERVED_SEND_HEADERS.contains(&name.as_str()), "reserved {name} published");
                    }
                    let mut headers = headers.clone();
                    headers.push(("sender".to_owned(), "fuzz".to_owned()));
                    published.push(SharedMessage::new(destination.clone(), headers, body.clone()));
                }
                Action::Close => {
                    self.closed_pushed = true;
                }
            }
        }
        if self.closed_pushed {
            assert!(session.is_closed(), "Close pushed but the session is {:?}", session.phase());
        }
        published
    }
}

/// Every frame in `bytes`; panics unless they decode cleanly and completely.
fn decode_server_bytes(version: Version, bytes: &Bytes) -> Vec<kwanje::stomp::Frame> {
    let mut decoder = Decoder::new(CLIENT_LIMITS);
    decoder.set_version(version);
    let mut buf = BytesMut::from(&bytes[..]);
    let mut frames = Vec::new();
    loop {
        match decoder.decode(&mut buf) {
            Ok(Some(Inbound::Frame(frame))) => frames.push(frame),
            Ok(Some(Inbound::HeartBeat)) => {}
            Ok(None) => break,
            Err(err) => panic!("server wrote undecodable bytes ({err}): {bytes:?}"),
        }
    }
    assert!(buf.is_empty(), "server wrote an incomplete frame: {bytes:?}");
    frames
}

fuzz_target!(|data: &[u8]| {
    let [mode, clock, stream @ ..] = data else {
        return;
    };
    let mut input = PRELUDES[usize::from(mode & 3)].to_vec();
    input.extend_from_slice(stream);
    let chunk = match usize::from(mode >> 2) {
        0 => input.len().max(1),
        n => n,
    };
    let step = std::time::Duration::from_millis(u64::from(clock >> 1) * 250);
    let broker_delivers = clock & 1 == 1;

    let mut config = SessionConfig::new("s1", "kwanje/fuzz");
    config.heart_beat = HeartBeat {
        send_ms: 1_000,
        receive_ms: 2_000,
    };
    config.max_unacked = 4;
    let gate = FuzzGate;
    let mut session: Session<String> = Session::new(config, T0);
    let mut observer = Observer {
        live: BTreeMap::new(),
        closed_pushed: false,
    };
    let mut now = T0;
    let mut buf = BytesMut::new();
    let mut out = Vec::new();

    for piece in input.chunks(chunk) {
        buf.extend_from_slice(piece);
        let was_closed = session.phase() == Phase::Closed;
        out.clear();
        session.on_bytes(&mut buf, now, &gate, &mut out);
        let mut published = observer.check(&session, was_closed, &out);
        if broker_delivers {
            published.push(SharedMessage::new(
                "/topic/a",
                vec![("content-type".to_owned(), "text/plain".to_owned())],
                Bytes::from_static(b"tick \xff"),
            ));
        }
        // The broker: exact-match routing to this session's live subscriptions.
        for message in &published {
            let targets: Vec<String> = observer
                .live
                .iter()
                .filter(|(_, destination)| destination.as_str() == message.destination())
                .map(|(id, _)| id.clone())
                .collect();
            for id in targets {
                let was_closed = session.phase() == Phase::Closed;
                out.clear();
                let delivery = session.deliver(&id, message, now, &mut out);
                let sends = out.iter().filter(|a| matches!(a, Action::Send { .. })).count();
                match delivery {
                    Delivery::Sent => assert_eq!(out.len(), 1, "{out:?}"),
                    Delivery::UnknownSubscription | Delivery::NotConnected => assert!(out.is_empty(), "{out:?}"),
                    Delivery::ClosedSession => assert_eq!(sends, 1, "{out:?}"),
                }
                observer.check(&session, was_closed, &out);
            }
        }
        now = now + step;
        if session.next_deadline().is_some_and(|deadline| now >= deadline) {
            let was_closed = session.phase() == Phase::Closed;
            out.clear();
            session.on_tick(now, &mut out);
            observer.check(&session, was_closed, &out);
        }
    }

    let was_closed = session.phase() == Phase::Closed;
    out.clear();
    session.on_transport_closed(&mut out);
    observer.check(&session, was_closed, &out);
    assert_eq!(session.phase(), Phase::Closed);
    assert!(
        observer.live.is_empty(),
        "subscriptions not released when the transport closed: {:?}",
        observer.live
    );
});
