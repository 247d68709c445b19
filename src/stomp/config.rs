//! The settings of one STOMP session, with the defaults operators may override through `Config`.
//!
//! Owns the defaults only; it must not read configuration itself (the server builds a
//! [`SessionConfig`] from its own `Config`).

use std::sync::Arc;
use std::time::Duration;

use super::codec::Limits;
use super::heartbeat::{HeartBeat, DEFAULT_HEART_BEAT_FLOOR_MS, DEFAULT_SERVER_HEART_BEAT};
use super::tally::StompTally;

/// How long a new connection may take to send CONNECT before it is closed.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Cap on messages awaiting ACK per session. At the cap the next delivery that would need an ACK
/// ends the session with an ERROR: a consumer that does not ack is broken, and buffering for it is
/// unbounded.
pub const DEFAULT_MAX_UNACKED: usize = 1024;

/// Per-session settings; operators may change the defaults through the server's config.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Unique per server; sent in CONNECTED and used in `message-id`s (`{session_id}-{n}`).
    pub session_id: String,
    /// The CONNECTED `server` header, e.g. `kwanje/0.1.0`.
    pub server: String,
    /// The server's `sx,sy` offer.
    pub heart_beat: HeartBeat,
    /// The lowest interval a client's `heart-beat` wish is honoured down to.
    pub heart_beat_floor_ms: u64,
    pub connect_timeout: Duration,
    pub max_unacked: usize,
    pub limits: Limits,
    /// Where the session counts the frames it receives and sends (none: not counted).
    pub tally: Option<Arc<StompTally>>,
}

impl SessionConfig {
    pub fn new(session_id: impl Into<String>, server: impl Into<String>) -> Self {
        SessionConfig {
            session_id: session_id.into(),
            server: server.into(),
            heart_beat: DEFAULT_SERVER_HEART_BEAT,
            heart_beat_floor_ms: DEFAULT_HEART_BEAT_FLOOR_MS,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_unacked: DEFAULT_MAX_UNACKED,
            limits: Limits::default(),
            tally: None,
        }
    }
}
