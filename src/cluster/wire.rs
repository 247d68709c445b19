//! How a publication travels between nodes (pure): one NATS message per STOMP message, its
//! body the NATS payload and everything else (origin node, topic or user, destination, STOMP
//! headers) one JSON header, [`META`]. JSON escapes every control character, so no value can
//! break NATS's header lines whatever a client put in its own STOMP headers.
//!
//! A batch leaves as one message per body, in order on the one bus subject, and the receiving
//! node [`coalesce`]s what arrives together back into batches, so a storm still reaches each
//! console as a few deliveries.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::broker::messages::{Publish, PublishBatch, PublishToUser};
use crate::broker::Published;

/// The NATS header that carries an [`Envelope`]'s metadata.
pub const META: &str = "Kwanje-Meta";

/// Where one message goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    /// Every subscriber of the topic.
    Topic,
    /// Every session of this principal's user destination.
    User(String),
}

/// One STOMP message on its way to the other nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub meta: Meta,
    pub body: Bytes,
}

/// Everything but the body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// The node that published it (a node drops its own).
    #[serde(rename = "o")]
    pub origin: u16,
    #[serde(rename = "t")]
    pub target: Target,
    #[serde(rename = "d")]
    pub destination: String,
    #[serde(rename = "h")]
    pub headers: Vec<(String, String)>,
}

/// A message from the bus that cannot be read.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum WireError {
    #[error("no {META} header")]
    NoMeta,
    #[error("unreadable {META} header: {0}")]
    BadMeta(String),
}

/// `message` as the envelopes to send, one per body, in order.
pub fn split(origin: u16, message: Published) -> Vec<Envelope> {
    let one = |target, destination, headers, body| Envelope {
        meta: Meta {
            origin,
            target,
            destination,
            headers,
        },
        body,
    };
    match message {
        Published::Topic(m) => vec![one(Target::Topic, m.destination, m.headers, m.body)],
        Published::User(m) => vec![one(Target::User(m.user), m.destination, m.headers, m.body)],
        Published::Batch(m) => m
            .bodies
            .into_iter()
            .map(|body| one(Target::Topic, m.destination.clone(), m.headers.clone(), body))
            .collect(),
    }
}

/// The header value for `meta`.
pub fn encode_meta(meta: &Meta) -> String {
    // A struct of strings and integers always serializes.
    serde_json::to_string(meta).unwrap_or_default()
}

/// The envelope a received message carries; `meta` is its [`META`] header, if it has one.
pub fn decode(meta: Option<&str>, body: Bytes) -> Result<Envelope, WireError> {
    let meta = meta.ok_or(WireError::NoMeta)?;
    let meta = serde_json::from_str(meta).map_err(|e| WireError::BadMeta(e.to_string()))?;
    Ok(Envelope { meta, body })
}

