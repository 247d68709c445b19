//! How an [`Inbound`] travels to the owner of its partition (pure): the body as sent is the
//! NATS payload, what it is and whose one JSON header, [`META`].

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::wire::WireError;
use crate::ownership::Inbound;

/// The NATS header that says what a forwarded message is.
pub const META: &str = "Kwanje-Forward";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Beats,
    Faults,
    Listening,
    Ack,
    Present,
    TaxiPing,
}

#[derive(Debug, Serialize, Deserialize)]
struct Meta {
    #[serde(rename = "k")]
    kind: Kind,
    #[serde(rename = "c")]
    client: String,
    /// For `present`: how long it vouches, in milliseconds.
    #[serde(rename = "f", default, skip_serializing_if = "Option::is_none")]
    for_ms: Option<u64>,
}

/// `message` as its header value and payload.
pub fn encode(message: Inbound) -> (String, Bytes) {
    let mut for_ms = None;
    let (kind, client, body) = match message {
        Inbound::Beats { client, faults, body } => (if faults { Kind::Faults } else { Kind::Beats }, client, body),
        Inbound::Listening { client } => (Kind::Listening, client, Bytes::new()),
        Inbound::Ack { client, body } => (Kind::Ack, client, body),
        Inbound::Present { client, for_ms: lease } => {
            for_ms = Some(lease);
            (Kind::Present, client, Bytes::new())
        }
        Inbound::TaxiPing { key, plate } => (Kind::TaxiPing, key, Bytes::from(plate)),
    };
    // A struct of a string, a number and a unit variant always serializes.
    let meta = serde_json::to_string(&Meta { kind, client, for_ms }).unwrap_or_default();
    (meta, body)
}

/// The message a received header and payload carry.
pub fn decode(meta: Option<&str>, body: Bytes) -> Result<Inbound, WireError> {
    let meta: Meta =
        serde_json::from_str(meta.ok_or(WireError::NoMeta)?).map_err(|e| WireError::BadMeta(e.to_string()))?;
    let client = meta.client;
    Ok(match meta.kind {
        Kind::Beats => Inbound::Beats {
            client,
            faults: false,
            body,
        },
        Kind::Faults => Inbound::Beats {
            client,
            faults: true,
            body,
        },
        Kind::Listening => Inbound::Listening { client },
        Kind::Ack => Inbound::Ack { client, body },
        Kind::Present => Inbound::Present {
            client,
            for_ms: meta
                .for_ms
                .ok_or_else(|| WireError::BadMeta("present without its duration".into()))?,
        },
        Kind::TaxiPing => Inbound::TaxiPing {
            key: client,
            plate: String::from_utf8(body.to_vec())
                .map_err(|_| WireError::BadMeta("a taxi ping's plate is not UTF-8".into()))?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_arrives_as_it_left() {
        let messages = [
            Inbound::Beats {
                client: "gate-1".into(),
                faults: false,
                body: Bytes::from_static(br#"{"devices":[{"id":"cam-1","status":"ok"}]}"#),
            },
            Inbound::Beats {
                client: "gate-1".into(),
                faults: true,
                body: Bytes::from_static(br#"{"devices":[{"id":"cam-1"}]}"#),
            },
            Inbound::Listening {
                client: "gate \"2\"\r\n".into(),
            },
            Inbound::Ack {
                client: "gate-3".into(),
                body: Bytes::from_static(br#"{"command_id":7,"ok":true}"#),
            },
            Inbound::Present {
                client: "gate-4".into(),
                for_ms: 3_000,
            },
            Inbound::TaxiPing {
                key: "T1".into(),
                plate: "12가3456".into(),
            },
        ];
        for message in messages {
            let (meta, body) = encode(message.clone());
            assert!(!meta.contains('\n') && !meta.contains('\r'), "{meta}");
            assert_eq!(decode(Some(&meta), body), Ok(message));
        }
    }

    #[test]
    fn a_message_without_or_with_broken_metadata_is_refused() {
        assert_eq!(decode(None, Bytes::new()), Err(WireError::NoMeta));
        assert!(matches!(
            decode(Some(r#"{"k":"teleport","c":"x"}"#), Bytes::new()),
            Err(WireError::BadMeta(_))
        ));
        assert!(matches!(
            decode(Some(r#"{"k":"present","c":"x"}"#), Bytes::new()),
            Err(WireError::BadMeta(_))
        ));
    }
}
