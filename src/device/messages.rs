//! Messages of the device part, named by direction: requests in (to a device actor), events out
//! ([`DeviceChanged`], told to the listeners of [`crate::listen::Tells`]).

use std::sync::Arc;

use actix::Message;

use super::entry::DeviceEntry;
use super::lifecycle::Transition;
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

/// The device's registered spec was edited (its entry holds the new one): the actor takes the
/// new deadline window without a restart.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct Reconfigure;

/// Fault injection and a deliberate stop: the messages every supervised child takes.
pub use crate::supervision::child::{Crash, Stop};

// Out.

/// A device changed state and the change is stored (sent to listeners such as the broker).
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct DeviceChanged {
    pub entry: Arc<DeviceEntry>,
    pub transition: Transition,
    /// The device's actor restarts as of the transition.
    pub restarts: u32,
}
