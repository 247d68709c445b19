//! The errors of the STOMP layer, one `thiserror` enum per step.
//!
//! Error policy: every error here is the client's fault or the client's bad luck, never the
//! server's, and each one ends exactly one session. [`CodecError`] is what the decoder found in the
//! bytes, [`FrameError`] what a client command lacked, and [`ProtocolError`] what the session
//! refuses; the session turns a `ProtocolError` into an ERROR frame whose `message` header is its
//! `Display` text (short, stable, fit for a log line) and whose body is [`ProtocolError::detail`]
//! (the offending specifics), then closes. Nothing here is ever sent to the broker. This module
//! must not build frames itself.

use std::time::Duration;

use thiserror::Error;

use super::frame::Version;
use crate::time::Millis;

/// What the decoder found wrong in the bytes. After one, the stream cannot be resynchronised.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CodecError {
    #[error("frame larger than {limit} bytes")]
    FrameTooLarge { limit: usize },
    #[error("more than {limit} headers")]
    TooManyHeaders { limit: usize },
    #[error("header line longer than {limit} bytes")]
    HeaderLineTooLong { limit: usize },
    #[error("header line without ':' ({line:?})")]
    MalformedHeader { line: String },
    #[error("header with an empty name")]
    EmptyHeaderName,
    #[error("undefined escape sequence {sequence:?} in a header")]
    InvalidEscape { sequence: String },
    #[error("command or header is not UTF-8")]
    NotUtf8,
    #[error("invalid content-length {value:?}")]
    InvalidContentLength { value: String },
    #[error("no NUL after the content-length bytes of the body")]
    MissingNul,
    #[error("carriage return not followed by a line feed between frames")]
    StrayCarriageReturn,
}

/// What a client command frame lacked or got wrong, found while it parsed itself.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    #[error("{command} frame is missing the {header:?} header")]
    MissingHeader {
        command: &'static str,
        header: &'static str,
    },
    #[error("invalid {header:?} header {value:?}: expected {expected}")]
    InvalidHeader {
        header: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("{command} does not exist in STOMP {version}")]
    NotInVersion { command: &'static str, version: Version },
}

/// Why a session sends an ERROR frame and closes. `Display` is the ERROR's `message` header.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProtocolError {
    #[error("malformed frame: {0}")]
    Decode(CodecError),
    #[error("{0}")]
    Frame(FrameError),
    #[error("unknown command {0}")]
    UnknownCommand(String),
    #[error("not connected")]
    NotConnected { command: String },
    #[error("already connected")]
    AlreadyConnected,
    #[error("frame after DISCONNECT")]
    AfterDisconnect { command: String },
    #[error("unsupported STOMP version")]
    NoCommonVersion { offered: String },
    #[error("authentication failed")]
    AuthenticationFailed { reason: String },
    #[error("token expired")]
    TokenExpired { at: Millis },
    #[error("not allowed to subscribe to {destination}")]
    SubscribeDenied { destination: String, reason: String },
    #[error("not allowed to send to {destination}")]
    SendDenied { destination: String, reason: String },
    #[error("duplicate subscription id")]
    DuplicateSubscription { id: String },
    #[error("unknown subscription id")]
    UnknownSubscription { id: String },
    #[error("too many subscriptions")]
    TooManySubscriptions { limit: usize },
    #[error("unknown ack id")]
    UnknownAck { id: String },
    #[error("too many unacknowledged messages")]
    TooManyUnacked { limit: usize },
    #[error("unknown transaction")]
    UnknownTransaction { id: String },
    #[error("duplicate transaction")]
    DuplicateTransaction { id: String },
    #[error("too many open transactions")]
    TooManyTransactions { limit: usize },
    #[error("transaction too large")]
    TransactionTooLarge { id: String, frames: usize, bytes: usize },
    #[error("heart-beat timeout")]
    HeartBeatTimeout { silent: Duration, limit: Duration },
    #[error("no CONNECT received")]
    ConnectTimeout { waited: Duration },
    /// The server refused a SEND's body after the session accepted the frame (the session
    /// cannot judge application payloads; the transport reports it through `Session::abort`).
    #[error("message to {destination} refused")]
    Rejected { destination: String, reason: String },
    /// The client does not read as fast as messages arrive for it; `detail` says by how much.
    #[error("slow consumer")]
    SlowConsumer { detail: String },
    /// The session's token was revoked, or its user disabled, while it was open (the transport
    /// reports it through `Session::abort`); `detail` says which.
    #[error("token revoked")]
    Revoked { detail: String },
    /// The principal already holds as many sessions as the server allows it (the transport
    /// counts them and reports it through `Session::abort`).
    #[error("too many sessions")]
    TooManySessions {
        principal: String,
        held: usize,
        limit: usize,
    },
}

