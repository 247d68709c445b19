//! The lease task: every renewal period it reads the live nodes and the leases, asks the pure
//! [`plan`] what to do, and does it, one KV call per lease. It keeps the [`LeaseTable`] (what
//! the supervisors ask) and reports every partition gained and lost, in that order of truth:
//! a partition is in the table before it is reported gained, and out of it before it is
//! reported lost.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};

use super::kv::{Kv, Refused};
use super::plan::plan;
use super::settings::ClusterSettings;
use super::shared::{count, Observed, Shared};
use super::table::{local_deadline, LeaseTable};
use crate::ownership::{Fence, Partition};

/// A change of what this node owns. A gain's fence must be recorded with the store
/// (`Store::advance_fence`) before the partition's actors start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Acquired: start the partition's actors. `from` is the node that held it last when that
    /// node is no longer registered (a takeover); `None` for a partition seen free or handed
    /// over by a live node.
    Gained { fence: Fence, from: Option<u16> },
    /// Released, taken or lapsed: stop the partition's actors.
    Lost { partition: Partition },
}

/// A lease held: its fencing token and its last revision.
#[derive(Debug, Clone, Copy)]
struct Held {
    token: u64,
    revision: u64,
}

pub struct Leaser {
    settings: ClusterSettings,
    shared: Arc<Shared>,
    kv: Kv,
    table: Arc<LeaseTable>,
    node_revision: u64,
    held: BTreeMap<Partition, Held>,
    /// Who held each partition when last seen: the `from` of a takeover.
    last_owner: BTreeMap<Partition, u16>,
    changes: mpsc::UnboundedSender<Change>,
}

impl Leaser {
    pub(super) fn new(
        settings: ClusterSettings,
        kv: Kv,
        table: Arc<LeaseTable>,
        shared: Arc<Shared>,
        node_revision: u64,
        changes: mpsc::UnboundedSender<Change>,
    ) -> Leaser {
        Leaser {
            settings,
            shared,
            kv,
            table,
            node_revision,
            held: BTreeMap::new(),
            last_owner: BTreeMap::new(),
            changes,
        }
    }

    fn me(&self) -> u16 {
        self.settings.node_id
    }

    fn lose(&mut self, partition: Partition, why: &str) {
        self.table.drop_lease(partition);
        if self.held.remove(&partition).is_some() {
            if why == "released" {
                log::debug!("cluster lease released partition={partition} node={}", self.me());
            } else {
                log::warn!(
                    "cluster lease lost partition={partition} node={} reason={why}",
                    self.me()
                );
                count(&self.shared.stats.lost, 1);
            }
            let _ = self.changes.send(Change::Lost { partition });
        }
    }

    /// Runs rounds until told to stop; then releases every lease and the registration.
    pub async fn run(mut self, mut stop: oneshot::Receiver<oneshot::Sender<()>>) {
        let mut tick = tokio::time::interval(self.settings.renew);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let done = loop {
            tokio::select! {
                done = &mut stop => break done.ok(),
                _ = tick.tick() => self.round().await,
            }
        };
        self.release_all().await;
        if let Some(done) = done {
            let _ = done.send(());
        }
    }

    async fn release_all(&mut self) {
        let held: Vec<(Partition, Held)> = self.held.iter().map(|(&p, &h)| (p, h)).collect();
        for (p, h) in &held {
            self.lose(*p, "released");
            self.kv.release(*p, h.revision).await;
        }
        count(&self.shared.stats.released, held.len());
        self.kv.deregister_node(self.me(), self.node_revision).await;
        log::info!("cluster leases released node={} count={}", self.me(), held.len());
    }

    async fn renew_registration(&mut self) {
        let record = self.shared.record();
        match self.kv.renew_node(self.me(), &record, self.node_revision).await {
            Ok(revision) => self.node_revision = revision,
            Err(Refused::Taken) => {
                // Expired (this node stalled): register again if the id is still free.
                match self.kv.register_node(self.me(), &record).await {
                    Ok(revision) => {
                        log::warn!("cluster node registration renewed after expiry node={}", self.me());
                        self.node_revision = revision;
                    }
                    Err(e) => log::error!("cluster node registration lost node={} error={e:?}", self.me()),
                }
            }
            Err(Refused::Failed(e)) => log::warn!("cluster node renew failed node={} error={e}", self.me()),
        }
    }

