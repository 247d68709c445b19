//! One STOMP session over one TCP connection: a thin actor around a [`Driver`], as over
//! WebSocket. Bytes read go to [`Driver::data`] as they come (the core finds frames and
//! heart-beat EOLs across reads and caps the frame size); its [`Link`] queues encoded frames in
//! the [`Outbox`], whose writer runs on the same context.
//!
//! Closing, however it starts (the driver's ERROR or DISCONNECT, the peer's EOF, shutdown): the
//! session leaves the broker at once (`Driver::stopped`), the writer sends what was queued and
//! shuts the write side (FIN), and the actor reads and drops what the peer still sends until it
//! closes too. Closing the socket on unread bytes would send a reset, which can destroy the ERROR
//! in the client's receive buffer. A peer that neither reads nor closes is cut off after
//! [`CLOSE_TIMEOUT`]. A read or write error ends it at once.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use bytes::Bytes;
use tokio::sync::watch;

use super::socket::{reads, tls_reads, Outbox, Socket};
use crate::broker::messages::{Deliver, Evict, Outlet};
use crate::limit::Slot;
use crate::stomp::Transport;
use crate::supervision::LazyTimer;
use crate::time::Millis;
use crate::transport::driver::{Driver, Link, Shared, SESSION_MAILBOX_CAPACITY};

/// How long a closing connection may take to flush and to be closed by its peer.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(30);

/// One STOMP session over one TCP connection.
pub struct TcpSession {
    driver: Driver,
    outbox: Outbox,
    timer: LazyTimer,
    peer: SocketAddr,
    /// The session is over and the socket closing: the driver has been told and hears no more.
    closing: bool,
    read_done: bool,
    write_done: bool,
    /// Says when the server stops; held as long as the session lives, which the listener's
    /// shutdown waits for.
    stop: watch::Receiver<bool>,
    /// This connection's place in its address's limit, given back when the session ends.
    _slot: Slot<IpAddr>,
}

/// The TCP side of a session, for the time of one input.
struct TcpLink<'a> {
    ctx: &'a mut Context<TcpSession>,
    outbox: &'a mut Outbox,
    timer: &'a mut LazyTimer,
}

impl Link for TcpLink<'_> {
    fn write(&mut self, bytes: Bytes, _text: bool) {
        self.outbox.push(bytes);
    }

    fn pending(&self) -> usize {
        self.outbox.pending()
    }

    fn close(&mut self, _normal: bool) {
        // The actor notices after the driver returns and closes the connection.
        self.outbox.close();
    }

    fn outlet(&mut self) -> Outlet {
        Outlet::of(self.ctx.address())
    }

    fn arm(&mut self, due: Option<Millis>, now: Millis) {
        self.timer.arm::<TcpSession>(self.ctx, due, now, |act, ctx| {
            act.timer.fired();
            if act.closing {
                return;
            }
            let (driver, mut link) = act.split(ctx);
            driver.tick(&mut link);
            act.settle(ctx);
        });
    }
}

impl TcpSession {
    /// A session for `socket`, created with its context (`Actor::create`) on the thread that runs it.
    pub fn new(
        socket: Socket,
        peer: SocketAddr,
        slot: Slot<IpAddr>,
        shared: Arc<Shared>,
        stop: watch::Receiver<bool>,
        ctx: &mut Context<Self>,
    ) -> Self {
        let certified = match &socket {
            Socket::Plain(_) => None,
            Socket::Tls(stream) => stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(crate::tls::client_named_by),
        };
        let outbox = match socket {
            Socket::Plain(stream) => {
                let (read, write) = stream.into_split();
                ctx.add_stream(reads(read));
                Self::write_with(Outbox::open(write), ctx)
            }
            Socket::Tls(stream) => {
                let (read, write) = tokio::io::split(*stream);
                ctx.add_stream(tls_reads(read));
                Self::write_with(Outbox::open(write), ctx)
            }
        };
        TcpSession {
            driver: Driver::new(shared, Transport::Tcp)
                .with_peer(Some(peer.ip()))
                .with_certificate(certified),
            outbox,
            timer: LazyTimer::default(),
            peer,
            closing: false,
            read_done: false,
            write_done: false,
            stop,
            _slot: slot,
        }
    }

