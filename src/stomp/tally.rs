//! What every STOMP session of a server did, counted for `/metrics`: frames received and sent
//! by command (heart-beats apart), and sessions by the transport under them (WebSocket, SockJS,
//! plain TCP), open now and connected since the start.
//!
//! Owns counting only. A session counts its own frames as it decodes and pushes them (the
//! [`Session`](super::Session) holds the tally through its config); the transport glue counts
//! a session once it is connected and again when it ends. Counters are sharded by thread, each
//! shard on its own cache line, so a fan-out on every worker thread at once does not make them
//! fight over one line; a scrape adds the shards up.

use std::cell::Cell;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering::Relaxed};

use super::frame::Command;

/// Commands STOMP does not have are counted together after the known ones.
const OTHER: usize = Command::KNOWN.len();
const HEART_BEAT: usize = OTHER + 1;
const KINDS: usize = HEART_BEAT + 1;
/// Shards of the frame counters; threads beyond this share them.
const SHARDS: usize = 8;

/// What carries a session's frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    WebSocket,
    SockJs,
    Tcp,
}

impl Transport {
    pub const ALL: [Transport; 3] = [Transport::WebSocket, Transport::SockJs, Transport::Tcp];

    /// The `transport` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::WebSocket => "websocket",
            Transport::SockJs => "sockjs",
            Transport::Tcp => "tcp",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A frame as counted: a command, or a heart-beat (a bare end of line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted<'a> {
    Frame(&'a Command),
    HeartBeat,
}

impl Counted<'_> {
    fn index(self) -> usize {
        match self {
            Counted::HeartBeat => HEART_BEAT,
            Counted::Frame(command) => command.known_index().unwrap_or(OTHER),
        }
    }
}

#[repr(align(128))]
#[derive(Default)]
struct Shard {
    received: [AtomicU64; KINDS],
    sent: [AtomicU64; KINDS],
}

/// The server's counts; one, shared by every session.
pub struct StompTally {
    shards: [Shard; SHARDS],
    open: [AtomicI64; 3],
    connected: [AtomicU64; 3],
}

impl Default for StompTally {
    fn default() -> Self {
        StompTally {
            shards: std::array::from_fn(|_| Shard::default()),
            open: Default::default(),
            connected: Default::default(),
        }
    }
}

impl std::fmt::Debug for StompTally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StompTally").finish_non_exhaustive()
    }
}

/// Read once: by command, then `other`; heart-beats apart.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FrameCounts {
    pub by_command: Vec<(&'static str, u64)>,
    pub heart_beats: u64,
}

/// The figures of a [`StompTally`] at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TallySnapshot {
    pub received: FrameCounts,
    pub sent: FrameCounts,
    /// `(transport, open now, connected since the start)`.
    pub sessions: Vec<(Transport, i64, u64)>,
}

fn shard_index() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static MINE: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    MINE.with(|mine| {
        if mine.get() == usize::MAX {
            mine.set(NEXT.fetch_add(1, Relaxed) % SHARDS);
        }
        mine.get()
    })
}

impl StompTally {
    fn shard(&self) -> &Shard {
        &self.shards[shard_index()]
    }

    /// A session decoded one frame (or heart-beat) from its client.
    pub fn received(&self, what: Counted<'_>) {
        self.shard().received[what.index()].fetch_add(1, Relaxed);
    }

    /// A session queued one frame (or heart-beat) for its client.
    pub fn sent(&self, what: Counted<'_>) {
        self.shard().sent[what.index()].fetch_add(1, Relaxed);
    }

    /// A session over `transport` is connected (its CONNECT accepted).
    pub fn opened(&self, transport: Transport) {
        self.open[transport.index()].fetch_add(1, Relaxed);
        self.connected[transport.index()].fetch_add(1, Relaxed);
    }

    /// A session [`opened`](Self::opened) over `transport` ended.
    pub fn closed(&self, transport: Transport) {
        self.open[transport.index()].fetch_sub(1, Relaxed);
    }

    pub fn snapshot(&self) -> TallySnapshot {
        let sum = |pick: fn(&Shard) -> &[AtomicU64; KINDS], kind: usize| -> u64 {
            self.shards.iter().map(|s| pick(s)[kind].load(Relaxed)).sum()
        };
        let counts = |pick: fn(&Shard) -> &[AtomicU64; KINDS]| FrameCounts {
            by_command: Command::KNOWN
                .into_iter()
                .chain(["other"])
                .enumerate()
                .map(|(i, name)| (name, sum(pick, i)))
                .collect(),
            heart_beats: sum(pick, HEART_BEAT),
        };
        let received = counts(|s| &s.received);
        let sent = counts(|s| &s.sent);
        let sessions = Transport::ALL
            .iter()
            .map(|c| {
                (
                    *c,
                    self.open[c.index()].load(Relaxed),
                    self.connected[c.index()].load(Relaxed),
                )
            })
            .collect();
        TallySnapshot {
            received,
            sent,
            sessions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(counts: &FrameCounts, name: &str) -> u64 {
        counts
            .by_command
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(0, |(_, v)| *v)
    }

    #[test]
    fn frames_are_counted_by_command_and_direction_and_others_apart() {
        let tally = StompTally::default();
        tally.received(Counted::Frame(&Command::Connect));
        tally.received(Counted::Frame(&Command::Send));
        tally.received(Counted::Frame(&Command::Send));
        tally.received(Counted::Frame(&Command::Unknown("FOO".into())));
        tally.received(Counted::HeartBeat);
        tally.sent(Counted::Frame(&Command::Connected));
        tally.sent(Counted::HeartBeat);
        tally.sent(Counted::HeartBeat);
        let snap = tally.snapshot();
        assert_eq!(count(&snap.received, "SEND"), 2);
        assert_eq!(count(&snap.received, "CONNECT"), 1);
        assert_eq!(count(&snap.received, "other"), 1);
        assert_eq!(count(&snap.received, "CONNECTED"), 0);
        assert_eq!(count(&snap.sent, "CONNECTED"), 1);
        assert_eq!((snap.received.heart_beats, snap.sent.heart_beats), (1, 2));
        assert_eq!(snap.received.by_command.len(), Command::KNOWN.len() + 1);
    }

    #[test]
    fn counts_from_several_threads_add_up() {
        let tally = std::sync::Arc::new(StompTally::default());
        let threads: Vec<_> = (0..12)
            .map(|_| {
                let tally = tally.clone();
                std::thread::spawn(move || {
                    for _ in 0..1_000 {
                        tally.sent(Counted::Frame(&Command::Message));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(count(&tally.snapshot().sent, "MESSAGE"), 12_000);
    }

    #[test]
    fn sessions_are_counted_open_and_connected_per_transport() {
        let tally = StompTally::default();
        tally.opened(Transport::WebSocket);
        tally.opened(Transport::WebSocket);
        tally.opened(Transport::Tcp);
        tally.closed(Transport::WebSocket);
        let snap = tally.snapshot();
        assert_eq!(
            snap.sessions,
            vec![
                (Transport::WebSocket, 1, 2),
                (Transport::SockJs, 0, 0),
                (Transport::Tcp, 1, 1)
            ]
        );
    }
}
