//! Heart-beating: the `heart-beat` header, its negotiation, and the [`Liveness`] clock that says
//! when the server owes the client a beat and when the client has been silent too long.
//!
//! Owns only arithmetic on times it is handed; it must not read a clock or send anything. STOMP 1.0
//! has no heart-beats; the session passes [`Negotiated::NONE`] for it.

use std::fmt;
use std::time::Duration;

use crate::time::Millis;

/// How many negotiated incoming intervals a client may stay silent before the session closes it.
/// Above 1.0 so network jitter and a client's timer drift do not cost a session.
pub const INCOMING_GRACE_FACTOR: f64 = 2.0;
/// The server's default `heart-beat` (`sx,sy`): it can send every 10 s and wants to hear every 10
/// s.
pub const DEFAULT_SERVER_HEART_BEAT: HeartBeat = HeartBeat {
    send_ms: 10_000,
    receive_ms: 10_000,
};

/// One side's `heart-beat` header: the smallest interval at which it can send beats, and the
/// interval at which it wants to receive them, in milliseconds; 0 means "cannot" / "does not want".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HeartBeat {
    pub send_ms: u64,
    pub receive_ms: u64,
}

impl HeartBeat {
    pub const NONE: HeartBeat = HeartBeat {
        send_ms: 0,
        receive_ms: 0,
    };

    /// Parses `x,y` (two non-negative integers; spaces around each are tolerated).
    pub fn parse(text: &str) -> Option<HeartBeat> {
        let (send, receive) = text.split_once(',')?;
        let number = |part: &str| {
            let part = part.trim();
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            part.parse::<u64>().ok()
        };
        Some(HeartBeat {
            send_ms: number(send)?,
            receive_ms: number(receive)?,
        })
    }
}

impl fmt::Display for HeartBeat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{}", self.send_ms, self.receive_ms)
    }
}

/// The agreed intervals, from the server's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Negotiated {
    /// How often the server sends a beat when otherwise idle.
    pub outgoing: Option<Duration>,
    /// How often the client promised to send something.
    pub incoming: Option<Duration>,
}

impl Negotiated {
    pub const NONE: Negotiated = Negotiated {
        outgoing: None,
        incoming: None,
    };
}

/// The lowest interval, in ms, a client may ask for in either direction: a client asking
/// less gets this.
pub const DEFAULT_HEART_BEAT_FLOOR_MS: u64 = 1_000;

/// The server's `heart-beat` answer to a client's: the client's own wish in each direction,
/// raised to `floor_ms`, as RabbitMQ answers (a gate PC that can beat every second may; the
/// server's 10 s would outlast the read timeout of a client that asked for 1 s). Where the
/// client says 0 the answer carries the server's `offer` (the spec's "no preference" side; the
/// negotiation is off there anyway). Where the offer is 0 the server does not beat or check in
/// that direction, whatever the client asks.
pub fn answer(client: HeartBeat, offer: HeartBeat, floor_ms: u64) -> HeartBeat {
    let side = |wish: u64, ours: u64| match (wish, ours) {
        (_, 0) => 0,
        (0, ours) => ours,
        (wish, _) => wish.max(floor_ms),
    };
    HeartBeat {
        send_ms: side(client.receive_ms, offer.send_ms),
        receive_ms: side(client.send_ms, offer.receive_ms),
    }
}

/// The STOMP rule: outgoing is max(sx, cy) and incoming is max(cx, sy), each off when either side
/// is 0.
pub fn negotiate(client: HeartBeat, server: HeartBeat) -> Negotiated {
    let agree = |ours: u64, theirs: u64| (ours != 0 && theirs != 0).then(|| Duration::from_millis(ours.max(theirs)));
    Negotiated {
        outgoing: agree(server.send_ms, client.receive_ms),
        incoming: agree(client.send_ms, server.receive_ms),
    }
}

/// When the server last sent and last heard anything, against the negotiated intervals.
#[derive(Debug, Clone)]
pub struct Liveness {
    negotiated: Negotiated,
    last_sent: Millis,
    last_received: Millis,
}

impl Liveness {
    pub fn new(negotiated: Negotiated, now: Millis) -> Self {
        Liveness {
            negotiated,
            last_sent: now,
            last_received: now,
        }
    }

    pub fn negotiated(&self) -> Negotiated {
        self.negotiated
    }

    /// Anything at all arrived (a frame, an EOL, a partial frame).
    pub fn received(&mut self, now: Millis) {
        self.last_received = self.last_received.max(now);
    }

    /// Anything at all went out.
    pub fn sent(&mut self, now: Millis) {
        self.last_sent = self.last_sent.max(now);
    }

    /// How long the client may stay silent: the incoming interval times [`INCOMING_GRACE_FACTOR`].
    pub fn silence_limit(&self) -> Option<Duration> {
        self.negotiated.incoming.map(|interval| {
            Duration::try_from_secs_f64(interval.as_secs_f64() * INCOMING_GRACE_FACTOR).unwrap_or(Duration::MAX)
        })
    }

