//! One SockJS session over HTTP (xhr-polling, xhr-streaming, eventsource): a thin actor around
//! the SockJS [`Session`] core and one STOMP [`Driver`].
//!
//! Receiving requests attach ([`Receive`], answered with the response [`Body`]) and end
//! ([`ReceiverGone`]); `xhr_send` requests bring the client's messages ([`Incoming`]), each
//! handed to the driver in order as STOMP bytes. The driver's [`Link`] queues every STOMP frame
//! it writes as one SockJS message in the core, counts the backlog (queued plus written to the
//! receiving request and not yet taken by its connection), and closes the SockJS session when
//! the STOMP session ends. After every input the actor flushes the core to the receiving
//! request and re-arms the core's timer (heartbeat, disconnect delay).
//!
//! Ends: the STOMP session ends (the broker, presence and the command service notice) as soon
//! as the SockJS session closes; the actor lives on, answering receiving requests with the close
//! frame, until the disconnect delay passes with none, then stops and tells its owner (the
//! registry) with [`SessionEnded`]. A
//! session nobody polls expires the same way, and its STOMP session ends in `stopped`.

use std::net::IpAddr;
use std::sync::Arc;

use actix::prelude::*;
use bytes::Bytes;
use thiserror::Error;

use super::body::{self, Body, BodyWriter, ReceiverGone};
use super::frame::{Carrier, Close};
use super::ids::SessionId;
use super::service::Inside;
use super::session::{Attach, Detach, Emit, ReceiverId, Session, Tick};
use super::settings::Settings;
use crate::broker::messages::{Deliver, Evict, Outlet};
use crate::stomp::Transport;
use crate::supervision::LazyTimer;
use crate::time::{Clock, Millis};
use crate::tls::CertifiedClient;
use crate::transport::carried::Carried;
use crate::transport::driver::{Driver, Link, Shared, SESSION_MAILBOX_CAPACITY};

/// A receiving request: answered with its response body.
#[derive(Debug, Message)]
#[rtype(result = "Body")]
pub struct Receive {
    pub carrier: Carrier,
}

/// Messages from `xhr_send`, in order.
#[derive(Debug, Message)]
#[rtype(result = "Result<(), SessionClosed>")]
pub struct Incoming {
    pub messages: Vec<String>,
}

/// A session stopped: its owner lets go of it (and only of it: a newer session may hold the id).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct SessionEnded {
    pub id: SessionId,
    pub session: Addr<SockJsSession>,
}

/// The session no longer takes messages.
#[derive(Debug, Clone, Copy, Error)]
#[error("the SockJS session is closed")]
pub struct SessionClosed;

/// Who opened a session: the client's address and the client its verified TLS certificate
/// names, from the request that created it.
#[derive(Debug, Clone, Default)]
pub struct Peer {
    pub addr: Option<IpAddr>,
    pub certified: Option<CertifiedClient>,
}

pub struct SockJsSession {
    id: SessionId,
    core: Session,
    /// The STOMP session (or test service) inside.
    carried: Carried,
    /// Told of the end, in `stopped`.
    ended: Recipient<SessionEnded>,
    clock: Arc<dyn Clock>,
    /// The receiving request's body, while one is attached.
    writer: Option<(ReceiverId, BodyWriter)>,
    /// The driver's timer (STOMP heart-beats, the CONNECT window).
    stomp_timer: LazyTimer,
    /// The core's timer (SockJS heartbeat, disconnect delay).
    timer: LazyTimer,
    /// `Driver::stopped` ran.
    stomp_ended: bool,
}

impl SockJsSession {
    /// A session carrying `inside`: a STOMP session for the client at `peer` when it is
    /// [`Inside::Stomp`], a test service otherwise.
    pub fn new(
        id: SessionId,
        settings: Settings,
        shared: Arc<Shared>,
        ended: Recipient<SessionEnded>,
        peer: Peer,
        inside: Inside,
    ) -> Self {
        let clock = shared.clock().clone();
        let carried = match inside {
            Inside::Stomp => Carried::Stomp(Box::new(
                Driver::new(shared, Transport::SockJs)
                    .with_peer(peer.addr)
                    .with_certificate(peer.certified),
            )),
            Inside::Echo => Carried::Echo,
            Inside::Close => Carried::Close,
        };
        SockJsSession {
            id,
            core: Session::new(settings, clock.now()),
            carried,
            ended,
            clock,
            writer: None,
            stomp_timer: LazyTimer::default(),
            timer: LazyTimer::default(),
            stomp_ended: false,
        }
    }

    /// Runs `input` on the driver with a link over this session, then settles.
    fn drive(&mut self, ctx: &mut Context<Self>, input: impl FnOnce(&mut Carried, &mut HttpLink<'_>)) {
        if self.stomp_ended {
            return;
        }
        let mut link = HttpLink {
            core: &mut self.core,
            writer: &self.writer,
            ctx,
            timer: &mut self.stomp_timer,
        };
        input(&mut self.carried, &mut link);
        self.settle(ctx);
    }

    /// After any input: the receiving request gets what waits, the STOMP session ends once the
    /// SockJS session closed, and the timer is armed for the core's next deadline.
    fn settle(&mut self, ctx: &mut Context<Self>) {
        let now = self.clock.now();
        if let Some(emit) = self.core.flush(now) {
            self.send(emit);
        }
        if self.core.is_closed() && !self.stomp_ended {
            self.end_stomp(ctx, now);
        }
        self.timer
            .arm::<Self>(ctx, Some(self.core.next_deadline()), now, |act, ctx| {
                act.timer.fired();
                act.tick(ctx);
            });
    }

    fn send(&mut self, emit: Emit) {
        let Some((receiver, writer)) = &self.writer else {
            return;
        };
        if *receiver != emit.receiver {
            return;
        }
        writer.write(emit.body);
        if emit.end {
            self.writer = None;
        }
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        match self.core.on_tick(self.clock.now()) {
            Tick::Nothing => {}
            Tick::Emit(emit) => self.send(emit),
            Tick::Expired => {
                log::info!(
                    "sockjs session expired id={} stomp_session={} closed_with={:?}",
                    self.id,
                    self.carried.key(),
                    self.core.closed_with().map(|c| c.code)
                );
                ctx.stop();
                return;
            }
        }
        self.settle(ctx);
    }

    fn end_stomp(&mut self, ctx: &mut Context<Self>, now: Millis) {
        self.stomp_ended = true;
        self.stomp_timer.arm::<Self>(ctx, None, now, |_, _| {});
        self.carried.closing();
        self.carried.stopped();
    }
}

/// The HTTP side of a session, for the time of one input.
struct HttpLink<'a> {
    core: &'a mut Session,
    writer: &'a Option<(ReceiverId, BodyWriter)>,
    ctx: &'a mut Context<SockJsSession>,
    timer: &'a mut LazyTimer,
}