/// What arrived together, as publications for the local broker, in order: consecutive topic
/// messages to one destination with the same headers become one batch.
pub fn coalesce(envelopes: Vec<Envelope>) -> Vec<Published> {
    let mut out: Vec<Published> = Vec::new();
    for Envelope { meta, body } in envelopes {
        match meta.target {
            Target::User(user) => out.push(Published::User(PublishToUser {
                user,
                destination: meta.destination,
                headers: meta.headers,
                body,
            })),
            Target::Topic => {
                let joined = match out.last_mut() {
                    Some(Published::Batch(b)) if b.destination == meta.destination && b.headers == meta.headers => {
                        b.bodies.push(body.clone());
                        true
                    }
                    _ => false,
                };
                if joined {
                    continue;
                }
                let same_as_last = matches!(
                    out.last(),
                    Some(Published::Topic(t)) if t.destination == meta.destination && t.headers == meta.headers
                );
                if same_as_last {
                    if let Some(Published::Topic(first)) = out.pop() {
                        out.push(Published::Batch(PublishBatch {
                            destination: first.destination,
                            headers: first.headers,
                            bodies: vec![first.body, body],
                        }));
                    }
                } else {
                    out.push(Published::Topic(Publish {
                        destination: meta.destination,
                        headers: meta.headers,
                        body,
                    }));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json() -> Vec<(String, String)> {
        vec![("content-type".into(), "application/json".into())]
    }

    fn topic(destination: &str, body: &'static str) -> Published {
        Published::Topic(Publish {
            destination: destination.into(),
            headers: json(),
            body: Bytes::from_static(body.as_bytes()),
        })
    }

    /// Each publication as (kind, destination, bodies) for comparison.
    fn shape(published: &[Published]) -> Vec<(&'static str, String, Vec<Bytes>)> {
        published
            .iter()
            .map(|p| match p {
                Published::Topic(m) => ("topic", m.destination.clone(), vec![m.body.clone()]),
                Published::Batch(m) => ("batch", m.destination.clone(), m.bodies.clone()),
                Published::User(m) => ("user", format!("{}{}", m.user, m.destination), vec![m.body.clone()]),
            })
            .collect()
    }

    fn round_trip(envelopes: Vec<Envelope>) -> Vec<Envelope> {
        envelopes
            .into_iter()
            .map(|e| decode(Some(&encode_meta(&e.meta)), e.body).unwrap())
            .collect()
    }

    #[test]
    fn a_batch_travels_as_one_message_per_body_and_arrives_as_one_batch() {
        let batch = Published::Batch(PublishBatch {
            destination: "/topic/alerts".into(),
            headers: json(),
            bodies: vec![
                Bytes::from_static(b"1"),
                Bytes::from_static(b"2"),
                Bytes::from_static(b"3"),
            ],
        });
        let sent = split(2, batch);
        assert_eq!(sent.len(), 3);
        assert!(sent
            .iter()
            .all(|e| e.meta.origin == 2 && e.meta.target == Target::Topic));
        let got = coalesce(round_trip(sent));
        assert_eq!(
            shape(&got),
            vec![(
                "batch",
                "/topic/alerts".to_owned(),
                vec![
                    Bytes::from_static(b"1"),
                    Bytes::from_static(b"2"),
                    Bytes::from_static(b"3")
                ]
            )]
        );
    }

    #[test]
    fn order_is_kept_and_only_neighbours_with_one_destination_and_headers_join() {
        let mut sent = split(1, topic("/topic/devices", "a"));
        sent.extend(split(1, topic("/topic/devices", "b")));
        sent.extend(split(1, topic("/topic/devices/cam-1", "c")));
        sent.extend(split(
            1,
            Published::User(PublishToUser {
                user: "gate-1".into(),
                destination: "/user/queue/commands".into(),
                headers: vec![("command-id".into(), "7".into())],
                body: Bytes::from_static(b"d"),
            }),
        ));
        sent.extend(split(1, topic("/topic/devices", "e")));
        let mut other_headers = split(1, topic("/topic/devices", "f"));
        other_headers[0].meta.headers.push(("sender".into(), "kim".into()));
        sent.extend(other_headers);
        let got = coalesce(round_trip(sent));
        assert_eq!(
            shape(&got),
            vec![
                (
                    "batch",
                    "/topic/devices".to_owned(),
                    vec![Bytes::from_static(b"a"), Bytes::from_static(b"b")]
                ),
                (
                    "topic",
                    "/topic/devices/cam-1".to_owned(),
                    vec![Bytes::from_static(b"c")]
                ),
                (
                    "user",
                    "gate-1/user/queue/commands".to_owned(),
                    vec![Bytes::from_static(b"d")]
                ),
                ("topic", "/topic/devices".to_owned(), vec![Bytes::from_static(b"e")]),
                ("topic", "/topic/devices".to_owned(), vec![Bytes::from_static(b"f")]),
            ]
        );
        let Published::User(user) = &got[2] else { unreachable!() };
        assert_eq!(user.headers, vec![("command-id".to_owned(), "7".to_owned())]);
    }

    #[test]
    fn headers_with_line_breaks_stay_on_one_header_line() {
        let mut sent = split(3, topic("/topic/x", "body"));
        sent[0]
            .meta
            .headers
            .push(("note".into(), "line one\r\nline two".into()));
        let line = encode_meta(&sent[0].meta);
        assert!(!line.contains('\n') && !line.contains('\r'), "{line}");
        let back = decode(Some(&line), sent[0].body.clone()).unwrap();
        assert_eq!(back, sent[0]);
    }

    #[test]
    fn a_message_without_or_with_broken_metadata_is_refused() {
        assert_eq!(decode(None, Bytes::new()), Err(WireError::NoMeta));
        assert!(matches!(
            decode(Some("{\"o\":1"), Bytes::new()),
            Err(WireError::BadMeta(_))
        ));
    }
}
