//! The JSON the server publishes for service events (API.md: messages are JSON with a `type`).
//!
//! - `device.state` on `/topic/devices` and `/topic/devices/{id}`: a device transition;
//! - `alert.raised` (a new alert) and `alert.updated` (counted, acknowledged, resolved) on
//!   `/topic/alerts`, with the alert's API fields.
//!
//! Pure: values in, bytes out. It must not publish (the relay does) or decide anything.

use bytes::Bytes;
use serde_json::{json, Value};

use crate::alert::Alert;
use crate::device::lifecycle::{Reason, Transition};
use crate::device::registry::DeviceEntry;

/// Every device transition.
pub const DEVICES_TOPIC: &str = "/topic/devices";
/// Every alert change.
pub const ALERTS_TOPIC: &str = "/topic/alerts";

/// The per-device topic of `id`.
pub fn device_topic(id: &str) -> String {
    format!("{DEVICES_TOPIC}/{id}")
}

/// A `device.state` message.
pub fn device_state(entry: &DeviceEntry, transition: &Transition) -> Bytes {
    let detail = match &transition.reason {
        Reason::Fault(detail) | Reason::Quarantined(detail) => Some(detail.as_str()),
        _ => None,
    };
    let value = json!({
        "type": "device.state",
        "id": entry.spec.id.as_str(),
        "kind": entry.spec.kind.as_str(),
        "client_id": entry.spec.client_id.as_str(),
        "state": transition.to.as_str(),
        "from": transition.from.as_str(),
        "reason": transition.reason.name(),
        "detail": detail,
        "at_ms": transition.at.0,
        "last_seen_ms": entry.last_seen().map(|t| t.0),
        "restarts": entry.restarts(),
    });
    Bytes::from(value.to_string())
}

/// `alert.raised` for a newly opened alert (its first version), `alert.updated` otherwise.
pub fn alert_changed(alert: &Alert) -> Bytes {
    let kind = if alert.version <= 1 {
        "alert.raised"
    } else {
        "alert.updated"
    };
    let mut value = serde_json::to_value(alert).unwrap_or_else(|_| json!({}));
    if let Value::Object(fields) = &mut value {
        fields.insert("type".to_owned(), Value::from(kind));
    }
    Bytes::from(value.to_string())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::alert::{AlertKind, AlertState, Severity, SubjectType};
    use crate::device::registry::Snapshot;
    use crate::device::{DeviceKind, DeviceSpec, DeviceState};
    use crate::time::Millis;

    #[test]
    fn device_state_names_the_transition() {
        let spec = DeviceSpec {
            id: "cam-1".parse().unwrap(),
            kind: DeviceKind::LprCamera,
            client_id: "gate-1".parse().unwrap(),
            site: None,
            zone: None,
            lane: None,
            standby_id: None,
            heartbeat_interval: Duration::from_secs(5),
            miss_tolerance: 3,
            auto_failover: false,
        };
        let snapshot = Snapshot {
            state: DeviceState::Up,
            since: Millis(1),
            last_seen: Some(Millis(5)),
        };
        let entry = DeviceEntry::new(spec, snapshot, 0, true);
        let tr = Transition {
            from: DeviceState::Up,
            to: DeviceState::Down,
            at: Millis(10),
            reason: Reason::Fault("jam".into()),
        };
        let v: Value = serde_json::from_slice(&device_state(&entry, &tr)).unwrap();
        assert_eq!(v["type"], "device.state");
        assert_eq!(
            (v["id"].as_str(), v["state"].as_str(), v["from"].as_str()),
            (Some("cam-1"), Some("down"), Some("up"))
        );
        assert_eq!(
            (v["reason"].as_str(), v["detail"].as_str()),
            (Some("fault"), Some("jam"))
        );
        assert_eq!(device_topic("cam-1"), "/topic/devices/cam-1");
    }

    #[test]
    fn alerts_are_raised_once_then_updated() {
        let mut alert = Alert {
            id: 7,
            subject_type: SubjectType::Device,
            subject_id: "cam-1".into(),
            kind: AlertKind::HeartbeatMissed,
            severity: Severity::Major,
            state: AlertState::Open,
            count: 1,
            detail: None,
            opened_ms: 1,
            updated_ms: 1,
            acked_by: None,
            acked_ms: None,
            ack_note: None,
            resolved_by: None,
            resolved_ms: None,
            suppressed_by: None,
            version: 1,
        };
        let v: Value = serde_json::from_slice(&alert_changed(&alert)).unwrap();
        assert_eq!(
            (v["type"].as_str(), v["id"].as_i64(), v["kind"].as_str()),
            (Some("alert.raised"), Some(7), Some("heartbeat_missed"))
        );
        alert.version = 2;
        let v: Value = serde_json::from_slice(&alert_changed(&alert)).unwrap();
        assert_eq!(v["type"], "alert.updated");
    }
}
