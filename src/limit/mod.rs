//! Limits on what one client address or one principal may hold at once, shared by the HTTP
//! edge and every transport (neither depends on the other for them).
//!
//! - [`quota`] (pure core and its shared form): counts per key with a limit;
//! - [`Limits`]: the server's two quotas, connections per client address
//!   (`KWANJE_MAX_CONNECTIONS_PER_ADDR`) and STOMP sessions per principal
//!   (`KWANJE_MAX_SESSIONS_PER_PRINCIPAL`), and the failed-CONNECT throttle ([`connects`]).

pub mod connects;
pub mod quota;

use std::net::IpAddr;
use std::sync::Arc;

use crate::auth::throttle::ThrottleSettings;

pub use quota::{OverLimit, Quota, QuotaStats, Slot};

/// The server's limits, made once at start and shared by every listener.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Open connections (HTTP, WebSocket, SockJS, TCP STOMP) per client address.
    pub connections: Quota<IpAddr>,
    /// Open STOMP sessions (every transport) per principal (the broker's user name).
    pub sessions: Quota<String>,
    /// Failed STOMP CONNECTs per client address.
    pub connects: Arc<connects::ConnectThrottle>,
}

impl Limits {
    /// `per_addr` connections per address and `per_principal` sessions per principal (0: none);
    /// failed CONNECTs throttled as `connects` says.
    pub fn new(per_addr: usize, per_principal: usize, connects: ThrottleSettings) -> Self {
        Limits {
            connections: Quota::new(per_addr),
            sessions: Quota::new(per_principal),
            connects: Arc::new(connects::ConnectThrottle::new(connects)),
        }
    }
}

/// What a connection over its address's limit is told (HTTP 503 detail, TCP STOMP ERROR body).
pub fn connection_refusal(addr: IpAddr, over: OverLimit) -> String {
    format!(
        "{addr} already holds {} connections, the limit is {} (KWANJE_MAX_CONNECTIONS_PER_ADDR)",
        over.held, over.limit
    )
}

/// Logs a refused connection now and then: the first, then each time the count doubles (a
/// flood of connections must not become a flood of log lines; `/metrics` counts every one).
pub fn log_connection_refused(listener: &str, addr: IpAddr, over: OverLimit, refused: u64) {
    if refused.is_power_of_two() {
        log::warn!(
            "connection refused listener={listener} addr={addr} held={} limit={} refused_total={refused}",
            over.held,
            over.limit
        );
    }
}
