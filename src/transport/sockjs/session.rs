//! One SockJS session over HTTP, as a state machine: what each receiving request gets, and when
//! the session is gone.
//!
//! Over HTTP a session is a series of requests: receiving ones (`xhr` polls, `xhr_streaming`,
//! `eventsource`) that carry frames to the client, and `xhr_send` requests that carry its
//! messages in (those go straight to the STOMP driver and do not touch this core). This core
//! owns:
//!
//! - the phase: new (nothing sent), open (`o` sent), closed (the close frame is remembered and
//!   every later receiving request gets it, until the session expires);
//! - the outbound queue: messages waiting for a receiving request, with their byte count (the
//!   STOMP driver's slow-consumer limit reads it, so a browser that stops polling cannot make
//!   the server hold more than the limit);
//! - the one receiving request allowed at a time (a second gets `c[2010,...]` and ends at once;
//!   the session goes on), and when each ends: a poll after its first frames, a streaming
//!   response past the byte limit or when the session closes;
//! - timing: a heartbeat frame to a receiving request that carried nothing for a while, and the
//!   disconnect delay: with no receiving request for that long the session is gone.
//!
//! A receiving request that the client abandons mid-way (the connection dropped) closes the
//! session with `c[1002,"Connection interrupted"]`: frames it held may be lost, so the STOMP
//! session cannot go on as if nothing happened.
//!
//! Pure: time comes in as `now`; the actor carries out what the calls return.

use std::collections::VecDeque;

use super::frame::{self, Carrier, Close};
use super::settings::Settings;
use crate::time::Millis;

/// Which receiving request a result is for: the actor may still hold a request the core has
/// already let go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReceiverId(pub u64);

/// Bytes for a receiving request's response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emit {
    pub receiver: ReceiverId,
    /// Framed as its carrier frames them; may be empty (a poll waiting for something to say).
    pub body: String,
    /// The response ends after `body`.
    pub end: bool,
}

/// The answer to a new receiving request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attach {
    /// It is now the session's receiving request.
    Accepted(Emit),
    /// Another one is open: answer with `body` (a 2010 close frame) and end; the session is
    /// untouched.
    Refused { body: String },
}

/// What a timer firing means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tick {
    Nothing,
    Emit(Emit),
    /// No receiving request for the disconnect delay: the session is gone.
    Expired,
}

/// What a receiving request's end means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detach {
    /// Not the current receiving request (the core had already ended it).
    Stale,
    /// It ended; the disconnect delay runs.
    Detached,
    /// It was cut off mid-way: the session is now closed.
    Interrupted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    New,
    Open,
    Closed(Close),
}

#[derive(Debug, Clone, Copy)]
struct Receiver {
    id: ReceiverId,
    carrier: Carrier,
    /// Frame bytes this response carried (its prelude not counted).
    sent: usize,
}

#[derive(Debug)]
pub struct Session {
    settings: Settings,
    phase: Phase,
    queue: VecDeque<String>,
    queued_bytes: usize,
    receiver: Option<Receiver>,
    last_receiver: u64,
    /// When the last receiving request ended (or the session began); read while there is none.
    idle_since: Millis,
    /// When the receiving request gets a heartbeat frame; read while there is one.
    heartbeat_due: Millis,
    /// The open frame went out.
    opened: bool,
}

impl Session {
    pub fn new(settings: Settings, now: Millis) -> Session {
        Session {
            settings,
            phase: Phase::New,
            queue: VecDeque::new(),
            queued_bytes: 0,
            receiver: None,
            last_receiver: 0,
            idle_since: now,
            heartbeat_due: now,
            opened: false,
        }
    }

    /// A receiving request arrived.
    pub fn attach(&mut self, carrier: Carrier, now: Millis) -> Attach {
        if self.receiver.is_some() {
            let mut body = carrier.prelude();
            carrier.push_frame(&Close::ANOTHER_CONNECTION.frame(), &mut body);
            return Attach::Refused { body };
        }
        self.last_receiver += 1;
        let receiver = Receiver {
            id: ReceiverId(self.last_receiver),
            carrier,
            sent: 0,
        };
        // The open frame goes first, even to a session the server closed at once.
        let mut emit = if !self.opened {
            self.opened = true;
            if self.phase == Phase::New {
                self.phase = Phase::Open;
            }
            let mut body = String::new();
            carrier.push_frame(frame::OPEN, &mut body);
            self.emit(receiver, body, false, now)
        } else {
            self.receiver = Some(receiver);
            self.heartbeat_due = now + self.settings.heartbeat;
            self.flush(now).unwrap_or(Emit {
                receiver: receiver.id,
                body: String::new(),
                end: false,
            })
        };
        emit.body.insert_str(0, &carrier.prelude());
        Attach::Accepted(emit)
    }

