//! A guidance camera's occupancy report (`SEND /app/occupancy`, `POST /api/v1/parking/occupancy`):
//! `{"areas":[{"id","free","total"}]}`, read and checked as a whole before any of it counts.
//!
//! Pure: it sees the area directory and who hosts each camera (a function the caller passes),
//! never the device registry itself. A report is refused whole, with the first reason, when an
//! area is not configured, a count does not add up, or the sender does not host the area's
//! camera; nothing of a refused report is applied.

use serde::Deserialize;
use thiserror::Error;
use utoipa::ToSchema;

use super::area::{AreaDirectory, Name};

/// Most areas one report may carry.
pub const MAX_AREAS_PER_REPORT: usize = 1_000;

/// The body of a report, as sent.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// 1 to 1000 areas.
    pub areas: Vec<AreaCount>,
}

/// One area's count in a report.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AreaCount {
    /// A configured area whose camera the reporting client hosts.
    pub id: String,
    /// Free bays, at most `total`.
    pub free: u32,
    /// Bays the camera sees, at most the area's configured bays.
    pub total: u32,
}

/// Who sent a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reporter<'a> {
    /// A gate PC or kiosk: may report only areas of cameras it hosts.
    Client(&'a str),
    /// An admin (API.md: "admin (everything)").
    Admin,
}

/// A checked count, ready for [`super::occupancy::Occupancy::apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    pub area: Name,
    pub free: u32,
    pub total: u32,
}

/// Why a report was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReportError {
    #[error("the report is not {{\"areas\":[{{\"id\",\"free\",\"total\"}}]}}: {0}")]
    Malformed(String),
    #[error("a report names 1 to {MAX_AREAS_PER_REPORT} areas; this one names {0}")]
    Size(usize),
    #[error("area {0:?} is not configured")]
    UnknownArea(String),
    #[error("area {area}: free {free} is more than total {total}")]
    FreeOverTotal { area: String, free: u32, total: u32 },
    #[error("area {area} has {configured} bays; a report of {total} cannot be right")]
    TotalOverConfigured { area: String, total: u32, configured: u32 },
    #[error("area {area} is reported by camera {camera}, which client {client} does not host")]
    NotHosted {
        area: String,
        camera: String,
        client: String,
    },
}

impl Report {
    /// Reads a report body.
    pub fn parse(body: &[u8]) -> Result<Report, ReportError> {
        serde_json::from_slice(body).map_err(|e| ReportError::Malformed(e.to_string()))
    }
}

/// Checks a whole report: every area configured, `free <= total <= configured bays`, and every
/// area's camera hosted by the reporting client (`host_of(camera)`: the client hosting it, if
/// registered). Answers the readings to apply, in the report's order.
pub fn check(
    directory: &AreaDirectory,
    who: Reporter<'_>,
    host_of: impl Fn(&str) -> Option<String>,
    report: Report,
) -> Result<Vec<Reading>, ReportError> {
    let count = report.areas.len();
    if count == 0 || count > MAX_AREAS_PER_REPORT {
        return Err(ReportError::Size(count));
    }
    let mut readings = Vec::with_capacity(count);
    for AreaCount { id, free, total } in report.areas {
        let Some(spec) = directory.get(&id) else {
            return Err(ReportError::UnknownArea(id.chars().take(80).collect()));
        };
        if free > total {
            return Err(ReportError::FreeOverTotal { area: id, free, total });
        }
        if total > spec.total {
            return Err(ReportError::TotalOverConfigured {
                area: id,
                total,
                configured: spec.total,
            });
        }
        if let Reporter::Client(client) = who {
            if host_of(&spec.camera_id).as_deref() != Some(client) {
                return Err(ReportError::NotHosted {
                    area: id,
                    camera: spec.camera_id.clone(),
                    client: client.to_owned(),
                });
            }
        }
        readings.push(Reading {
            area: spec.id.clone(),
            free,
            total,
        });
    }
    Ok(readings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parking::core::area::AreaSpec;

    fn directory() -> AreaDirectory {
        AreaDirectory::new([
            AreaSpec::new("A1", "T1", "short", 40, "cam-1").unwrap(),
            AreaSpec::new("A2", "T1", "short", 20, "cam-2").unwrap(),
        ])
    }

    fn host(camera: &str) -> Option<String> {
        match camera {
            "cam-1" => Some("gate-1".into()),
            "cam-2" => Some("gate-2".into()),
            _ => None,
        }
    }

    fn report(body: &str) -> Report {
        Report::parse(body.as_bytes()).unwrap()
    }

    #[test]
    fn a_good_report_gives_its_readings() {
        let r = report(r#"{"areas":[{"id":"A1","free":12,"total":40}]}"#);
        let readings = check(&directory(), Reporter::Client("gate-1"), host, r).unwrap();
        assert_eq!(readings.len(), 1);
        assert_eq!(
            (readings[0].area.as_str(), readings[0].free, readings[0].total),
            ("A1", 12, 40)
        );
    }

    #[test]
    fn a_bad_report_is_refused_whole_with_its_reason() {
        let d = directory();
        let gate1 = Reporter::Client("gate-1");
        assert_eq!(
            check(
                &d,
                gate1,
                host,
                report(r#"{"areas":[{"id":"A1","free":1,"total":40},{"id":"Z9","free":1,"total":2}]}"#)
            ),
            Err(ReportError::UnknownArea("Z9".into()))
        );
        assert_eq!(
            check(
                &d,
                gate1,
                host,
                report(r#"{"areas":[{"id":"A1","free":41,"total":40}]}"#)
            ),
            Err(ReportError::FreeOverTotal {
                area: "A1".into(),
                free: 41,
                total: 40
            })
        );
        assert!(matches!(
            check(
                &d,
                gate1,
                host,
                report(r#"{"areas":[{"id":"A1","free":1,"total":41}]}"#)
            ),
            Err(ReportError::TotalOverConfigured { configured: 40, .. })
        ));
        assert!(matches!(
            check(&d, gate1, host, report(r#"{"areas":[{"id":"A2","free":1,"total":2}]}"#)),
            Err(ReportError::NotHosted { ref camera, .. }) if camera == "cam-2"
        ));
        assert_eq!(
            check(&d, gate1, host, report(r#"{"areas":[]}"#)),
            Err(ReportError::Size(0))
        );
        // An admin may report any area.
        assert!(check(
            &d,
            Reporter::Admin,
            host,
            report(r#"{"areas":[{"id":"A2","free":1,"total":2}]}"#)
        )
        .is_ok());
    }

    #[test]
    fn a_body_of_another_shape_is_malformed() {
        for body in [
            "",
            "{}",
            r#"{"areas":[{"id":"A1","free":-1,"total":40}]}"#,
            r#"{"areas":[{"id":"A1","free":1}]}"#,
            r#"{"areas":[{"id":"A1","free":1,"total":2,"extra":1}]}"#,
        ] {
            assert!(
                matches!(Report::parse(body.as_bytes()), Err(ReportError::Malformed(_))),
                "{body}"
            );
        }
    }
}
