//! The command service: stores commands, delivers them to the client's sessions, takes acks,
//! and times them out. The one owner of the [`CommandBook`]; decisions are the book's.
//!
//! Delivery goes to the listeners of [`DeliverCommand`] (the relay: `/user/queue/commands` of
//! every session of the client) while the client is online ([`ClientOnline`] /
//! [`ClientOffline`], from presence). Every state change after the first insert is stored
//! through the alert service in one transaction with the alert it causes (a timed-out command
//! raises `command_timed_out`), then told to the listeners of [`CommandChanged`].

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use super::book::{CommandBook, CommandError};
use super::messages::{
    AckCommand, ClientOffline, ClientOnline, CommandChanged, CommandServiceError, CommandStats, DeliverCommand,
    GetCommandStats, Issue, Issued,
};
use super::model::{Command, CommandMessage, CommandState};
use crate::alert::Record;
use crate::alert::{AlertKind, AlertService, Intent, Severity, Subject, SubjectType};
use crate::ids::IdGen;
use crate::listen::Listen;
use crate::ownership::Ownership;
use crate::store::models::{audit, commands as rows};
use crate::store::{Store, StoreError, WriteFn};
use crate::supervision::LazyTimer;
use crate::time::Clock;

/// How long a delivered command waits for its ack (DOMAIN.md: default 10 s).
pub const DEFAULT_ACK_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an undelivered command waits for its client when the request names no `ttl_ms`.
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);
/// Bounds on a requested time to live.
pub const MIN_TTL: Duration = Duration::from_secs(1);
pub const MAX_TTL: Duration = Duration::from_secs(24 * 3_600);
/// Longest idempotency key or reason accepted.
pub const MAX_KEY_LEN: usize = 128;
pub const MAX_REASON_LEN: usize = 512;

pub struct CommandService {
    store: Store,
    ids: Arc<IdGen>,
    clock: Arc<dyn Clock>,
    alerts: Addr<AlertService>,
    book: CommandBook,
    online: HashSet<String>,
    deliveries: Vec<Recipient<DeliverCommand>>,
    listeners: Vec<Recipient<CommandChanged>>,
    timer: LazyTimer,
    /// Standby ids of commands in the book, for their delivery messages.
    standby: std::collections::HashMap<i64, String>,
    /// A command is stored under the fence of its client's partition.
    ownership: Ownership,
    /// Commands finished since start, by their final state.
    finished: std::collections::BTreeMap<&'static str, u64>,
}

impl CommandService {
    /// A service whose book starts from `open`, the unfinished commands in the store.
    pub fn new(
        store: Store,
        ids: Arc<IdGen>,
        clock: Arc<dyn Clock>,
        alerts: Addr<AlertService>,
        ack_timeout: Duration,
        open: Vec<rows::Command>,
    ) -> Self {
        let now = clock.now();
        let book = CommandBook::restore(ack_timeout, open.into_iter().filter_map(Command::from_row), now);
        CommandService {
            store,
            ids,
            clock,
            alerts,
            book,
            online: HashSet::new(),
            deliveries: Vec::new(),
            listeners: Vec::new(),
            timer: LazyTimer::default(),
            standby: std::collections::HashMap::new(),
            ownership: Ownership::default(),
            finished: std::collections::BTreeMap::new(),
        }
    }

    /// Commands are stored under the fences `ownership` holds (token 0 everywhere by default).
    pub fn with_ownership(mut self, ownership: Ownership) -> Self {
        self.ownership = ownership;
        self
    }

    fn deliver(&self, command: &Command) {
        if self.deliveries.is_empty() {
            return;
        }
        let message = CommandMessage {
            kind: "command.issued",
            command_id: command.id,
            device_id: &command.device_id,
            command: command.kind,
            standby_id: self.standby.get(&command.id).map(String::as_str),
            reason: command.reason.as_deref(),
            expires_ms: command.expires_ms,
        };
        let body = serde_json::to_string(&message).unwrap_or_default();
        log::info!(
            "command delivered id={} client={} kind={}",
            command.id,
            command.client_id,
            command.kind.as_str()
        );
        let delivery = DeliverCommand {
            client_id: command.client_id.clone(),
            command_id: command.id,
            body,
        };
        for listener in &self.deliveries {
            listener.do_send(delivery.clone());
        }
    }

