//! The sessions actor: owns the [`SessionBook`], feeds it lane readings, payments and
//! operators' closes, stores what changed through the store's batching [`Writer`], and carries
//! out a release (an `open_gate` command to the lane's gate PC, through the command service:
//! stored, delivered, acked or timed out, audited like every command).
//!
//! Decisions are the book's; this file is wiring. A reading is answered at once (the car is at
//! the barrier) while its rows wait a few milliseconds for others to share a transaction; a
//! store outage holds the rows, retried until it returns, and loses nothing held in memory. A
//! payment is answered only once it is stored: a kiosk that gets 503 retries with the same
//! `Idempotency-Key` and is answered the same payment.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use bytes::Bytes;

use super::core::session::{Payment, Session};
use super::core::session_view::{LaneAnswer, LaneOutcome, SessionView};
use super::core::sessions::{Outcome, Paid, SessionBook};
use super::error::ParkingError;
use super::messages::{CloseLost, FindOpen, Gate, GetOpen, Pay, SetTariff, Sight};
use super::stored;
use crate::broker::bus::Published;
use crate::broker::messages::PublishToUser;
use crate::broker::Bus;
use crate::command::messages::Issue;
use crate::command::{CommandKind, CommandService};
use crate::ids::IdGen;
use crate::store::models::{audit, parking_payments, parking_sessions};
use crate::store::writer::{Owner, Settings, Writer};
use crate::store::{DbConnection, Store};
use crate::time::{Clock, Millis};

/// The lane's own queue on which a STOMP reading is answered.
pub const PARKING_QUEUE: &str = "/user/queue/parking";
/// How long an `open_gate` command waits for the gate PC before it expires: a car waits.
pub const OPEN_GATE_TTL: Duration = Duration::from_secs(60);
/// How long a payment's answer waits for the store before it is a 503.
pub const PAYMENT_STORE_WAIT: Duration = Duration::from_secs(5);
/// Who issues the releases' commands, in the command and the audit log.
pub const ISSUER: &str = "parking";

const SETTINGS: Settings = Settings {
    name: "parking_sessions",
    max_batch: 1_024,
    gather: Duration::from_millis(5),
    backlog_warning: 100_000,
    retry_delay: Duration::from_millis(500),
};

/// A row to store, in the order the changes were made.
#[derive(Debug)]
pub enum Item {
    Session(parking_sessions::ParkingSession),
    Payment(parking_payments::ParkingPayment),
    Audit(audit::AuditEntry),
}

/// Finds a lane's gate when a payment releases a held car.
pub type GateOf = Arc<dyn Fn(&str, &str) -> Option<Gate> + Send + Sync>;

pub struct SessionKeeper {
    book: SessionBook,
    writer: Writer<Item>,
    commands: Addr<CommandService>,
    bus: Arc<dyn Bus>,
    clock: Arc<dyn Clock>,
    ids: Arc<IdGen>,
    gate_of: GateOf,
}

