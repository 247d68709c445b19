//! What a device is: its kind, its registered configuration and its states.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{ClientId, DeviceId};

/// Heartbeat interval when the registration names none (DOMAIN.md: 5 s).
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);
/// Missed intervals before a device is down (DOMAIN.md: 3).
pub const DEFAULT_MISS_TOLERANCE: u32 = 3;
/// Bounds on a registered interval, so a typo cannot make a device flap or never be checked.
pub const MIN_HEARTBEAT_INTERVAL: Duration = Duration::from_millis(100);
pub const MAX_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(3_600);
pub const MAX_MISS_TOLERANCE: u32 = 100;

/// A field device's kind (API.md; more may be added).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    VehicleDetector,
    LprCamera,
    Gate,
    GuidanceCamera,
    PaymentKiosk,
}

impl DeviceKind {
    pub const ALL: [DeviceKind; 5] = [
        DeviceKind::VehicleDetector,
        DeviceKind::LprCamera,
        DeviceKind::Gate,
        DeviceKind::GuidanceCamera,
        DeviceKind::PaymentKiosk,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::VehicleDetector => "vehicle_detector",
            DeviceKind::LprCamera => "lpr_camera",
            DeviceKind::Gate => "gate",
            DeviceKind::GuidanceCamera => "guidance_camera",
            DeviceKind::PaymentKiosk => "payment_kiosk",
        }
    }

    /// The kind's default heartbeat interval and miss tolerance.
    pub fn default_deadline(self) -> (Duration, u32) {
        (DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_MISS_TOLERANCE)
    }
}

impl FromStr for DeviceKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        DeviceKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown device kind {s:?}"))
    }
}

/// A device's state (API.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum DeviceState {
    /// Registered, never heard from.
    Unknown = 0,
    Up = 1,
    /// Silent past its deadline, or reported a fault.
    Down = 2,
    /// Its client (gate PC) is disconnected.
    Unreachable = 3,
    /// Changing state too often; held until stable.
    Flapping = 4,
    /// Its actor crashed too often; the supervisor gave up.
    Quarantined = 5,
    /// Silenced by an operator.
    Maintenance = 6,
}

impl DeviceState {
    pub const ALL: [DeviceState; 7] = [
        DeviceState::Unknown,
        DeviceState::Up,
        DeviceState::Down,
        DeviceState::Unreachable,
        DeviceState::Flapping,
        DeviceState::Quarantined,
        DeviceState::Maintenance,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeviceState::Unknown => "unknown",
            DeviceState::Up => "up",
            DeviceState::Down => "down",
            DeviceState::Unreachable => "unreachable",
            DeviceState::Flapping => "flapping",
            DeviceState::Quarantined => "quarantined",
            DeviceState::Maintenance => "maintenance",
        }
    }

    pub fn from_u8(v: u8) -> DeviceState {
        DeviceState::ALL
            .get(usize::from(v))
            .copied()
            .unwrap_or(DeviceState::Unknown)
    }
}

impl FromStr for DeviceState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        DeviceState::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown device state {s:?}"))
    }
}

impl fmt::Display for DeviceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a heartbeat says about a device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HeartbeatStatus {
    Ok,
    Fault,
}

/// A device's registered configuration: fixed for the life of its actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSpec {
    pub id: DeviceId,
    pub kind: DeviceKind,
    pub client_id: ClientId,
    pub site: Option<String>,
    pub zone: Option<String>,
    pub lane: Option<String>,
    pub standby_id: Option<DeviceId>,
    pub heartbeat_interval: Duration,
    pub miss_tolerance: u32,
    pub auto_failover: bool,
}

impl DeviceSpec {
    /// How long a device may be silent before it is down: interval × tolerance.
    pub fn deadline_window(&self) -> Duration {
        self.heartbeat_interval.saturating_mul(self.miss_tolerance.max(1))
    }

    /// Why this spec cannot be registered, if it cannot: interval and tolerance in range, and
    /// not its own standby.
    pub fn check(&self) -> Result<(), String> {
        if !(MIN_HEARTBEAT_INTERVAL..=MAX_HEARTBEAT_INTERVAL).contains(&self.heartbeat_interval) {
            return Err(format!(
                "heartbeat_interval_ms must be between {} and {}",
                MIN_HEARTBEAT_INTERVAL.as_millis(),
                MAX_HEARTBEAT_INTERVAL.as_millis()
            ));
        }
        if !(1..=MAX_MISS_TOLERANCE).contains(&self.miss_tolerance) {
            return Err(format!("miss_tolerance must be between 1 and {MAX_MISS_TOLERANCE}"));
        }
        if self.standby_id.as_ref() == Some(&self.id) {
            return Err("a device cannot be its own standby".into());
        }
        Ok(())
    }
}
