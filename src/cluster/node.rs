//! A cluster node's handle: connected to NATS, registered under its id, its leases kept by the
//! [`super::leaser`] task. The wiring asks it for the [`Ownership`] the supervisors consult, the
//! view `GET /api/v1/cluster` answers, whether NATS is reachable (`/readyz`), and to release
//! everything at shutdown.

use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

use super::bus::{BusStats, NatsBus};
use super::error::ClusterError;
use super::forward::{self, ForwardStats, NatsForward};
use super::kv::{Kv, NodeRecord, Refused};
use super::leaser::{Change, Leaser};
use super::settings::ClusterSettings;
use super::shared::{ClusterStats, Shared};
use super::table::LeaseTable;
use super::view::{self, ClusterView};
use crate::broker::LocalBus;
use crate::ownership::{Inbound, OwnerCheck, Ownership, Partition};

/// This node in its cluster.
#[derive(Debug)]
pub struct ClusterNode {
    pub settings: ClusterSettings,
    kv: Kv,
    table: Arc<LeaseTable>,
    shared: Arc<Shared>,
    bus: Arc<BusStats>,
    forwarded: Arc<ForwardStats>,
    stop: Mutex<Option<oneshot::Sender<oneshot::Sender<()>>>>,
    /// The thread the lease task runs on, kept while the node runs.
    lease_thread: Mutex<Option<actix::Arbiter>>,
}

impl ClusterNode {
    /// Connects, registers this node (refused when a live node has its id) and starts keeping
    /// leases. The receiver gets every partition gained and lost, in order.
    pub async fn start(
        settings: ClusterSettings,
        addr: String,
        started_ms: i64,
    ) -> Result<(Arc<ClusterNode>, mpsc::UnboundedReceiver<Change>), ClusterError> {
        let kv = Kv::connect(&settings).await?;
        let record = NodeRecord { addr, started_ms };
        let revision = match kv.register_node(settings.node_id, &record).await {
            Ok(revision) => revision,
            Err(Refused::Taken) => {
                return Err(ClusterError::DuplicateNode {
                    cluster: settings.name.clone(),
                    node_id: settings.node_id,
                })
            }
            Err(Refused::Failed(e)) => return Err(ClusterError::Nats(format!("cannot register node: {e}"))),
        };
        log::info!(
            "cluster node registered cluster={} node={} partitions={} lease_ms={} renew_ms={}",
            settings.name,
            settings.node_id,
            settings.partitions.count(),
            settings.lease.as_millis(),
            settings.renew.as_millis()
        );
        let node = Arc::new(ClusterNode {
            table: Arc::new(LeaseTable::new(settings.partitions)),
            settings,
            kv: kv.clone(),
            shared: Arc::new(Shared::new(record)),
            bus: Arc::new(BusStats::default()),
            forwarded: Arc::new(ForwardStats::default()),
            stop: Mutex::new(None),
            lease_thread: Mutex::new(None),
        });
        let (changes, receiver) = mpsc::unbounded_channel();
        let (stop, stopped) = oneshot::channel();
        *node.stop.lock().unwrap_or_else(|e| e.into_inner()) = Some(stop);
        let (settings, table, shared) = (node.settings.clone(), node.table.clone(), node.shared.clone());
        // Its own thread and its own connection, made on that thread so that the connection's
        // I/O runs there too: a burst of forwarded heartbeats or bus messages on the main
        // thread must never delay a renewal's answer until the lease lapses locally (with the
        // connection on the main thread, a heartbeat blast held renewals back past their local
        // deadline, and this node refused what was forwarded to it for a second).
        let thread = actix::Arbiter::new();
        let lease_task = async move {
            let kv = loop {
                match Kv::connect(&settings).await {
                    Ok(kv) => break kv,
                    Err(e) => {
                        log::error!(
                            "cluster lease connection failed node={} error={e}; retrying",
                            settings.node_id
                        );
                        tokio::time::sleep(settings.renew).await;
                    }
                }
            };
            Leaser::new(settings, kv, table, shared, revision, changes)
                .run(stopped)
                .await;
        };
        if !thread.spawn(lease_task) {
            return Err(ClusterError::Nats("the lease thread did not start".into()));
        }
        *node.lease_thread.lock().unwrap_or_else(|e| e.into_inner()) = Some(thread);
        Ok((node, receiver))
    }

    /// The ownership the supervisors consult: this node's lease table.
    pub fn ownership(&self) -> Ownership {
        Ownership {
            partitions: self.settings.partitions,
            check: self.table.clone(),
        }
    }