    /// Runs the outbox's writer on `ctx`; the session hears when it ends.
    fn write_with(
        (outbox, writer): (Outbox, impl std::future::Future<Output = io::Result<()>> + 'static),
        ctx: &mut Context<Self>,
    ) -> Outbox {
        ctx.spawn(actix::fut::wrap_future::<_, Self>(writer).map(|result, act, ctx| act.written(result, ctx)));
        outbox
    }

    /// The driver and a link over `ctx`.
    fn split<'a>(&'a mut self, ctx: &'a mut Context<Self>) -> (&'a mut Driver, TcpLink<'a>) {
        let link = TcpLink {
            ctx,
            outbox: &mut self.outbox,
            timer: &mut self.timer,
        };
        (&mut self.driver, link)
    }

    /// After the driver ran: if it closed the session, close the connection.
    fn settle(&mut self, ctx: &mut Context<Self>) {
        if self.outbox.is_closed() {
            self.close(ctx);
        }
    }

    /// Ends the session (it leaves the broker now) and starts closing the socket: the writer
    /// flushes and shuts its side, the reader waits for the peer's EOF, within [`CLOSE_TIMEOUT`].
    fn close(&mut self, ctx: &mut Context<Self>) {
        if self.closing {
            return;
        }
        self.closing = true;
        self.outbox.close();
        self.driver.stopped();
        ctx.run_later(CLOSE_TIMEOUT, |act, ctx| {
            log::debug!(
                "stomp tcp close timed out session={} peer={} flushed={} peer_closed={}",
                act.driver.key(),
                act.peer,
                act.write_done,
                act.read_done
            );
            ctx.stop();
        });
        self.stop_when_closed(ctx);
    }

    fn stop_when_closed(&mut self, ctx: &mut Context<Self>) {
        if self.closing && self.read_done && self.write_done {
            ctx.stop();
        }
    }

    /// The writer ended: everything was written and the write side shut, or the socket failed.
    fn written(&mut self, result: io::Result<()>, ctx: &mut Context<Self>) {
        self.write_done = true;
        if let Err(err) = result {
            log::debug!(
                "stomp tcp write failed session={} peer={} error={err}",
                self.driver.key(),
                self.peer
            );
            self.close(ctx);
            ctx.stop();
            return;
        }
        self.stop_when_closed(ctx);
    }
}

impl Actor for TcpSession {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(SESSION_MAILBOX_CAPACITY);
        log::debug!(
            "stomp tcp connection opened session={} peer={}",
            self.driver.key(),
            self.peer
        );
        let mut stop = self.stop.clone();
        ctx.spawn(
            async move { stop.wait_for(|stop| *stop).await.is_ok() }
                .into_actor(self)
                .map(|stopping, act, ctx| {
                    if stopping {
                        log::debug!("stomp tcp closing for shutdown session={}", act.driver.key());
                        act.close(ctx);
                    }
                }),
        );
        let (driver, mut link) = self.split(ctx);
        driver.started(&mut link);
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        if !self.closing {
            self.closing = true;
            self.driver.stopped();
        }
    }
}

impl StreamHandler<io::Result<Bytes>> for TcpSession {
    fn handle(&mut self, read: io::Result<Bytes>, ctx: &mut Self::Context) {
        match read {
            // What a closing peer still sends is read only to be dropped.
            Ok(_) if self.closing => {}
            Ok(bytes) => {
                let (driver, mut link) = self.split(ctx);
                driver.data(&bytes, &mut link);
                self.settle(ctx);
            }
            Err(err) => {
                log::debug!(
                    "stomp tcp read failed session={} peer={} error={err}",
                    self.driver.key(),
                    self.peer
                );
                self.close(ctx);
                ctx.stop();
            }
        }
    }

    /// The peer closed its side: the session ends, and what is queued still goes out.
    fn finished(&mut self, ctx: &mut Self::Context) {
        self.read_done = true;
        self.close(ctx);
        self.stop_when_closed(ctx);
    }
}

impl Handler<Deliver> for TcpSession {
    type Result = ();
    fn handle(&mut self, msg: Deliver, ctx: &mut Self::Context) {
        if self.closing {
            return;
        }
        let (driver, mut link) = self.split(ctx);
        driver.deliver(&msg, &mut link);
        self.settle(ctx);
    }
}

impl Handler<Evict> for TcpSession {
    type Result = ();
    fn handle(&mut self, msg: Evict, ctx: &mut Self::Context) {
        if self.closing {
            return;
        }
        let (driver, mut link) = self.split(ctx);
        driver.evicted(msg.cause, &mut link);
        self.settle(ctx);
    }
}
