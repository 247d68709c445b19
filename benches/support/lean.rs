//! Lean subscribers: the cheapest honest readers of a fan-out, for measuring the server rather
//! than the load generator.
//!
//! The benches' ordinary clients are one tokio task per session over tokio-tungstenite; at
//! 10,000 sessions on the server's own two cores they cost about as much CPU per delivery as the
//! server does, and every microsecond they take is one the server waits for a core. In the
//! field the subscribers are on other machines. These readers stand in for that: a few threads,
//! each one epoll set (`mio`) over its share of the connections, reading whatever is ready.
//! They still do a subscriber's whole job: every WebSocket frame header is parsed, every STOMP
//! frame is decoded by the server's own decoder, and a delivery counts only once its `MESSAGE`
//! frame is whole, with its `x-sent-us` header read.
//!
//! Only reading: they never write (the sessions negotiate no heart-beats), so a connection is
//! handed over once its subscription is confirmed.

use std::io::{ErrorKind, Read as _};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use bytes::{Buf as _, BytesMut};
use kwanje::stomp::{Command, Decoder, Inbound, Limits, Version};
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

/// How long a reader waits with nothing ready before it gives up on the run.
const STALL: Duration = Duration::from_secs(30);
/// Bytes read at once from one connection.
const READ_CHUNK: usize = 16 * 1024;

/// What the bytes on a connection are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// Fixed-size messages of this many bytes and no protocol (the machine's floor).
    Raw(usize),
    /// STOMP frames, one per WebSocket message (`/ws`; server frames are unmasked).
    WebSocket,
    /// STOMP frames straight on the socket (`KWANJE_STOMP_TCP`).
    Stomp,
}

/// One arrival: when it came (µs since the run's epoch) and, for STOMP, its `x-sent-us`.
#[derive(Debug, Clone, Copy)]
pub struct Arrival {
    pub at_us: u64,
    pub sent_us: Option<u64>,
}

struct Conn {
    stream: TcpStream,
    /// Bytes of a WebSocket frame (or raw message) not yet whole.
    wire: BytesMut,
    /// STOMP bytes not yet a whole frame.
    stomp: BytesMut,
    decoder: Decoder,
    arrivals: Vec<Arrival>,
    raw_bytes: usize,
}

impl Conn {
    fn new(stream: TcpStream, rounds: usize) -> Conn {
        let mut decoder = Decoder::new(Limits::default());
        decoder.set_version(Version::V1_2);
        Conn {
            stream,
            wire: BytesMut::new(),
            stomp: BytesMut::new(),
            decoder,
            arrivals: Vec::with_capacity(rounds),
            raw_bytes: 0,
        }
    }

    /// Takes what `data` completes; returns how many deliveries it completed.
    fn feed(&mut self, data: &[u8], wire: Wire, epoch: Instant) -> anyhow::Result<usize> {
        let before = self.arrivals.len();
        match wire {
            Wire::Raw(size) => {
                self.raw_bytes += data.len();
                while self.raw_bytes >= size * (self.arrivals.len() + 1) {
                    self.arrivals.push(Arrival {
                        at_us: micros_since(epoch),
                        sent_us: None,
                    });
                }
            }
            Wire::Stomp => {
                self.stomp.extend_from_slice(data);
                self.decode_stomp(epoch)?;
            }
            Wire::WebSocket => {
                self.wire.extend_from_slice(data);
                while let Some(payload) = take_ws_frame(&mut self.wire)? {
                    self.stomp.extend_from_slice(&payload);
                    self.decode_stomp(epoch)?;
                }
            }
        }
        Ok(self.arrivals.len() - before)
    }

    fn decode_stomp(&mut self, epoch: Instant) -> anyhow::Result<()> {
        while let Some(inbound) = self.decoder.decode(&mut self.stomp)? {
            let Inbound::Frame(frame) = inbound else { continue };
            if frame.command != Command::Message {
                bail!("expected MESSAGE, got {frame:?}");
            }
            let sent: u64 = frame.header("x-sent-us").context("x-sent-us")?.parse()?;
            self.arrivals.push(Arrival {
                at_us: micros_since(epoch),
                sent_us: Some(sent),
            });
        }
        Ok(())
    }
}

