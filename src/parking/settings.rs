//! The settings of parking sessions, from the configuration.

use std::time::Duration;

use super::core::lpr::DEFAULT_MIN_CONFIDENCE;
use super::core::sessions::DEFAULT_GRACE;
use super::core::tariff::Tariff;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParkingSettings {
    /// Time to drive to the exit after paying in full (`KWANJE_PARKING_EXIT_GRACE_SECS`).
    pub exit_grace: Duration,
    /// Plate readings below this confidence fall back to a ticket (`KWANJE_LPR_MIN_CONFIDENCE`).
    pub min_confidence: f64,
    /// The tariff of a zone without its own (`KWANJE_PARKING_DEFAULT_TARIFF`: a preset).
    pub default_tariff: Tariff,
}

impl Default for ParkingSettings {
    fn default() -> Self {
        ParkingSettings {
            exit_grace: DEFAULT_GRACE,
            min_confidence: DEFAULT_MIN_CONFIDENCE,
            default_tariff: Tariff::SHORT_TERM,
        }
    }
}
