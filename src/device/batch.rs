//! The body of a heartbeat batch (`/app/heartbeat`, `/app/faults` and
//! `POST /api/v1/clients/{id}/heartbeats`), read one device at a time as it is parsed.
//!
//! `{"devices":[{"id","status":"ok"|"fault","detail"?}, ...]}` (`/app/faults` takes
//! `{"id","detail"?}`, and a `status` there must be `fault`). Each device's entry is handed to
//! the caller the moment it is read, so the routes check it (registered? hosted by the sender?)
//! without collecting the batch into a list first: reading a batch allocates nothing beyond
//! what its JSON escapes and details need. The first refusal, the body's or the caller's, stops
//! the read; applying is the caller's business, after the whole batch was read.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use thiserror::Error;

use super::model::HeartbeatStatus;

/// Most device heartbeats one `/app/heartbeat` (or `/app/faults`) frame, or one HTTP batch,
/// may carry.
pub const MAX_HEARTBEATS_PER_FRAME: usize = 1_000;

/// A batch refused: nothing of it is applied. The edges map it (an ERROR frame on STOMP,
/// problem+json on HTTP).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BatchError {
    #[error("the body of a SEND to {destination} is not what it takes: {reason}")]
    BadBody { destination: &'static str, reason: String },
    #[error("one frame may carry at most {limit} device heartbeats; this one has {count}")]
    TooManyHeartbeats { count: usize, limit: usize },
    #[error("device {device} is not hosted by client {client}")]
    NotHosted { device: String, client: String },
}

/// One device's heartbeat in a batch.
#[derive(Debug, Deserialize)]
pub struct DeviceBeat<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    pub status: HeartbeatStatus,
    #[serde(default)]
    pub detail: Option<String>,
}

/// One device's fault report in an `/app/faults` batch.
#[derive(Debug, Deserialize)]
struct FaultReport<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(default)]
    status: Option<HeartbeatStatus>,
    #[serde(default)]
    detail: Option<String>,
}

/// Which batch a body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchKind {
    /// `/app/heartbeat`
    Heartbeats,
    /// `/app/faults`: every entry is a heartbeat whose status is `fault`.
    Faults,
}

impl BatchKind {
    pub fn destination(self) -> &'static str {
        match self {
            BatchKind::Heartbeats => "/app/heartbeat",
            BatchKind::Faults => "/app/faults",
        }
    }
}

