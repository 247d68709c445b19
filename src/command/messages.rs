//! Messages of the command service, named by direction: requests in (each with its result type
//! beside it), events out. Listening is [`crate::listen`]'s: `commands.listen(recipient)` for
//! [`CommandChanged`] and for [`DeliverCommand`].

use std::time::Duration;

use actix::prelude::*;
use thiserror::Error;

use super::book::CommandError;
use super::model::{Command, CommandKind};
use crate::store::StoreError;

#[derive(Debug, Error)]
pub enum CommandServiceError {
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Issue a command (an operator's, or the failover policy's).
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<Issued, CommandServiceError>")]
pub struct Issue {
    pub device_id: String,
    pub client_id: String,
    pub kind: CommandKind,
    pub reason: Option<String>,
    pub ttl: Duration,
    pub by: String,
    pub idempotency_key: Option<String>,
    /// The standby the client should switch to (for `switch_to_standby` and `failback`).
    pub standby_id: Option<String>,
}

/// The command, and whether this request created it (false: an earlier one with the same key).
#[derive(Debug, Clone)]
pub struct Issued {
    pub command: Command,
    pub created: bool,
}

/// A client acknowledged a command.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<Command, CommandServiceError>")]
pub struct AckCommand {
    pub command_id: i64,
    pub client_id: String,
    pub ok: bool,
    pub detail: Option<String>,
}

/// A client has a session now (its first one).
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct ClientOnline {
    pub client_id: String,
}

/// A client's last session closed.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct ClientOffline {
    pub client_id: String,
}

/// Out, to the delivery listeners (the relay): send `body` to every session of `client_id` on
/// `/user/queue/commands`.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct DeliverCommand {
    pub client_id: String,
    pub command_id: i64,
    pub body: String,
}

/// A command was created or changed state (after it is stored).
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct CommandChanged {
    pub command: Command,
    /// `command.issued` or `command.updated`.
    pub event: &'static str,
}

/// Ask what the command service holds and has finished.
#[derive(Debug, Message)]
#[rtype(result = "CommandStats")]
pub struct GetCommandStats;

/// Open commands by state, and commands finished since start by final state.
#[derive(Debug, Clone, Default)]
pub struct CommandStats {
    pub open: std::collections::BTreeMap<&'static str, u64>,
    pub finished: std::collections::BTreeMap<&'static str, u64>,
}
