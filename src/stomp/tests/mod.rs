//! Tests of the codec, the fan-out message and the session, driven as a client would drive them,
//! with time stepped by hand.

mod codec;
mod handshake;
mod lifecycle;
mod message;
mod messaging;
mod support;
