//! STOMP 1.0/1.1/1.2 for kwanje's realtime clients: the wire codec and the per-session protocol.
//!
//! Pure: no actix, no tokio, no I/O, no clock. Time comes in as `now: Millis`, bytes come in as a
//! `BytesMut` the transport filled, and everything the outside world must do comes back as a
//! [`action::Action`]. It must not know the broker, the auth module or any service; authorisation
//! reaches it through the [`gate::Gate`] trait.
//!
//! # Layout
//!
//! - [`frame`]: `Version`, `Command`, `Frame` (values only).
//! - [`escape`]: per-version header escaping.
//! - [`codec`]: `Decoder` (two-step, limit-checked, heart-beat EOLs as items) and `encode`.
//! - [`message`]: `SharedMessage`, a broker message encoded once per escaping flavour for fan-out.
//! - [`heartbeat`]: `heart-beat` negotiation and the liveness clock.
//! - [`client`]: one struct per client command, parsed from a `Frame`; `ClientFrame` dispatches.
//! - [`gate`]: the authorisation contract the server implements.
//! - [`subscription`], [`transaction`]: the session's bookkeeping.
//! - [`session`]: the protocol state machine, built on all of the above; [`config`] holds its
//!   settings and [`action`] what it returns.
//! - [`error`]: `CodecError`, `FrameError`, `ProtocolError`.
//! - [`tally`]: frames in and out by command and sessions by transport, server-wide, for
//!   `/metrics`.
//!
//! Dependencies point down this list's reverse: `session` uses everything, `frame` uses nothing.
//!
//! # Use from a transport
//!
//! ```text
//! let mut session = Session::new(SessionConfig::new(id, "kwanje/0.1.0"), now);
//! on bytes:     buf.extend_from_slice(data); session.on_bytes(&mut buf, now, &gate, &mut actions)
//! on a timer:   session.on_tick(now, &mut actions); re-arm at session.next_deadline()
//! on delivery:  session.deliver(&subscription_id, &shared_message, now, &mut actions)
//! then carry out `actions` in order (Send, Subscribe, Unsubscribe, Publish, Close).
//! ```

pub mod action;
pub mod client;
pub mod codec;
pub mod config;
pub mod error;
pub mod escape;
pub mod frame;
pub mod gate;
pub mod heartbeat;
pub mod message;
pub mod session;
pub mod subscription;
pub mod tally;
pub mod transaction;

#[cfg(test)]
mod tests;

pub use action::{Action, Delivery};
pub use client::{AckMode, ClientFrame, Connect};
pub use codec::{encode, encode_to_bytes, Decoder, Inbound, Limits};
pub use config::SessionConfig;
pub use error::{CodecError, FrameError, ProtocolError};
pub use escape::Escaping;
pub use frame::{Command, Frame, Version};
pub use gate::{Authenticated, Denied, Gate};
pub use heartbeat::{HeartBeat, Negotiated};
pub use message::SharedMessage;
pub use session::{Phase, Session};
pub use tally::{StompTally, Transport};
