//! The fan-out message: encoded once, delivered to thousands of sessions.
//!
//! A [`SharedMessage`] (held in an `Arc` by the broker) caches, per escaping flavour, its encoded
//! *tail*: everything of a MESSAGE frame after the per-subscription headers (destination, the
//! message's headers such as content-type, content-length, blank line, body, NUL). A session then
//! only writes `MESSAGE\nsubscription:..\nmessage-id:..\n[ack:..\n]` and copies the tail, into one
//! buffer allocated at its final size: one allocation per delivery. Owns the MESSAGE layout; it
//! must not decide who gets a message (the broker) nor track acks (the session).

use std::fmt::Write as _;
use std::sync::OnceLock;

use bytes::{BufMut, Bytes, BytesMut};

use super::codec::put_content_length;
use super::escape::{escape_into, Escaping, Part};

/// Headers the MESSAGE layout writes itself; a message's own headers with these names are dropped.
pub const RESERVED_MESSAGE_HEADERS: [&str; 6] = [
    "destination",
    "content-length",
    "subscription",
    "message-id",
    "ack",
    "transaction",
];

/// One message for every subscriber of a destination, with its encodings cached.
#[derive(Debug)]
pub struct SharedMessage {
    destination: String,
    headers: Vec<(String, String)>,
    body: Bytes,
    text: bool,
    tails: [OnceLock<Bytes>; Escaping::COUNT],
}

/// A server-unique message id, `{session}-{seq}`, written without building a `String`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageId<'a> {
    pub session: &'a str,
    pub seq: u64,
}

impl SharedMessage {
    /// `headers` (e.g. `content-type`, `sender`, application headers) go out in order after
    /// `destination`; any named in [`RESERVED_MESSAGE_HEADERS`] is dropped.
    pub fn new(destination: impl Into<String>, headers: Vec<(String, String)>, body: Bytes) -> Self {
        let headers = headers
            .into_iter()
            .filter(|(name, _)| !RESERVED_MESSAGE_HEADERS.contains(&name.as_str()))
            .collect();
        let text = std::str::from_utf8(&body).is_ok();
        SharedMessage {
            destination: destination.into(),
            headers,
            body,
            text,
            tails: Default::default(),
        }
    }

    pub fn destination(&self) -> &str {
        &self.destination
    }

    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// Whether the encoded frame is UTF-8 (headers always are; this checks the body once): a
    /// WebSocket transport sends it as a text message when true, binary otherwise.
    pub fn is_text(&self) -> bool {
        self.text
    }

    /// The encoded tail for `escaping`, built on first use and shared afterwards.
    pub fn tail(&self, escaping: Escaping) -> &Bytes {
        self.tails[escaping.index()].get_or_init(|| self.build_tail(escaping))
    }

    fn build_tail(&self, escaping: Escaping) -> Bytes {
        let header_bytes: usize = self
            .headers
            .iter()
            .map(|(name, value)| 2 * (name.len() + value.len()) + 2)
            .sum();
        let capacity = 14 + 2 * self.destination.len() + header_bytes + 40 + self.body.len();
        let mut dst = BytesMut::with_capacity(capacity);
        dst.put_slice(b"destination:");
        escape_into(escaping, &self.destination, Part::Value, &mut dst);
        dst.put_u8(b'\n');
        for (name, value) in &self.headers {
            escape_into(escaping, name, Part::Name, &mut dst);
            dst.put_u8(b':');
            escape_into(escaping, value, Part::Value, &mut dst);
            dst.put_u8(b'\n');
        }
        put_content_length(self.body.len(), &mut dst);
        dst.put_u8(b'\n');
        dst.put_slice(&self.body);
        dst.put_u8(0);
        dst.freeze()
    }

    /// The whole MESSAGE frame for one subscription. `ack` adds an `ack` header equal to the
    /// message id (STOMP 1.2, for subscriptions that are not `auto`).
    pub fn encode_for(&self, escaping: Escaping, subscription: &str, message_id: MessageId<'_>, ack: bool) -> Bytes {
        let tail = self.tail(escaping);
        let id_bytes = 2 * message_id.session.len() + 21;
        let capacity =
            8 + 14 + 2 * subscription.len() + 12 + id_bytes + if ack { 5 + id_bytes } else { 0 } + tail.len();
        let mut dst = BytesMut::with_capacity(capacity);
        dst.put_slice(b"MESSAGE\nsubscription:");
        escape_into(escaping, subscription, Part::Value, &mut dst);
        dst.put_slice(b"\nmessage-id:");
        put_message_id(escaping, message_id, &mut dst);
        if ack {
            dst.put_slice(b"\nack:");
            put_message_id(escaping, message_id, &mut dst);
        }
        dst.put_u8(b'\n');
        dst.put_slice(tail);
        dst.freeze()
    }
}

fn put_message_id(escaping: Escaping, id: MessageId<'_>, dst: &mut BytesMut) {
    escape_into(escaping, id.session, Part::Value, dst);
    // Writing to a BytesMut cannot fail.
    let _ = write!(dst, "-{}", id.seq);
}

impl std::fmt::Display for MessageId<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.session, self.seq)
    }
}
