//! Which alert changes a receiver is sent: those at least as severe as its `min_severity` (all
//! when unset), of its `kinds` (all when unset).

use std::str::FromStr;

use crate::alert::{Alert, AlertKind, Severity};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Route {
    pub min_severity: Option<Severity>,
    pub kinds: Option<Vec<AlertKind>>,
}

impl Route {
    /// The route as stored: a severity name and comma-separated kinds; `Err` names a bad one.
    pub fn parse(min_severity: Option<&str>, kinds: Option<&str>) -> Result<Route, String> {
        let min_severity = min_severity.map(Severity::from_str).transpose()?;
        let kinds = kinds
            .map(|k| {
                k.split(',')
                    .map(str::trim)
                    .filter(|k| !k.is_empty())
                    .map(AlertKind::from_str)
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        Ok(Route { min_severity, kinds })
    }

    /// The kinds as stored (comma-separated), if any.
    pub fn kinds_text(&self) -> Option<String> {
        self.kinds
            .as_ref()
            .map(|k| k.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(","))
    }

    pub fn matches(&self, alert: &Alert) -> bool {
        // Severities order from critical (least) to info (greatest).
        self.min_severity.is_none_or(|min| alert.severity <= min)
            && self.kinds.as_ref().is_none_or(|kinds| kinds.contains(&alert.kind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::notify::test_alert as alert;

    #[test]
    fn a_receiver_gets_what_is_at_least_as_severe_and_of_its_kinds() {
        let pager = Route::parse(Some("major"), None).unwrap();
        assert!(pager.matches(&alert(AlertKind::CrashLoop, Severity::Critical)));
        assert!(pager.matches(&alert(AlertKind::HeartbeatMissed, Severity::Major)));
        assert!(!pager.matches(&alert(AlertKind::NodeTakeover, Severity::Minor)));
        let crashes = Route::parse(None, Some("crash_loop, failover_failed")).unwrap();
        assert!(crashes.matches(&alert(AlertKind::FailoverFailed, Severity::Info)));
        assert!(!crashes.matches(&alert(AlertKind::HeartbeatMissed, Severity::Critical)));
        assert_eq!(crashes.kinds_text().as_deref(), Some("crash_loop,failover_failed"));
        assert!(Route::default().matches(&alert(AlertKind::AuthFlood, Severity::Info)));
    }

    #[test]
    fn an_unknown_severity_or_kind_is_named() {
        assert!(Route::parse(Some("urgent"), None).unwrap_err().contains("urgent"));
        assert!(Route::parse(None, Some("crash_loop,meteor"))
            .unwrap_err()
            .contains("meteor"));
    }
}
