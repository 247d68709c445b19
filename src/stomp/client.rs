//! Client commands, one struct per command, each parsing itself from a [`Frame`]; [`ClientFrame`]
//! dispatches. An unknown command (or a server command sent by a client) is
//! [`ClientFrame::Unknown`], never a panic.
//!
//! Owns what each command requires and how each version spells it (ACK by `id` in 1.2, by
//! `message-id` + `subscription` in 1.1, by `message-id` in 1.0). It must not decide whether a
//! command is allowed or what it does; that is the session's.

use bytes::Bytes;

use super::error::FrameError;
use super::frame::{Command, Frame, Version};
use super::heartbeat::HeartBeat;

/// Headers a SEND may not pass on to subscribers: the frame-level ones, the ones the server writes
/// into every MESSAGE, and `sender`, which the broker sets from the authenticated principal.
pub const RESERVED_SEND_HEADERS: [&str; 8] = [
    "destination",
    "transaction",
    "receipt",
    "content-length",
    "subscription",
    "message-id",
    "ack",
    "sender",
];

/// A parsed client frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientFrame {
    Connect(Connect),
    Send(Send),
    Subscribe(Subscribe),
    Unsubscribe(Unsubscribe),
    Ack(Ack),
    Nack(Nack),
    Begin(Begin),
    Commit(Commit),
    Abort(Abort),
    Disconnect(Disconnect),
    /// Not a client command (unknown, or a server command such as MESSAGE).
    Unknown {
        command: String,
    },
}

impl ClientFrame {
    /// Parses `frame` as a client command of a session speaking `version`.
    pub fn parse(frame: Frame, version: Version) -> Result<ClientFrame, FrameError> {
        Ok(match frame.command {
            Command::Connect | Command::Stomp => ClientFrame::Connect(Connect::parse(&frame)?),
            Command::Send => ClientFrame::Send(Send::parse(frame)?),
            Command::Subscribe => ClientFrame::Subscribe(Subscribe::parse(&frame, version)?),
            Command::Unsubscribe => ClientFrame::Unsubscribe(Unsubscribe::parse(&frame, version)?),
            Command::Ack => ClientFrame::Ack(Ack::parse(&frame, version)?),
            Command::Nack => ClientFrame::Nack(Nack::parse(&frame, version)?),
            Command::Begin => ClientFrame::Begin(Begin::parse(&frame)?),
            Command::Commit => ClientFrame::Commit(Commit::parse(&frame)?),
            Command::Abort => ClientFrame::Abort(Abort::parse(&frame)?),
            Command::Disconnect => ClientFrame::Disconnect(Disconnect::parse(&frame)),
            other => ClientFrame::Unknown {
                command: other.as_str().to_owned(),
            },
        })
    }
}

/// A header that must be present and not empty.
fn required(frame: &Frame, command: &'static str, header: &'static str) -> Result<String, FrameError> {
    match frame.header(header) {
        Some(value) if !value.is_empty() => Ok(value.to_owned()),
        _ => Err(FrameError::MissingHeader { command, header }),
    }
}

fn optional(frame: &Frame, header: &str) -> Option<String> {
    frame.header(header).map(str::to_owned)
}

/// CONNECT or STOMP. Headers are kept as sent; the session negotiates, the gate authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    /// Sent as `STOMP` rather than `CONNECT`.
    pub stomp_command: bool,
    /// The raw `accept-version` header; absent means a STOMP 1.0 client.
    pub accept_version: Option<String>,
    /// Accepted present or absent: the server has a single virtual host.
    pub host: Option<String>,
    pub login: Option<String>,
    pub passcode: Option<String>,
    /// The raw `Authorization` header (`authorization` is accepted too).
    pub authorization: Option<String>,
    /// The client's `heart-beat`; absent is `0,0`.
    pub heart_beat: HeartBeat,
}

impl Connect {
    pub fn parse(frame: &Frame) -> Result<Connect, FrameError> {
        let heart_beat = match frame.header("heart-beat") {
            None => HeartBeat::NONE,
            Some(text) => HeartBeat::parse(text).ok_or_else(|| FrameError::InvalidHeader {
                header: "heart-beat",
                value: text.to_owned(),
                expected: "two non-negative integers as cx,cy",
            })?,
        };
        Ok(Connect {
            stomp_command: frame.command == Command::Stomp,
            accept_version: optional(frame, "accept-version"),
            host: optional(frame, "host"),
            login: optional(frame, "login"),
            passcode: optional(frame, "passcode"),
            authorization: optional(frame, "Authorization").or_else(|| optional(frame, "authorization")),
            heart_beat,
        })
    }

    /// The highest version both sides speak; `None` when there is none.
    pub fn negotiate_version(&self) -> Option<Version> {
        match &self.accept_version {
            None => Some(Version::V1_0),
            Some(list) => list.split(',').filter_map(Version::parse).max(),
        }
    }

