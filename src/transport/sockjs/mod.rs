//! SockJS 0.3 at `/sockjs`, with a STOMP session inside each SockJS session: what a browser
//! console built on `new SockJS('/sockjs')` and a STOMP client needs when WebSockets do not get
//! through.
//!
//! Pure cores: [`frame`] (frames, JSON quoting, how each transport carries them), [`inbound`]
//! (what clients send), [`ids`] (session URL ids), [`session`] (one session's state over HTTP),
//! [`settings`].

pub mod frame;
pub mod ids;
pub mod inbound;
pub mod session;
pub mod settings;

pub use settings::Settings;
