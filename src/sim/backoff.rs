//! Reconnect backoff as field equipment does it: a first retry soon, each further one doubling up
//! to a ceiling, with jitter so a site's gate PCs do not return in one wave. Pure.

use std::time::Duration;

use rand::Rng;

pub const FIRST: Duration = Duration::from_millis(200);
pub const CEILING: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Default)]
pub struct Backoff {
    failures: u32,
}

impl Backoff {
    /// After a session that was CONNECTED: the next failure starts from [`FIRST`] again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// The wait before the next attempt: `FIRST × 2^failures`, at most [`CEILING`], plus up to
    /// 25 % jitter.
    pub fn next(&mut self, rng: &mut impl Rng) -> Duration {
        let base = FIRST.saturating_mul(1 << self.failures.min(16)).min(CEILING);
        self.failures = self.failures.saturating_add(1);
        base + base.mul_f64(rng.random_range(0.0..0.25))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn doubles_to_the_ceiling_and_resets() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let mut b = Backoff::default();
        let waits: Vec<Duration> = (0..10).map(|_| b.next(&mut rng)).collect();
        assert!(waits[0] >= FIRST && waits[0] < FIRST.mul_f64(1.25));
        assert!(waits[1] >= FIRST * 2);
        assert!(waits[9] >= CEILING && waits[9] <= CEILING.mul_f64(1.25));
        b.reset();
        assert!(b.next(&mut rng) < FIRST.mul_f64(1.25));
    }
}