    /// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
    pub fn bearer_token(&self) -> Option<&str> {
        let value = self.authorization.as_deref()?.trim();
        let (scheme, token) = value.split_once(' ')?;
        let token = token.trim();
        (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
    }

    /// The credential to check: the bearer token when present, else the passcode (login is
    /// ignored).
    pub fn credential(&self) -> Option<&str> {
        self.bearer_token()
            .or(self.passcode.as_deref().filter(|p| !p.is_empty()))
    }
}

/// SEND: an application message for `destination`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Send {
    pub destination: String,
    pub transaction: Option<String>,
    pub receipt: Option<String>,
    /// The headers to pass on, in order, without [`RESERVED_SEND_HEADERS`].
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Send {
    pub fn parse(frame: Frame) -> Result<Send, FrameError> {
        let destination = required(&frame, "SEND", "destination")?;
        let transaction = optional(&frame, "transaction");
        let receipt = optional(&frame, "receipt");
        let headers = frame
            .headers
            .into_iter()
            .filter(|(name, _)| !RESERVED_SEND_HEADERS.contains(&name.as_str()))
            .collect();
        Ok(Send {
            destination,
            transaction,
            receipt,
            headers,
            body: frame.body,
        })
    }
}

/// A subscription's acknowledgement mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AckMode {
    #[default]
    Auto,
    /// Cumulative: an ACK covers every earlier unacknowledged message of the subscription.
    Client,
    ClientIndividual,
}

impl AckMode {
    pub fn parse(text: &str) -> Option<AckMode> {
        match text {
            "auto" => Some(AckMode::Auto),
            "client" => Some(AckMode::Client),
            "client-individual" => Some(AckMode::ClientIndividual),
            _ => None,
        }
    }
}

/// SUBSCRIBE. In 1.0 `id` is optional and defaults to the destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribe {
    pub id: String,
    pub destination: String,
    pub ack: AckMode,
    pub receipt: Option<String>,
}

impl Subscribe {
    pub fn parse(frame: &Frame, version: Version) -> Result<Subscribe, FrameError> {
        let destination = required(frame, "SUBSCRIBE", "destination")?;
        let id = match version {
            Version::V1_0 => optional(frame, "id")
                .filter(|id| !id.is_empty())
                .unwrap_or_else(|| destination.clone()),
            _ => required(frame, "SUBSCRIBE", "id")?,
        };
        let ack = match frame.header("ack") {
            None => AckMode::Auto,
            Some(text) => AckMode::parse(text).ok_or_else(|| FrameError::InvalidHeader {
                header: "ack",
                value: text.to_owned(),
                expected: "auto, client or client-individual",
            })?,
        };
        Ok(Subscribe {
            id,
            destination,
            ack,
            receipt: optional(frame, "receipt"),
        })
    }
}

/// UNSUBSCRIBE by `id` (in 1.0 also by `destination`, the default id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    pub id: String,
    pub receipt: Option<String>,
}

impl Unsubscribe {
    pub fn parse(frame: &Frame, version: Version) -> Result<Unsubscribe, FrameError> {
        let id = match version {
            Version::V1_0 => {
                required(frame, "UNSUBSCRIBE", "id").or_else(|_| required(frame, "UNSUBSCRIBE", "destination"))?
            }
            _ => required(frame, "UNSUBSCRIBE", "id")?,
        };
        Ok(Unsubscribe {
            id,
            receipt: optional(frame, "receipt"),
        })
    }
}

/// Which message an ACK or NACK is about, whatever the version's spelling. The server's ack id
/// (1.2) is the message id, so both resolve to a `message_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckTarget {
    pub message_id: String,
    /// Only in 1.1, where it is required and must match the message's subscription.
    pub subscription: Option<String>,
}

impl AckTarget {
    fn parse(frame: &Frame, command: &'static str, version: Version) -> Result<AckTarget, FrameError> {
        Ok(match version {
            Version::V1_2 => AckTarget {
                message_id: required(frame, command, "id")?,
                subscription: None,
            },
            Version::V1_1 => AckTarget {
                message_id: required(frame, command, "message-id")?,
                subscription: Some(required(frame, command, "subscription")?),
            },
            Version::V1_0 => AckTarget {
                message_id: required(frame, command, "message-id")?,
                subscription: None,
            },
        })
    }
}

/// ACK: the client consumed a message (cumulatively in `client` mode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub target: AckTarget,
    pub transaction: Option<String>,
    pub receipt: Option<String>,
}

impl Ack {
    pub fn parse(frame: &Frame, version: Version) -> Result<Ack, FrameError> {
        Ok(Ack {
            target: AckTarget::parse(frame, "ACK", version)?,
            transaction: optional(frame, "transaction"),
            receipt: optional(frame, "receipt"),
        })
    }
}

/// NACK: the client did not consume a message. Not in STOMP 1.0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nack {
    pub target: AckTarget,
    pub transaction: Option<String>,
    pub receipt: Option<String>,
}

