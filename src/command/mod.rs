//! Commands: an operator's or the failover policy's instruction to a device's client.
//!
//! [`model`] says what a command is; [`book`] (pure) holds open commands and their rules;
//! [`service`] is the actor that stores them, hands them to the client's sessions through a
//! delivery sink (the broker), takes acks, and times them out with an alert.

pub mod book;
pub mod messages;
pub mod model;
pub mod service;

pub use model::{Command, CommandKind, CommandState};
pub use service::CommandService;
