//! What a receiver is sent for one alert change: a JSON body shaped as an Alertmanager webhook
//! (`version: "4"`, `status`, `alerts[]` with `labels`, `annotations`, `startsAt`, `endsAt`,
//! `fingerprint`), so tools that read Alertmanager's can read it, with kwanje's own alert and
//! event under `kwanje`; and its idempotency key, the same for every retry of the change.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::alert::model::AlertEvent;
use crate::alert::{Alert, AlertState};

/// Alertmanager's "not ended" time.
const NOT_ENDED: &str = "0001-01-01T00:00:00Z";

fn rfc3339(ms: i64) -> String {
    let at = UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    humantime::format_rfc3339_millis(at.max(SystemTime::UNIX_EPOCH)).to_string()
}

/// The key a receiver drops a repeated delivery by: the alert's id and version
/// (`{id}:{version}`), and for a re-notification, which leaves the version as it is, the time it
/// was re-notified (`{id}:{version}:renotified:{ms}`).
pub fn idempotency_key(alert: &Alert, event: AlertEvent) -> String {
    match event {
        AlertEvent::Renotified => format!(
            "{}:{}:renotified:{}",
            alert.id,
            alert.version,
            alert.notified_ms.unwrap_or(alert.updated_ms)
        ),
        _ => format!("{}:{}", alert.id, alert.version),
    }
}

/// The body sent to receiver `receiver` for `alert`'s change `event`.
pub fn body(receiver: &str, alert: &Alert, event: AlertEvent) -> Value {
    let status = if alert.state == AlertState::Resolved {
        "resolved"
    } else {
        "firing"
    };
    let labels = json!({
        "alertname": alert.kind.as_str(),
        "severity": alert.severity.as_str(),
        "subject_type": alert.subject_type.as_str(),
        "subject_id": alert.subject_id,
        "state": alert.state.as_str(),
    });
    let summary = format!(
        "{} {} on {} {}",
        alert.severity.as_str(),
        alert.kind.as_str(),
        alert.subject_type.as_str(),
        alert.subject_id
    );
    let mut annotations = json!({ "summary": summary });
    if let Some(detail) = &alert.detail {
        annotations["detail"] = json!(detail);
    }
    json!({
        "version": "4",
        "groupKey": format!("kwanje:alert:{}", alert.id),
        "truncatedAlerts": 0,
        "status": status,
        "receiver": receiver,
        "groupLabels": { "alertname": alert.kind.as_str() },
        "commonLabels": labels,
        "commonAnnotations": annotations,
        "externalURL": "",
        "alerts": [{
            "status": status,
            "labels": labels,
            "annotations": annotations,
            "startsAt": rfc3339(alert.opened_ms),
            "endsAt": alert.resolved_ms.map_or_else(|| NOT_ENDED.to_owned(), rfc3339),
            "generatorURL": "",
            "fingerprint": alert.id.to_string(),
        }],
        "kwanje": {
            "event": event,
            "idempotency_key": idempotency_key(alert, event),
            "alert": alert,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{AlertKind, Severity};

    fn alert() -> Alert {
        Alert {
            id: 42,
            detail: Some("silent".into()),
            opened_ms: 1_796_000_000_000,
            updated_ms: 1_796_000_000_000,
            ..crate::notify::test_alert(AlertKind::HeartbeatMissed, Severity::Major)
        }
    }

    #[test]
    fn an_open_alert_fires_and_a_resolved_one_ends() {
        let open = body("pager", &alert(), AlertEvent::Raised);
        assert_eq!(open["version"], "4");
        assert_eq!(open["status"], "firing");
        assert_eq!(open["receiver"], "pager");
        let a = &open["alerts"][0];
        assert_eq!(a["labels"]["alertname"], "heartbeat_missed");
        assert_eq!(a["labels"]["severity"], "major");
        assert_eq!(a["annotations"]["detail"], "silent");
        assert_eq!(a["startsAt"], "2026-11-30T00:53:20.000Z");
        assert_eq!(a["endsAt"], NOT_ENDED);
        assert_eq!(a["fingerprint"], "42");
        assert_eq!(open["kwanje"]["idempotency_key"], "42:1");
        assert_eq!(open["kwanje"]["alert"]["version"], 1);

        let mut resolved = alert();
        resolved.state = AlertState::Resolved;
        resolved.resolved_ms = Some(1_796_000_060_000);
        resolved.version = 2;
        let done = body("pager", &resolved, AlertEvent::Updated);
        assert_eq!(done["status"], "resolved");
        assert_eq!(done["alerts"][0]["endsAt"], "2026-11-30T00:54:20.000Z");
        assert_eq!(done["kwanje"]["idempotency_key"], "42:2");
    }

    #[test]
    fn a_renotification_has_a_key_of_its_own() {
        let mut again = alert();
        again.notified_ms = Some(7);
        assert_eq!(idempotency_key(&again, AlertEvent::Renotified), "42:1:renotified:7");
        assert_eq!(idempotency_key(&again, AlertEvent::Updated), "42:1");
    }
}
