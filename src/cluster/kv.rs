//! The NATS side: one connection, the two JetStream KV buckets (`{cluster}-leases`, one key per
//! partition whose value is the owner's node id; `{cluster}-nodes`, one key per live node whose
//! value is its address and start time), both with the lease time as their max age, so a key
//! nobody renews expires on its own. Thin: every call is one KV operation.
//!
//! Create-if-absent acquires, update with the expected revision renews, delete releases; the
//! revision a lease was created at is its fencing token (revisions only grow in a bucket).

use std::collections::BTreeMap;
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};

use super::error::ClusterError;
use super::settings::ClusterSettings;
use crate::ownership::{Partition, Partitions};

/// How long one KV call may take before it counts as failed.
const CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// What a node says about itself in the node bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRecord {
    /// The HTTP address it serves.
    pub addr: String,
    pub started_ms: i64,
}

/// A lease as read from the bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseRow {
    pub owner: u16,
    pub revision: u64,
}

/// Why a create or an update did not take.
#[derive(Debug)]
pub enum Refused {
    /// The key exists (create) or moved on (update): another node has it.
    Taken,
    /// NATS did not answer as it should.
    Failed(String),
}

/// The connection and the buckets.
#[derive(Clone)]
pub struct Kv {
    client: async_nats::Client,
    leases: kv::Store,
    nodes: kv::Store,
}

impl std::fmt::Debug for Kv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kv")
            .field("state", &self.client.connection_state())
            .finish()
    }
}

fn lease_key(p: Partition) -> String {
    format!("p{}", p.0)
}

fn node_key(id: u16) -> String {
    format!("n{id}")
}

async fn bucket(js: &jetstream::Context, name: String, max_age: Duration) -> Result<kv::Store, ClusterError> {
    if let Ok(store) = js.get_key_value(name.clone()).await {
        return Ok(store);
    }
    // The stream a KV bucket is, made directly: `create_key_value` first reads the account's
    // info, whose answer from a 2.9 server this client does not parse.
    let created = js
        .get_or_create_stream(jetstream::stream::Config {
            name: format!("KV_{name}"),
            subjects: vec![format!("$KV.{name}.>")],
            max_messages_per_subject: 1,
            max_age,
            duplicate_window: max_age,
            allow_rollup: true,
            deny_delete: true,
            allow_direct: true,
            discard: jetstream::stream::DiscardPolicy::New,
            num_replicas: 1,
            storage: jetstream::stream::StorageType::File,
            ..Default::default()
        })
        .await;
    if let Err(err) = created {
        return Err(ClusterError::Nats(format!("cannot create KV bucket {name}: {err}")));
    }
    js.get_key_value(name.clone())
        .await
        .map_err(|err| ClusterError::Nats(format!("cannot open KV bucket {name}: {err}")))
}

impl Kv {
    /// Connects and opens (or creates) both buckets.
    pub async fn connect(settings: &ClusterSettings) -> Result<Kv, ClusterError> {
        let client = async_nats::ConnectOptions::new()
            .name(format!("kwanje-{}-node-{}", settings.name, settings.node_id))
            .connection_timeout(CALL_TIMEOUT)
            .connect(settings.nats_url.as_str())
            .await
            .map_err(|e| ClusterError::Connect {
                url: settings.nats_url.clone(),
                reason: e.to_string(),
            })?;
        let js = jetstream::new(client.clone());
        let leases = bucket(&js, settings.lease_bucket(), settings.lease).await?;
        let nodes = bucket(&js, settings.node_bucket(), settings.lease).await?;
        Ok(Kv { client, leases, nodes })
    }

    /// The connection, for the cluster's rare control messages (a device registered).
    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    /// True while the connection to NATS is up.
    pub fn connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    async fn create(store: &kv::Store, key: String, value: Bytes) -> Result<u64, Refused> {
        match tokio::time::timeout(CALL_TIMEOUT, store.create(key, value)).await {
            Err(_) => Err(Refused::Failed("timed out".into())),
            Ok(Ok(revision)) => Ok(revision),
            Ok(Err(e)) if e.kind() == kv::CreateErrorKind::AlreadyExists => Err(Refused::Taken),
            Ok(Err(e)) => Err(Refused::Failed(e.to_string())),
        }
    }

