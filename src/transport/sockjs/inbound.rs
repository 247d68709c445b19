//! What SockJS clients send: over `xhr_send` a JSON array of strings (one string per message the
//! application sent), over the SockJS WebSocket the same array or a single JSON string.
//!
//! The errors carry the exact texts the SockJS protocol answers with (HTTP 500 on `xhr_send`).
//! Pure: no I/O, no actix.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InboundError {
    #[error("Payload expected.")]
    PayloadExpected,
    #[error("Broken JSON encoding.")]
    BrokenJson,
}

fn is_blank(payload: &[u8]) -> bool {
    payload.iter().all(u8::is_ascii_whitespace)
}

/// An `xhr_send` body: a JSON array of strings.
pub fn decode_send(body: &[u8]) -> Result<Vec<String>, InboundError> {
    if is_blank(body) {
        return Err(InboundError::PayloadExpected);
    }
    serde_json::from_slice(body).map_err(|_| InboundError::BrokenJson)
}

/// One WebSocket message: a JSON array of strings or a single JSON string. An empty message
/// carries nothing (clients send them; the protocol says to ignore them).
pub fn decode_ws(message: &[u8]) -> Result<Vec<String>, InboundError> {
    if is_blank(message) {
        return Ok(Vec::new());
    }
    match message.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'"') => serde_json::from_slice::<String>(message)
            .map(|one| vec![one])
            .map_err(|_| InboundError::BrokenJson),
        _ => serde_json::from_slice(message).map_err(|_| InboundError::BrokenJson),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_send_is_an_array_of_strings() {
        assert_eq!(decode_send(br#"["a"]"#).unwrap(), ["a"]);
        assert_eq!(decode_send(br#"["a","b\nc\u0000"]"#).unwrap(), ["a", "b\nc\0"]);
        assert_eq!(decode_send(b" [] ").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn an_empty_send_expects_a_payload() {
        for body in [&b""[..], b"  ", b"\r\n"] {
            let err = decode_send(body).unwrap_err();
            assert_eq!(err, InboundError::PayloadExpected);
            assert_eq!(err.to_string(), "Payload expected.");
        }
    }

    #[test]
    fn anything_but_an_array_of_strings_is_broken_json() {
        for body in [
            &br#"["x"#[..],
            b"x",
            br#""a""#,
            b"[1]",
            br#"{"a":1}"#,
            br#"["a",null]"#,
            br#"["\ud800"]"#,
        ] {
            let err = decode_send(body).unwrap_err();
            assert_eq!(err, InboundError::BrokenJson, "{}", String::from_utf8_lossy(body));
            assert_eq!(err.to_string(), "Broken JSON encoding.");
        }
    }

    #[test]
    fn a_websocket_message_is_an_array_or_one_string() {
        assert_eq!(decode_ws(br#"["a","b"]"#).unwrap(), ["a", "b"]);
        assert_eq!(decode_ws(br#" "a\u2028" "#).unwrap(), ["a\u{2028}"]);
        assert!(decode_ws(b"").unwrap().is_empty());
        assert_eq!(decode_ws(br#"["a"#), Err(InboundError::BrokenJson));
        assert_eq!(decode_ws(br#""a"#), Err(InboundError::BrokenJson));
        assert_eq!(decode_ws(b"CONNECT\n\n\0"), Err(InboundError::BrokenJson));
    }
}
