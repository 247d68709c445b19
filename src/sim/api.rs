//! The HTTP side of a simulated site: one small client of kwanje's public API (awc), holding the
//! server's address and a token. Answers are `(status, JSON)`: callers decide what a status means.

use std::time::Duration;

use anyhow::Context;
use serde_json::Value;

/// How long one request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Clone)]
pub struct Api {
    base: String,
    token: String,
    http: awc::Client,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api").field("base", &self.base).finish_non_exhaustive()
    }
}

impl Api {
    /// `base` is `http://host:port` (a trailing `/` is dropped).
    pub fn new(base: &str, token: &str) -> Api {
        Api {
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            http: awc::Client::builder().timeout(REQUEST_TIMEOUT).finish(),
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    /// The same server with another token.
    pub fn with_token(&self, token: &str) -> Api {
        Api {
            base: self.base.clone(),
            token: token.to_owned(),
            http: self.http.clone(),
        }
    }

    /// Sends one request; `Err` only when no answer came (connection refused, timeout).
    pub async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> anyhow::Result<(u16, Value)> {
        let method: awc::http::Method = method.parse().context("HTTP method")?;
        let url = format!("{}{path}", self.base);
        let req = self.http.request(method, &url).bearer_auth(&self.token);
        let sent = match body {
            Some(body) => req.send_json(body).await,
            None => req.send().await,
        };
        let mut resp = sent.map_err(|e| anyhow::anyhow!("{url}: {e}"))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .body()
            .limit(64 * 1024 * 1024)
            .await
            .map_err(|e| anyhow::anyhow!("{url}: reading the body: {e}"))?;
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Ok((status, json))
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<(u16, Value)> {
        self.call("GET", path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<(u16, Value)> {
        self.call("POST", path, Some(body)).await
    }

    /// `GET path` expecting 200.
    pub async fn get_ok(&self, path: &str) -> anyhow::Result<Value> {
        match self.get(path).await? {
            (200, body) => Ok(body),
            (status, body) => anyhow::bail!("GET {path}: {status} {body}"),
        }
    }

    /// Every item of a listed resource, following `next_cursor` (`query` without `limit`).
    pub async fn list_all(&self, path: &str, query: &str) -> anyhow::Result<Vec<Value>> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut url = format!("{path}?limit=1000");
            if !query.is_empty() {
                url.push('&');
                url.push_str(query);
            }
            if let Some(c) = &cursor {
                url.push_str("&cursor=");
                url.push_str(&encode(c));
            }
            let page = self.get_ok(&url).await?;
            if let Some(list) = page["items"].as_array() {
                items.extend(list.iter().cloned());
            }
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return Ok(items),
            }
        }
    }

    /// The server's Prometheus text (`/metrics`: loopback, or this token if it is an admin's).
    pub async fn metrics(&self) -> anyhow::Result<String> {
        match self.get("/metrics").await? {
            (200, Value::String(text)) => Ok(text),
            (status, body) => anyhow::bail!("GET /metrics: {status} {body}"),
        }
    }
}

/// Percent-encodes a query value (cursors are opaque text).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The value of one sample line of Prometheus text, e.g. `kwanje_devices{state="up"}`.
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_are_read_by_name_and_labels() {
        let text = "# HELP kwanje_devices x\nkwanje_devices{state=\"up\"} 12\nkwanje_devices{state=\"down\"} 3\nkwanje_alerts_open 4\n";
        assert_eq!(metric(text, "kwanje_devices{state=\"up\"}"), Some(12.0));
        assert_eq!(metric(text, "kwanje_alerts_open"), Some(4.0));
        assert_eq!(metric(text, "kwanje_alerts"), None);
    }

    #[test]
    fn urls() {
        assert_eq!(Api::new("http://127.0.0.1:8080/", "t").base(), "http://127.0.0.1:8080");
        assert_eq!(encode("a b/c"), "a%20b%2Fc");
    }
}