impl SessionKeeper {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        book: SessionBook,
        store: Store,
        commands: Addr<CommandService>,
        bus: Arc<dyn Bus>,
        clock: Arc<dyn Clock>,
        ids: Arc<IdGen>,
        gate_of: GateOf,
    ) -> SessionKeeper {
        SessionKeeper {
            book,
            writer: Writer::new(store, SETTINGS),
            commands,
            bus,
            clock,
            ids,
            gate_of,
        }
    }

    fn view(&self, session: &Session, now: Millis) -> SessionView {
        let tariff = self.book.tariffs().of(&session.zone);
        let fee = tariff.fee(session.entered, now);
        let due = self.book.due(session, now);
        let exit_by = session
            .paid_at
            .filter(|at| tariff.fee(session.entered, *at) <= session.paid)
            .map(|at| at + self.book.grace());
        SessionView::of(session, fee, due, exit_by)
    }

    fn store_session(&mut self, session: &Session, ctx: &mut Context<Self>) {
        self.enqueue(Item::Session(stored::session_row(session)), ctx);
    }

    /// Sends `open_gate` to the gate; answers the command's id.
    fn open_gate(&self, gate: Gate, session_id: i64, reason: String) -> impl std::future::Future<Output = Option<i64>> {
        let issue = Issue {
            device_id: gate.device_id.clone(),
            client_id: gate.client_id,
            kind: CommandKind::OpenGate,
            reason: Some(reason),
            ttl: OPEN_GATE_TTL,
            by: ISSUER.to_owned(),
            idempotency_key: Some(format!("parking-release-{session_id}")),
            standby_id: None,
        };
        let commands = self.commands.clone();
        async move {
            match commands.send(issue).await {
                Ok(Ok(issued)) => Some(issued.command.id),
                Ok(Err(e)) => {
                    log::error!(
                        "parking open_gate refused gate={} session={session_id} error={e}",
                        gate.device_id
                    );
                    None
                }
                Err(e) => {
                    log::error!(
                        "parking open_gate not sent gate={} session={session_id} error={e}",
                        gate.device_id
                    );
                    None
                }
            }
        }
    }
}

impl Actor for SessionKeeper {
    type Context = Context<Self>;

    fn started(&mut self, _: &mut Context<Self>) {
        log::info!("parking sessions started open={}", self.book.open_count());
    }
}

impl Owner for SessionKeeper {
    type Item = Item;

    fn writer(&mut self) -> &mut Writer<Item> {
        &mut self.writer
    }

    fn write(batch: &[Item], conn: &mut DbConnection) -> diesel::QueryResult<()> {
        // Sessions first, each in its latest form: a payment's row refers to its session.
        let sessions = batch.iter().filter_map(|item| match item {
            Item::Session(row) => Some(row),
            _ => None,
        });
        parking_sessions::upsert_all(conn, sessions)?;
        for item in batch {
            match item {
                Item::Session(_) => {}
                Item::Payment(row) => parking_payments::insert(conn, row)?,
                Item::Audit(entry) => audit::insert(conn, entry)?,
            }
        }
        Ok(())
    }

    fn stored(&mut self, _: Vec<Item>, _: &mut Context<Self>) {}

    fn dropped(&mut self, item: Item, error: &crate::store::StoreError, _: &mut Context<Self>) {
        log::error!("parking row dropped item={item:?} error={error}");
    }
}

impl Handler<Sight> for SessionKeeper {
    type Result = ResponseFuture<LaneAnswer>;