    async fn update(store: &kv::Store, key: String, value: Bytes, revision: u64) -> Result<u64, Refused> {
        match tokio::time::timeout(CALL_TIMEOUT, store.update(key, value, revision)).await {
            Err(_) => Err(Refused::Failed("timed out".into())),
            Ok(Ok(revision)) => Ok(revision),
            Ok(Err(e)) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => Err(Refused::Taken),
            Ok(Err(e)) => Err(Refused::Failed(e.to_string())),
        }
    }

    /// Registers node `id`; `Taken` when a live node has that id.
    pub async fn register_node(&self, id: u16, record: &NodeRecord) -> Result<u64, Refused> {
        let value = Bytes::from(serde_json::to_vec(record).unwrap_or_default());
        Self::create(&self.nodes, node_key(id), value).await
    }

    /// Renews node `id`'s registration made (or last renewed) at `revision`.
    pub async fn renew_node(&self, id: u16, record: &NodeRecord, revision: u64) -> Result<u64, Refused> {
        let value = Bytes::from(serde_json::to_vec(record).unwrap_or_default());
        Self::update(&self.nodes, node_key(id), value, revision).await
    }

    /// Removes node `id`'s registration (shutdown).
    pub async fn deregister_node(&self, id: u16, revision: u64) {
        let call = self.nodes.delete_expect_revision(node_key(id), Some(revision));
        if let Ok(Err(e)) = tokio::time::timeout(CALL_TIMEOUT, call).await {
            log::warn!("cluster node deregister failed node={id} error={e}");
        }
    }

    /// Every live node and what it says about itself.
    pub async fn nodes(&self) -> Result<BTreeMap<u16, NodeRecord>, String> {
        let read = async {
            let keys: Vec<String> = self
                .nodes
                .keys()
                .await
                .map_err(|e| e.to_string())?
                .try_collect()
                .await
                .map_err(|e| e.to_string())?;
            let mut out = BTreeMap::new();
            for key in keys {
                let Some(id) = key.strip_prefix('n').and_then(|n| n.parse::<u16>().ok()) else {
                    continue;
                };
                if let Some(entry) = self.nodes.entry(key).await.map_err(|e| e.to_string())? {
                    if entry.operation == kv::Operation::Put {
                        if let Ok(record) = serde_json::from_slice::<NodeRecord>(&entry.value) {
                            out.insert(id, record);
                        }
                    }
                }
            }
            Ok(out)
        };
        tokio::time::timeout(CALL_TIMEOUT, read)
            .await
            .map_err(|_| "timed out".to_owned())?
    }

    /// Every partition's lease that exists now.
    pub async fn leases(&self, partitions: Partitions) -> Result<BTreeMap<Partition, LeaseRow>, String> {
        let read = async {
            let mut out = BTreeMap::new();
            for p in partitions.all() {
                let entry = self.leases.entry(lease_key(p)).await.map_err(|e| e.to_string())?;
                let Some(entry) = entry.filter(|e| e.operation == kv::Operation::Put) else {
                    continue;
                };
                if let Some(owner) = std::str::from_utf8(&entry.value).ok().and_then(|v| v.parse().ok()) {
                    out.insert(
                        p,
                        LeaseRow {
                            owner,
                            revision: entry.revision,
                        },
                    );
                }
            }
            Ok(out)
        };
        tokio::time::timeout(CALL_TIMEOUT * 2, read)
            .await
            .map_err(|_| "timed out".to_owned())?
    }

    /// Acquires partition `p` for node `me`: the revision (the fencing token) if it was free.
    pub async fn acquire(&self, p: Partition, me: u16) -> Result<u64, Refused> {
        Self::create(&self.leases, lease_key(p), Bytes::from(me.to_string())).await
    }

    /// Renews `p`'s lease last written at `revision`: the new revision.
    pub async fn renew(&self, p: Partition, me: u16, revision: u64) -> Result<u64, Refused> {
        Self::update(&self.leases, lease_key(p), Bytes::from(me.to_string()), revision).await
    }

    /// Releases `p`'s lease, only if it is still the one written at `revision`.
    pub async fn release(&self, p: Partition, revision: u64) {
        let call = self.leases.delete_expect_revision(lease_key(p), Some(revision));
        match tokio::time::timeout(CALL_TIMEOUT, call).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => log::warn!("cluster release failed partition={p} error={e}"),
            Err(_) => log::warn!("cluster release timed out partition={p}"),
        }
    }
}
