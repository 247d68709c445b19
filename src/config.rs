//! Configuration: environment variables (names in API.md) with defaults that need no setup.

use std::time::Duration;

use clap::Args;

/// Default bytes queued for one WebSocket client before it is dropped as a slow consumer: room
/// for an alert storm (10,000 alerts are about 4.5 MB to each console), still a hard bound.
pub const DEFAULT_WS_OUTBOUND_LIMIT: usize = 16 * 1024 * 1024;
/// Default STOMP heart-beat, both directions (the server's `sx,sy`).
pub const DEFAULT_STOMP_HEART_BEAT_MS: u64 = 10_000;

/// `kwanje serve` settings. Every field has an environment variable and a default.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address for HTTP and WebSocket.
    #[arg(long, env = "KWANJE_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// `sqlite://FILE` (default, embedded) or `postgres://...`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://kwanje.db")]
    pub database_url: String,
    /// Password for the `admin` user created on first start (generated and logged once if unset).
    #[arg(long, env = "KWANJE_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// HS256 signing key for tokens (generated once and kept in the database if unset).
    #[arg(long, env = "KWANJE_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Enables the `/faults/crash` endpoints (drills and supervisor tests only).
    #[arg(long, env = "KWANJE_FAULT_INJECTION", value_parser = parse_flag, default_value = "0")]
    pub fault_injection: bool,
    /// This node's number (0-15), part of every generated id.
    #[arg(long, env = "KWANJE_NODE_ID", default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=15))]
    pub node_id: u16,
    /// Threads running device actors (default: one per core).
    #[arg(long, env = "KWANJE_DEVICE_THREADS")]
    pub device_threads: Option<usize>,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "KWANJE_HTTP_WORKERS")]
    pub http_workers: Option<usize>,
    /// Seconds between re-notifications of an unacknowledged critical alert.
    #[arg(long, env = "KWANJE_RENOTIFY_SECS", default_value_t = 300)]
    pub renotify_secs: u64,
    /// Milliseconds a delivered command waits for the client's ack before it times out.
    #[arg(long, env = "KWANJE_COMMAND_ACK_TIMEOUT_MS", default_value_t = 10_000)]
    pub command_ack_timeout_ms: u64,
    /// Milliseconds an undelivered command waits for its client, when the request names none.
    #[arg(long, env = "KWANJE_COMMAND_TTL_MS", default_value_t = 300_000)]
    pub command_ttl_ms: u64,
    /// Seconds to finish in-flight requests at shutdown.
    #[arg(long, env = "KWANJE_SHUTDOWN_TIMEOUT_SECS", default_value_t = 10)]
    pub shutdown_timeout_secs: u64,
    /// Also serves `/ws-echo`, a plain WebSocket echo for the Autobahn suite (never by default).
    #[arg(long, env = "KWANJE_CONFORMANCE", value_parser = parse_flag, default_value = "0")]
    pub conformance: bool,
    /// The STOMP heart-beat the server offers and asks for, in ms, both directions (0: none).
    #[arg(long, env = "KWANJE_STOMP_HEART_BEAT_MS", default_value_t = DEFAULT_STOMP_HEART_BEAT_MS)]
    pub stomp_heart_beat_ms: u64,
    /// Bytes queued for one WebSocket client past which it is dropped as a slow consumer.
    #[arg(long, env = "KWANJE_WS_OUTBOUND_LIMIT_BYTES", default_value_t = DEFAULT_WS_OUTBOUND_LIMIT)]
    pub ws_outbound_limit_bytes: usize,
}

/// Accepts `1/0`, `true/false`, `yes/no`, `on/off`.
fn parse_flag(v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        other => Err(format!("expected 1 or 0, got {other:?}")),
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

impl Config {
    /// Defaults for a database URL, as `kwanje serve` would have with nothing else set.
    pub fn with_database(database_url: &str) -> Config {
        Config {
            bind: "127.0.0.1:8080".into(),
            database_url: database_url.into(),
            admin_password: None,
            jwt_secret: None,
            fault_injection: false,
            node_id: 0,
            device_threads: None,
            http_workers: None,
            renotify_secs: 300,
            command_ack_timeout_ms: 10_000,
            command_ttl_ms: 300_000,
            shutdown_timeout_secs: 10,
            conformance: false,
            stomp_heart_beat_ms: DEFAULT_STOMP_HEART_BEAT_MS,
            ws_outbound_limit_bytes: DEFAULT_WS_OUTBOUND_LIMIT,
        }
    }

    pub fn device_threads(&self) -> usize {
        self.device_threads.unwrap_or_else(cores).max(1)
    }

    pub fn http_workers(&self) -> usize {
        self.http_workers.unwrap_or_else(cores).max(1)
    }

    pub fn command_ack_timeout(&self) -> Duration {
        Duration::from_millis(self.command_ack_timeout_ms.max(1))
    }

    pub fn command_ttl(&self) -> Duration {
        Duration::from_millis(self.command_ttl_ms)
    }

    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_secs(self.shutdown_timeout_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_accept_the_usual_spellings() {
        assert_eq!(parse_flag("1"), Ok(true));
        assert_eq!(parse_flag("ON"), Ok(true));
        assert_eq!(parse_flag("0"), Ok(false));
        assert!(parse_flag("maybe").is_err());
    }
}
