//! A lane camera's reading (`SEND /app/lpr`, `POST /api/v1/parking/lpr`):
//! `{"camera_id","plate","direction":"entry"|"exit","confidence","at_ms"}`, read and checked.
//!
//! Pure: it decides what a reading says (a plate read well enough, no usable read, or a
//! printed ticket presented at the exit), never which lane or session it belongs to; the
//! caller knows the camera ([`super::sessions`] decides the rest). A plate is kept as read,
//! with spaces and hyphens taken out and Latin letters upper-cased, so `12가 3456` and
//! `12가3456` are one car.

use serde::{Deserialize, Serialize};
use thiserror::Error;
use utoipa::ToSchema;

use crate::time::Millis;

/// Longest plate or ticket number accepted, in characters.
pub const MAX_PLATE_CHARS: usize = 16;
/// How far ahead of the server's clock a reading's `at_ms` may be (a lane PC's clock drifts).
pub const MAX_FUTURE_MS: i64 = 5 * 60 * 1_000;
/// The confidence below which a plate is not trusted and the lane falls back to a ticket.
pub const DEFAULT_MIN_CONFIDENCE: f64 = 0.8;

/// Which way the car is going through the lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Entry,
    Exit,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Entry => "entry",
            Direction::Exit => "exit",
        }
    }
}

/// The body of a reading, as sent.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LprBody {
    /// The lane's LPR camera (or its standby after a failover), hosted by the sender.
    pub camera_id: String,
    /// The plate as read; `null` when the camera read nothing (the lane falls back to a ticket).
    #[serde(default)]
    pub plate: Option<String>,
    /// At an exit in ticket mode: the printed ticket number the car presents.
    #[serde(default)]
    pub ticket: Option<String>,
    pub direction: Direction,
    /// 0 to 1; absent counts as 1 (a plate typed by an attendant).
    #[serde(default)]
    pub confidence: Option<f64>,
    /// When the camera saw the car; absent: when the server took the reading.
    #[serde(default)]
    pub at_ms: Option<Millis>,
}

/// What a checked reading says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    /// A plate read with at least the threshold's confidence.
    Plate(String),
    /// A ticket presented at an exit.
    Ticket(String),
    /// No usable read: nothing, or a plate below the threshold (kept for the operators).
    Unread { guess: Option<String> },
}

/// A checked reading, camera still to be resolved by the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub camera_id: String,
    pub read: Read,
    pub direction: Direction,
    pub at: Millis,
}

/// Why a reading was refused.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum LprError {
    #[error(
        "the reading is not {{\"camera_id\",\"plate\",\"direction\":\"entry\"|\"exit\",\"confidence\",\"at_ms\"}}: {0}"
    )]
    Malformed(String),
    #[error("invalid {what} {value:?}: use 1 to {MAX_PLATE_CHARS} letters or digits")]
    BadPlate { what: &'static str, value: String },
    #[error("confidence {0} is not between 0 and 1")]
    BadConfidence(f64),
    #[error("at_ms {at} is more than {MAX_FUTURE_MS} ms ahead of the server's clock ({now})")]
    FromTheFuture { at: i64, now: i64 },
    #[error("a ticket is presented at an exit; an entry reading names a plate or null")]
    TicketAtEntry,
    #[error("a reading names a plate or a ticket, not both")]
    PlateAndTicket,
}

/// Spaces and hyphens out, Latin letters upper-cased; letters and digits of any script stay.
pub fn normalize(what: &'static str, raw: &str) -> Result<String, LprError> {
    let plate: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let chars = plate.chars().count();
    if chars == 0 || chars > MAX_PLATE_CHARS || !plate.chars().all(char::is_alphanumeric) {
        return Err(LprError::BadPlate {
            what,
            value: raw.to_owned(),
        });
    }
    Ok(plate)
}

impl LprBody {
    pub fn parse(body: &[u8]) -> Result<LprBody, LprError> {
        serde_json::from_slice(body).map_err(|e| LprError::Malformed(e.to_string()))
    }

