//! The JSON the server publishes for service events (API.md: messages are JSON with a `type`).
//!
//! - `device.state` on `/topic/devices` and `/topic/devices/{id}`: a device transition;
//! - `taxi.*` and `dispatch.*` ([`dispatch_message`]) on `/topic/dispatch`, on
//!   `/topic/taxis/{terminal}/{scope}` for the line the event is about ([`dispatch_scope`]:
//!   a region, or `all` in integrated mode), and on the taxi's driver's `/user/queue/dispatch`;
//!
//! Alert messages are shaped by the alert part itself (`AlertChanged::to_json`), since they are
//! stored in its outbox before they are published.
//!
//! Pure: values in, bytes out. It must not publish (the relay does) or decide anything.

use bytes::Bytes;
use serde_json::json;

use crate::device::entry::DeviceEntry;
use crate::device::lifecycle::{Reason, Transition};
use crate::taxi::core::events::DispatchEvent;
use crate::taxi::core::model::TerminalId;

/// Every device transition.
pub const DEVICES_TOPIC: &str = "/topic/devices";

/// The per-device topic of `id`.
pub fn device_topic(id: &str) -> String {
    format!("{DEVICES_TOPIC}/{id}")
}

/// Every dispatch event of every terminal.
pub const DISPATCH_TOPIC: &str = "/topic/dispatch";
/// A driver's own dispatch messages (its calls, assignments, ticket and suspension).
pub const DISPATCH_QUEUE: &str = "/user/queue/dispatch";

/// The topic of one terminal's line scope (`seoul`, or `all` in integrated mode).
pub fn taxi_topic(terminal: &TerminalId, scope: &str) -> String {
    format!("/topic/taxis/{terminal}/{scope}")
}

/// The line scope a dispatch event is about, if it is about one.
pub fn dispatch_scope(event: &DispatchEvent) -> Option<String> {
    match event {
        DispatchEvent::Queued { line, .. }
        | DispatchEvent::RemovedFromLine { line, .. }
        | DispatchEvent::Suspended { line, .. }
        | DispatchEvent::Resumed { line, .. }
        | DispatchEvent::Called { line, .. }
        | DispatchEvent::PickedUp { line, .. } => Some(line.scope.to_string()),
        DispatchEvent::Assigned { assignment } => Some(assignment.line.scope.to_string()),
        DispatchEvent::ServiceRegionChanged { to, .. } => Some(to.to_string()),
        _ => None,
    }
}

/// A `taxi.*` or `dispatch.*` message: the stored event, its API `type`, its terminal and its
/// record id (unique and increasing, so a consumer can drop a redelivery).
pub fn dispatch_message(record_id: i64, terminal: &TerminalId, event: &DispatchEvent) -> Bytes {
    let mut value = serde_json::to_value(event).unwrap_or_default();
    if let serde_json::Value::Object(fields) = &mut value {
        fields.insert("type".to_owned(), json!(event.message_type()));
        fields.insert("terminal".to_owned(), json!(terminal));
        fields.insert("record_id".to_owned(), json!(record_id));
    }
    Bytes::from(value.to_string())
}

/// A `device.state` message (`restarts`: the device actor's, as of the transition).
pub fn device_state(entry: &DeviceEntry, transition: &Transition, restarts: u32) -> Bytes {
    let detail = match &transition.reason {
        Reason::Fault(detail) | Reason::Quarantined(detail) => Some(detail.as_str()),
        _ => None,
    };
    let value = json!({
        "type": "device.state",
        "id": entry.spec().id.as_str(),
        "kind": entry.spec().kind.as_str(),
        "client_id": entry.spec().client_id.as_str(),
        "state": transition.to.as_str(),
        "from": transition.from.as_str(),
        "reason": transition.reason.name(),
        "detail": detail,
        "at_ms": transition.at.0,
        "last_seen_ms": entry.last_seen().map(|t| t.0),
        "restarts": restarts,
    });
    Bytes::from(value.to_string())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::device::entry::Snapshot;
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
        let entry = DeviceEntry::new(spec, snapshot, true);
        let tr = Transition {
            from: DeviceState::Up,
            to: DeviceState::Down,
            at: Millis(10),
            reason: Reason::Fault("jam".into()),
        };
        let v: serde_json::Value = serde_json::from_slice(&device_state(&entry, &tr, 0)).unwrap();
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
}
