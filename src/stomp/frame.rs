//! STOMP frames as plain values: the protocol [`Version`], the [`Command`] and the [`Frame`]
//! itself.
//!
//! Owns the in-memory shape of a frame only. It must not touch bytes on the wire (that is `codec`
//! and `escape`) nor decide what a frame means (that is `client` and `session`).

use std::fmt;

use bytes::Bytes;

/// A STOMP protocol version this server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    V1_0,
    V1_1,
    V1_2,
}

impl Version {
    /// Every version the server supports, oldest first.
    pub const SUPPORTED: [Version; 3] = [Version::V1_0, Version::V1_1, Version::V1_2];

    /// The wire spelling (`1.0`, `1.1`, `1.2`).
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V1_0 => "1.0",
            Version::V1_1 => "1.1",
            Version::V1_2 => "1.2",
        }
    }

    /// Parses one wire spelling; anything else (including versions we do not speak) is `None`.
    pub fn parse(text: &str) -> Option<Version> {
        match text.trim() {
            "1.0" => Some(Version::V1_0),
            "1.1" => Some(Version::V1_1),
            "1.2" => Some(Version::V1_2),
            _ => None,
        }
    }

    /// The supported versions as a `version` header value: `1.0,1.1,1.2`.
    pub fn supported_list() -> String {
        Version::SUPPORTED.map(Version::as_str).join(",")
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A frame's command. Client commands, server commands, and anything else a peer sent as `Unknown`
/// (decoding never fails on an unknown command; the session answers it with an ERROR).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Command {
    Connect,
    Stomp,
    Send,
    Subscribe,
    Unsubscribe,
    Ack,
    Nack,
    Begin,
    Commit,
    Abort,
    Disconnect,
    Connected,
    Message,
    Receipt,
    Error,
    Unknown(String),
}

impl Command {
    /// The command lines STOMP defines, each once, in a fixed order ([`Command::known_index`]).
    pub const KNOWN: [&'static str; 15] = [
        "CONNECT",
        "STOMP",
        "SEND",
        "SUBSCRIBE",
        "UNSUBSCRIBE",
        "ACK",
        "NACK",
        "BEGIN",
        "COMMIT",
        "ABORT",
        "DISCONNECT",
        "CONNECTED",
        "MESSAGE",
        "RECEIPT",
        "ERROR",
    ];

    /// This command's place in [`Command::KNOWN`]; `None` for a command STOMP does not have.
    pub fn known_index(&self) -> Option<usize> {
        Some(match self {
            Command::Connect => 0,
            Command::Stomp => 1,
            Command::Send => 2,
            Command::Subscribe => 3,
            Command::Unsubscribe => 4,
            Command::Ack => 5,
            Command::Nack => 6,
            Command::Begin => 7,
            Command::Commit => 8,
            Command::Abort => 9,
            Command::Disconnect => 10,
            Command::Connected => 11,
            Command::Message => 12,
            Command::Receipt => 13,
            Command::Error => 14,
            Command::Unknown(_) => return None,
        })
    }

    /// Maps a command line to a command; never fails.
    pub fn parse(text: &str) -> Command {
        match text {
            "CONNECT" => Command::Connect,
            "STOMP" => Command::Stomp,
            "SEND" => Command::Send,
            "SUBSCRIBE" => Command::Subscribe,
            "UNSUBSCRIBE" => Command::Unsubscribe,
            "ACK" => Command::Ack,
            "NACK" => Command::Nack,
            "BEGIN" => Command::Begin,
            "COMMIT" => Command::Commit,
            "ABORT" => Command::Abort,
            "DISCONNECT" => Command::Disconnect,
            "CONNECTED" => Command::Connected,
            "MESSAGE" => Command::Message,
            "RECEIPT" => Command::Receipt,
            "ERROR" => Command::Error,
            other => Command::Unknown(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Command::Connect => "CONNECT",
            Command::Stomp => "STOMP",
            Command::Send => "SEND",
            Command::Subscribe => "SUBSCRIBE",
            Command::Unsubscribe => "UNSUBSCRIBE",
            Command::Ack => "ACK",
            Command::Nack => "NACK",
            Command::Begin => "BEGIN",
            Command::Commit => "COMMIT",
            Command::Abort => "ABORT",
            Command::Disconnect => "DISCONNECT",
            Command::Connected => "CONNECTED",
            Command::Message => "MESSAGE",
            Command::Receipt => "RECEIPT",
            Command::Error => "ERROR",
            Command::Unknown(other) => other,
        }
    }

    /// The spec exempts the handshake frames from header escaping in every version, because the
    /// version is not agreed yet when they are written.
    pub fn escapes_headers(&self) -> bool {
        !matches!(self, Command::Connect | Command::Stomp | Command::Connected)
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One frame: a command, headers in wire order (repeats kept; lookups take the first, as STOMP 1.2
/// says), and a body that may hold any bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub command: Command,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Frame {
    pub fn new(command: Command) -> Self {
        Frame {
            command,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// The value of the first header called `name` (names are case-sensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    pub fn push_header(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.headers.push((name.into(), value.into()));
    }

    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.push_header(name, value);
        self
    }

    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_header_wins_on_lookup() {
        let frame = Frame::new(Command::Send)
            .with_header("destination", "/a")
            .with_header("destination", "/b");
        assert_eq!(frame.header("destination"), Some("/a"));
        assert_eq!(frame.header("Destination"), None);
        assert_eq!(frame.headers.len(), 2);
    }

    #[test]
    fn commands_round_trip_and_unknown_is_kept() {
        for (i, text) in Command::KNOWN.into_iter().enumerate() {
            let command = Command::parse(text);
            assert!(!matches!(command, Command::Unknown(_)), "{text}");
            assert_eq!(command.as_str(), text);
            assert_eq!(command.known_index(), Some(i), "{text}");
        }
        assert_eq!(Command::parse("send"), Command::Unknown("send".into()));
    }

    #[test]
    fn versions_parse_and_list() {
        assert_eq!(Version::parse("1.2"), Some(Version::V1_2));
        assert_eq!(Version::parse("2.0"), None);
        assert_eq!(Version::supported_list(), "1.0,1.1,1.2");
        assert!(Version::V1_0 < Version::V1_2);
    }
}
