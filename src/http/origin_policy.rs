//! Which web origins may open realtime sessions (`/ws`, `/sockjs/...`): `KWANJE_ALLOWED_ORIGINS`.
//!
//! A browser names the page a request comes from in `Origin`; a page on another site must not
//! open an operator's session with the operator's token (cross-site WebSocket hijacking). The
//! rule, in order:
//! - no `Origin`: not a browser (gate PCs, kiosks, stomp.py, curl): allowed;
//! - the server's own origin (`Origin`'s host and port are the request's `Host`): the console,
//!   always allowed;
//! - an origin in the list (exact `scheme://host[:port]`, compared case-insensitively): allowed;
//! - anything else: refused, unless the list is empty (the default), which allows every origin.
//!
//! Pure: strings in, a decision out.

/// The parsed `KWANJE_ALLOWED_ORIGINS`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedOrigins {
    /// Lower-cased, without a trailing `/`; empty: any origin.
    origins: Vec<String>,
}

impl AllowedOrigins {
    /// A comma-separated list such as `https://ops.airport.example,http://10.0.0.5:8080`;
    /// empty or `*`: any origin.
    pub fn parse(list: &str) -> Result<AllowedOrigins, String> {
        let mut origins = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if item == "*" {
                return Ok(AllowedOrigins::default());
            }
            let lower = item.trim_end_matches('/').to_ascii_lowercase();
            let Some((scheme, rest)) = lower.split_once("://") else {
                return Err(format!("allowed origin {item:?} is not scheme://host[:port]"));
            };
            if !matches!(scheme, "http" | "https") || rest.is_empty() || rest.contains('/') {
                return Err(format!("allowed origin {item:?} is not http(s)://host[:port]"));
            }
            origins.push(lower);
        }
        Ok(AllowedOrigins { origins })
    }

    /// Whether every origin is allowed.
    pub fn is_open(&self) -> bool {
        self.origins.is_empty()
    }

    /// Whether a request with `origin` (its `Origin` header) to `host` (its `Host` header) may
    /// go on.
    pub fn allows(&self, origin: Option<&str>, host: Option<&str>) -> bool {
        let Some(origin) = origin else {
            return true;
        };
        if self.is_open() {
            return true;
        }
        let origin = origin.trim_end_matches('/');
        let authority = origin.split_once("://").map_or(origin, |(_, rest)| rest);
        if host.is_some_and(|h| h.eq_ignore_ascii_case(authority)) {
            return true;
        }
        self.origins.iter().any(|o| o.eq_ignore_ascii_case(origin))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(s: &str) -> AllowedOrigins {
        AllowedOrigins::parse(s).unwrap()
    }

    #[test]
    fn empty_or_star_allows_every_origin() {
        for open in ["", " ", "*", "https://a.example,*"] {
            let o = list(open);
            assert!(o.is_open(), "{open:?}");
            assert!(o.allows(Some("https://evil.example"), Some("kwanje:8080")));
        }
    }

    #[test]
    fn a_request_without_origin_is_not_a_browser_and_is_allowed() {
        assert!(list("https://ops.example").allows(None, Some("kwanje:8080")));
    }

    #[test]
    fn the_servers_own_origin_is_always_allowed() {
        let o = list("https://ops.example");
        assert!(o.allows(Some("http://kwanje:8080"), Some("kwanje:8080")));
        assert!(o.allows(Some("https://KWANJE:8443"), Some("kwanje:8443")));
        assert!(!o.allows(Some("http://kwanje:9999"), Some("kwanje:8080")));
    }

    #[test]
    fn listed_origins_are_allowed_and_others_refused() {
        let o = list("https://ops.example, http://10.0.0.5:8080/");
        assert!(o.allows(Some("https://ops.example"), Some("kwanje:8080")));
        assert!(o.allows(Some("HTTPS://OPS.EXAMPLE/"), Some("kwanje:8080")));
        assert!(o.allows(Some("http://10.0.0.5:8080"), None));
        assert!(!o.allows(Some("https://evil.example"), Some("kwanje:8080")));
        assert!(
            !o.allows(Some("http://ops.example"), Some("kwanje:8080")),
            "the scheme counts"
        );
        assert!(!o.allows(Some("null"), Some("kwanje:8080")), "a sandboxed page");
    }

    #[test]
    fn a_malformed_entry_is_refused_with_a_reason() {
        for bad in ["ops.example", "ftp://ops.example", "https://", "https://a.example/path"] {
            let err = AllowedOrigins::parse(bad).unwrap_err();
            assert!(err.contains(bad), "{err}");
        }
    }
}