    /// Whether the server should send a beat now: nothing went out for the outgoing interval.
    pub fn beat_due(&self, now: Millis) -> bool {
        self.negotiated
            .outgoing
            .is_some_and(|interval| now >= self.last_sent + interval)
    }

    /// `Some(silence)` when the client has been silent for the silence limit or longer.
    pub fn peer_silent(&self, now: Millis) -> Option<Duration> {
        let limit = self.silence_limit()?;
        (now >= self.last_received + limit).then(|| now.since(self.last_received))
    }

    /// The next time either rule can fire; the deadline itself fires (`>=`), so ticking at it never
    /// spins.
    pub fn next_deadline(&self) -> Option<Millis> {
        let beat = self.negotiated.outgoing.map(|d| self.last_sent + d);
        let silence = self.silence_limit().map(|d| self.last_received + d);
        match (beat, silence) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hb(send_ms: u64, receive_ms: u64) -> HeartBeat {
        HeartBeat { send_ms, receive_ms }
    }

    #[test]
    fn parses_and_displays() {
        assert_eq!(HeartBeat::parse("10000,20000"), Some(hb(10_000, 20_000)));
        assert_eq!(HeartBeat::parse(" 0 , 5 "), Some(hb(0, 5)));
        assert_eq!(hb(1, 2).to_string(), "1,2");
        for bad in ["", "1", "1,", ",1", "a,b", "-1,0", "1,2,3", "99999999999999999999,0"] {
            assert_eq!(HeartBeat::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn negotiation_takes_the_larger_interval_unless_either_side_is_zero() {
        let server = hb(10_000, 5_000);
        let n = negotiate(hb(2_000, 30_000), server);
        assert_eq!(n.outgoing, Some(Duration::from_secs(30)));
        assert_eq!(n.incoming, Some(Duration::from_secs(5)));
        let n = negotiate(hb(8_000, 1_000), server);
        assert_eq!(n.outgoing, Some(Duration::from_secs(10)));
        assert_eq!(n.incoming, Some(Duration::from_secs(8)));
        assert_eq!(negotiate(hb(0, 0), server), Negotiated::NONE);
        assert_eq!(negotiate(hb(1_000, 1_000), HeartBeat::NONE), Negotiated::NONE);
        let n = negotiate(hb(0, 1_000), server);
        assert_eq!((n.outgoing.is_some(), n.incoming), (true, None));
    }

    #[test]
    fn the_answer_honours_the_clients_wish_down_to_the_floor() {
        let offer = hb(10_000, 10_000);
        // stomp.py's heartbeats=(1000, 1000): answered 1 s both ways, and so negotiated.
        let ours = answer(hb(1_000, 1_000), offer, 1_000);
        assert_eq!(ours, hb(1_000, 1_000));
        let n = negotiate(hb(1_000, 1_000), ours);
        assert_eq!(n.outgoing, Some(Duration::from_secs(1)));
        assert_eq!(n.incoming, Some(Duration::from_secs(1)));
        // Asking less than the floor gets the floor; asking more is honoured.
        assert_eq!(answer(hb(100, 50), offer, 1_000), hb(1_000, 1_000));
        assert_eq!(answer(hb(2_000, 30_000), offer, 1_000), hb(30_000, 2_000));
        // A side the client does not want stays off, and the answer names the server's offer.
        let ours = answer(hb(0, 5_000), offer, 1_000);
        assert_eq!(ours, hb(5_000, 10_000));
        let n = negotiate(hb(0, 5_000), ours);
        assert_eq!((n.outgoing, n.incoming), (Some(Duration::from_secs(5)), None));
        // No preference at all: the offer, and no heart-beats.
        assert_eq!(answer(HeartBeat::NONE, offer, 1_000), offer);
        assert_eq!(negotiate(HeartBeat::NONE, offer), Negotiated::NONE);
        // An offer of 0 turns that direction off whatever the client asks.
        let ours = answer(hb(1_000, 1_000), hb(0, 10_000), 1_000);
        assert_eq!(ours, hb(0, 1_000));
        assert_eq!(negotiate(hb(1_000, 1_000), ours).outgoing, None);
    }

    #[test]
    fn liveness_fires_at_its_deadlines() {
        let n = Negotiated {
            outgoing: Some(Duration::from_millis(100)),
            incoming: Some(Duration::from_millis(300)),
        };
        let mut live = Liveness::new(n, Millis(0));
        assert_eq!(live.silence_limit(), Some(Duration::from_millis(600)));
        assert_eq!(live.next_deadline(), Some(Millis(100)));
        assert!(!live.beat_due(Millis(99)));
        assert!(live.beat_due(Millis(100)));
        live.sent(Millis(100));
        assert!(!live.beat_due(Millis(150)));
        assert_eq!(live.peer_silent(Millis(599)), None);
        assert_eq!(live.peer_silent(Millis(600)), Some(Duration::from_millis(600)));
        live.received(Millis(500));
        assert_eq!(live.peer_silent(Millis(600)), None);
        live.sent(Millis(1_000));
        assert_eq!(live.next_deadline(), Some(Millis(1_100)));
        assert_eq!(Liveness::new(Negotiated::NONE, Millis(0)).next_deadline(), None);
    }
}
