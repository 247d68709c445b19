//! Messages to a device actor, named by direction: requests in, events out.

use actix::Message;

use super::model::{DeviceState, HeartbeatStatus};

/// A client reports a device's health. Answers the state after it.
#[derive(Debug, Clone, Message)]
#[rtype(result = "DeviceState")]
pub struct Heartbeat {
    pub status: HeartbeatStatus,
    pub detail: Option<String>,
}

/// An operator (or policy) puts the device in maintenance or takes it out.
#[derive(Debug, Clone, Message)]
#[rtype(result = "DeviceState")]
pub struct SetMaintenance {
    pub on: bool,
}

/// The device's client (gate PC) disconnected or came back.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct SetClientConnected {
    pub connected: bool,
}

/// Fault injection and a deliberate stop: the messages every supervised child takes.
pub use crate::supervision::child::{Crash, Stop};
