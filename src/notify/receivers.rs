//! The receivers this node knows (read from the store at start and every second after, so a
//! receiver added at another node is routed here too), and the alert service's
//! [`Fanout`]: the delivery rows each alert change is owed.

use std::sync::{Arc, RwLock};

use super::payload;
use super::route::Route;
use crate::alert::fanout::Fanout;
use crate::alert::model::AlertEvent;
use crate::alert::Alert;
use crate::store::models::receivers::{self, Delivery};
use crate::time::Millis;

/// One receiver as routing and sending need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receiver {
    pub id: i64,
    pub name: String,
    pub url: String,
    pub route: Route,
}

impl Receiver {
    /// From its stored row; `None` (logged) when its route no longer reads.
    pub fn from_row(row: &receivers::Receiver) -> Option<Receiver> {
        match Route::parse(row.min_severity.as_deref(), row.kinds.as_deref()) {
            Ok(route) => Some(Receiver {
                id: row.id,
                name: row.name.clone(),
                url: row.url.clone(),
                route,
            }),
            Err(e) => {
                log::error!("receiver unreadable id={} name={} error={e}", row.id, row.name);
                None
            }
        }
    }
}

/// Deliveries accepted and attempts failed, by receiver name, since this node started.
pub type DeliveryCounts = std::collections::BTreeMap<String, (u64, u64)>;

#[derive(Debug, Default)]
pub struct Receivers {
    known: RwLock<Arc<Vec<Receiver>>>,
    counts: std::sync::Mutex<DeliveryCounts>,
}

impl Receivers {
    /// The receivers as of the last read.
    pub fn snapshot(&self) -> Arc<Vec<Receiver>> {
        self.known.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Counts one delivery attempt to `receiver`: accepted (`ok`) or failed.
    pub fn count(&self, receiver: &str, ok: bool) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let entry = counts.entry(receiver.to_owned()).or_default();
        if ok {
            entry.0 += 1;
        } else {
            entry.1 += 1;
        }
    }

    pub fn counts(&self) -> DeliveryCounts {
        self.counts.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Takes the stored rows as the receivers from now on.
    pub fn replace(&self, rows: &[receivers::Receiver]) {
        let list: Vec<Receiver> = rows.iter().filter_map(Receiver::from_row).collect();
        let mut known = self.known.write().unwrap_or_else(|p| p.into_inner());
        if **known != list {
            log::info!("receivers known count={}", list.len());
            *known = Arc::new(list);
        }
    }
}

impl Fanout for Receivers {
    fn deliveries(
        &self,
        alert: &Alert,
        event: AlertEvent,
        now: Millis,
        new_id: &mut dyn FnMut() -> i64,
    ) -> Vec<Delivery> {
        let known = self.snapshot();
        known
            .iter()
            .filter(|r| r.route.matches(alert))
            .map(|r| Delivery {
                id: new_id(),
                receiver_id: r.id,
                alert_id: alert.id,
                version: i32::try_from(alert.version).unwrap_or(i32::MAX),
                idempotency_key: payload::idempotency_key(alert, event),
                part: None,
                payload: payload::body(&r.name, alert, event).to_string(),
                created_ms: now.0,
                attempts: 0,
                next_attempt_ms: now.0,
                delivered_ms: None,
            })
            .collect()
    }
}