/// Splits one whole server-to-client WebSocket frame off `buf` and returns its payload, or
/// `None` while it is not all there. Data frames only: this reader expects nothing else.
fn take_ws_frame(buf: &mut BytesMut) -> anyhow::Result<Option<BytesMut>> {
    if buf.len() < 2 {
        return Ok(None);
    }
    let (opcode, masked, len7) = (buf[0] & 0x0f, buf[1] & 0x80 != 0, buf[1] & 0x7f);
    if masked {
        bail!("a server frame must not be masked");
    }
    let (header, len) = match len7 {
        126 if buf.len() >= 4 => (4, usize::from(u16::from_be_bytes([buf[2], buf[3]]))),
        127 if buf.len() >= 10 => (10, usize::try_from(u64::from_be_bytes(buf[2..10].try_into()?))?),
        126 | 127 => return Ok(None),
        n => (2, usize::from(n)),
    };
    if buf.len() < header + len {
        return Ok(None);
    }
    if !matches!(opcode, 0x1 | 0x2) {
        bail!("unexpected WebSocket opcode {opcode:#x}");
    }
    let mut frame = buf.split_to(header + len);
    frame.advance(header);
    Ok(Some(frame))
}

fn micros_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// Reader threads over a set of connections, each expecting `rounds` deliveries.
pub struct Readers {
    threads: Vec<std::thread::JoinHandle<anyhow::Result<Vec<Vec<Arrival>>>>>,
    /// Deliveries completed so far, over every connection.
    pub delivered: Arc<AtomicUsize>,
}

impl Readers {
    /// Starts `threads` readers, the connections dealt out in turn.
    pub fn start(
        streams: Vec<std::net::TcpStream>,
        threads: usize,
        wire: Wire,
        rounds: usize,
        epoch: Instant,
    ) -> anyhow::Result<Readers> {
        let mut shares: Vec<Vec<std::net::TcpStream>> = (0..threads).map(|_| Vec::new()).collect();
        for (n, stream) in streams.into_iter().enumerate() {
            stream.set_nonblocking(true)?;
            shares[n % threads].push(stream);
        }
        let delivered = Arc::new(AtomicUsize::new(0));
        let threads = shares
            .into_iter()
            .map(|share| {
                let delivered = delivered.clone();
                std::thread::Builder::new()
                    .name("lean-reader".into())
                    .spawn(move || read_all(share, wire, rounds, epoch, &delivered))
            })
            .collect::<std::io::Result<_>>()?;
        Ok(Readers { threads, delivered })
    }

    /// Waits for every reader; each connection's arrivals, in no particular connection order.
    pub fn join(self) -> anyhow::Result<Vec<Vec<Arrival>>> {
        let mut all = Vec::new();
        for thread in self.threads {
            let arrivals = thread.join().map_err(|_| anyhow::anyhow!("a lean reader panicked"))??;
            all.extend(arrivals);
        }
        Ok(all)
    }
}

fn read_all(
    share: Vec<std::net::TcpStream>,
    wire: Wire,
    rounds: usize,
    epoch: Instant,
    delivered: &AtomicUsize,
) -> anyhow::Result<Vec<Vec<Arrival>>> {
    let mut poll = Poll::new()?;
    let mut conns = Vec::with_capacity(share.len());
    for (n, stream) in share.into_iter().enumerate() {
        let mut stream = TcpStream::from_std(stream);
        poll.registry().register(&mut stream, Token(n), Interest::READABLE)?;
        conns.push(Conn::new(stream, rounds));
    }
    let mut events = Events::with_capacity(1024);
    let mut chunk = vec![0u8; READ_CHUNK];
    let mut complete = conns.iter().filter(|c| c.arrivals.len() >= rounds).count();
    while complete < conns.len() {
        poll.poll(&mut events, Some(STALL))?;
        if events.is_empty() {
            bail!(
                "lean reader: nothing arrived for {STALL:?} ({complete} of {} complete)",
                conns.len()
            );
        }
        for event in events.iter() {
            let conn = &mut conns[event.token().0];
            let was_complete = conn.arrivals.len() >= rounds;
            // Edge-triggered: read until the socket has nothing more.
            loop {
                match conn.stream.read(&mut chunk) {
                    Ok(0) => bail!("lean reader: connection closed"),
                    Ok(got) => {
                        let done = conn.feed(&chunk[..got], wire, epoch)?;
                        delivered.fetch_add(done, Ordering::Relaxed);
                    }
                    Err(err) if err.kind() == ErrorKind::WouldBlock => break,
                    Err(err) if err.kind() == ErrorKind::Interrupted => {}
                    Err(err) => return Err(err.into()),
                }
            }
            if !was_complete && conn.arrivals.len() >= rounds {
                complete += 1;
            }
        }
    }
    Ok(conns.into_iter().map(|c| c.arrivals).collect())
}