    /// Queues one message for the client (one STOMP frame). Dropped once the session closed.
    pub fn push(&mut self, message: String) {
        if matches!(self.phase, Phase::Closed(_)) {
            return;
        }
        self.queued_bytes += message.len();
        self.queue.push_back(message);
    }

    /// Closes the session: what is queued still goes out, then `close`, which every later
    /// receiving request gets too.
    pub fn close(&mut self, close: Close) {
        if !matches!(self.phase, Phase::Closed(_)) {
            self.phase = Phase::Closed(close);
        }
    }

    /// What the receiving request gets now: the queued messages as one frame, then the close
    /// frame once closed. `None` when there is no receiving request or nothing to send.
    pub fn flush(&mut self, now: Millis) -> Option<Emit> {
        let receiver = self.receiver?;
        let closed = match self.phase {
            Phase::Closed(close) => Some(close),
            Phase::New | Phase::Open => None,
        };
        if self.queue.is_empty() && closed.is_none() {
            return None;
        }
        self.receiver = None;
        let mut body = String::new();
        if !self.queue.is_empty() {
            let messages = frame::messages(self.queue.iter().map(String::as_str));
            self.queue.clear();
            self.queued_bytes = 0;
            receiver.carrier.push_frame(&messages, &mut body);
        }
        if let Some(close) = closed {
            receiver.carrier.push_frame(&close.frame(), &mut body);
        }
        Some(self.emit(receiver, body, closed.is_some(), now))
    }

    /// A receiving request ended: `aborted` when its client went away before the response ended.
    pub fn detach(&mut self, id: ReceiverId, aborted: bool, now: Millis) -> Detach {
        if self.receiver.is_none_or(|r| r.id != id) {
            return Detach::Stale;
        }
        self.receiver = None;
        self.idle_since = now;
        if aborted && self.phase == Phase::Open {
            self.phase = Phase::Closed(Close::INTERRUPTED);
            return Detach::Interrupted;
        }
        Detach::Detached
    }

    /// The timer armed for [`Session::next_deadline`] fired.
    pub fn on_tick(&mut self, now: Millis) -> Tick {
        match self.receiver {
            None if now >= self.idle_since + self.settings.disconnect_delay => Tick::Expired,
            Some(receiver) if now >= self.heartbeat_due => {
                self.receiver = None;
                let mut body = String::new();
                receiver.carrier.push_frame(frame::HEARTBEAT, &mut body);
                Tick::Emit(self.emit(receiver, body, false, now))
            }
            None | Some(_) => Tick::Nothing,
        }
    }

    /// When [`Session::on_tick`] has something to do: the heartbeat while a request receives,
    /// the expiry while none does.
    pub fn next_deadline(&self) -> Millis {
        match self.receiver {
            Some(_) => self.heartbeat_due,
            None => self.idle_since + self.settings.disconnect_delay,
        }
    }