/// Reads `body` as a batch of `kind`, handing each device's heartbeat to `each` as it is read.
/// Fails with the body's fault ([`BatchError::BadBody`]), a batch over
/// [`MAX_HEARTBEATS_PER_FRAME`], or the first refusal of `each`.
pub fn read<'de, F>(kind: BatchKind, body: &'de [u8], mut each: F) -> Result<(), BatchError>
where
    F: FnMut(DeviceBeat<'de>) -> Result<(), BatchError>,
{
    let mut refused = None;
    let mut json = serde_json::Deserializer::from_slice(body);
    let read = Batch {
        kind,
        each: &mut each,
        refused: &mut refused,
    }
    .deserialize(&mut json)
    .and_then(|()| json.end());
    match (refused, read) {
        (Some(refusal), _) => Err(refusal),
        (None, Ok(())) => Ok(()),
        (None, Err(err)) => Err(BatchError::BadBody {
            destination: kind.destination(),
            reason: err.to_string(),
        }),
    }
}

/// The whole body: an object whose `devices` is read by [`Devices`].
struct Batch<'r, F> {
    kind: BatchKind,
    each: &'r mut F,
    refused: &'r mut Option<BatchError>,
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum Field {
    Devices,
    #[serde(other)]
    Other,
}

impl<'de, F> DeserializeSeed<'de> for Batch<'_, F>
where
    F: FnMut(DeviceBeat<'de>) -> Result<(), BatchError>,
{
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, F> Visitor<'de> for Batch<'_, F>
where
    F: FnMut(DeviceBeat<'de>) -> Result<(), BatchError>,
{
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object with a `devices` list")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
        let mut devices = Some(Devices {
            kind: self.kind,
            each: self.each,
            refused: self.refused,
        });
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::Devices => {
                    let seed = devices.take().ok_or_else(|| de::Error::duplicate_field("devices"))?;
                    map.next_value_seed(seed)?;
                }
                Field::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        match devices {
            Some(_) => Err(de::Error::missing_field("devices")),
            None => Ok(()),
        }
    }
}

/// The `devices` list, handed on entry by entry.
struct Devices<'r, F> {
    kind: BatchKind,
    each: &'r mut F,
    refused: &'r mut Option<BatchError>,
}

impl<'de, F> DeserializeSeed<'de> for Devices<'_, F>
where
    F: FnMut(DeviceBeat<'de>) -> Result<(), BatchError>,
{
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, F> Devices<'_, F>
where
    F: FnMut(DeviceBeat<'de>) -> Result<(), BatchError>,
{
    /// Stops the read with `refusal` (the serde error only unwinds the parser).
    fn refuse<E: de::Error>(&mut self, refusal: BatchError) -> E {
        *self.refused = Some(refusal);
        E::custom("refused")
    }

    fn next<S: SeqAccess<'de>>(&mut self, seq: &mut S) -> Result<Option<DeviceBeat<'de>>, S::Error> {
        match self.kind {
            BatchKind::Heartbeats => seq.next_element::<DeviceBeat<'de>>(),
            BatchKind::Faults => match seq.next_element::<FaultReport<'de>>()? {
                None => Ok(None),
                Some(FaultReport {
                    id,
                    status: Some(HeartbeatStatus::Ok),
                    ..
                }) => Err(self.refuse(BatchError::BadBody {
                    destination: "/app/faults",
                    reason: format!(
                        "device {:?}: a fault report's status is fault; send an ok heartbeat to /app/heartbeat",
                        id.chars().take(80).collect::<String>()
                    ),
                })),
                Some(report) => Ok(Some(DeviceBeat {
                    id: report.id,
                    status: HeartbeatStatus::Fault,
                    detail: report.detail,
                })),
            },
        }
    }
}

impl<'de, F> Visitor<'de> for Devices<'_, F>
where
    F: FnMut(DeviceBeat<'de>) -> Result<(), BatchError>,
{
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of devices")
    }

    fn visit_seq<S: SeqAccess<'de>>(mut self, mut seq: S) -> Result<(), S::Error> {
        let mut count = 0;
        while let Some(beat) = self.next(&mut seq)? {
            count += 1;
            if count > MAX_HEARTBEATS_PER_FRAME {
                // Count the rest, to say how many the frame had; none of it is handed on.
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    count += 1;
                }
                return Err(self.refuse(BatchError::TooManyHeartbeats {
                    count,
                    limit: MAX_HEARTBEATS_PER_FRAME,
                }));
            }
            if let Err(refusal) = (self.each)(beat) {
                return Err(self.refuse(refusal));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(kind: BatchKind, body: &[u8]) -> Result<Vec<(String, HeartbeatStatus, Option<String>)>, BatchError> {
        let mut read = Vec::new();
        super::read(kind, body, |beat| {
            read.push((beat.id.into_owned(), beat.status, beat.detail));
            Ok(())
        })?;
        Ok(read)
    }

    #[test]
    fn batches_are_read_in_order_and_bad_json_is_refused() {
        let beats = collect(
            BatchKind::Heartbeats,
            br#"{"x":[1,{"y":2}],"devices":[{"id":"cam-1","status":"ok"},{"id":"gate-\u0031","status":"fault","detail":"jam"}]}"#,
        )
        .unwrap();
        assert_eq!(
            beats,
            [
                ("cam-1".into(), HeartbeatStatus::Ok, None),
                ("gate-1".into(), HeartbeatStatus::Fault, Some("jam".into()))
            ]
        );
        for bad in [
            &b"not json"[..],
            br#"{"devices":[{"id":"x","status":"maybe"}]}"#,
            b"{}",
            b"[]",
            br#"{"devices":[]} trailing"#,
            br#"{"devices":[],"devices":[]}"#,
        ] {
            let refused = collect(BatchKind::Heartbeats, bad);
            assert!(
                matches!(
                    refused,
                    Err(BatchError::BadBody {
                        destination: "/app/heartbeat",
                        ..
                    })
                ),
                "{refused:?}"
            );
        }
    }

    #[test]
    fn a_batch_over_the_limit_is_refused_with_its_size_and_none_of_it_is_handed_on() {
        let many = format!(
            r#"{{"devices":[{}]}}"#,
            vec![r#"{"id":"d","status":"ok"}"#; MAX_HEARTBEATS_PER_FRAME + 5].join(",")
        );
        let mut handed = 0;
        let refused = read(BatchKind::Heartbeats, many.as_bytes(), |_| {
            handed += 1;
            Ok(())
        });
        assert_eq!(
            refused,
            Err(BatchError::TooManyHeartbeats {
                count: MAX_HEARTBEATS_PER_FRAME + 5,
                limit: MAX_HEARTBEATS_PER_FRAME
            })
        );
        assert_eq!(
            handed, MAX_HEARTBEATS_PER_FRAME,
            "the caller applies nothing of a refused batch"
        );
    }

    fn not_hosted() -> BatchError {
        BatchError::NotHosted {
            device: "b".into(),
            client: "gate-1".into(),
        }
    }

    #[test]
    fn the_first_refusal_of_the_caller_stops_the_read() {
        let mut seen = Vec::new();
        let refused = read(
            BatchKind::Heartbeats,
            br#"{"devices":[{"id":"a","status":"ok"},{"id":"b","status":"ok"},{"id":"c","status":"ok"}]}"#,
            |beat| {
                seen.push(beat.id.into_owned());
                if seen.len() == 2 {
                    return Err(not_hosted());
                }
                Ok(())
            },
        );
        assert_eq!(refused, Err(not_hosted()));
        assert_eq!(seen, ["a", "b"]);
    }

    #[test]
    fn fault_reports_are_fault_heartbeats_and_an_ok_status_is_refused() {
        let beats = collect(
            BatchKind::Faults,
            br#"{"devices":[{"id":"cam-1","detail":"lens"},{"id":"gate-1","status":"fault"}]}"#,
        )
        .unwrap();
        assert_eq!(
            beats,
            [
                ("cam-1".into(), HeartbeatStatus::Fault, Some("lens".into())),
                ("gate-1".into(), HeartbeatStatus::Fault, None)
            ]
        );
        let refused = collect(BatchKind::Faults, br#"{"devices":[{"id":"cam-1","status":"ok"}]}"#);
        assert!(
            matches!(&refused, Err(BatchError::BadBody { destination: "/app/faults", reason }) if reason.contains("cam-1")),
            "{refused:?}"
        );
        for bad in [&b"[]"[..], br#"{"devices":[{"detail":"no id"}]}"#] {
            assert!(matches!(
                collect(BatchKind::Faults, bad),
                Err(BatchError::BadBody { .. })
            ));
        }
    }
}
