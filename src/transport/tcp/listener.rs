//! The plain TCP STOMP listener: accepts connections and starts a [`TcpSession`] for each.
//!
//! It accepts on the thread that started the server and hands connections to its session
//! threads in turn: the socket crosses as a std socket and each arbiter registers it with its own
//! reactor, so sessions spread over cores as WebSocket sessions do over the HTTP workers.
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

use super::session::TcpSession;
use crate::limit::{connection_refusal, OverLimit, Slot};
use crate::stomp::{encode_to_bytes, Command, Frame, Version};
use crate::transport::driver::Shared;

/// Pause after a failed accept (out of file descriptors, say) before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// How long a refused connection is given to read its ERROR and close.
const REFUSE_LINGER: Duration = Duration::from_secs(2);

/// The plain TCP STOMP listener and its session threads.
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
    pub async fn start(
        addr: &str,
        shared: Arc<Shared>,
        threads: usize,
        keepalive: Option<Duration>,
    ) -> io::Result<Listener> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let threads: Vec<Arbiter> = (0..threads.max(1)).map(|_| Arbiter::new()).collect();
        let (stop, stopped) = watch::channel(false);
        let handles = threads.iter().map(Arbiter::handle).collect();
        actix::spawn(accept(listener, shared, handles, keepalive, stopped));
        log::info!("stomp tcp listening addr={addr} threads={}", threads.len());
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
                        actix::spawn(refuse(stream, peer, over));
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
                hand_over(stream, peer, slot, thread, shared.clone(), stop.clone());
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

/// Starts a session for `stream` on `thread`.
fn hand_over(
    stream: TcpStream,
    peer: SocketAddr,
    slot: Slot<IpAddr>,
    thread: &ArbiterHandle,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
) {
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
        Ok(stream) => {
            TcpSession::create(|ctx| TcpSession::new(stream, peer, slot, shared.clone(), stop, ctx));
        }
        Err(err) => log::warn!("stomp tcp hand-over failed peer={peer} error={err}"),
    });
    if !started {
        log::warn!("stomp tcp session thread gone peer={peer}");
    }
}