    fn handle(&mut self, msg: Sight, ctx: &mut Context<Self>) -> Self::Result {
        let Sight {
            camera_id,
            sighting,
            gate,
            tell,
        } = msg;
        let lane = sighting.lane.lane.clone();
        let direction = sighting.direction;
        let at = sighting.at;
        let id = self.ids.next(self.clock.now());
        let outcome = self.book.sight(sighting, id);
        let mut answer = LaneAnswer {
            kind: "parking.lane",
            camera_id: camera_id.clone(),
            lane: lane.clone(),
            direction,
            outcome: LaneOutcome::Ignored,
            session_id: None,
            plate: None,
            ticket: None,
            due: None,
            gate_id: None,
            command_id: None,
            reason: None,
        };
        let mut release = None;
        match outcome {
            Outcome::Entered(s) => {
                answer.outcome = LaneOutcome::Entered;
                (answer.session_id, answer.plate, answer.ticket) = (Some(s.id), s.plate.clone(), s.ticket.clone());
                log::info!(
                    "parking entry session={} lane={lane} plate={} ticket={}",
                    s.id,
                    s.plate.as_deref().unwrap_or("-"),
                    s.ticket.as_deref().unwrap_or("-")
                );
                self.store_session(&s, ctx);
            }
            Outcome::AlreadyInside(id) => {
                answer.outcome = LaneOutcome::AlreadyInside;
                answer.session_id = Some(id);
            }
            Outcome::Released(s) => {
                answer.outcome = LaneOutcome::Released;
                (answer.session_id, answer.plate, answer.ticket) = (Some(s.id), s.plate.clone(), s.ticket.clone());
                log::info!("parking exit released session={} lane={lane} paid={}", s.id, s.paid);
                self.store_session(&s, ctx);
                match gate {
                    Some(gate) => {
                        answer.gate_id = Some(gate.device_id.clone());
                        release = Some((gate, s.id));
                    }
                    None => {
                        log::warn!(
                            "parking exit released with no gate to open session={} lane={lane}",
                            s.id
                        );
                        answer.reason = Some(format!("lane {lane} has no registered gate to open"));
                    }
                }
            }
            Outcome::Held { session, due } => {
                answer.outcome = LaneOutcome::Held;
                (answer.session_id, answer.plate, answer.ticket) =
                    (Some(session.id), session.plate.clone(), session.ticket.clone());
                answer.due = Some(due);
                log::info!("parking exit held session={} lane={lane} due={due}", session.id);
                self.store_session(&session, ctx);
            }
            Outcome::Unmatched { read } => {
                answer.outcome = LaneOutcome::Unmatched;
                answer.reason = Some(match read {
                    super::core::lpr::Read::Unread { .. } => {
                        "the plate could not be read: scan the ticket or call an attendant".to_owned()
                    }
                    _ => "no open session for this car: find it at a kiosk or call an attendant".to_owned(),
                });
                log::warn!("parking exit unmatched lane={lane} camera={camera_id} at_ms={}", at.0);
            }
            Outcome::Ignored { why } => {
                answer.reason = Some(why.to_owned());
                log::debug!("parking reading ignored lane={lane} camera={camera_id} why={why}");
            }
        }
        let opening = release.map(|(gate, id)| self.open_gate(gate, id, format!("parking session {id} may leave")));
        let bus_tell = tell.map(|client| (client, self.bus.clone()));
        Box::pin(async move {
            if let Some(opening) = opening {
                answer.command_id = opening.await;
            }
            if let Some((client, bus)) = bus_tell {
                match serde_json::to_vec(&answer) {
                    Ok(body) => bus.publish(Published::User(PublishToUser {
                        user: client,
                        destination: PARKING_QUEUE.to_owned(),
                        headers: vec![("content-type".to_owned(), "application/json".to_owned())],
                        body: Bytes::from(body),
                    })),
                    Err(e) => log::error!("parking lane answer unserializable error={e}"),
                }
            }
            answer
        })
    }
}

impl Handler<Pay> for SessionKeeper {
    type Result = ResponseFuture<Result<Paid, ParkingError>>;

    fn handle(&mut self, msg: Pay, ctx: &mut Context<Self>) -> Self::Result {
        let now = self.clock.now();
        let paid = match self.book.pay(msg.payment, now) {
            Ok(paid) => paid,
            Err(e) => return Box::pin(async move { Err(e.into()) }),
        };
        if paid.replay {
            // The first attempt may have been a 503 whose rows still wait for the store: the
            // repeat is answered only once they are stored too.
            let written = self.when_written(ctx);
            return Box::pin(async move { stored_then(written, paid).await });
        }
        log::info!(
            "parking payment session={} payment={} amount={} method={} by={}",
            paid.session.id,
            paid.payment.id,
            paid.payment.amount,
            paid.payment.method,
            paid.payment.by
        );
        self.store_session(&paid.session, ctx);
        self.enqueue(Item::Payment(stored::payment_row(&paid.payment)), ctx);
        let written = self.when_written(ctx);
        let opening = paid.release.as_ref().and_then(|lane| {
            let gate = (self.gate_of)(&paid.session.site, lane);
            if gate.is_none() {
                log::warn!(
                    "parking paid at a held exit with no gate to open session={} lane={lane}",
                    paid.session.id
                );
            }
            gate.map(|g| self.open_gate(g, paid.session.id, format!("parking session {} paid", paid.session.id)))
        });
        Box::pin(async move {
            if let Some(opening) = opening {
                opening.await;
            }
            stored_then(written, paid).await
        })
    }
}