    fn notify(&self, command: &Command, event: &'static str) {
        for listener in &self.listeners {
            listener.do_send(CommandChanged {
                command: command.clone(),
                event,
            });
        }
    }

    /// Stores a state change (with its alert, if any), then tells the listeners.
    fn record(&self, command: Command, intents: Vec<Intent>) {
        let (id, state, detail, at) = (
            command.id,
            command.state.as_str(),
            command.detail.clone(),
            command.updated_ms,
        );
        let Some(fence) = self.ownership.fence_for(&command.client_id) else {
            log::warn!(
                "command change not recorded id={id} client={} reason=partition_not_owned",
                command.client_id
            );
            return;
        };
        let writes: WriteFn = Arc::new(move |conn| rows::update_state(conn, id, state, detail.as_deref(), at));
        let listeners = self.listeners.clone();
        let committed = Box::new(move || {
            for listener in &listeners {
                listener.do_send(CommandChanged {
                    command: command.clone(),
                    event: "command.updated",
                });
            }
        });
        self.alerts.do_send(Record {
            writes: Some(writes),
            state: None,
            intents,
            committed: Some(committed),
            fence: Some(fence),
        });
    }

    fn schedule(&mut self, ctx: &mut Context<Self>) {
        let (due, now) = (self.book.next_deadline(), self.clock.now());
        self.timer.arm::<Self>(ctx, due, now, |act, ctx| {
            act.timer.fired();
            act.tick(ctx);
        });
    }

    /// Forgets what only an open command needs, and logs how it ended.
    fn finished(&mut self, command: &Command) {
        self.standby.remove(&command.id);
        *self.finished.entry(command.state.as_str()).or_default() += 1;
        log::info!(
            "command finished id={} client={} state={}",
            command.id,
            command.client_id,
            command.state.as_str()
        );
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        let now = self.clock.now();
        for command in self.book.tick(now) {
            self.finished(&command);
            let intents = match command.state {
                CommandState::TimedOut => vec![Intent::Raise {
                    subject: Subject {
                        kind: SubjectType::Device,
                        id: command.device_id.clone(),
                    },
                    kind: AlertKind::CommandTimedOut,
                    severity: Severity::Major,
                    detail: Some(format!(
                        "{} (command {}) was not acknowledged",
                        command.kind.as_str(),
                        command.id
                    )),
                }],
                _ => Vec::new(),
            };
            self.record(command, intents);
        }
        self.schedule(ctx);
    }

    fn client_online(&mut self, client: &str, ctx: &mut Context<Self>) {
        let now = self.clock.now();
        let sent = self.book.client_online(client, now);
        for command in &sent {
            self.deliver(command);
        }
        // Only first deliveries change state (and are stored); redeliveries keep id and state.
        for command in sent.into_iter().filter(|c| c.updated_ms == now.0) {
            self.record(command, Vec::new());
        }
        self.schedule(ctx);
    }
}

impl Actor for CommandService {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.schedule(ctx);
    }
}

impl Handler<GetCommandStats> for CommandService {
    type Result = MessageResult<GetCommandStats>;
    fn handle(&mut self, _: GetCommandStats, _: &mut Context<Self>) -> Self::Result {
        MessageResult(CommandStats {
            open: self.book.count_by_state(),
            finished: self.finished.clone(),
        })
    }
}

impl Handler<Issue> for CommandService {
    type Result = ResponseActFuture<Self, Result<Issued, CommandServiceError>>;

