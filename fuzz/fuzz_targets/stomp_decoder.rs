//! Fuzzes the STOMP wire codec (`kwanje::stomp::codec`).
//!
//! Input: `[split, limits, stream...]`. For every version (1.0, 1.1, 1.2) the stream is decoded
//! twice, whole and fed in chunks chosen by `split`, and both runs must give the same items and
//! both fail or neither (the error variant may differ: a split can trip `FrameTooLarge` before the
//! whole stream would trip `HeaderLineTooLong`). `limits` picks the default or tiny limits.
//!
//! Every decoded frame is then re-encoded and decoded again. That is an exact round trip only up
//! to what the encoder documents (`codec::encode`, `escape`): it drops every `content-length` and
//! writes the real one last when the body is not empty; it replaces bytes a flavour cannot carry
//! with a space (CR in the command line; CR and LF in raw headers (1.0 and the handshake frames),
//! `:` in a raw header name; CR in 1.1). The expected frame applies exactly those rules.

#![no_main]

use bytes::BytesMut;
use kwanje::stomp::{encode, Command, Decoder, Escaping, Frame, Inbound, Limits, Version};
use libfuzzer_sys::fuzz_target;

const TINY: Limits = Limits {
    max_frame_bytes: 48,
    max_headers: 3,
    max_header_line: 12,
};

/// For the re-decode: an encoded frame may legitimately exceed the inbound limits (it gains a
/// `content-length` line), and these limits are for what clients send, not what the server writes.
const ROOMY: Limits = Limits {
    max_frame_bytes: 1 << 24,
    max_headers: 1 << 16,
    max_header_line: 1 << 24,
};

struct Run {
    items: Vec<Inbound>,
    failed: bool,
    rest: BytesMut,
}

fn decoder(version: Version, limits: Limits) -> Decoder {
    let mut decoder = Decoder::new(limits);
    decoder.set_version(version);
    decoder
}

/// Drains `buf`; true when an error ended it.
fn drain(decoder: &mut Decoder, buf: &mut BytesMut, items: &mut Vec<Inbound>) -> bool {
    loop {
        match decoder.decode(buf) {
            Ok(Some(item)) => items.push(item),
            Ok(None) => return false,
            Err(_) => return true,
        }
    }
}

/// Chunk lengths alternate between the two nibbles of `split` (+1); `split == 0` is one chunk.
fn decode_chunked(version: Version, limits: Limits, stream: &[u8], split: u8) -> Run {
    let mut decoder = decoder(version, limits);
    let mut buf = BytesMut::new();
    let mut items = Vec::new();
    let sizes = [usize::from(split >> 4) + 1, usize::from(split & 0x0f) + 1];
    let mut at = 0;
    let mut turn = 0;
    while at < stream.len() {
        let len = if split == 0 { stream.len() } else { sizes[turn % 2] };
        turn += 1;
        let end = (at + len).min(stream.len());
        buf.extend_from_slice(&stream[at..end]);
        at = end;
        if drain(&mut decoder, &mut buf, &mut items) {
            return Run { items, failed: true, rest: buf };
        }
    }
    let failed = drain(&mut decoder, &mut buf, &mut items);
    Run { items, failed, rest: buf }
}

/// What the encoder writes for `text` in `escaping` once decoded again (see the module doc).
fn carried(escaping: Escaping, text: &str, name: bool) -> String {
    text.chars()
        .map(|c| match (escaping, c) {
            (Escaping::Raw, '\n' | '\r') | (Escaping::V11, '\r') => ' ',
            (Escaping::Raw, ':') if name => ' ',
            _ => c,
        })
        .collect()
}

fn expected_after_round_trip(frame: &Frame, version: Version) -> Frame {
    let command = Command::parse(&carried(Escaping::Raw, frame.command.as_str(), false));
    let escaping = Escaping::for_frame(version, &frame.command);
    assert_eq!(escaping, Escaping::for_frame(version, &command), "escaping changed with the command");
    let mut expected = Frame::new(command);
    for (name, value) in &frame.headers {
        if name != "content-length" {
            expected.push_header(carried(escaping, name, true), carried(escaping, value, false));
        }
    }
    if !frame.body.is_empty() {
        expected.push_header("content-length", frame.body.len().to_string());
    }
    expected.body = frame.body.clone();
    expected
}

fn check_frame(frame: &Frame, version: Version) {
    // The decoder delimits the body by the first content-length, so it must agree with the body.
    if let Some(length) = frame.header("content-length") {
        let length: usize = length.parse().expect("content-length the decoder accepted must parse");
        assert_eq!(length, frame.body.len(), "content-length disagrees with the body");
    } else {
        assert!(!frame.body.contains(&0), "a body without content-length holds a NUL");
    }

    let mut encoded = BytesMut::new();
    encode(frame, version, &mut encoded);
    let original = encoded.clone().freeze();
    let mut again = decoder(version, ROOMY);
    let decoded = match again.decode(&mut encoded) {
        Ok(Some(Inbound::Frame(decoded))) => decoded,
        other => panic!(
            "re-encoded frame did not decode: {other:?}\nframe: {frame:?}\nencoded: {original:?}"
        ),
    };
    assert!(encoded.is_empty(), "leftover after re-decoding: {encoded:?}");
    let expected = expected_after_round_trip(frame, version);
    assert_eq!(decoded, expected, "round trip changed the frame; encoded: {original:?}");
    // Once representable, encoding is a fixed point.
    let mut twice = BytesMut::new();
    encode(&decoded, version, &mut twice);
    assert_eq!(twice.freeze(), original, "encode(decode(encode(f))) != encode(f)");
}

fuzz_target!(|data: &[u8]| {
    let [split, limits, stream @ ..] = data else {
        return;
    };
    let limits = if limits & 1 == 1 { TINY } else { Limits::default() };
    for version in Version::SUPPORTED {
        let whole = decode_chunked(version, limits, stream, 0);
        let chunked = decode_chunked(version, limits, stream, *split);
        assert_eq!(whole.items, chunked.items, "{version}: items depend on the split");
        assert_eq!(whole.failed, chunked.failed, "{version}: failure depends on the split");
        if !whole.failed {
            assert_eq!(whole.rest, chunked.rest, "{version}: leftover depends on the split");
        }
        for item in &whole.items {
            if let Inbound::Frame(frame) = item {
                check_frame(frame, version);
            }
        }
    }
});