impl Link for HttpLink<'_> {
    fn write(&mut self, bytes: Bytes, text: bool) {
        let message = match String::from_utf8(Vec::from(bytes)) {
            Ok(message) => message,
            Err(err) => {
                // SockJS carries strings only; see ws.rs's SockJS framing.
                log::warn!("sockjs frame is not UTF-8 text={text}; sent with replacement characters");
                String::from_utf8_lossy(err.as_bytes()).into_owned()
            }
        };
        self.core.push(message);
    }

    fn pending(&self) -> usize {
        let in_flight = self.writer.as_ref().map_or(0, |(_, writer)| writer.in_flight());
        self.core.pending() + in_flight
    }

    fn close(&mut self, normal: bool) {
        self.core.close(if normal { Close::NORMAL } else { Close::POLICY });
    }

    fn go_away(&mut self) {
        self.core.close(Close::GO_AWAY);
    }

    fn outlet(&mut self) -> Outlet {
        Outlet::of(self.ctx.address())
    }

    fn arm(&mut self, due: Option<Millis>, now: Millis) {
        self.timer.arm::<SockJsSession>(self.ctx, due, now, |act, ctx| {
            act.stomp_timer.fired();
            act.drive(ctx, |driver, link| driver.tick(link));
        });
    }
}

impl Actor for SockJsSession {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(SESSION_MAILBOX_CAPACITY);
        log::debug!(
            "sockjs session opened id={} stomp_session={}",
            self.id,
            self.carried.key()
        );
        self.drive(ctx, |driver, link| driver.started(link));
    }

    fn stopped(&mut self, ctx: &mut Self::Context) {
        self.ended.do_send(SessionEnded {
            id: self.id.clone(),
            session: ctx.address(),
        });
        if !self.stomp_ended {
            self.stomp_ended = true;
            self.carried.stopped();
        }
    }
}

impl Handler<Receive> for SockJsSession {
    type Result = MessageResult<Receive>;

    fn handle(&mut self, msg: Receive, ctx: &mut Self::Context) -> Self::Result {
        let now = self.clock.now();
        // The prelude goes in a chunk of its own: a client that reads chunk by chunk (as the
        // SockJS test suite does) takes it apart from the first frame.
        let prelude_len = msg.carrier.prelude_len();
        let emit = match self.core.attach(msg.carrier, now) {
            Attach::Refused { mut body } => {
                log::debug!("sockjs receiving request refused id={} reason=another-open", self.id);
                let rest = body.split_off(prelude_len.min(body.len()));
                return MessageResult(body::once([body, rest]));
            }
            Attach::Accepted(emit) => emit,
        };
        let (writer, body) = body::channel(emit.receiver, ctx.address().recipient());
        let mut prelude = emit.body;
        let first = prelude.split_off(prelude_len.min(prelude.len()));
        writer.write(prelude);
        writer.write(first);
        self.writer = (!emit.end).then_some((emit.receiver, writer));
        self.settle(ctx);
        MessageResult(body)
    }
}

impl Handler<ReceiverGone> for SockJsSession {
    type Result = ();

    fn handle(&mut self, msg: ReceiverGone, ctx: &mut Self::Context) {
        match self.core.detach(msg.receiver, msg.aborted, self.clock.now()) {
            Detach::Stale => return,
            Detach::Detached => {}
            Detach::Interrupted => log::info!(
                "sockjs receiving request interrupted id={} stomp_session={}",
                self.id,
                self.carried.key()
            ),
        }
        if self.writer.as_ref().is_some_and(|(id, _)| *id == msg.receiver) {
            self.writer = None;
        }
        self.settle(ctx);
    }
}

impl Handler<Incoming> for SockJsSession {
    type Result = Result<(), SessionClosed>;

    fn handle(&mut self, msg: Incoming, ctx: &mut Self::Context) -> Self::Result {
        if self.core.is_closed() {
            return Err(SessionClosed);
        }
        self.drive(ctx, |driver, link| {
            for message in &msg.messages {
                if link.core.is_closed() {
                    break;
                }
                driver.data(message.as_bytes(), link);
            }
        });
        Ok(())
    }
}

impl Handler<Deliver> for SockJsSession {
    type Result = ();

    fn handle(&mut self, msg: Deliver, ctx: &mut Self::Context) {
        self.drive(ctx, |driver, link| driver.deliver(&msg, link));
    }
}

impl Handler<Evict> for SockJsSession {
    type Result = ();

    fn handle(&mut self, msg: Evict, ctx: &mut Self::Context) {
        self.drive(ctx, |driver, link| driver.evicted(msg.cause, link));
    }
}