    /// The address other nodes and operators see (set once the listener is bound).
    pub fn set_addr(&self, addr: String) {
        self.shared.record.lock().unwrap_or_else(|e| e.into_inner()).addr = addr;
    }

    /// True while the connection to NATS is up.
    pub fn connected(&self) -> bool {
        self.kv.connected()
    }

    /// How many partitions this node holds now.
    pub fn leases_held(&self) -> usize {
        self.table.held().len()
    }

    /// The cluster as the last lease round saw it.
    pub fn view(&self) -> ClusterView {
        let seen = self.shared.observed();
        view::build(
            &self.settings.name,
            self.settings.node_id,
            self.settings.partitions,
            &seen.nodes,
            &seen.leases,
            &seen.tokens,
        )
    }

    /// The owner of `partition` as last seen (this node's own leases from its table).
    pub fn owner_of(&self, partition: Partition) -> Option<u16> {
        if self.table.fence_at(partition, std::time::Instant::now()).is_some() {
            return Some(self.settings.node_id);
        }
        // Asked for every forwarded heartbeat: read in place, never a copy of the whole view.
        self.shared.owner_of(partition).filter(|&o| o != self.settings.node_id)
    }

    /// The cluster's bus in front of this node's broker: what is published here reaches the
    /// sessions of every node.
    pub async fn bus(&self, local: LocalBus) -> Result<NatsBus, ClusterError> {
        NatsBus::start(&self.settings, local, self.bus.clone()).await
    }

    /// The way to the owner of a partition this node does not hold, for what a client's session
    /// here sends for it; `apply` gets what other nodes send here for partitions this node holds.
    pub async fn forward(&self, apply: impl Fn(Inbound) + 'static) -> Result<NatsForward, ClusterError> {
        let table = self.table.clone();
        forward::start(
            &self.settings,
            self.shared.clone(),
            self.forwarded.clone(),
            move |p| table.fence(p).is_some(),
            apply,
        )
        .await
    }

    /// Tells every node that device `id` was registered, edited or decommissioned here, so that
    /// every node reads it again from the store and its owner runs it as stored. Fire-and-forget:
    /// a node that misses it reads the device from the store when it next gains the partition.
    pub fn announce_device(&self, id: &str) {
        let client = self.kv.client().clone();
        let subject = self.settings.registered_subject();
        let payload = bytes::Bytes::copy_from_slice(id.as_bytes());
        actix_web::rt::spawn(async move {
            if let Err(e) = client.publish(subject, payload).await {
                log::warn!("device announcement not sent error=\"{e}\"");
            }
        });
    }

    /// Calls `adopt` with each device id a node announces (this node's own included: a device
    /// already as stored is left as it is).
    pub async fn on_device_announced<F, Fut>(&self, adopt: F) -> Result<(), ClusterError>
    where
        F: Fn(String) -> Fut + 'static,
        Fut: std::future::Future<Output = bool> + 'static,
    {
        let subject = self.settings.registered_subject();
        let mut subscriber = self
            .kv
            .client()
            .subscribe(subject.clone())
            .await
            .map_err(|e| ClusterError::Nats(format!("cannot subscribe to {subject}: {e}")))?;
        actix_web::rt::spawn(async move {
            use futures_util::StreamExt;
            while let Some(message) = subscriber.next().await {
                match std::str::from_utf8(&message.payload) {
                    Ok(id) => {
                        adopt(id.to_owned()).await;
                    }
                    Err(_) => log::warn!("device announcement unreadable"),
                }
            }
        });
        Ok(())
    }

    /// Messages forwarded to and from this node.
    pub fn forward_stats(&self) -> &ForwardStats {
        &self.forwarded
    }

    /// Messages across nodes.
    pub fn bus_stats(&self) -> &BusStats {
        &self.bus
    }

    /// The HTTP address node `id` advertised, as the last lease round saw it.
    pub fn addr_of(&self, id: u16) -> Option<String> {
        self.shared.observed().nodes.get(&id).map(|n| n.addr.clone())
    }

    /// The lease counters.
    pub fn stats(&self) -> &ClusterStats {
        &self.shared.stats
    }

    /// Releases every lease and the node's registration, so the others take over at once.
    /// The device and taxi actors must have stopped first.
    pub async fn shutdown(&self) {
        let stop = self.stop.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(stop) = stop {
            let (done, finished) = oneshot::channel();
            if stop.send(done).is_ok() {
                let _ = finished.await;
            }
        }
    }
}
