//! What a SockJS endpoint serves inside its sessions, and what its `info` offers.
//!
//! `/sockjs` carries STOMP. With `KWANJE_CONFORMANCE=1` the four services the official
//! SockJS test suite (sockjs-protocol) needs are served beside it under `/sockjs-test/`, on
//! the same SockJS layer: `echo` (every message back), `close` (each session closed at once
//! with `c[3000,"Go away!"]`), `disabled_websocket_echo` (`info` says `websocket: false` and the
//! WebSocket transports are refused) and `cookie_needed_echo` (`cookie_needed: true`, a
//! `JSESSIONID` cookie set on every receiving response). Pure.

/// What runs inside each session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inside {
    /// A STOMP session (the product).
    Stomp,
    /// Each message sent back as it came (conformance only).
    Echo,
    /// The session closed as soon as it opens (conformance only).
    Close,
}

/// One SockJS endpoint's service and what its `info` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offer {
    pub inside: Inside,
    pub websocket: bool,
    pub cookie_needed: bool,
}

impl Offer {
    /// `/sockjs`: STOMP, over every transport, no cookie.
    pub const STOMP: Offer = Offer {
        inside: Inside::Stomp,
        websocket: true,
        cookie_needed: false,
    };
}

/// Where the conformance services are served.
pub const CONFORMANCE_PREFIX: &str = "/sockjs-test";

/// Bytes one streaming response carries in the conformance services before it ends: the suite
/// checks that a response ends after 4,096 bytes.
pub const CONFORMANCE_STREAM_LIMIT: usize = 4_096;

/// The suite's four services, by the path segment under [`CONFORMANCE_PREFIX`].
pub const CONFORMANCE: [(&str, Offer); 4] = [
    (
        "echo",
        Offer {
            inside: Inside::Echo,
            websocket: true,
            cookie_needed: false,
        },
    ),
    (
        "close",
        Offer {
            inside: Inside::Close,
            websocket: true,
            cookie_needed: false,
        },
    ),
    (
        "disabled_websocket_echo",
        Offer {
            inside: Inside::Echo,
            websocket: false,
            cookie_needed: false,
        },
    ),
    (
        "cookie_needed_echo",
        Offer {
            inside: Inside::Echo,
            websocket: true,
            cookie_needed: true,
        },
    ),
];

/// The `Set-Cookie` value a `cookie_needed` service answers with: the client's own
/// `JSESSIONID` echoed back, or `dummy` (as the protocol says).
pub fn jsessionid(cookie_header: Option<&str>) -> String {
    let sent = cookie_header.and_then(|header| {
        header
            .split(';')
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == "JSESSIONID")
            .map(|(_, value)| value.trim().to_owned())
    });
    format!("JSESSIONID={}; path=/", sent.as_deref().unwrap_or("dummy"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_s_jsessionid_is_echoed_and_otherwise_dummy() {
        assert_eq!(jsessionid(None), "JSESSIONID=dummy; path=/");
        assert_eq!(jsessionid(Some("a=1; JSESSIONID=abcdef")), "JSESSIONID=abcdef; path=/");
        assert_eq!(jsessionid(Some("JSESSIONIDX=1")), "JSESSIONID=dummy; path=/");
    }

    #[test]
    fn only_stomp_is_served_outside_conformance_and_the_services_differ_as_the_suite_needs() {
        assert_eq!(Offer::STOMP.inside, Inside::Stomp);
        let offer = |name| CONFORMANCE.iter().find(|(n, _)| *n == name).unwrap().1;
        assert!(!offer("disabled_websocket_echo").websocket);
        assert!(offer("cookie_needed_echo").cookie_needed);
        assert_eq!(offer("close").inside, Inside::Close);
        assert!(CONFORMANCE.iter().all(|(_, o)| o.inside != Inside::Stomp));
    }
}
