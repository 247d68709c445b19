//! The cluster's [`Forward`]: what a gate PC's session on this node sent for a partition another
//! node owns goes to that node's subject, `{cluster}.node.{id}.in`, and what arrives on this
//! node's own subject is applied here. Fire-and-forget: the owner is the one the last lease
//! round saw, and a message sent to a node that has just lost the partition is dropped there
//! (counted) while the gate PC's next heartbeat goes to the new owner. Its own NATS connection,
//! as the bus's, off the lease renewals; sending never waits (a bounded queue, then dropped and
//! counted).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::error::ClusterError;
use super::forward_wire;
use super::settings::ClusterSettings;
use super::shared::Shared;
use crate::ownership::{Forward, Inbound, Partition};

/// Messages waiting for the connection before more are dropped.
const QUEUE: usize = 16_384;
/// Messages received and not yet applied before NATS's client drops more (a slow consumer).
const RECEIVE_QUEUE: usize = 65_536;

/// Forwarded messages, for `/metrics`.
#[derive(Debug, Default)]
pub struct ForwardStats {
    /// Sent to the owner of their partition.
    pub sent: AtomicU64,
    /// Received from other nodes and applied here.
    pub received: AtomicU64,
    /// Not sent (no owner known, the queue full, NATS refused), or received for a partition
    /// this node no longer owns, or unreadable.
    pub dropped: AtomicU64,
}

/// The sending half.
pub struct NatsForward {
    node_id: u16,
    shared: Arc<Shared>,
    queue: mpsc::Sender<(u16, Inbound)>,
    stats: Arc<ForwardStats>,
}

impl std::fmt::Debug for NatsForward {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsForward").field("node_id", &self.node_id).finish()
    }
}

/// The subject node `id` receives forwarded messages on.
fn subject_of(cluster: &str, id: u16) -> String {
    format!("{cluster}.node.{id}.in")
}

/// Connects, and starts sending what [`Forward::forward`] is given. `apply` is called with
/// each message other nodes forward here, for a partition `owns` says this node holds.
pub async fn start(
    settings: &ClusterSettings,
    shared: Arc<Shared>,
    stats: Arc<ForwardStats>,
    owns: impl Fn(Partition) -> bool + 'static,
    apply: impl Fn(Inbound) + 'static,
) -> Result<NatsForward, ClusterError> {
    let client = async_nats::ConnectOptions::new()
        .name(format!("kwanje-{}-node-{}-forward", settings.name, settings.node_id))
        .connection_timeout(Duration::from_secs(2))
        .event_callback(|event| async move {
            if let async_nats::Event::SlowConsumer(_) = event {
                log::warn!("cluster forward fell behind: NATS dropped messages for it (slow consumer)");
            }
        })
        // A burst from every gate PC of the other nodes waits here, not dropped as a slow consumer.
        .subscription_capacity(RECEIVE_QUEUE)
        .connect(settings.nats_url.as_str())
        .await
        .map_err(|e| ClusterError::Connect {
            url: settings.nats_url.clone(),
            reason: e.to_string(),
        })?;
    let own = subject_of(&settings.name, settings.node_id);
    let subscriber = client
        .subscribe(own.clone())
        .await
        .map_err(|e| ClusterError::Nats(format!("cannot subscribe to {own}: {e}")))?;
    let (queue, outgoing) = mpsc::channel(QUEUE);
    actix_web::rt::spawn(send(client, settings.name.clone(), outgoing, stats.clone()));
    let partitions = settings.partitions;
    let received = stats.clone();
    let me = settings.node_id;
    actix_web::rt::spawn(receive(subscriber, received, move |message: Inbound| {
        let partition = partitions.of(message.client());
        if owns(partition) {
            apply(message);
            true
        } else {
            log::debug!(
                "cluster forward for a partition not held here node={me} partition={} client={}",
                partition.0,
                message.client()
            );
            false
        }
    }));
    Ok(NatsForward {
        node_id: settings.node_id,
        shared,
        queue,
        stats,
    })
}

impl Forward for NatsForward {
    fn forward(&self, partition: Partition, message: Inbound) -> bool {
        let owner = self.shared.owner_of(partition).filter(|&o| o != self.node_id);
        let Some(owner) = owner else {
            note_dropped(&self.stats, "no owner known", partition);
            return false;
        };
        if self.queue.try_send((owner, message)).is_err() {
            note_dropped(&self.stats, "queue full", partition);
            return false;
        }
        true
    }
}

/// Counts a dropped message; logs the first and then every thousandth.
fn note_dropped(stats: &ForwardStats, why: &str, partition: Partition) {
    let n = stats.dropped.fetch_add(1, Ordering::Relaxed);
    if n % 1_000 == 0 {
        log::warn!(
            "cluster forward dropped reason=\"{why}\" partition={} dropped_total={}",
            partition.0,
            n + 1
        );
    }
}

async fn send(
    client: async_nats::Client,
    cluster: String,
    mut outgoing: mpsc::Receiver<(u16, Inbound)>,
    stats: Arc<ForwardStats>,
) {
    while let Some((owner, message)) = outgoing.recv().await {
        let (meta, body) = forward_wire::encode(message);
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(forward_wire::META, meta);
        match client
            .publish_with_headers(subject_of(&cluster, owner), headers, body)
            .await
        {
            Ok(()) => {
                stats.sent.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                stats.dropped.fetch_add(1, Ordering::Relaxed);
                log::warn!("cluster forward not sent owner={owner} error=\"{e}\"");
            }
        }
    }
}

async fn receive(mut subscriber: async_nats::Subscriber, stats: Arc<ForwardStats>, apply: impl Fn(Inbound) -> bool) {
    while let Some(message) = subscriber.next().await {
        let meta = message
            .headers
            .as_ref()
            .and_then(|h| h.get(forward_wire::META))
            .map(|v| v.as_str().to_owned());
        match forward_wire::decode(meta.as_deref(), message.payload) {
            Ok(inbound) => {
                if apply(inbound) {
                    stats.received.fetch_add(1, Ordering::Relaxed);
                } else {
                    stats.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(e) => {
                stats.dropped.fetch_add(1, Ordering::Relaxed);
                log::warn!("cluster forward unreadable message error=\"{e}\"");
            }
        }
    }
    log::warn!("cluster forward subscription ended");
}
