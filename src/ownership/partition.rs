//! Partitions: a fixed number (`KWANJE_PARTITIONS`, the same on every node) of buckets that
//! ownership is handed out by. A key (a gate PC's or kiosk's client id for its devices, a
//! terminal id for its dispatcher and its taxis) always falls in the same partition, on every
//! node and every build: the hash is FNV-1a over the key's bytes, never the standard library's
//! `DefaultHasher`, whose output may change between Rust releases.
//!
//! Pure: no I/O.

use std::fmt;
use std::hash::Hasher;

/// One partition, `0..count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Partition(pub u16);

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// How many partitions there are, and which one a key falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partitions {
    count: u16,
}

impl Partitions {
    /// The default, 64: enough for tens of nodes, few enough to lease cheaply.
    pub const DEFAULT: Partitions = Partitions { count: 64 };

    /// `count` partitions; `None` for 0.
    pub fn new(count: u16) -> Option<Partitions> {
        (count > 0).then_some(Partitions { count })
    }

    pub fn count(self) -> u16 {
        self.count
    }

    /// The partition `key` falls in.
    pub fn of(self, key: &str) -> Partition {
        let mut hasher = fnv::FnvHasher::default();
        hasher.write(key.as_bytes());
        let bucket = hasher.finish() % u64::from(self.count);
        Partition(u16::try_from(bucket).unwrap_or(0))
    }

    /// Every partition, in order.
    pub fn all(self) -> impl Iterator<Item = Partition> {
        (0..self.count).map(Partition)
    }
}

impl Default for Partitions {
    fn default() -> Self {
        Partitions::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_partitions_is_refused() {
        assert_eq!(Partitions::new(0), None);
        assert_eq!(Partitions::new(1).map(Partitions::count), Some(1));
    }

    #[test]
    fn a_key_always_falls_in_the_same_partition() {
        // Pinned values: a change of hash would move every gate PC to another owner on upgrade.
        let p = Partitions::DEFAULT;
        assert_eq!(p.of("gate-t1-03"), p.of("gate-t1-03"));
        assert_eq!(
            p.of(""),
            Partition(u16::try_from(0xcbf2_9ce4_8422_2325_u64 % 64).unwrap())
        );
        assert_eq!(
            p.of("a"),
            Partition(u16::try_from(0xaf63_dc4c_8601_ec8c_u64 % 64).unwrap())
        );
    }

    #[test]
    fn keys_spread_over_every_partition() {
        let p = Partitions::new(16).unwrap();
        let mut seen = [0_u32; 16];
        for i in 0..1_600 {
            seen[usize::from(p.of(&format!("gate-{i}")).0)] += 1;
        }
        assert!(seen.iter().all(|&n| n > 50), "{seen:?}");
    }

    #[test]
    fn one_partition_holds_everything() {
        let p = Partitions::new(1).unwrap();
        assert!(["x", "gate-t1-03", "T2"].iter().all(|k| p.of(k) == Partition(0)));
        assert_eq!(p.all().collect::<Vec<_>>(), vec![Partition(0)]);
    }
}