    fn handle(&mut self, msg: Issue, _: &mut Context<Self>) -> Self::Result {
        if let Some(existing) = msg.idempotency_key.as_deref().and_then(|k| self.book.by_key(k)) {
            let issued = Issued {
                command: existing.clone(),
                created: false,
            };
            return Box::pin(fut::ready(Ok(issued)));
        }
        let now = self.clock.now();
        let command = Command {
            id: self.ids.next(now),
            device_id: msg.device_id.clone(),
            client_id: msg.client_id.clone(),
            kind: msg.kind,
            state: CommandState::Pending,
            reason: msg.reason.clone(),
            detail: None,
            issued_by: msg.by.clone(),
            idempotency_key: msg.idempotency_key.clone(),
            created_ms: now.0,
            updated_ms: now.0,
            expires_ms: (now + msg.ttl).0,
        };
        let row = command.to_row();
        let entry = audit::AuditEntry {
            id: self.ids.next(now),
            at_ms: now.0,
            principal: msg.by.clone(),
            action: "command.issue".into(),
            target: format!("device:{}", msg.device_id),
            detail: Some(format!("{} command_id={}", msg.kind.as_str(), command.id)),
        };
        let Some(fence) = self.ownership.fence_for(&msg.client_id) else {
            // Another node supervises this client's devices: it issues their commands.
            let why = format!("another node owns the partition of client {}", msg.client_id);
            return Box::pin(fut::ready(Err(StoreError::Unavailable(why).into())));
        };
        let key = msg.idempotency_key.clone();
        let insert = self.store.write_fenced(fence, move |conn| {
            // The same key may have finished already: the stored command is the answer.
            if let Some(key) = &key {
                if let Some(existing) = rows::by_key(conn, key)? {
                    return Ok(Some(existing));
                }
            }
            rows::insert(conn, &row)?;
            audit::insert(conn, &entry)?;
            Ok(None)
        });
        let standby = msg.standby_id;
        Box::pin(insert.into_actor(self).map(move |result, act, ctx| {
            match result {
                Ok(Some(existing)) => {
                    let command = Command::from_row(existing).ok_or(StoreError::NotFound)?;
                    Ok(Issued {
                        command,
                        created: false,
                    })
                }
                Ok(None) => {
                    log::info!(
                        "command issued id={} device={} client={} kind={} by={}",
                        command.id,
                        command.device_id,
                        command.client_id,
                        command.kind.as_str(),
                        command.issued_by
                    );
                    if let Some(standby) = standby {
                        act.standby.insert(command.id, standby);
                    }
                    act.book.issue(command.clone());
                    act.notify(&command, "command.issued");
                    if act.online.contains(&command.client_id) {
                        // Only the new command: redelivering the client's unacked ones on
                        // every issue floods a gate PC whose gate opens many times a minute.
                        let now = act.clock.now();
                        if let Some(delivered) = act.book.deliver_new(command.id, now) {
                            act.deliver(&delivered);
                            act.record(delivered, Vec::new());
                        }
                    }
                    act.schedule(ctx);
                    let current = act.book.get(command.id).cloned().unwrap_or(command);
                    Ok(Issued {
                        command: current,
                        created: true,
                    })
                }
                // A concurrent request with the same key won the insert: answer with its command.
                Err(StoreError::Conflict(_)) => Err(StoreError::Conflict(
                    "a command with this Idempotency-Key is being created; retry".into(),
                )
                .into()),
                Err(e) => Err(e.into()),
            }
        }))
    }
}

impl Handler<AckCommand> for CommandService {
    type Result = Result<Command, CommandServiceError>;
    fn handle(&mut self, msg: AckCommand, _: &mut Context<Self>) -> Self::Result {
        let now = self.clock.now();
        let command = self
            .book
            .ack(msg.command_id, &msg.client_id, msg.ok, msg.detail.as_deref(), now)?;
        let command = command.ok_or(CommandError::NotOpen(msg.command_id))?;
        self.finished(&command);
        self.record(command.clone(), Vec::new());
        Ok(command)
    }
}

impl Handler<ClientOnline> for CommandService {
    type Result = ();
    fn handle(&mut self, msg: ClientOnline, ctx: &mut Context<Self>) {
        self.online.insert(msg.client_id.clone());
        self.client_online(&msg.client_id, ctx);
    }
}

impl Handler<ClientOffline> for CommandService {
    type Result = ();
    fn handle(&mut self, msg: ClientOffline, _: &mut Context<Self>) {
        self.online.remove(&msg.client_id);
    }
}

impl Handler<Listen<DeliverCommand>> for CommandService {
    type Result = ();
    fn handle(&mut self, msg: Listen<DeliverCommand>, _: &mut Context<Self>) {
        self.deliveries.push(msg.listener);
    }
}

impl Handler<Listen<CommandChanged>> for CommandService {
    type Result = ();
    fn handle(&mut self, msg: Listen<CommandChanged>, _: &mut Context<Self>) {
        self.listeners.push(msg.listener);
    }
}