    async fn round(&mut self) {
        for p in self.table.lapsed(Instant::now()) {
            self.lose(p, "lapsed_locally");
        }
        self.renew_registration().await;
        let (nodes, leases) = match (self.kv.nodes().await, self.kv.leases(self.settings.partitions).await) {
            (Ok(n), Ok(l)) => (n, l),
            (Err(e), _) | (_, Err(e)) => {
                log::warn!("cluster round skipped node={} error={e}", self.me());
                return;
            }
        };
        // A lease this node thinks it holds but the bucket shows otherwise is gone.
        let gone: Vec<Partition> = self
            .held
            .iter()
            .filter(|(p, h)| {
                leases
                    .get(p)
                    .is_none_or(|l| l.owner != self.me() || l.revision != h.revision)
            })
            .map(|(&p, _)| p)
            .collect();
        for p in gone {
            self.lose(p, "taken");
        }
        let live: BTreeSet<u16> = nodes.keys().copied().collect();
        let owners: BTreeMap<Partition, u16> = leases.iter().map(|(&p, l)| (p, l.owner)).collect();
        for (&p, &o) in &owners {
            if o != self.me() {
                self.last_owner.insert(p, o);
            }
        }
        let todo = plan(self.me(), self.settings.partitions, &live, &owners);
        let (lease, renew) = (self.settings.lease, self.settings.renew);
        let mut released = 0;
        for p in todo.release {
            if let Some(h) = self.held.get(&p).copied() {
                self.lose(p, "released");
                self.kv.release(p, h.revision).await;
                released += 1;
            }
        }
        if released > 0 {
            count(&self.shared.stats.released, released);
            log::info!("cluster hand-over node={} released={released}", self.me());
        }
        // Every renewal at once: a round costs one round trip, not one per lease, so a node
        // on a starved CPU still renews well inside its local deadline.
        let me = self.me();
        let held: Vec<(Partition, Held)> = todo
            .renew
            .iter()
            .filter_map(|p| self.held.get(p).map(|h| (*p, *h)))
            .collect();
        let sent = Instant::now();
        let kv = &self.kv;
        let answers = futures_util::future::join_all(held.iter().map(|(p, h)| kv.renew(*p, me, h.revision))).await;
        for ((p, h), answer) in held.into_iter().zip(answers) {
            match answer {
                Ok(revision) => {
                    self.held.insert(
                        p,
                        Held {
                            token: h.token,
                            revision,
                        },
                    );
                    self.table.hold(p, h.token, local_deadline(sent, lease, renew));
                }
                Err(Refused::Taken) => self.lose(p, "renew_refused"),
                // Kept until its local deadline: the next round tries again.
                Err(Refused::Failed(e)) => log::warn!("cluster renew failed partition={p} error={e}"),
            }
        }
        // Every acquisition at once too: one after another, the first lease acquired of a
        // hand-over's 32 could reach its local deadline before the next round renewed it, and
        // what other nodes forwarded for it meanwhile was refused here as not held.
        let mut gained = 0;
        let sent = Instant::now();
        let acquiring: Vec<Partition> = todo.acquire.into_iter().collect();
        let kv = &self.kv;
        let answers = futures_util::future::join_all(acquiring.iter().map(|p| kv.acquire(*p, me))).await;
        for (p, answer) in acquiring.into_iter().zip(answers) {
            match answer {
                Ok(token) => {
                    let fence = Fence { partition: p, token };
                    self.held.insert(p, Held { token, revision: token });
                    self.table.hold(p, token, local_deadline(sent, lease, renew));
                    // A live previous owner released it (hand-over): not a takeover.
                    let from = self.last_owner.remove(&p).filter(|o| !live.contains(o));
                    if from.is_some() {
                        count(&self.shared.stats.takeovers, 1);
                    }
                    gained += 1;
                    let _ = self.changes.send(Change::Gained { fence, from });
                }
                Err(Refused::Taken) => {}
                Err(Refused::Failed(e)) => log::warn!("cluster acquire failed partition={p} error={e}"),
            }
        }
        if gained > 0 {
            count(&self.shared.stats.acquired, gained);
            log::info!(
                "cluster acquired node={} count={gained} held={}",
                self.me(),
                self.held.len()
            );
        }
        // The view: what was read, with this round's own changes.
        let mut leases = leases;
        for (p, h) in &self.held {
            leases.insert(
                *p,
                super::kv::LeaseRow {
                    owner: self.me(),
                    revision: h.revision,
                },
            );
        }
        leases.retain(|p, l| l.owner != self.me() || self.held.contains_key(p));
        let mut nodes = nodes;
        nodes.entry(self.me()).or_insert_with(|| self.shared.record());
        let tokens = self.held.iter().map(|(&p, h)| (p, h.token)).collect();
        self.shared.set_observed(Observed { nodes, leases, tokens });
    }
}
