//! An outside identity provider's keys, fetched and kept fresh: from `KWANJE_JWKS_URL` (an
//! `http(s)://` URL or a file) at start, every [`REFRESH_EVERY`], and soon after a token names a
//! key the set does not hold (a rotated key), at most every [`REFRESH_AT_MOST`]. A fetch that
//! fails keeps the keys the node has (logged), so an identity provider that is briefly down
//! does not log anyone out; one unreachable at start leaves the set empty until it answers.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::jwk::JwkSet;

use crate::auth::outside::OutsideIssuer;

/// How often the keys are fetched anyway.
pub const REFRESH_EVERY: Duration = Duration::from_secs(300);
/// The shortest time between two fetches asked for by unknown keys.
pub const REFRESH_AT_MOST: Duration = Duration::from_secs(2);
/// How long a fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the keys come from.
#[derive(Debug)]
pub struct KeySource {
    url: String,
}

impl KeySource {
    pub fn new(url: &str) -> KeySource {
        KeySource { url: url.to_owned() }
    }

    /// Reads the key set once.
    pub async fn fetch(&self) -> Result<JwkSet, String> {
        let text = if self.url.starts_with("http://") || self.url.starts_with("https://") {
            let client = awc::Client::builder().timeout(FETCH_TIMEOUT).finish();
            let mut resp = client
                .get(&self.url)
                .send()
                .await
                .map_err(|e| format!("GET {}: {e}", self.url))?;
            if !resp.status().is_success() {
                return Err(format!("GET {}: {}", self.url, resp.status()));
            }
            let body = resp
                .body()
                .limit(1024 * 1024)
                .await
                .map_err(|e| format!("GET {}: {e}", self.url))?;
            String::from_utf8_lossy(&body).into_owned()
        } else {
            let path = self.url.strip_prefix("file://").unwrap_or(&self.url).to_owned();
            actix_web::rt::task::spawn_blocking(move || {
                std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))
            })
            .await
            .map_err(|e| e.to_string())??
        };
        serde_json::from_str(&text).map_err(|e| format!("{}: not a JWKS: {e}", self.url))
    }
}

/// Fetches into `issuer` once; true when the keys were taken.
pub async fn refresh(source: &KeySource, issuer: &OutsideIssuer) -> bool {
    match source.fetch().await {
        Ok(keys) => {
            let count = issuer.set_keys(keys);
            log::info!("jwks fetched url={} keys={count}", source.url);
            true
        }
        Err(e) => {
            log::warn!("jwks fetch failed url={} error={e:?}", source.url);
            false
        }
    }
}

/// Keeps `issuer`'s keys fresh until the system stops.
pub async fn run(source: KeySource, issuer: Arc<OutsideIssuer>) {
    let mut last = tokio::time::Instant::now();
    let mut asked = false;
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        asked |= issuer.take_wanted();
        let since = last.elapsed();
        if (asked && since >= REFRESH_AT_MOST) || since >= REFRESH_EVERY {
            asked = false;
            last = tokio::time::Instant::now();
            refresh(&source, &issuer).await;
        }
    }
}
