//! The cluster's [`Bus`]: a publication is delivered to this node's sessions at once and sent
//! on the NATS subject `{cluster}.bus` to the other nodes, each of which delivers it to its own
//! sessions ([`LocalBus::deliver`]). So an operator on any node sees every device, alert and
//! command change, and a command reaches its gate PC on whichever node holds its session.
//!
//! The bus has its own NATS connection, opened with `no_echo` (the server never sends a node
//! what it published itself; the origin in every message is checked as well), so a storm of
//! publications never queues behind, or ahead of, the lease renewals on the other connection.
//! One subject keeps one node's messages in the order it published them. Sending never waits:
//! a bounded queue feeds the connection, and what does not fit is dropped and counted, the
//! same policy as the broker's for a slow consumer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use tokio::sync::mpsc;

use super::error::ClusterError;
use super::settings::ClusterSettings;
use super::wire::{self, Envelope};
use crate::broker::{Bus, LocalBus, Published};

/// Messages waiting for the connection before publications are dropped.
const QUEUE: usize = 65_536;
/// At most this many received messages are handed to the broker together.
const DRAIN: usize = 1_024;

/// Messages across nodes, for `/metrics`.
#[derive(Debug, Default)]
pub struct BusStats {
    /// Messages sent to the other nodes.
    pub sent: AtomicU64,
    /// Messages received from other nodes and delivered here.
    pub received: AtomicU64,
    /// Messages not sent: the queue to NATS was full, or NATS refused them.
    pub dropped: AtomicU64,
    /// Messages received that could not be read (or came back from this node).
    pub refused: AtomicU64,
}

/// The bus of a node in a cluster.
pub struct NatsBus {
    node_id: u16,
    local: LocalBus,
    queue: mpsc::Sender<Envelope>,
    stats: Arc<BusStats>,
}

impl std::fmt::Debug for NatsBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsBus").field("node_id", &self.node_id).finish()
    }
}

impl NatsBus {
    /// Connects, subscribes to the other nodes' publications and starts sending this node's.
    pub async fn start(
        settings: &ClusterSettings,
        local: LocalBus,
        stats: Arc<BusStats>,
    ) -> Result<NatsBus, ClusterError> {
        let client = async_nats::ConnectOptions::new()
            .name(format!("kwanje-{}-node-{}-bus", settings.name, settings.node_id))
            .no_echo()
            .connection_timeout(Duration::from_secs(2))
            .event_callback(|event| async move {
                if let async_nats::Event::SlowConsumer(_) = event {
                    log::warn!("cluster bus fell behind: NATS dropped messages for it (slow consumer)");
                }
            })
            .subscription_capacity(QUEUE)
            .connect(settings.nats_url.as_str())
            .await
            .map_err(|e| ClusterError::Connect {
                url: settings.nats_url.clone(),
                reason: e.to_string(),
            })?;
        let subject = settings.bus_subject();
        let subscriber = client
            .subscribe(subject.clone())
            .await
            .map_err(|e| ClusterError::Nats(format!("cannot subscribe to {subject}: {e}")))?;
        let (queue, outgoing) = mpsc::channel(QUEUE);
        actix_web::rt::spawn(send(client, subject.clone(), outgoing, stats.clone()));
        actix_web::rt::spawn(receive(subscriber, settings.node_id, local.clone(), stats.clone()));
        log::info!("cluster bus started subject={subject} node={}", settings.node_id);
        Ok(NatsBus {
            node_id: settings.node_id,
            local,
            queue,
            stats,
        })
    }
}

impl Bus for NatsBus {
    fn publish(&self, message: Published) {
        let envelopes = wire::split(self.node_id, clone_of(&message));
        self.local.deliver(message);
        for envelope in envelopes {
            if self.queue.try_send(envelope).is_err() {
                note_dropped(&self.stats, "queue full");
            }
        }
    }
}

/// A copy to send while the original is delivered here (bodies are shared, not copied).
fn clone_of(message: &Published) -> Published {
    use crate::broker::messages::{Publish, PublishBatch, PublishToUser};
    match message {
        Published::Topic(m) => Published::Topic(Publish {
            destination: m.destination.clone(),
            headers: m.headers.clone(),
            body: m.body.clone(),
        }),
        Published::Batch(m) => Published::Batch(PublishBatch {
            destination: m.destination.clone(),
            headers: m.headers.clone(),
            bodies: m.bodies.clone(),
        }),
        Published::User(m) => Published::User(PublishToUser {
            user: m.user.clone(),
            destination: m.destination.clone(),
            headers: m.headers.clone(),
            body: m.body.clone(),
        }),
    }
}

/// Counts a dropped message; logs the first and then every thousandth, so a long outage of
/// NATS does not flood the log.
fn note_dropped(stats: &BusStats, why: &str) {
    let n = stats.dropped.fetch_add(1, Ordering::Relaxed);
    if n % 1_000 == 0 {
        log::warn!("cluster bus dropped reason=\"{why}\" dropped_total={}", n + 1);
    }
}

/// Sends what this node publishes, in order.
async fn send(
    client: async_nats::Client,
    subject: String,
    mut outgoing: mpsc::Receiver<Envelope>,
    stats: Arc<BusStats>,
) {
    let mut batch = Vec::with_capacity(DRAIN);
    while outgoing.recv_many(&mut batch, DRAIN).await > 0 {
        for envelope in batch.drain(..) {
            let mut headers = async_nats::HeaderMap::new();
            headers.insert(wire::META, wire::encode_meta(&envelope.meta));
            match client
                .publish_with_headers(subject.clone(), headers, envelope.body)
                .await
            {
                Ok(()) => {
                    stats.sent.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => note_dropped(&stats, &e.to_string()),
            }
        }
    }
}

/// Delivers what the other nodes publish to this node's sessions, what arrived together as
/// one hand-over to the broker.
async fn receive(mut subscriber: async_nats::Subscriber, node_id: u16, local: LocalBus, stats: Arc<BusStats>) {
    while let Some(first) = subscriber.next().await {
        let mut arrived = vec![first];
        while arrived.len() < DRAIN {
            match subscriber.next().now_or_never() {
                Some(Some(message)) => arrived.push(message),
                _ => break,
            }
        }
        let mut envelopes = Vec::with_capacity(arrived.len());
        for message in arrived {
            let meta = message
                .headers
                .as_ref()
                .and_then(|h| h.get(wire::META))
                .map(|v| v.as_str().to_owned());
            match wire::decode(meta.as_deref(), message.payload) {
                Ok(e) if e.meta.origin == node_id => {
                    stats.refused.fetch_add(1, Ordering::Relaxed);
                }
                Ok(e) => envelopes.push(e),
                Err(e) => {
                    stats.refused.fetch_add(1, Ordering::Relaxed);
                    log::warn!("cluster bus unreadable message error=\"{e}\"");
                }
            }
        }
        stats.received.fetch_add(envelopes.len() as u64, Ordering::Relaxed);
        for published in wire::coalesce(envelopes) {
            local.deliver(published);
        }
    }
    log::warn!("cluster bus subscription ended node={node_id}");
}