impl Nack {
    pub fn parse(frame: &Frame, version: Version) -> Result<Nack, FrameError> {
        if version == Version::V1_0 {
            return Err(FrameError::NotInVersion {
                command: "NACK",
                version,
            });
        }
        Ok(Nack {
            target: AckTarget::parse(frame, "NACK", version)?,
            transaction: optional(frame, "transaction"),
            receipt: optional(frame, "receipt"),
        })
    }
}

/// BEGIN a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Begin {
    pub transaction: String,
    pub receipt: Option<String>,
}

impl Begin {
    pub fn parse(frame: &Frame) -> Result<Begin, FrameError> {
        Ok(Begin {
            transaction: required(frame, "BEGIN", "transaction")?,
            receipt: optional(frame, "receipt"),
        })
    }
}

/// COMMIT a transaction: its buffered SENDs, ACKs and NACKs take effect, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    pub transaction: String,
    pub receipt: Option<String>,
}

impl Commit {
    pub fn parse(frame: &Frame) -> Result<Commit, FrameError> {
        Ok(Commit {
            transaction: required(frame, "COMMIT", "transaction")?,
            receipt: optional(frame, "receipt"),
        })
    }
}

/// ABORT a transaction: its buffered frames vanish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Abort {
    pub transaction: String,
    pub receipt: Option<String>,
}

impl Abort {
    pub fn parse(frame: &Frame) -> Result<Abort, FrameError> {
        Ok(Abort {
            transaction: required(frame, "ABORT", "transaction")?,
            receipt: optional(frame, "receipt"),
        })
    }
}

/// DISCONNECT, with an optional receipt to confirm everything before it was handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disconnect {
    pub receipt: Option<String>,
}

impl Disconnect {
    pub fn parse(frame: &Frame) -> Disconnect {
        Disconnect {
            receipt: optional(frame, "receipt"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(command: Command, headers: &[(&str, &str)]) -> Frame {
        headers
            .iter()
            .fold(Frame::new(command), |f, (k, v)| f.with_header(*k, *v))
    }

    #[test]
    fn connect_reads_versions_and_credentials() {
        let c = Connect::parse(&frame(
            Command::Stomp,
            &[
                ("accept-version", "1.1,1.2,2.0"),
                ("Authorization", "bearer abc"),
                ("passcode", "xyz"),
            ],
        ))
        .unwrap();
        assert!(c.stomp_command);
        assert_eq!(c.negotiate_version(), Some(Version::V1_2));
        assert_eq!(c.credential(), Some("abc"));
        let c = Connect::parse(&frame(Command::Connect, &[("passcode", "xyz")])).unwrap();
        assert_eq!(c.negotiate_version(), Some(Version::V1_0));
        assert_eq!(c.credential(), Some("xyz"));
        let c = Connect::parse(&frame(Command::Connect, &[("authorization", "Basic x")])).unwrap();
        assert_eq!(c.credential(), None);
        let c = Connect::parse(&frame(Command::Connect, &[("accept-version", "2.0")])).unwrap();
        assert_eq!(c.negotiate_version(), None);
        assert!(Connect::parse(&frame(Command::Connect, &[("heart-beat", "x")])).is_err());
    }

    #[test]
    fn send_drops_reserved_headers() {
        let f = frame(
            Command::Send,
            &[
                ("destination", "/app/x"),
                ("transaction", "t"),
                ("content-type", "application/json"),
                ("sender", "forged"),
                ("x-trace", "1"),
            ],
        )
        .with_body("{}");
        let s = Send::parse(f).unwrap();
        assert_eq!(s.transaction.as_deref(), Some("t"));
        assert_eq!(
            s.headers,
            vec![
                ("content-type".to_owned(), "application/json".to_owned()),
                ("x-trace".to_owned(), "1".to_owned())
            ]
        );
        assert_eq!(
            Send::parse(frame(Command::Send, &[("destination", "")])),
            Err(FrameError::MissingHeader {
                command: "SEND",
                header: "destination"
            })
        );
    }

    #[test]
    fn ack_spelling_depends_on_version() {
        let f = frame(Command::Ack, &[("id", "a"), ("message-id", "m"), ("subscription", "s")]);
        assert_eq!(Ack::parse(&f, Version::V1_2).unwrap().target.message_id, "a");
        let t = Ack::parse(&f, Version::V1_1).unwrap().target;
        assert_eq!((t.message_id.as_str(), t.subscription.as_deref()), ("m", Some("s")));
        assert_eq!(Ack::parse(&f, Version::V1_0).unwrap().target.message_id, "m");
        let only_id = frame(Command::Ack, &[("message-id", "m")]);
        assert!(Ack::parse(&only_id, Version::V1_1).is_err());
        assert!(matches!(
            Nack::parse(&f, Version::V1_0),
            Err(FrameError::NotInVersion { .. })
        ));
    }

    #[test]
    fn server_and_unknown_commands_are_unknown() {
        for command in [Command::Message, Command::Unknown("FOO".into())] {
            let parsed = ClientFrame::parse(Frame::new(command.clone()), Version::V1_2).unwrap();
            assert_eq!(
                parsed,
                ClientFrame::Unknown {
                    command: command.as_str().to_owned()
                }
            );
        }
    }
}