    /// Bytes of messages waiting for a receiving request.
    pub fn pending(&self) -> usize {
        self.queued_bytes
    }

    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed(_))
    }

    /// The close frame the session remembers, once closed.
    pub fn closed_with(&self) -> Option<Close> {
        match self.phase {
            Phase::Closed(close) => Some(close),
            Phase::New | Phase::Open => None,
        }
    }

    /// Whether a request is receiving.
    pub fn is_receiving(&self) -> bool {
        self.receiver.is_some()
    }

    /// Sends `body` to `receiver` (taken out of `self.receiver`) and keeps it unless its
    /// response ends here: a poll after any frame, a streaming response past the byte limit,
    /// any response once the session closed.
    fn emit(&mut self, mut receiver: Receiver, body: String, closed: bool, now: Millis) -> Emit {
        receiver.sent += body.len();
        let end = closed || receiver.carrier.ends_after_frame() || receiver.sent >= self.settings.stream_limit;
        if end {
            self.idle_since = now;
        } else {
            self.receiver = Some(receiver);
            self.heartbeat_due = now + self.settings.heartbeat;
        }
        Emit {
            receiver: receiver.id,
            body,
            end,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const T0: Millis = Millis(1_000_000);

    fn settings() -> Settings {
        Settings {
            heartbeat: Duration::from_secs(25),
            disconnect_delay: Duration::from_secs(5),
            stream_limit: 4096,
        }
    }

    fn at(ms: i64) -> Millis {
        Millis(T0.0 + ms)
    }

    fn accepted(attach: Attach) -> Emit {
        match attach {
            Attach::Accepted(emit) => emit,
            Attach::Refused { body } => panic!("refused: {body}"),
        }
    }

    /// A session whose first poll got `o`.
    fn opened() -> Session {
        let mut session = Session::new(settings(), T0);
        let emit = accepted(session.attach(Carrier::Polling, T0));
        assert_eq!((emit.body.as_str(), emit.end), ("o\n", true));
        session
    }

    #[test]
    fn a_session_closed_before_its_first_poll_still_opens_first() {
        let mut session = Session::new(settings(), T0);
        session.close(Close::GO_AWAY);
        let emit = accepted(session.attach(Carrier::Polling, T0));
        assert_eq!((emit.body.as_str(), emit.end), ("o\n", true));
        let emit = accepted(session.attach(Carrier::Polling, at(1)));
        assert_eq!(emit.body, "c[3000,\"Go away!\"]\n");
    }

    #[test]
    fn the_first_receiving_request_gets_the_open_frame() {
        let mut session = Session::new(settings(), T0);
        let emit = accepted(session.attach(Carrier::Streaming, T0));
        assert_eq!(emit.body.len(), 2049 + 2);
        assert!(emit.body.ends_with("hh\no\n"));
        assert!(!emit.end, "a streaming response stays open");
        assert!(session.is_receiving());

        let mut session = Session::new(settings(), T0);
        let emit = accepted(session.attach(Carrier::EventSource, T0));
        assert_eq!((emit.body.as_str(), emit.end), ("\r\ndata: o\r\n\r\n", false));
    }

    #[test]
    fn a_poll_gets_what_waits_at_once_as_one_frame() {
        let mut session = opened();
        session.push("x".into());
        session.push("y\n\0".into());
        assert_eq!(session.pending(), 4);
        let emit = accepted(session.attach(Carrier::Polling, at(10)));
        assert_eq!((emit.body.as_str(), emit.end), ("a[\"x\",\"y\\n\\u0000\"]\n", true));
        assert_eq!(session.pending(), 0);
        assert!(!session.is_receiving());
    }

    #[test]
    fn a_poll_with_nothing_to_say_waits_and_ends_with_the_next_frame() {
        let mut session = opened();
        let emit = accepted(session.attach(Carrier::Polling, at(10)));
        assert_eq!((emit.body.as_str(), emit.end), ("", false));
        assert_eq!(session.flush(at(20)), None, "nothing queued");
        session.push("m".into());
        let emit = session.flush(at(30)).unwrap();
        assert_eq!(
            (emit.receiver, emit.body.as_str(), emit.end),
            (ReceiverId(2), "a[\"m\"]\n", true)
        );
        assert_eq!(session.flush(at(40)), None, "no receiving request");
    }

    #[test]
    fn a_second_receiving_request_gets_2010_and_the_first_goes_on() {
        let mut session = opened();
        let first = accepted(session.attach(Carrier::Polling, at(10)));
        let refused = session.attach(Carrier::Polling, at(20));
        assert_eq!(
            refused,
            Attach::Refused {
                body: "c[2010,\"Another connection still open\"]\n".into()
            }
        );
        match session.attach(Carrier::Streaming, at(20)) {
            Attach::Refused { body } => assert!(body.starts_with("hhh") && body.ends_with("open\"]\n")),
            other => panic!("{other:?}"),
        }
        session.push("m".into());
        let emit = session.flush(at(30)).unwrap();
        assert_eq!((emit.receiver, emit.end), (first.receiver, true));
        assert!(!session.is_closed());
    }

    #[test]
    fn a_streaming_response_carries_frames_until_its_byte_limit() {
        let mut session = Session::new(settings(), T0);
        let open = accepted(session.attach(Carrier::Streaming, T0));
        let message = "x".repeat(128);
        let mut sent = 2; // "o\n"; the prelude does not count
        for i in 1..=31 {
            session.push(message.clone());
            let emit = session.flush(at(i)).unwrap();
            assert_eq!(emit.receiver, open.receiver);
            assert_eq!(emit.body, format!("a[\"{message}\"]\n"));
            sent += emit.body.len();
            assert_eq!(emit.end, sent >= 4096, "message {i}, {sent} bytes");
        }
        assert!(!session.is_receiving(), "ended after 31 messages");
        // The client opens the next one, which gets what came meanwhile.
        session.push("later".into());
        let next = accepted(session.attach(Carrier::Streaming, at(40)));
        assert!(next.body.ends_with("\na[\"later\"]\n") && !next.end);
    }

    #[test]
    fn closing_sends_what_waits_then_the_close_frame_to_every_later_request() {
        let mut session = Session::new(settings(), T0);
        accepted(session.attach(Carrier::Streaming, T0));
        session.push("ERROR\n\n\0".into());
        session.close(Close::GO_AWAY);
        session.push("dropped".into());
        let emit = session.flush(at(1)).unwrap();
        assert_eq!(emit.body, "a[\"ERROR\\n\\n\\u0000\"]\nc[3000,\"Go away!\"]\n");
        assert!(emit.end && session.is_closed());
        for carrier in [Carrier::Polling, Carrier::Streaming, Carrier::Polling] {
            let emit = accepted(session.attach(carrier, at(2)));
            assert!(emit.body.ends_with("c[3000,\"Go away!\"]\n") && emit.end, "{carrier:?}");
        }
        session.close(Close::NORMAL);
        assert_eq!(
            session.closed_with(),
            Some(Close::GO_AWAY),
            "the first close is remembered"
        );
    }

    #[test]
    fn a_poll_after_close_gets_the_last_messages_and_then_the_close_frame() {
        let mut session = opened();
        session.push("ERROR".into());
        session.close(Close::POLICY);
        let emit = accepted(session.attach(Carrier::Polling, at(1)));
        assert_eq!(emit.body, "a[\"ERROR\"]\nc[1008,\"Policy violation\"]\n");
        let emit = accepted(session.attach(Carrier::Polling, at(2)));
        assert_eq!(emit.body, "c[1008,\"Policy violation\"]\n");
    }

    #[test]
    fn a_receiving_request_that_carried_nothing_for_a_while_gets_a_heartbeat() {
        let mut session = Session::new(settings(), T0);
        accepted(session.attach(Carrier::EventSource, T0));
        assert_eq!(session.next_deadline(), at(25_000));
        assert_eq!(session.on_tick(at(24_999)), Tick::Nothing);
        // Something sent in between moves the heartbeat.
        session.push("m".into());
        session.flush(at(10_000)).unwrap();
        assert_eq!(session.next_deadline(), at(35_000));
        assert_eq!(session.on_tick(at(25_000)), Tick::Nothing);
        match session.on_tick(at(35_000)) {
            Tick::Emit(emit) => assert_eq!((emit.body.as_str(), emit.end), ("data: h\r\n\r\n", false)),
            other => panic!("{other:?}"),
        }
        assert_eq!(session.next_deadline(), at(60_000));

        // A waiting poll ends with its heartbeat.
        let mut session = opened();
        accepted(session.attach(Carrier::Polling, at(1)));
        match session.on_tick(at(25_001)) {
            Tick::Emit(emit) => assert_eq!((emit.body.as_str(), emit.end), ("h\n", true)),
            other => panic!("{other:?}"),
        }
        assert!(!session.is_receiving());
    }

    #[test]
    fn a_session_without_a_receiving_request_for_the_disconnect_delay_is_gone() {
        let mut session = opened();
        assert_eq!(session.next_deadline(), at(5_000));
        assert_eq!(session.on_tick(at(4_999)), Tick::Nothing);
        // Polls keep it alive; the delay counts from the end of the last one.
        let poll = accepted(session.attach(Carrier::Polling, at(4_000)));
        assert_eq!(session.on_tick(at(9_500)), Tick::Nothing, "a poll is waiting");
        session.push("m".into());
        assert!(session.flush(at(9_600)).unwrap().end);
        assert_eq!(session.detach(poll.receiver, false, at(9_601)), Detach::Stale);
        assert_eq!(session.next_deadline(), at(14_600));
        assert_eq!(session.on_tick(at(14_599)), Tick::Nothing);
        assert_eq!(session.on_tick(at(14_600)), Tick::Expired);

        let never_polled = Session::new(settings(), T0);
        assert_eq!(never_polled.next_deadline(), at(5_000));
    }

    #[test]
    fn a_receiving_request_cut_off_mid_way_closes_the_session() {
        let mut session = opened();
        let stream = accepted(session.attach(Carrier::Streaming, at(1)));
        assert_eq!(session.detach(ReceiverId(99), true, at(2)), Detach::Stale);
        assert_eq!(session.detach(stream.receiver, true, at(2)), Detach::Interrupted);
        assert_eq!(session.closed_with(), Some(Close::INTERRUPTED));
        let emit = accepted(session.attach(Carrier::Polling, at(3)));
        assert_eq!(emit.body, "c[1002,\"Connection interrupted\"]\n");
        assert_eq!(session.next_deadline(), at(5_003));

        // One that ends cleanly (the client read it all) only starts the disconnect delay.
        let mut session = opened();
        let stream = accepted(session.attach(Carrier::Streaming, at(1)));
        assert_eq!(session.detach(stream.receiver, false, at(2)), Detach::Detached);
        assert!(!session.is_closed());
        assert_eq!(session.next_deadline(), at(5_002));
    }
}
