//! Fault injection at random, as a pure core: given a rate and a random source, which faults a
//! gate PC suffers this tick. `rate` is the chance, per device and heartbeat tick, that a fault
//! starts on it (0.001 on a 1,000-device site at 5 s: one fault every 25 s or so).

use rand::Rng;

/// Ticks a fault report lasts, at most.
pub const MAX_FAULT_TICKS: u32 = 3;
/// Ticks of flapping: enough up/down changes (more than 5) for the server to call it flapping.
pub const FLAP_TICKS: u32 = 12;
/// A gate PC's own chance of dropping its session, relative to one device's.
pub const DROP_WEIGHT: f64 = 2.0;

/// One fault to inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The device at this position falls silent for `ticks` (past its miss tolerance).
    Silence { device: usize, ticks: u32 },
    /// It reports a fault for `ticks`.
    Fault { device: usize, ticks: u32 },
    /// It flaps for `ticks`.
    Flap { device: usize, ticks: u32 },
    /// Its actor is crashed through the fault-injection endpoint (when the server allows it).
    Crash { device: usize },
    /// The gate PC drops its session (no DISCONNECT) and stays away `ticks`.
    DropSession { ticks: u32 },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Chaos {
    pub rate: f64,
}

impl Chaos {
    pub fn new(rate: f64) -> Chaos {
        Chaos {
            rate: rate.clamp(0.0, 1.0),
        }
    }

    pub fn is_off(&self) -> bool {
        self.rate <= 0.0
    }

    /// The faults of one tick for a client of `devices` devices whose miss tolerance is
    /// `tolerance` ticks.
    pub fn roll(&self, rng: &mut impl Rng, devices: usize, tolerance: u32) -> Vec<Fault> {
        let mut faults = Vec::new();
        if self.is_off() {
            return faults;
        }
        for device in 0..devices {
            if rng.random::<f64>() >= self.rate {
                continue;
            }
            let kind: f64 = rng.random();
            faults.push(if kind < 0.45 {
                Fault::Fault {
                    device,
                    ticks: rng.random_range(1..=MAX_FAULT_TICKS),
                }
            } else if kind < 0.8 {
                Fault::Silence {
                    device,
                    ticks: tolerance + rng.random_range(2..=4),
                }
            } else if kind < 0.9 {
                Fault::Flap {
                    device,
                    ticks: FLAP_TICKS,
                }
            } else {
                Fault::Crash { device }
            });
        }
        if rng.random::<f64>() < (self.rate * DROP_WEIGHT).min(1.0) {
            faults.push(Fault::DropSession {
                ticks: rng.random_range(1..=3),
            });
        }
        faults
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn no_chaos_no_faults() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        assert!(Chaos::new(0.0).roll(&mut rng, 1_000, 3).is_empty());
    }

    #[test]
    fn the_rate_sets_how_many_and_every_kind_appears() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let chaos = Chaos::new(0.01);
        let mut all = Vec::new();
        for _ in 0..100 {
            all.extend(chaos.roll(&mut rng, 1_000, 3));
        }
        let devices = all.iter().filter(|f| !matches!(f, Fault::DropSession { .. })).count();
        // 100 ticks × 1,000 devices × 1 % = 1,000 expected.
        assert!((800..1_200).contains(&devices), "{devices}");
        for kind in 0..5 {
            assert!(
                all.iter().any(|f| match (kind, f) {
                    (0, Fault::Silence { ticks, .. }) => *ticks > 3,
                    (1, Fault::Fault { .. }) => true,
                    (2, Fault::Flap { .. }) => true,
                    (3, Fault::Crash { .. }) => true,
                    (4, Fault::DropSession { .. }) => true,
                    _ => false,
                }),
                "kind {kind}"
            );
        }
        assert!(all.iter().all(|f| match f {
            Fault::Silence { device, .. }
            | Fault::Fault { device, .. }
            | Fault::Flap { device, .. }
            | Fault::Crash { device } => *device < 1_000,
            Fault::DropSession { .. } => true,
        }));
    }
}
