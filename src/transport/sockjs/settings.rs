//! The timings and limits of SockJS sessions (from `Config`). Pure.

use std::time::Duration;

use crate::config::Config;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// A heartbeat frame (`h`) goes to a receiving connection that carried nothing this long,
    /// so proxies do not cut it as idle.
    pub heartbeat: Duration,
    /// A session with no receiving request for this long is gone (its client left without a
    /// word, or stopped polling).
    pub disconnect_delay: Duration,
    /// Bytes of frames one streaming response (xhr-streaming, eventsource) carries before it
    /// ends and the client opens the next one, so the browser can free what it received.
    pub stream_limit: usize,
}

impl Settings {
    pub fn from_config(config: &Config) -> Settings {
        Settings {
            heartbeat: Duration::from_millis(config.sockjs_heartbeat_ms.max(1)),
            disconnect_delay: Duration::from_millis(config.sockjs_disconnect_delay_ms.max(1)),
            stream_limit: config.sockjs_stream_limit_bytes.max(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{
        DEFAULT_SOCKJS_DISCONNECT_DELAY_MS, DEFAULT_SOCKJS_HEARTBEAT_MS, DEFAULT_SOCKJS_STREAM_LIMIT_BYTES,
    };

    #[test]
    fn defaults_are_the_protocols() {
        let settings = Settings::from_config(&Config::with_database("sqlite://x.db"));
        assert_eq!(settings.heartbeat, Duration::from_secs(25));
        assert_eq!(settings.disconnect_delay, Duration::from_secs(5));
        assert_eq!(settings.stream_limit, 128 * 1024);
        assert_eq!(DEFAULT_SOCKJS_HEARTBEAT_MS, 25_000);
        assert_eq!(DEFAULT_SOCKJS_DISCONNECT_DELAY_MS, 5_000);
        assert_eq!(DEFAULT_SOCKJS_STREAM_LIMIT_BYTES, 131_072);
    }
}
