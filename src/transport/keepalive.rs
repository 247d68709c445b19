//! TCP keep-alive on accepted connections.
//!
//! A gate PC whose network dies silently sends no FIN and no RST. A STOMP session with
//! heart-beats notices (the core drops it), but a client that negotiated none (`0,0`, or STOMP
//! 1.0) and an idle HTTP connection would stay "online" until a write failed, and the gate PC's
//! `client_disconnected` alert (with its children suppressed) would never come. Keep-alive
//! probes make the kernel end such a connection: after `idle` of silence, a probe every
//! [`PROBE_INTERVAL`], and the connection is reset after [`PROBES`] unanswered ones.

use std::io;
use std::os::fd::AsFd;
use std::time::Duration;

use socket2::{SockRef, TcpKeepalive};

/// Time between keep-alive probes once they start.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(10);
/// Unanswered probes after which the kernel drops the connection.
pub const PROBES: u32 = 3;

/// Turns keep-alive on for `socket`: probes after `idle` of silence.
pub fn enable(socket: &impl AsFd, idle: Duration) -> io::Result<()> {
    let keepalive = TcpKeepalive::new()
        .with_time(idle)
        .with_interval(PROBE_INTERVAL)
        .with_retries(PROBES);
    SockRef::from(socket).set_tcp_keepalive(&keepalive)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_accepted_socket_gets_the_keepalive_timings() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let _client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        let before = SockRef::from(&accepted);
        assert!(!before.keepalive().unwrap(), "off by default");

        enable(&accepted, Duration::from_secs(45)).unwrap();

        let socket = SockRef::from(&accepted);
        assert!(socket.keepalive().unwrap());
        assert_eq!(socket.tcp_keepalive_time().unwrap(), Duration::from_secs(45));
        assert_eq!(socket.tcp_keepalive_interval().unwrap(), PROBE_INTERVAL);
        assert_eq!(socket.tcp_keepalive_retries().unwrap(), PROBES);
    }
}
