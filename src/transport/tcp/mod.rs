//! TCP STOMP (`KWANJE_STOMP_TCP`), for clients written for a broker's STOMP port (stomp.py,
//! Java and .NET STOMP clients); inside TLS when the server has a certificate.
//!
//! - [`listener`]: accepts on the thread that started the server and hands each connection to
//!   its session threads in turn, which do the TLS handshake when there is one; stops accepting, closes every session and waits for them at
//!   shutdown;
//! - [`session`]: [`TcpSession`], one actor per connection around the transport-neutral
//!   [`Driver`](super::driver::Driver), as over WebSocket;
//! - [`socket`]: the connection's two directions: what arrives, read as it comes, and what
//!   waits to be written, counted for the slow-consumer policy.
//!
//! It must not know STOMP: the driver and the core do.

pub mod listener;
pub mod session;
pub mod socket;

pub use listener::Listener;
pub use session::TcpSession;
