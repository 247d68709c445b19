//! The task that delivers what receivers are owed: every 200 ms, for each receiver, its oldest
//! undelivered rows in id order (only those of partitions this node owns, and node-wide ones),
//! each POSTed with its `Idempotency-Key` until one fails; a failure waits ([`super::retry`])
//! and holds the receiver's later rows behind it, so each alert's changes arrive in order. The
//! store says what was delivered, so a restart (or another node, after a takeover) carries on
//! where the last left off: at least once, never a change lost.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::receivers::{Receiver, Receivers};
use super::retry;
use crate::ownership::{Ownership, Partition};
use crate::store::models::receivers as rows;
use crate::store::Store;
use crate::time::Clock;

/// How often the owed rows are looked at.
pub const POLL: Duration = Duration::from_millis(200);
/// How often the receivers are read again (a receiver added at another node).
pub const RELOAD: Duration = Duration::from_secs(1);
/// How long a receiver may take to answer one delivery.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// Rows looked at per receiver per round.
const PAGE: i64 = 200;

pub struct Dispatcher {
    pub store: Store,
    pub receivers: Arc<Receivers>,
    pub ownership: Ownership,
    pub clock: Arc<dyn Clock>,
}

impl Dispatcher {
    /// Runs until the system stops.
    pub async fn run(self) {
        let http = awc::Client::builder().timeout(TIMEOUT).finish();
        let mut reloaded: Option<Instant> = None;
        loop {
            if reloaded.is_none_or(|t| t.elapsed() >= RELOAD) {
                match self.store.read(rows::all).await {
                    Ok(found) => self.receivers.replace(&found),
                    Err(e) => log::warn!("receivers unread error={e}"),
                }
                reloaded = Some(Instant::now());
            }
            let known = self.receivers.snapshot();
            let (parts, unparted) = self.ours();
            let rounds = known.iter().map(|r| self.drain(&http, r, &parts, unparted));
            futures_util::future::join_all(rounds).await;
            actix_web::rt::time::sleep(POLL).await;
        }
    }

    /// The partitions whose rows this node delivers (the ones it owns), and whether it delivers
    /// the rows of no partition (operators' acknowledgements and resolutions,
    /// re-notifications, node-wide alerts): the owner of partition 0 does, so one node sends each.
    fn ours(&self) -> (Vec<i32>, bool) {
        let owned: Vec<i32> = self
            .ownership
            .partitions
            .all()
            .filter(|p| self.ownership.check.fence(*p).is_some())
            .map(|p| i32::from(p.0))
            .collect();
        let unparted = self.ownership.check.fence(Partition(0)).is_some();
        (owned, unparted)
    }

    /// Delivers `receiver`'s owed rows of `parts` (and of no partition when `unparted`) in
    /// order until one fails or is not due yet.
    async fn drain(&self, http: &awc::Client, receiver: &Receiver, parts: &[i32], unparted: bool) {
        let id = receiver.id;
        let parts = parts.to_vec();
        let owed = match self
            .store
            .read(move |c| rows::pending(c, id, &parts, unparted, PAGE))
            .await
        {
            Ok(owed) => owed,
            Err(e) => {
                log::warn!("deliveries unread receiver={} error={e}", receiver.name);
                return;
            }
        };
        for row in owed {
            let now = self.clock.now();
            if row.next_attempt_ms > now.0 {
                return;
            }
            let sent = http
                .post(&receiver.url)
                .insert_header(("content-type", "application/json"))
                .insert_header(("idempotency-key", row.idempotency_key.as_str()))
                .send_body(row.payload.clone())
                .await;
            let outcome = match sent {
                Ok(resp) if resp.status().is_success() => Ok(()),
                Ok(resp) => Err(format!("answered {}", resp.status())),
                Err(e) => Err(e.to_string()),
            };
            let at = self.clock.now().0;
            let (row_id, key) = (row.id, row.idempotency_key.clone());
            self.receivers.count(&receiver.name, outcome.is_ok());
            match outcome {
                Ok(()) => {
                    if let Err(e) = self.store.write(move |c| rows::delivered(c, row_id, id, at)).await {
                        log::warn!(
                            "delivery not marked receiver={} key={key} error={e}; it is sent again",
                            receiver.name
                        );
                        return;
                    }
                    log::debug!("alert delivered receiver={} key={key}", receiver.name);
                }
                Err(error) => {
                    let attempts = u32::try_from(row.attempts).unwrap_or(0).saturating_add(1);
                    let wait = retry::delay(attempts);
                    let retry_at = at.saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX));
                    log::warn!(
                        "alert delivery failed receiver={} key={key} attempts={attempts} retry_in_ms={} error=\"{error}\"",
                        receiver.name,
                        wait.as_millis()
                    );
                    let text: String = error.chars().take(500).collect();
                    if let Err(e) = self
                        .store
                        .write(move |c| rows::failed(c, row_id, id, &text, at, retry_at))
                        .await
                    {
                        log::warn!("delivery failure not recorded receiver={} error={e}", receiver.name);
                    }
                    return;
                }
            }
        }
    }
}
