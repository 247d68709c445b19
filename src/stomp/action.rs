//! What a session asks the outside world to do ([`Action`]) and what became of a delivery
//! ([`Delivery`]).
//!
//! Owns these plain enums only. The transport carries out actions in the order they were pushed and
//! forwards `Subscribe`, `Unsubscribe` and `Publish` to the broker; nothing here does I/O.

use bytes::Bytes;

/// What the transport (and, through it, the broker) must do, in the order pushed. `T` is the
/// gate's [`Target`](super::Gate::Target): where a permitted SEND goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action<T = ()> {
    /// Write these bytes to the client. `text` says they are UTF-8 (send as a WebSocket text
    /// message; binary when false). Already encoded for the session's version.
    Send { bytes: Bytes, text: bool },
    /// Register subscription `id` of this session on `destination`.
    Subscribe { id: String, destination: String },
    /// Remove subscription `id`; also pushed for every live subscription when the session ends.
    Unsubscribe { id: String, destination: String },
    /// An application SEND that took effect (immediately, or at its transaction's COMMIT).
    /// `headers` are the client's minus the reserved ones (`client::RESERVED_SEND_HEADERS`); the
    /// broker adds `sender` from [`Session::principal`](super::session::Session::principal).
    Publish {
        destination: String,
        headers: Vec<(String, String)>,
        body: Bytes,
        /// The gate's classification of `destination`, made when it permitted the SEND.
        target: T,
    },
    /// Close the connection after writing what came before. May be pushed again if a frame arrives
    /// after DISCONNECT; the first one is final.
    Close,
}

/// What became of one [`Session::deliver`](super::session::Session::deliver) call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// A MESSAGE was pushed as `Action::Send`.
    Sent,
    /// The session has no such subscription (e.g. a delivery raced an UNSUBSCRIBE); nothing pushed.
    UnknownSubscription,
    /// The session is not (or no longer) connected; nothing pushed.
    NotConnected,
    /// The delivery ended the session (token expired, or the unacked cap was reached): ERROR +
    /// Close.
    ClosedSession,
}