/// `paid` once `written` says its rows are stored; 503 when the store does not answer in time
/// (the rows stay queued, and a repeat with the same key is the same payment).
async fn stored_then(written: tokio::sync::oneshot::Receiver<()>, paid: Paid) -> Result<Paid, ParkingError> {
    match tokio::time::timeout(PAYMENT_STORE_WAIT, written).await {
        Ok(Ok(())) => Ok(paid),
        _ => Err(ParkingError::Unavailable(
            "the payment is not stored yet (the database is unavailable); retry with the same Idempotency-Key".into(),
        )),
    }
}

impl Handler<FindOpen> for SessionKeeper {
    type Result = Option<SessionView>;

    fn handle(&mut self, msg: FindOpen, _: &mut Context<Self>) -> Self::Result {
        let now = self.clock.now();
        self.book.find(&msg.key).map(|s| self.view(s, now))
    }
}

impl Handler<GetOpen> for SessionKeeper {
    type Result = Option<SessionView>;

    fn handle(&mut self, msg: GetOpen, _: &mut Context<Self>) -> Self::Result {
        let now = self.clock.now();
        self.book.get(msg.id).map(|s| self.view(s, now))
    }
}

impl Handler<CloseLost> for SessionKeeper {
    type Result = ResponseFuture<Result<SessionView, ParkingError>>;

    fn handle(&mut self, msg: CloseLost, ctx: &mut Context<Self>) -> Self::Result {
        let now = self.clock.now();
        let (session, lane) = match self.book.close_lost(msg.id, now) {
            Ok(done) => done,
            Err(e) => return Box::pin(async move { Err(e.into()) }),
        };
        log::info!(
            "parking session closed as lost ticket session={} by={}",
            session.id,
            msg.by
        );
        self.store_session(&session, ctx);
        let detail = format!(
            "fee={} paid={}{}",
            session.fee.unwrap_or(0),
            session.paid,
            msg.reason
                .as_deref()
                .map(|r| format!(" reason={r}"))
                .unwrap_or_default()
        );
        self.enqueue(
            Item::Audit(audit::AuditEntry {
                id: self.ids.next(now),
                at_ms: now.0,
                principal: msg.by.clone(),
                action: "parking.session.lost_ticket".into(),
                target: format!("parking_session:{}", session.id),
                detail: Some(detail),
            }),
            ctx,
        );
        let opening = lane.and_then(|lane| (self.gate_of)(&session.site, &lane)).map(|g| {
            self.open_gate(
                g,
                session.id,
                format!("parking session {} closed as a lost ticket by {}", session.id, msg.by),
            )
        });
        let view = self.view(&session, now);
        let written = self.when_written(ctx);
        Box::pin(async move {
            if let Some(opening) = opening {
                opening.await;
            }
            let _ = tokio::time::timeout(PAYMENT_STORE_WAIT, written).await;
            Ok(view)
        })
    }
}

impl Handler<SetTariff> for SessionKeeper {
    type Result = ();

    fn handle(&mut self, msg: SetTariff, _: &mut Context<Self>) {
        self.book.tariffs_mut().set(&msg.zone, msg.tariff);
    }
}

impl SessionKeeper {
    /// Sessions the book restores from, with their payments. Blocking.
    pub fn read_open(store: &Store) -> Result<Vec<Session>, crate::store::StoreError> {
        let rows = store.read_blocking(parking_sessions::open)?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let mut payments: std::collections::HashMap<i64, Vec<Payment>> = std::collections::HashMap::new();
        for chunk in ids.chunks(500) {
            for row in store.read_blocking(|c| parking_payments::of_sessions(c, chunk))? {
                payments.entry(row.session_id).or_default().push(stored::payment(row));
            }
        }
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                let id = row.id;
                let session = stored::session(row, payments.remove(&id).unwrap_or_default());
                if session.is_none() {
                    log::error!("parking session unreadable, skipped id={id}");
                }
                session
            })
            .collect())
    }
}