impl ProtocolError {
    /// The ERROR frame's body: what exactly was wrong.
    pub fn detail(&self) -> String {
        match self {
            ProtocolError::Decode(err) => err.to_string(),
            ProtocolError::Frame(err) => err.to_string(),
            ProtocolError::UnknownCommand(command) => {
                format!("{command} is not a STOMP client command")
            }
            ProtocolError::NotConnected { command } => {
                format!("the first frame must be CONNECT or STOMP, got {command}")
            }
            ProtocolError::AlreadyConnected => "CONNECT received on a connected session".into(),
            ProtocolError::AfterDisconnect { command } => {
                format!("{command} received after DISCONNECT")
            }
            ProtocolError::NoCommonVersion { offered } => format!(
                "client accepts {offered:?}; supported protocol versions are {}",
                Version::supported_list()
            ),
            ProtocolError::AuthenticationFailed { reason } => reason.clone(),
            ProtocolError::TokenExpired { at } => {
                format!("the access token expired at {at} ms; reconnect with a fresh token")
            }
            ProtocolError::SubscribeDenied { reason, .. }
            | ProtocolError::SendDenied { reason, .. }
            | ProtocolError::Rejected { reason, .. } => reason.clone(),
            ProtocolError::DuplicateSubscription { id } => {
                format!("subscription id {id:?} is already in use on this session")
            }
            ProtocolError::UnknownSubscription { id } => {
                format!("no subscription with id {id:?} on this session")
            }
            ProtocolError::TooManySubscriptions { limit } => {
                format!("a session may hold at most {limit} subscriptions")
            }
            ProtocolError::UnknownAck { id } => {
                format!("no unacknowledged message {id:?} on this session")
            }
            ProtocolError::TooManyUnacked { limit } => {
                format!("{limit} messages are awaiting ACK; acknowledge messages or use ack:auto")
            }
            ProtocolError::UnknownTransaction { id } => format!("no open transaction {id:?}"),
            ProtocolError::DuplicateTransaction { id } => {
                format!("transaction {id:?} is already open")
            }
            ProtocolError::TooManyTransactions { limit } => {
                format!("a session may hold at most {limit} open transactions")
            }
            ProtocolError::TransactionTooLarge { id, frames, bytes } => {
                format!("transaction {id:?} may buffer at most {frames} frames and {bytes} body bytes")
            }
            ProtocolError::HeartBeatTimeout { silent, limit } => format!(
                "nothing received for {} ms; the limit is {} ms",
                silent.as_millis(),
                limit.as_millis()
            ),
            ProtocolError::ConnectTimeout { waited } => {
                format!("no CONNECT frame within {} ms", waited.as_millis())
            }
            ProtocolError::SlowConsumer { detail } => {
                format!("{detail}: read faster or subscribe to less")
            }
            ProtocolError::Revoked { detail } => format!("{detail}; connect again with a valid token"),
            ProtocolError::TooManySessions { principal, held, limit } => format!(
                "{principal} already holds {held} sessions, the limit is {limit} \
                 (KWANJE_MAX_SESSIONS_PER_PRINCIPAL); close one or reuse it"
            ),
        }
    }
}

impl From<CodecError> for ProtocolError {
    fn from(err: CodecError) -> Self {
        ProtocolError::Decode(err)
    }
}

impl From<FrameError> for ProtocolError {
    fn from(err: FrameError) -> Self {
        ProtocolError::Frame(err)
    }
}
