//! The command book: open commands and the rules that move them. Pure.
//!
//! - A command is `pending` until its client has a session; it is then `delivered` (to every
//!   session of that client) and must be acknowledged within the ack timeout.
//! - A command still `pending` when its time to live runs out is `expired`.
//! - A `delivered` command with no ack within the timeout is `timed_out` (and an alert follows).
//! - The client's ack makes it `acked` (`ok: true`) or `failed` (`ok: false`).
//! - A client that reconnects gets again every command delivered to it and not yet
//!   acknowledged, with the same id, so it can drop what it already executed.
//! - An `Idempotency-Key` names one command: issuing again with the same key returns it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use thiserror::Error;

use super::model::{Command, CommandState};
use crate::time::Millis;

/// Longest detail kept from a client's ack.
pub const MAX_DETAIL_LEN: usize = 512;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CommandError {
    #[error("command {0} does not exist or is already finished")]
    NotOpen(i64),
    #[error("command {id} is for client {owner}, not {caller}")]
    WrongClient { id: i64, owner: String, caller: String },
    #[error("command {0} has not been delivered yet")]
    NotDelivered(i64),
}

/// One open command and its deadline.
#[derive(Debug, Clone)]
struct Open {
    command: Command,
    /// While delivered: when the ack is due.
    ack_due: Option<Millis>,
}

impl Open {
    /// When [`CommandBook::tick`] finishes it: the ack's due time while delivered, the time to
    /// live while pending.
    fn deadline(&self) -> Option<Millis> {
        match self.command.state {
            CommandState::Delivered => self.ack_due,
            CommandState::Pending => Some(Millis(self.command.expires_ms)),
            _ => None,
        }
    }
}

#[derive(Debug, Default)]
pub struct CommandBook {
    open: BTreeMap<i64, Open>,
    /// Every open command's deadline, soonest first: the next deadline and what a tick
    /// finishes cost a lookup, not a walk over every open command (thousands are pending
    /// while a gate PC is offline).
    deadlines: BTreeSet<(Millis, i64)>,
    keys: HashMap<String, i64>,
    ack_timeout: Duration,
}

impl CommandBook {
    pub fn new(ack_timeout: Duration) -> Self {
        CommandBook {
            open: BTreeMap::new(),
            deadlines: BTreeSet::new(),
            keys: HashMap::new(),
            ack_timeout,
        }
    }

    /// Open commands from the store (pending or delivered). A delivered one gets a fresh ack
    /// timeout from `now`: the sessions it went to are gone with the old process.
    pub fn restore(ack_timeout: Duration, commands: impl IntoIterator<Item = Command>, now: Millis) -> Self {
        let mut book = CommandBook::new(ack_timeout);
        for command in commands.into_iter().filter(|c| !c.state.is_final()) {
            let ack_due = (command.state == CommandState::Delivered).then(|| now + ack_timeout);
            if let Some(key) = &command.idempotency_key {
                book.keys.insert(key.clone(), command.id);
            }
            book.insert(Open { command, ack_due });
        }
        book
    }

    /// The open command issued under `key`, if any.
    pub fn by_key(&self, key: &str) -> Option<&Command> {
        self.keys.get(key).and_then(|id| self.open.get(id)).map(|o| &o.command)
    }

    pub fn get(&self, id: i64) -> Option<&Command> {
        self.open.get(&id).map(|o| &o.command)
    }

