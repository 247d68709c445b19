//! The headers of the console's answers: how long a browser may keep a file, and the
//! Content-Security-Policy that lets the page load and talk to this server only.

/// How long a browser may keep a built file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CachePolicy {
    /// A file under `assets/`: its name carries a hash of its content, so it never changes.
    Immutable,
    /// `index.html` and the fixed files: always revalidated, so a new build shows at once.
    Revalidate,
}

impl CachePolicy {
    /// The policy of the built file `name` (its path inside `dist/`).
    pub fn of(name: &str) -> CachePolicy {
        if name.starts_with("assets/") {
            CachePolicy::Immutable
        } else {
            CachePolicy::Revalidate
        }
    }

    pub fn header_value(self) -> &'static str {
        match self {
            CachePolicy::Immutable => "public, max-age=31536000, immutable",
            CachePolicy::Revalidate => "no-cache",
        }
    }
}

/// The Content-Security-Policy: everything from this server only, no inline script, no
/// plugins, no framing; `connect-src` adds the WebSocket URLs of the host the page was loaded
/// from (`ws:`/`wss:`, which older browsers do not count as `'self'`). A host that is not a
/// plain `name[:port]` adds nothing.
pub fn content_security_policy(host: &str) -> String {
    let plain = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    let sockets = if plain {
        format!(" ws://{host} wss://{host}")
    } else {
        String::new()
    };
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         font-src 'self'; connect-src 'self'{sockets}; object-src 'none'; base-uri 'self'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_files_are_immutable_and_the_rest_revalidated() {
        assert_eq!(CachePolicy::of("assets/index-abc123.js"), CachePolicy::Immutable);
        assert_eq!(CachePolicy::of("index.html"), CachePolicy::Revalidate);
        assert_eq!(CachePolicy::of("favicon.svg"), CachePolicy::Revalidate);
        assert!(CachePolicy::Immutable.header_value().contains("immutable"));
        assert_eq!(CachePolicy::Revalidate.header_value(), "no-cache");
    }

    #[test]
    fn the_policy_allows_this_server_only() {
        let csp = content_security_policy("127.0.0.1:8080");
        assert!(csp.contains("default-src 'self'"));
        assert!(csp.contains("connect-src 'self' ws://127.0.0.1:8080 wss://127.0.0.1:8080;"));
        assert!(!csp.contains("unsafe"));
        assert!(!csp.contains('*'));
    }

    #[test]
    fn an_odd_host_adds_no_source() {
        let csp = content_security_policy("evil.example; script-src *");
        assert!(csp.contains("connect-src 'self';"));
        assert!(!csp.contains('*'));
    }
}
