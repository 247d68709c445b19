//! Identifiers: validated newtypes for the natural keys clients send, and time-ordered 64-bit
//! ids for the rows the server creates.
//!
//! Natural keys (`DeviceId`, `ClientId`) are validated once at the edge ([`FromStr`]) so the
//! rest of the code never sees an empty or oversized id. Generated ids ([`IdGen`]) are
//! `milliseconds | node | sequence`, so they sort by creation time and two nodes never collide,
//! and they fit in 53 bits, so a JavaScript console reads them as exact numbers.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::time::Millis;

/// Longest natural key accepted from a client.
pub const MAX_KEY_LEN: usize = 64;

/// A natural key that failed validation.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("invalid {what} {value:?}: use 1 to {MAX_KEY_LEN} of A-Z a-z 0-9 . _ - :")]
pub struct InvalidKey {
    pub what: &'static str,
    pub value: String,
}

/// Checks `value` against the natural-key alphabet and length (`what` names it in the error).
pub fn validate(what: &'static str, value: &str) -> Result<(), InvalidKey> {
    let ok = !value.is_empty()
        && value.len() <= MAX_KEY_LEN
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':'));
    if ok {
        Ok(())
    } else {
        Err(InvalidKey {
            what,
            value: value.chars().take(MAX_KEY_LEN + 8).collect(),
        })
    }
}

macro_rules! natural_key {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = InvalidKey;
            fn from_str(s: &str) -> Result<Self, InvalidKey> {
                validate($what, s)?;
                Ok($name(s.to_owned()))
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidKey;
            fn try_from(s: String) -> Result<Self, InvalidKey> {
                validate($what, &s)?;
                Ok($name(s))
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::try_from(s).map_err(serde::de::Error::custom)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

natural_key!(
    /// A field device's id, as registered (`gate-t1-p1-entry-3`).
    DeviceId,
    "device id"
);
natural_key!(
    /// A gate PC's or kiosk's id: the `client` claim of its token.
    ClientId,
    "client id"
);

/// Bits of a generated id given to the node number (16 nodes).
const NODE_BITS: u32 = 4;
/// Bits of a generated id given to the per-millisecond sequence (256 ids a millisecond a node
/// before borrowing from the next millisecond).
const SEQ_BITS: u32 = 8;
/// Largest node number.
pub const MAX_NODE: u16 = (1 << NODE_BITS) - 1;
/// Generated ids count milliseconds from 2024-01-01T00:00:00Z, which lasts until the 2090s.
const ID_EPOCH_MS: i64 = 1_704_067_200_000;

/// Makes time-ordered ids: `(ms since 2024) << 12 | node << 8 | seq`, at most 2^53 - 1.
///
/// Lock-free: one atomic holds the last `(ms, seq)` pair; a burst of more than 256 ids in one
/// millisecond borrows from the next millisecond rather than blocking, so ids stay unique and
/// ordered even when the wall clock steps back.
#[derive(Debug)]
pub struct IdGen {
    node: u64,
    last: AtomicU64,
}

impl IdGen {
    pub fn new(node: u16) -> Self {
        IdGen {
            node: u64::from(node) & ((1 << NODE_BITS) - 1),
            last: AtomicU64::new(0),
        }
    }

    /// The next id for a row created at `now`.
    pub fn next(&self, now: Millis) -> i64 {
        let ms = u64::try_from(now.0.saturating_sub(ID_EPOCH_MS)).unwrap_or(0);
        let wanted = ms << SEQ_BITS;
        let mut prev = self.last.load(Ordering::Relaxed);
        loop {
            let slot = if wanted > prev { wanted } else { prev + 1 };
            match self
                .last
                .compare_exchange_weak(prev, slot, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => {
                    let (ms, seq) = (slot >> SEQ_BITS, slot & ((1 << SEQ_BITS) - 1));
                    let id = (ms << (NODE_BITS + SEQ_BITS)) | (self.node << SEQ_BITS) | seq;
                    return i64::try_from(id & ((1 << 53) - 1)).unwrap_or(0);
                }
                Err(actual) => prev = actual,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_validated_at_the_edge() {
        assert!("gate-t1.lane_3:a".parse::<DeviceId>().is_ok());
        assert!("".parse::<DeviceId>().is_err());
        assert!("has space".parse::<DeviceId>().is_err());
        assert!("x".repeat(MAX_KEY_LEN + 1).parse::<ClientId>().is_err());
        let err = serde_json::from_str::<DeviceId>("\"a/b\"").unwrap_err();
        assert!(err.to_string().contains("invalid device id"));
    }

    #[test]
    fn generated_ids_are_unique_and_ordered_even_when_the_clock_steps_back() {
        let ids = IdGen::new(3);
        let t = Millis(ID_EPOCH_MS + 1_000);
        let mut seen = Vec::new();
        for i in 0..10_000 {
            let now = if i % 100 == 0 { Millis(t.0 - 5) } else { t };
            seen.push(ids.next(now));
        }
        assert!(seen.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(seen[1] >> 12, 1_000);
        assert_eq!((seen[1] >> 8) & 0xf, 3);
    }

    #[test]
    fn ids_fit_in_a_javascript_number_for_seventy_years() {
        let ids = IdGen::new(MAX_NODE);
        let far = Millis(ID_EPOCH_MS + 70 * 365 * 24 * 3_600 * 1_000);
        let id = ids.next(far);
        assert!(id > 0 && id < (1 << 53), "{id}");
        assert!(ids.next(far) > id);
    }
}