    /// Checks the reading as of `now`; a plate below `min_confidence` becomes [`Read::Unread`].
    pub fn check(self, now: Millis, min_confidence: f64) -> Result<Reading, LprError> {
        let confidence = self.confidence.unwrap_or(1.0);
        if !(0.0..=1.0).contains(&confidence) {
            return Err(LprError::BadConfidence(confidence));
        }
        let at = self.at_ms.unwrap_or(now);
        if at.0 > now.0.saturating_add(MAX_FUTURE_MS) {
            return Err(LprError::FromTheFuture { at: at.0, now: now.0 });
        }
        let read = match (self.plate, self.ticket) {
            (Some(_), Some(_)) => return Err(LprError::PlateAndTicket),
            (None, Some(ticket)) => {
                if self.direction == Direction::Entry {
                    return Err(LprError::TicketAtEntry);
                }
                Read::Ticket(normalize("ticket", &ticket)?)
            }
            (Some(plate), None) => {
                let plate = normalize("plate", &plate)?;
                if confidence >= min_confidence {
                    Read::Plate(plate)
                } else {
                    Read::Unread { guess: Some(plate) }
                }
            }
            (None, None) => Read::Unread { guess: None },
        };
        Ok(Reading {
            camera_id: self.camera_id,
            read,
            direction: self.direction,
            at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = Millis(1_800_000_000_000);

    fn check(body: &str) -> Result<Reading, LprError> {
        LprBody::parse(body.as_bytes())?.check(NOW, DEFAULT_MIN_CONFIDENCE)
    }

    #[test]
    fn a_good_read_is_a_plate_normalized() {
        let r = check(
            r#"{"camera_id":"lpr-1","plate":"12가 34-56","direction":"entry","confidence":0.93,"at_ms":1799999999000}"#,
        )
        .unwrap();
        assert_eq!(r.read, Read::Plate("12가3456".into()));
        assert_eq!(r.at, Millis(1_799_999_999_000));
        assert_eq!(r.direction, Direction::Entry);
        let r = check(r#"{"camera_id":"lpr-1","plate":"ab123","direction":"exit"}"#).unwrap();
        assert_eq!(
            r.read,
            Read::Plate("AB123".into()),
            "absent confidence counts as certain"
        );
        assert_eq!(r.at, NOW, "absent at_ms is the server's now");
    }

    #[test]
    fn a_low_confidence_or_missing_plate_is_unread() {
        let r = check(r#"{"camera_id":"c","plate":"AB123","direction":"entry","confidence":0.79}"#).unwrap();
        assert_eq!(
            r.read,
            Read::Unread {
                guess: Some("AB123".into())
            }
        );
        let r = check(r#"{"camera_id":"c","plate":"AB123","direction":"entry","confidence":0.8}"#).unwrap();
        assert_eq!(r.read, Read::Plate("AB123".into()), "the threshold itself is trusted");
        let r = check(r#"{"camera_id":"c","plate":null,"direction":"entry"}"#).unwrap();
        assert_eq!(r.read, Read::Unread { guess: None });
    }

    #[test]
    fn a_ticket_is_read_at_an_exit_only() {
        let r = check(r#"{"camera_id":"c","ticket":"t-8k2","direction":"exit"}"#).unwrap();
        assert_eq!(r.read, Read::Ticket("T8K2".into()));
        assert_eq!(
            check(r#"{"camera_id":"c","ticket":"T1","direction":"entry"}"#),
            Err(LprError::TicketAtEntry)
        );
        assert_eq!(
            check(r#"{"camera_id":"c","plate":"A1","ticket":"T1","direction":"exit"}"#),
            Err(LprError::PlateAndTicket)
        );
    }

    #[test]
    fn bad_readings_are_refused_with_their_reason() {
        assert!(matches!(
            check(r#"{"camera_id":"c","direction":"sideways"}"#),
            Err(LprError::Malformed(_))
        ));
        assert!(matches!(
            check(r#"{"camera_id":"c","direction":"entry","speed":3}"#),
            Err(LprError::Malformed(_))
        ));
        assert!(matches!(check("not json"), Err(LprError::Malformed(_))));
        assert!(matches!(
            check(r#"{"camera_id":"c","plate":"  ","direction":"entry"}"#),
            Err(LprError::BadPlate { .. })
        ));
        assert!(matches!(
            check(r#"{"camera_id":"c","plate":"AB;DROP","direction":"entry"}"#),
            Err(LprError::BadPlate { .. })
        ));
        assert!(matches!(
            check(r#"{"camera_id":"c","plate":"12345678901234567","direction":"entry"}"#),
            Err(LprError::BadPlate { .. })
        ));
        assert_eq!(
            check(r#"{"camera_id":"c","plate":"A1","direction":"entry","confidence":1.5}"#),
            Err(LprError::BadConfidence(1.5))
        );
        let future = NOW.0 + MAX_FUTURE_MS + 1;
        assert!(matches!(
            check(&format!(
                r#"{{"camera_id":"c","plate":"A1","direction":"entry","at_ms":{future}}}"#
            )),
            Err(LprError::FromTheFuture { .. })
        ));
    }
}
