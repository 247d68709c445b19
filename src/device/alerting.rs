//! Which alerts a device transition means. Pure: a table from transition to intents.
//!
//! | transition                     | alerts                                                  |
//! |--------------------------------|---------------------------------------------------------|
//! | to `down`, heartbeat missed    | raise `heartbeat_missed` (major)                        |
//! | to `down`, fault reported      | raise `device_fault` (major)                            |
//! | to `up`                        | resolve `heartbeat_missed`, `device_fault`              |
//! | to `flapping`                  | raise `flapping` (minor)                                |
//! | from `flapping` (stable)       | resolve `flapping`; then as the state it settles on     |
//! | to `quarantined`               | raise `crash_loop` (critical)                           |
//! | from `quarantined`             | resolve `crash_loop`                                    |
//! | to or from `maintenance`       | nothing (maintenance silences the device)               |
//! | to `unreachable` from up       | `heartbeat_missed` recorded under the client's alert (suppressed) |
//! | back from `unreachable`        | as the state it returns to (up resolves, down raises)   |

use super::lifecycle::{Reason, Transition};
use super::model::DeviceState;
use crate::alert::{AlertKind, Intent, Severity, Subject, SubjectType};
use crate::ids::DeviceId;

/// The alert intents for one transition of device `id`, hosted by `client`.
pub fn intents(id: &DeviceId, client: &str, tr: &Transition) -> Vec<Intent> {
    let subject = || Subject {
        kind: SubjectType::Device,
        id: id.to_string(),
    };
    let raise = |kind, severity, detail: Option<String>| Intent::Raise {
        subject: subject(),
        kind,
        severity,
        detail,
    };
    let resolve = |kind| Intent::Resolve {
        subject: subject(),
        kind,
    };
    let mut out = Vec::new();
    match tr.from {
        DeviceState::Flapping => out.push(resolve(AlertKind::Flapping)),
        DeviceState::Quarantined => out.push(resolve(AlertKind::CrashLoop)),
        _ => {}
    }
    if tr.reason == Reason::MaintenanceOn || tr.reason == Reason::MaintenanceOff {
        return out;
    }
    match (tr.to, &tr.reason) {
        (DeviceState::Unreachable, _) if tr.from == DeviceState::Up => {
            out.push(Intent::RaiseSuppressed {
                subject: subject(),
                kind: AlertKind::HeartbeatMissed,
                severity: Severity::Major,
                parent: Subject {
                    kind: SubjectType::Client,
                    id: client.to_owned(),
                },
            });
        }
        (DeviceState::Down, Reason::Fault(detail)) => {
            out.push(raise(AlertKind::DeviceFault, Severity::Major, Some(detail.clone())));
        }
        (DeviceState::Down, _) => out.push(raise(AlertKind::HeartbeatMissed, Severity::Major, None)),
        (DeviceState::Up, _) => {
            out.push(resolve(AlertKind::HeartbeatMissed));
            out.push(resolve(AlertKind::DeviceFault));
        }
        (DeviceState::Flapping, _) => out.push(raise(AlertKind::Flapping, Severity::Minor, None)),
        (DeviceState::Quarantined, Reason::Quarantined(why)) => {
            out.push(raise(AlertKind::CrashLoop, Severity::Critical, Some(why.clone())));
        }
        (DeviceState::Quarantined, _) => out.push(raise(AlertKind::CrashLoop, Severity::Critical, None)),
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Millis;

    fn tr(from: DeviceState, to: DeviceState, reason: Reason) -> Transition {
        Transition {
            from,
            to,
            at: Millis(1),
            reason,
        }
    }

    fn kinds(intents: &[Intent]) -> Vec<(&'static str, AlertKind)> {
        intents
            .iter()
            .map(|i| match i {
                Intent::Raise { kind, .. } => ("raise", *kind),
                Intent::Resolve { kind, .. } => ("resolve", *kind),
                Intent::RaiseSuppressed { kind, .. } => ("suppressed", *kind),
                Intent::Retire { kind, .. } => ("retire", *kind),
            })
            .collect()
    }

    #[test]
    fn the_table_holds() {
        use DeviceState::*;
        let id: DeviceId = "cam-1".parse().unwrap();
        let case = |from, to, reason| kinds(&intents(&id, "pc-1", &tr(from, to, reason)));
        assert_eq!(
            case(Up, Down, Reason::HeartbeatMissed),
            vec![("raise", AlertKind::HeartbeatMissed)]
        );
        assert_eq!(
            case(Up, Down, Reason::Fault("x".into())),
            vec![("raise", AlertKind::DeviceFault)]
        );
        assert_eq!(
            case(Down, Up, Reason::Recovered),
            vec![
                ("resolve", AlertKind::HeartbeatMissed),
                ("resolve", AlertKind::DeviceFault)
            ]
        );
        assert_eq!(
            case(Down, Flapping, Reason::Flapping),
            vec![("raise", AlertKind::Flapping)]
        );
        assert_eq!(
            case(Flapping, Up, Reason::Stable),
            vec![
                ("resolve", AlertKind::Flapping),
                ("resolve", AlertKind::HeartbeatMissed),
                ("resolve", AlertKind::DeviceFault)
            ]
        );
        assert_eq!(
            case(Up, Quarantined, Reason::Quarantined("boom".into())),
            vec![("raise", AlertKind::CrashLoop)]
        );
        assert_eq!(
            case(Quarantined, Unknown, Reason::Released),
            vec![("resolve", AlertKind::CrashLoop)]
        );
        assert!(case(Up, Maintenance, Reason::MaintenanceOn).is_empty());
        assert!(case(Maintenance, Down, Reason::MaintenanceOff).is_empty());
        assert_eq!(case(Unknown, Up, Reason::Recovered).len(), 2);
        assert_eq!(
            case(Up, Unreachable, Reason::ClientDisconnected),
            vec![("suppressed", AlertKind::HeartbeatMissed)]
        );
        assert!(
            case(Down, Unreachable, Reason::ClientDisconnected).is_empty(),
            "its alert is already open"
        );
        assert_eq!(case(Unreachable, Up, Reason::ClientReconnected).len(), 2);
    }
}
