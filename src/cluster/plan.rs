//! The lease plan: given the live nodes and who owns each partition now, which partitions this
//! node should acquire, keep (renew) and release. Pure: no NATS, no clock.
//!
//! Every node computes the same quotas from the same facts: the live nodes in id order, the
//! first `count % n` of them owning one more than `count / n`. A node over its quota releases
//! its highest partitions while another live node is under its own (an orderly hand-over: the
//! joining node takes them at its next round, nobody waits for an expiry); a node under its
//! quota acquires free partitions, starting at an offset of its own so that two nodes short at
//! once mostly try different ones.

use std::collections::{BTreeMap, BTreeSet};

use crate::ownership::{Partition, Partitions};

/// What this node does with the leases in one round.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Free partitions to try to create a lease for.
    pub acquire: Vec<Partition>,
    /// Held partitions to keep (renew with the expected revision).
    pub renew: Vec<Partition>,
    /// Held partitions to give up now (delete the lease).
    pub release: Vec<Partition>,
}

/// How many partitions each live node should own: `live` in id order.
pub fn quotas(partitions: Partitions, live: &BTreeSet<u16>) -> BTreeMap<u16, usize> {
    let n = live.len().max(1);
    let count = usize::from(partitions.count());
    live.iter()
        .enumerate()
        .map(|(rank, &node)| (node, count / n + usize::from(rank < count % n)))
        .collect()
}

/// The plan of node `me` (counted live even when its registration is not seen yet).
pub fn plan(me: u16, partitions: Partitions, live: &BTreeSet<u16>, owners: &BTreeMap<Partition, u16>) -> Plan {
    let mut live = live.clone();
    live.insert(me);
    let quotas = quotas(partitions, &live);
    let quota = quotas.get(&me).copied().unwrap_or(0);
    let mut held: Vec<Partition> = owners.iter().filter(|(_, &o)| o == me).map(|(&p, _)| p).collect();
    let mut counts: BTreeMap<u16, usize> = BTreeMap::new();
    for owner in owners.values() {
        *counts.entry(*owner).or_default() += 1;
    }
    let mut out = Plan::default();
    if held.len() > quota {
        let someone_short = quotas
            .iter()
            .any(|(node, &q)| *node != me && counts.get(node).copied().unwrap_or(0) < q);
        if someone_short {
            out.release = held.split_off(quota);
        }
    } else if held.len() < quota {
        let free: Vec<Partition> = partitions.all().filter(|p| !owners.contains_key(p)).collect();
        if !free.is_empty() {
            let rank = live.iter().position(|&n| n == me).unwrap_or(0);
            let start = rank * free.len() / live.len();
            out.acquire = free
                .iter()
                .cycle()
                .skip(start)
                .take(free.len().min(quota - held.len()))
                .copied()
                .collect();
            out.acquire.sort();
        }
    }
    out.renew = held;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(n: u16) -> Partitions {
        Partitions::new(n).unwrap()
    }

    fn set(nodes: &[u16]) -> BTreeSet<u16> {
        nodes.iter().copied().collect()
    }

    /// Runs rounds of every node's plan (each acquire succeeds unless already taken) until
    /// nothing changes; answers the final owners.
    fn settle(partitions: Partitions, live: &[u16], mut owners: BTreeMap<Partition, u16>) -> BTreeMap<Partition, u16> {
        for _ in 0..20 {
            let before = owners.clone();
            for &me in live {
                let p = plan(me, partitions, &set(live), &owners);
                for r in p.release {
                    owners.remove(&r);
                }
                for a in p.acquire {
                    owners.entry(a).or_insert(me);
                }
            }
            if owners == before {
                return owners;
            }
        }
        panic!("did not settle: {owners:?}");
    }

    fn counts(owners: &BTreeMap<Partition, u16>) -> BTreeMap<u16, usize> {
        let mut c = BTreeMap::new();
        for o in owners.values() {
            *c.entry(*o).or_default() += 1;
        }
        c
    }

    #[test]
    fn quotas_add_up_to_every_partition_and_differ_by_one_at_most() {
        let q = quotas(parts(64), &set(&[3, 1, 7]));
        assert_eq!(q.values().sum::<usize>(), 64);
        assert_eq!(q, BTreeMap::from([(1, 22), (3, 21), (7, 21)]));
    }

    #[test]
    fn a_lone_node_acquires_everything() {
        let p = plan(2, parts(8), &set(&[]), &BTreeMap::new());
        assert_eq!(p.acquire, parts(8).all().collect::<Vec<_>>());
        assert!(p.release.is_empty() && p.renew.is_empty());
    }

    #[test]
    fn a_joining_node_gets_its_share_by_hand_over() {
        let all: BTreeMap<_, _> = parts(64).all().map(|p| (p, 0)).collect();
        // The old owner sees the newcomer and releases its surplus, nobody waits for expiry.
        let p = plan(0, parts(64), &set(&[0, 1]), &all);
        assert_eq!(p.release.len(), 32);
        assert_eq!(p.renew.len(), 32);
        let owners = settle(parts(64), &[0, 1], all);
        assert_eq!(counts(&owners), BTreeMap::from([(0, 32), (1, 32)]));
    }

    #[test]
    fn a_node_at_quota_neither_releases_nor_acquires() {
        let owners: BTreeMap<_, _> = parts(4).all().map(|p| (p, if p.0 < 2 { 0 } else { 1 })).collect();
        let p = plan(0, parts(4), &set(&[0, 1]), &owners);
        assert_eq!(
            p,
            Plan {
                acquire: vec![],
                renew: vec![Partition(0), Partition(1)],
                release: vec![]
            }
        );
    }

    #[test]
    fn a_surplus_is_kept_while_nobody_is_short() {
        // Node 1 is live but the free partition is there for it: node 0 keeps its surplus.
        let owners: BTreeMap<_, _> = [(Partition(0), 0), (Partition(1), 0), (Partition(2), 1)].into();
        let p = plan(0, parts(4), &set(&[0, 1]), &owners);
        assert!(p.release.is_empty());
    }

    #[test]
    fn survivors_take_a_dead_nodes_partitions_once_it_is_gone() {
        let owners = settle(parts(64), &[0, 1, 2], BTreeMap::new());
        assert_eq!(counts(&owners).values().copied().collect::<Vec<_>>(), vec![22, 21, 21]);
        let survivors: BTreeMap<_, _> = owners.into_iter().filter(|(_, o)| *o != 1).collect();
        let owners = settle(parts(64), &[0, 2], survivors);
        assert_eq!(owners.len(), 64);
        assert_eq!(counts(&owners), BTreeMap::from([(0, 32), (2, 32)]));
    }

    #[test]
    fn two_short_nodes_start_at_different_free_partitions() {
        let a = plan(0, parts(64), &set(&[0, 1]), &BTreeMap::new());
        let b = plan(1, parts(64), &set(&[0, 1]), &BTreeMap::new());
        assert_eq!(a.acquire.len(), 32);
        assert_eq!(b.acquire.len(), 32);
        assert!(a.acquire.iter().all(|p| !b.acquire.contains(p)));
    }
}