    /// Open commands by state (`pending`, `delivered`).
    pub fn count_by_state(&self) -> std::collections::BTreeMap<&'static str, u64> {
        let mut counts = std::collections::BTreeMap::new();
        for open in self.open.values() {
            *counts.entry(open.command.state.as_str()).or_default() += 1;
        }
        counts
    }

    pub fn open_count(&self) -> usize {
        self.open.len()
    }

    /// Adds a new `pending` command.
    pub fn issue(&mut self, command: Command) {
        if let Some(key) = &command.idempotency_key {
            self.keys.insert(key.clone(), command.id);
        }
        self.insert(Open { command, ack_due: None });
    }

    fn insert(&mut self, open: Open) {
        if let Some(due) = open.deadline() {
            self.deadlines.insert((due, open.command.id));
        }
        self.open.insert(open.command.id, open);
    }

    /// A command just issued for a client that has a session: delivered now, alone (the
    /// client's other commands were delivered when they were issued or when it connected).
    pub fn deliver_new(&mut self, id: i64, now: Millis) -> Option<Command> {
        let open = self.open.get_mut(&id)?;
        if open.command.state != CommandState::Pending || now >= Millis(open.command.expires_ms) {
            return None;
        }
        Self::delivered(&mut self.deadlines, open, now, self.ack_timeout);
        Some(open.command.clone())
    }

    /// `client` has a session: every pending command for it is now delivered, and every
    /// delivered, unacknowledged one is delivered again. Returns what to send, oldest first.
    pub fn client_online(&mut self, client: &str, now: Millis) -> Vec<Command> {
        let mut send = Vec::new();
        for open in self.open.values_mut().filter(|o| o.command.client_id == client) {
            if open.command.state == CommandState::Pending {
                if now >= Millis(open.command.expires_ms) {
                    continue; // tick expires it
                }
                Self::delivered(&mut self.deadlines, open, now, self.ack_timeout);
            }
            send.push(open.command.clone());
        }
        send
    }

    /// Moves a pending command to delivered, its deadline from its time to live to its ack.
    fn delivered(deadlines: &mut BTreeSet<(Millis, i64)>, open: &mut Open, now: Millis, ack_timeout: Duration) {
        if let Some(due) = open.deadline() {
            deadlines.remove(&(due, open.command.id));
        }
        open.command.state = CommandState::Delivered;
        open.command.updated_ms = now.0;
        open.ack_due = Some(now + ack_timeout);
        if let Some(due) = open.deadline() {
            deadlines.insert((due, open.command.id));
        }
    }

    /// The client acknowledged command `id`. A repeat of an ack already taken is not an error:
    /// it returns `Ok(None)`.
    pub fn ack(
        &mut self,
        id: i64,
        client: &str,
        ok: bool,
        detail: Option<&str>,
        now: Millis,
    ) -> Result<Option<Command>, CommandError> {
        let Some(open) = self.open.get(&id) else {
            return Err(CommandError::NotOpen(id));
        };
        if open.command.client_id != client {
            return Err(CommandError::WrongClient {
                id,
                owner: open.command.client_id.clone(),
                caller: client.to_owned(),
            });
        }
        if open.command.state != CommandState::Delivered {
            return Err(CommandError::NotDelivered(id));
        }
        let mut command = self.close(id).map(|o| o.command).ok_or(CommandError::NotOpen(id))?;
        command.state = if ok { CommandState::Acked } else { CommandState::Failed };
        command.detail = detail.map(|d| d.chars().take(MAX_DETAIL_LEN).collect());
        command.updated_ms = now.0;
        Ok(Some(command))
    }

    /// Commands that time out or expire at `now`, in their final state.
    pub fn tick(&mut self, now: Millis) -> Vec<Command> {
        let mut due: Vec<(i64, CommandState)> = self
            .deadlines
            .range(..=(now, i64::MAX))
            .filter_map(|&(_, id)| match self.open.get(&id)?.command.state {
                CommandState::Delivered => Some((id, CommandState::TimedOut)),
                CommandState::Pending => Some((id, CommandState::Expired)),
                _ => None,
            })
            .collect();
        due.sort_unstable_by_key(|&(id, _)| id);
        due.into_iter()
            .filter_map(|(id, state)| {
                let mut command = self.close(id)?.command;
                command.state = state;
                command.updated_ms = now.0;
                command.detail = Some(match state {
                    CommandState::TimedOut => format!("no ack within {} ms", self.ack_timeout.as_millis()),
                    _ => "not delivered before it expired".to_owned(),
                });
                Some(command)
            })
            .collect()
    }

    /// When [`CommandBook::tick`] next has something to do.
    pub fn next_deadline(&self) -> Option<Millis> {
        self.deadlines.first().map(|&(due, _)| due)
    }

    fn close(&mut self, id: i64) -> Option<Open> {
        let open = self.open.remove(&id)?;
        if let Some(due) = open.deadline() {
            self.deadlines.remove(&(due, id));
        }
        if let Some(key) = &open.command.idempotency_key {
            self.keys.remove(key);
        }
        Some(open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::model::CommandKind;

    const ACK: Duration = Duration::from_secs(10);

    fn cmd(id: i64, client: &str, expires_ms: i64, key: Option<&str>) -> Command {
        Command {
            id,
            device_id: format!("dev-{id}"),
            client_id: client.into(),
            kind: CommandKind::SwitchToStandby,
            state: CommandState::Pending,
            reason: None,
            detail: None,
            issued_by: "kim".into(),
            idempotency_key: key.map(str::to_owned),
            created_ms: 0,
            updated_ms: 0,
            expires_ms,
        }
    }

    #[test]
    fn a_command_waits_for_its_client_then_is_delivered_and_acked() {
        let mut book = CommandBook::new(ACK);
        book.issue(cmd(1, "pc-1", 60_000, None));
        assert!(book.client_online("pc-2", Millis(10)).is_empty());
        let sent = book.client_online("pc-1", Millis(100));
        assert_eq!(
            sent.iter().map(|c| (c.id, c.state)).collect::<Vec<_>>(),
            vec![(1, CommandState::Delivered)]
        );
        assert_eq!(book.next_deadline(), Some(Millis(10_100)));
        let done = book
            .ack(1, "pc-1", true, Some("switched"), Millis(200))
            .unwrap()
            .unwrap();
        assert_eq!(
            (done.state, done.detail.as_deref()),
            (CommandState::Acked, Some("switched"))
        );
        assert_eq!(book.open_count(), 0);
        assert_eq!(
            book.ack(1, "pc-1", true, None, Millis(300)),
            Err(CommandError::NotOpen(1))
        );
    }

    #[test]
    fn a_new_command_for_an_online_client_is_delivered_alone() {
        let mut book = CommandBook::new(ACK);
        book.issue(cmd(1, "pc-1", 60_000, None));
        book.client_online("pc-1", Millis(0));
        book.issue(cmd(2, "pc-1", 60_000, None));
        let sent = book.deliver_new(2, Millis(5)).unwrap();
        assert_eq!((sent.id, sent.state), (2, CommandState::Delivered));
        assert_eq!(book.deliver_new(2, Millis(6)), None, "delivered once");
        assert_eq!(
            book.deliver_new(1, Millis(6)),
            None,
            "the earlier one is not sent again"
        );
        book.issue(cmd(3, "pc-1", 10, None));
        assert_eq!(book.deliver_new(3, Millis(10)), None, "expired before it could go");
    }

    #[test]
    fn a_negative_ack_fails_the_command() {
        let mut book = CommandBook::new(ACK);
        book.issue(cmd(1, "pc-1", 60_000, None));
        book.client_online("pc-1", Millis(0));
        let done = book
            .ack(1, "pc-1", false, Some("standby camera dead"), Millis(5))
            .unwrap()
            .unwrap();
        assert_eq!(done.state, CommandState::Failed);
    }

    #[test]
    fn only_the_hosting_client_may_ack_and_only_after_delivery() {
        let mut book = CommandBook::new(ACK);
        book.issue(cmd(1, "pc-1", 60_000, None));
        assert_eq!(
            book.ack(1, "pc-1", true, None, Millis(1)),
            Err(CommandError::NotDelivered(1))
        );
        book.client_online("pc-1", Millis(2));
        assert!(matches!(
            book.ack(1, "pc-9", true, None, Millis(3)),
            Err(CommandError::WrongClient { .. })
        ));
        assert!(book.ack(1, "pc-1", true, None, Millis(4)).is_ok());
    }

    #[test]
    fn no_ack_within_the_timeout_times_out() {
        let mut book = CommandBook::new(ACK);
        book.issue(cmd(1, "pc-1", 600_000, None));
        book.client_online("pc-1", Millis(1_000));
        assert!(book.tick(Millis(10_999)).is_empty());
        let out = book.tick(Millis(11_000));
        assert_eq!(
            out.iter().map(|c| c.state).collect::<Vec<_>>(),
            vec![CommandState::TimedOut]
        );
        assert_eq!(book.next_deadline(), None);
    }

    #[test]
    fn an_undelivered_command_expires_at_its_ttl_and_is_never_sent() {
        let mut book = CommandBook::new(ACK);
        book.issue(cmd(1, "pc-1", 5_000, None));
        assert_eq!(book.next_deadline(), Some(Millis(5_000)));
        assert!(
            book.client_online("pc-1", Millis(5_000)).is_empty(),
            "too late to deliver"
        );
        let out = book.tick(Millis(5_000));
        assert_eq!(out[0].state, CommandState::Expired);
        assert!(book.client_online("pc-1", Millis(6_000)).is_empty());
    }

    #[test]
    fn a_reconnecting_client_gets_unacked_commands_again_with_the_same_id() {
        let mut book = CommandBook::new(ACK);
        book.issue(cmd(1, "pc-1", 600_000, None));
        let first = book.client_online("pc-1", Millis(0));
        let again = book.client_online("pc-1", Millis(3_000));
        assert_eq!(first[0].id, again[0].id);
        assert_eq!(
            book.next_deadline(),
            Some(Millis(10_000)),
            "redelivery does not extend the timeout"
        );
    }

    #[test]
    fn an_idempotency_key_names_one_open_command() {
        let mut book = CommandBook::new(ACK);
        book.issue(cmd(7, "pc-1", 600_000, Some("k-1")));
        assert_eq!(book.by_key("k-1").map(|c| c.id), Some(7));
        book.client_online("pc-1", Millis(0));
        book.ack(7, "pc-1", true, None, Millis(1)).unwrap();
        assert!(
            book.by_key("k-1").is_none(),
            "a finished command is found in the store, not the book"
        );
    }

    #[test]
    fn restore_gives_delivered_commands_a_fresh_timeout() {
        let mut delivered = cmd(2, "pc-1", 600_000, None);
        delivered.state = CommandState::Delivered;
        let mut acked = cmd(3, "pc-1", 600_000, None);
        acked.state = CommandState::Acked;
        let book = CommandBook::restore(ACK, [cmd(1, "pc-1", 600_000, None), delivered, acked], Millis(50_000));
        assert_eq!(book.open_count(), 2);
        assert_eq!(book.next_deadline(), Some(Millis(60_000)));
    }

    #[test]
    fn the_next_deadline_follows_deliveries_acks_and_ticks() {
        let mut book = CommandBook::new(ACK);
        for (id, expires) in [(1, 300), (2, 100), (3, 200)] {
            book.issue(cmd(id, &format!("pc-{id}"), expires, None));
        }
        assert_eq!(book.next_deadline(), Some(Millis(100)));
        // Delivered: its deadline is the ack's, no longer its time to live.
        book.client_online("pc-2", Millis(50));
        assert_eq!(book.next_deadline(), Some(Millis(200).min(Millis(50) + ACK)));
        book.ack(2, "pc-2", true, None, Millis(60)).unwrap();
        assert_eq!(book.next_deadline(), Some(Millis(200)));
        let expired = book.tick(Millis(250));
        assert_eq!(expired.iter().map(|c| c.id).collect::<Vec<_>>(), vec![3]);
        assert_eq!(book.next_deadline(), Some(Millis(300)));
        assert_eq!(book.tick(Millis(300)).len(), 1);
        assert_eq!(book.next_deadline(), None);
    }
}
