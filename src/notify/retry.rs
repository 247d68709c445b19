//! How long a failed delivery waits before it is tried again: 1 s, doubling per failed attempt,
//! at most a minute, so a receiver that is down for an hour is asked about once a minute and one
//! that comes back is caught up within a minute.

use std::time::Duration;

/// The first wait.
pub const FIRST: Duration = Duration::from_secs(1);
/// The longest wait.
pub const MAX: Duration = Duration::from_secs(60);

/// The wait after the `attempts`-th failed attempt (1 for the first).
pub fn delay(attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(16);
    FIRST.saturating_mul(1 << doublings).min(MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_a_minute() {
        let waits: Vec<u64> = (1..=9).map(|a| delay(a).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(delay(0), FIRST);
        assert_eq!(delay(u32::MAX), MAX);
    }
}
