//! A test gate and a scripted client that steps time by hand.

use bytes::BytesMut;

use crate::stomp::client::Connect;
use crate::stomp::codec::{Decoder, Inbound, Limits};
use crate::stomp::frame::{Command, Frame, Version};
use crate::stomp::gate::{Authenticated, Denied, Gate};
use crate::stomp::heartbeat::HeartBeat;
use crate::stomp::message::SharedMessage;
use crate::stomp::{Action, Delivery, Session, SessionConfig};
use crate::time::Millis;

pub const T0: Millis = Millis(1_700_000_000_000);
/// When the `short` token expires.
pub const SHORT_EXPIRY: Millis = Millis(T0.0 + 60_000);

/// Tokens: `good` (alice, no expiry), `short` (bob, expires at [`SHORT_EXPIRY`]), `stale`
/// (expired). Subscribing to `/forbidden/...` and sending to `/app/forbidden/...` are denied.
#[derive(Debug, Default)]
pub struct TestGate;

impl Gate for TestGate {
    type Principal = String;
    type Target = ();

    fn authenticate(&self, connect: &Connect, _now: Millis) -> Result<Authenticated<String>, Denied> {
        let (principal, expires) = match connect.credential() {
            None => return Err(Denied::new("no token: send Authorization: Bearer <jwt> or passcode")),
            Some("good") => ("alice", None),
            Some("short") => ("bob", Some(SHORT_EXPIRY)),
            Some("stale") => ("carol", Some(Millis(T0.0 - 1))),
            Some(_) => return Err(Denied::new("invalid token")),
        };
        Ok(Authenticated {
            principal: principal.to_owned(),
            expires,
        })
    }

    fn may_subscribe(&self, who: &String, destination: &str) -> Result<(), Denied> {
        if destination.starts_with("/forbidden") {
            return Err(Denied::new(format!("{who} lacks the viewer role")));
        }
        Ok(())
    }

    fn may_send(&self, who: &String, destination: &str) -> Result<(), Denied> {
        if destination.starts_with("/app/forbidden") {
            return Err(Denied::new(format!("{who} lacks the operator role")));
        }
        Ok(())
    }
}

pub fn frame(command: Command, headers: &[(&str, &str)]) -> Frame {
    headers
        .iter()
        .fold(Frame::new(command), |f, (k, v)| f.with_header(*k, *v))
}

/// The server's `heart-beat` in these tests: sends every 1 s, wants to hear every 2 s.
pub const SERVER_BEAT: HeartBeat = HeartBeat {
    send_ms: 1_000,
    receive_ms: 2_000,
};

pub struct Client {
    pub session: Session<String>,
    pub gate: TestGate,
    pub now: Millis,
}

impl Client {
    pub fn new() -> Self {
        Client::counted(None)
    }

    /// A new session that counts its frames in `tally`.
    pub fn counted(tally: Option<std::sync::Arc<crate::stomp::StompTally>>) -> Self {
        let mut config = SessionConfig::new("s1", "kwanje/0.1.0");
        config.tally = tally;
        config.heart_beat = SERVER_BEAT;
        config.max_unacked = 4;
        Client {
            session: Session::new(config, T0),
            gate: TestGate,
            now: T0,
        }
    }

    /// A session connected with `accept-version` (None: a 1.0 client) and the `good` token.
    pub fn connected(accept_version: Option<&str>) -> Self {
        let mut client = Client::new();
        let mut connect = frame(Command::Connect, &[("passcode", "good")]);
        if let Some(versions) = accept_version {
            connect.push_header("accept-version", versions);
        }
        let out = client.send(connect);
        assert_eq!(client.replies(&out)[0].command, Command::Connected);
        client
    }

    pub fn advance(&mut self, ms: i64) {
        self.now = Millis(self.now.0 + ms);
    }

    pub fn send(&mut self, frame: Frame) -> Vec<Action> {
        let mut out = Vec::new();
        self.session
            .on_inbound(Inbound::Frame(frame), self.now, &self.gate, &mut out);
        out
    }

    pub fn bytes(&mut self, bytes: &[u8]) -> Vec<Action> {
        let mut out = Vec::new();
        let mut buf = BytesMut::from(bytes);
        self.session.on_bytes(&mut buf, self.now, &self.gate, &mut out);
        out
    }

    pub fn tick(&mut self) -> Vec<Action> {
        let mut out = Vec::new();
        self.session.on_tick(self.now, &mut out);
        out
    }

    pub fn deliver(&mut self, subscription: &str, message: &SharedMessage) -> (Delivery, Vec<Action>) {
        let mut out = Vec::new();
        let delivery = self.session.deliver(subscription, message, self.now, &mut out);
        (delivery, out)
    }

    /// The frames among `actions`, decoded as the client would (heart-beat EOLs skipped).
    pub fn replies(&self, actions: &[Action]) -> Vec<Frame> {
        let mut decoder = Decoder::new(Limits::default());
        decoder.set_version(self.session.version().unwrap_or(Version::V1_0));
        let mut frames = Vec::new();
        for action in actions {
            if let Action::Send { bytes, .. } = action {
                let mut buf = BytesMut::from(&bytes[..]);
                while let Some(item) = decoder.decode(&mut buf).unwrap() {
                    if let Inbound::Frame(frame) = item {
                        frames.push(frame);
                    }
                }
            }
        }
        frames
    }

    /// Asserts `actions` are ERROR (+ any Unsubscribe) + Close, and returns the ERROR frame.
    pub fn expect_error(&self, actions: &[Action]) -> Frame {
        assert_eq!(actions.last(), Some(&Action::Close), "{actions:?}");
        let frames = self.replies(actions);
        assert_eq!(frames.len(), 1, "{frames:?}");
        assert_eq!(frames[0].command, Command::Error);
        assert!(self.session.is_closed());
        frames[0].clone()
    }
}

pub fn text_message(body: &str) -> SharedMessage {
    SharedMessage::new(
        "/topic/alerts",
        vec![("content-type".to_owned(), "application/json".to_owned())],
        bytes::Bytes::copy_from_slice(body.as_bytes()),
    )
}
