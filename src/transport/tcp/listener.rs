//! The TCP STOMP listener: accepts connections and starts a [`TcpSession`] for each.
//!
//! It accepts on the thread that started the server and hands connections to its session
//! threads in turn: the socket crosses as a std socket and each arbiter registers it with its own
//! reactor, so sessions spread over cores as WebSocket sessions do over the HTTP workers. With
//! TLS, the session thread does the handshake (within [`TLS_HANDSHAKE_TIMEOUT`]) before the
//! session starts; a connection that does not complete it is closed.
//! [`Listener::stop`] stops accepting and closes the port, tells every session to close, and
//! waits for them, at most the shutdown timeout.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use super::session::TcpSession;
use super::socket::Socket;
use crate::limit::{connection_refusal, OverLimit, Slot};
use crate::stomp::{encode_to_bytes, Command, Frame, Version};
use crate::transport::driver::Shared;

/// Pause after a failed accept (out of file descriptors, say) before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// How long a refused connection is given to read its ERROR and close.
const REFUSE_LINGER: Duration = Duration::from_secs(2);
/// How long a connection has to complete its TLS handshake (as actix-web's HTTP listener).
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(3);

/// The TCP STOMP listener and its session threads.
pub struct Listener {
    addr: SocketAddr,
    /// `true` stops the accept loop and every session; its receivers live as long as they do.
    stop: watch::Sender<bool>,
    threads: Vec<Arbiter>,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener").field("addr", &self.addr).finish()
    }
}

impl Listener {
    /// Binds `addr` and starts accepting, with `threads` session threads.
    /// `keepalive`: idle time before TCP keep-alive probes on each connection (none: off).
    /// `tls`: every connection is inside TLS (none: plain).
    pub async fn start(
        addr: &str,
        shared: Arc<Shared>,
        threads: usize,
        keepalive: Option<Duration>,
        tls: Option<TlsAcceptor>,
    ) -> io::Result<Listener> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let threads: Vec<Arbiter> = (0..threads.max(1)).map(|_| Arbiter::new()).collect();
        let (stop, stopped) = watch::channel(false);
        let handles = threads.iter().map(Arbiter::handle).collect();
        let scheme = if tls.is_some() { "tls" } else { "plain" };
        actix::spawn(accept(listener, shared, handles, keepalive, tls, stopped));
        log::info!(
            "stomp tcp listening addr={addr} threads={} transport={scheme}",
            threads.len()
        );
        Ok(Listener { addr, stop, threads })
    }

    /// The address bound (the port chosen when it was 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, closes every session and waits for them (at most `within`), then ends
    /// the session threads.
    pub async fn stop(self, within: Duration) {
        self.stop.send_replace(true);
        let open = self.stop.receiver_count();
        if tokio::time::timeout(within, self.stop.closed()).await.is_err() {
            let left = self.stop.receiver_count();
            log::warn!(
                "stomp tcp sessions still open at shutdown open={left} waited_ms={}",
                within.as_millis()
            );
        }
        for thread in &self.threads {
            thread.stop();
        }
        log::info!(
            "stomp tcp stopped addr={} sessions_closed={}",
            self.addr,
            open.saturating_sub(1)
        );
    }
}

/// The accept loop: each connection to the next session thread, until told to stop.
async fn accept(
    listener: TcpListener,
    shared: Arc<Shared>,
    threads: Vec<ArbiterHandle>,
    keepalive: Option<Duration>,
    tls: Option<TlsAcceptor>,
    mut stop: watch::Receiver<bool>,
) {
    let mut next = 0;
    loop {
        let accepted = tokio::select! {
            _ = stop.wait_for(|stop| *stop) => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                let slot = match shared.limits().connections.take(peer.ip()) {
                    Ok(slot) => slot,
                    Err(over) => {
                        let refused = shared.limits().connections.stats().refused;
                        crate::limit::log_connection_refused("stomp_tcp", peer.ip(), over, refused);
                        if tls.is_none() {
                            actix::spawn(refuse(stream, peer, over));
                        }
                        // Inside TLS an ERROR would first cost the server a handshake: closed.
                        continue;
                    }
                };
                let thread = &threads[next % threads.len()];
                next = next.wrapping_add(1);
                if let Some(idle) = keepalive {
                    if let Err(err) = crate::transport::keepalive::enable(&stream, idle) {
                        log::warn!("stomp tcp keepalive failed peer={peer} error={err}");
                    }
                }
                let session = Handover {
                    peer,
                    slot,
                    shared: shared.clone(),
                    stop: stop.clone(),
                    tls: tls.clone(),
                };
                session.hand_over(stream, thread);
            }
            Err(err) => {
                log::warn!("stomp tcp accept failed error={err}");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
    log::debug!("stomp tcp accept loop ended");
}

/// Tells a connection over its address's limit why with an ERROR frame, then closes it: the
/// write side first, then, once the peer closes or [`REFUSE_LINGER`] has passed, the socket
/// (closing on unread bytes would reset the connection and could destroy the ERROR).
async fn refuse(mut stream: TcpStream, peer: SocketAddr, over: OverLimit) {
    let error = Frame::new(Command::Error)
        .with_header("message", "too many connections")
        .with_header("content-type", "text/plain")
        .with_body(connection_refusal(peer.ip(), over));
    let bytes = encode_to_bytes(&error, Version::V1_2);
    if stream.write_all(&bytes).await.is_err() || stream.shutdown().await.is_err() {
        return;
    }
    let mut sink = [0u8; 1024];
    let _ = tokio::time::timeout(REFUSE_LINGER, async {
        while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
}

/// What a session needs besides its socket, carried to its thread.
struct Handover {
    peer: SocketAddr,
    slot: Slot<IpAddr>,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
    tls: Option<TlsAcceptor>,
}

impl Handover {
    /// Starts a session for `stream` on `thread` (after its TLS handshake, when there is TLS).
    fn hand_over(self, stream: TcpStream, thread: &ArbiterHandle) {
        let peer = self.peer;
        // Frames are written whole; waiting to fill a segment only delays them.
        if let Err(err) = stream.set_nodelay(true) {
            log::warn!("stomp tcp nodelay failed peer={peer} error={err}");
        }
        let stream = match stream.into_std() {
            Ok(stream) => stream,
            Err(err) => {
                log::warn!("stomp tcp hand-over failed peer={peer} error={err}");
                return;
            }
        };
        let started = thread.spawn_fn(move || match TcpStream::from_std(stream) {
            Ok(stream) => match self.tls.clone() {
                None => self.start(Socket::Plain(stream)),
                Some(acceptor) => {
                    actix::spawn(async move {
                        match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                            Ok(Ok(stream)) => self.start(Socket::Tls(Box::new(stream))),
                            Ok(Err(err)) => log::debug!("stomp tcp tls handshake failed peer={peer} error={err}"),
                            Err(_) => log::debug!(
                                "stomp tcp tls handshake timed out peer={peer} timeout_ms={}",
                                TLS_HANDSHAKE_TIMEOUT.as_millis()
                            ),
                        }
                    });
                }
            },
            Err(err) => log::warn!("stomp tcp hand-over failed peer={peer} error={err}"),
        });
        if !started {
            log::warn!("stomp tcp session thread gone peer={peer}");
        }
    }

    fn start(self, socket: Socket) {
        let Handover {
            peer,
            slot,
            shared,
            stop,
            ..
        } = self;
        TcpSession::create(|ctx| TcpSession::new(socket, peer, slot, shared, stop, ctx));
    }
}
