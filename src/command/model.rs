//! What a command is (API.md): kind, state, and the view clients and operators see.

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::store::models::commands as rows;

/// An instruction to a device's client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CommandKind {
    SwitchToStandby,
    Failback,
    Restart,
    FailOpen,
    FailClosed,
    MaintenanceOn,
    MaintenanceOff,
    /// Open a lane's gate once (a paid car at the exit, or an operator's hand).
    OpenGate,
}

impl CommandKind {
    pub const ALL: [CommandKind; 8] = [
        CommandKind::SwitchToStandby,
        CommandKind::Failback,
        CommandKind::Restart,
        CommandKind::FailOpen,
        CommandKind::FailClosed,
        CommandKind::MaintenanceOn,
        CommandKind::MaintenanceOff,
        CommandKind::OpenGate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CommandKind::SwitchToStandby => "switch_to_standby",
            CommandKind::Failback => "failback",
            CommandKind::Restart => "restart",
            CommandKind::FailOpen => "fail_open",
            CommandKind::FailClosed => "fail_closed",
            CommandKind::MaintenanceOn => "maintenance_on",
            CommandKind::MaintenanceOff => "maintenance_off",
            CommandKind::OpenGate => "open_gate",
        }
    }
}

impl FromStr for CommandKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        CommandKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            let known: Vec<&str> = CommandKind::ALL.iter().map(|k| k.as_str()).collect();
            format!("unknown command kind {s:?}; use one of {}", known.join(", "))
        })
    }
}

/// pending > delivered > acked | failed | timed_out, or pending > expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CommandState {
    Pending,
    Delivered,
    Acked,
    Failed,
    TimedOut,
    Expired,
}

impl CommandState {
    pub const ALL: [CommandState; 6] = [
        CommandState::Pending,
        CommandState::Delivered,
        CommandState::Acked,
        CommandState::Failed,
        CommandState::TimedOut,
        CommandState::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CommandState::Pending => "pending",
            CommandState::Delivered => "delivered",
            CommandState::Acked => "acked",
            CommandState::Failed => "failed",
            CommandState::TimedOut => "timed_out",
            CommandState::Expired => "expired",
        }
    }

    /// No further change can happen.
    pub fn is_final(self) -> bool {
        !matches!(self, CommandState::Pending | CommandState::Delivered)
    }
}

impl FromStr for CommandState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        CommandState::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown command state {s:?}"))
    }
}

/// A command as stored and shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Command {
    pub id: i64,
    pub device_id: String,
    pub client_id: String,
    pub kind: CommandKind,
    pub state: CommandState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What the client said when it acknowledged (or why it failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub issued_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    pub created_ms: i64,
    pub updated_ms: i64,
    /// A command not delivered by then expires.
    pub expires_ms: i64,
}

impl Command {
    pub fn to_row(&self) -> rows::Command {
        rows::Command {
            id: self.id,
            device_id: self.device_id.clone(),
            client_id: self.client_id.clone(),
            kind: self.kind.as_str().to_owned(),
            state: self.state.as_str().to_owned(),
            reason: self.reason.clone(),
            detail: self.detail.clone(),
            issued_by: self.issued_by.clone(),
            idempotency_key: self.idempotency_key.clone(),
            created_ms: self.created_ms,
            updated_ms: self.updated_ms,
            expires_ms: self.expires_ms,
        }
    }

    pub fn from_row(row: rows::Command) -> Option<Command> {
        Some(Command {
            id: row.id,
            device_id: row.device_id,
            client_id: row.client_id,
            kind: row.kind.parse().ok()?,
            state: row.state.parse().ok()?,
            reason: row.reason,
            detail: row.detail,
            issued_by: row.issued_by,
            idempotency_key: row.idempotency_key,
            created_ms: row.created_ms,
            updated_ms: row.updated_ms,
            expires_ms: row.expires_ms,
        })
    }
}

/// What the client receives on `/user/queue/commands`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandMessage<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub command_id: i64,
    pub device_id: &'a str,
    pub command: CommandKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standby_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
    pub expires_ms: i64,
}
