//! The codec: every decode rule, every decode error, encoding per version, byte-split streams, and
//! the encode/decode round trip as a property.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use crate::stomp::codec::{encode, encode_to_bytes, Decoder, Inbound, Limits};
use crate::stomp::error::CodecError;
use crate::stomp::escape::Escaping;
use crate::stomp::frame::{Command, Frame, Version};

fn decoder(version: Version) -> Decoder {
    let mut decoder = Decoder::new(Limits::default());
    decoder.set_version(version);
    decoder
}

/// Decodes everything in `input`; panics on an error; leftover bytes are returned.
fn decode_all(version: Version, input: &[u8]) -> (Vec<Inbound>, BytesMut) {
    let mut decoder = decoder(version);
    let mut buf = BytesMut::from(input);
    let mut items = Vec::new();
    while let Some(item) = decoder.decode(&mut buf).unwrap() {
        items.push(item);
    }
    (items, buf)
}

fn decode_one(version: Version, input: &[u8]) -> Frame {
    let (items, rest) = decode_all(version, input);
    assert!(rest.is_empty(), "leftover {rest:?}");
    match items.as_slice() {
        [Inbound::Frame(frame)] => frame.clone(),
        other => panic!("expected one frame, got {other:?}"),
    }
}

fn decode_err(version: Version, limits: Limits, input: &[u8]) -> CodecError {
    let mut decoder = Decoder::new(limits);
    decoder.set_version(version);
    let mut buf = BytesMut::from(input);
    loop {
        match decoder.decode(&mut buf) {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("no error, need more bytes"),
            Err(err) => return err,
        }
    }
}

fn pairs(frame: &Frame) -> Vec<(&str, &str)> {
    frame.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

#[test]
fn decodes_command_headers_and_body_to_the_first_nul() {
    let frame = decode_one(Version::V1_2, b"SEND\ndestination:/app/x\nk:a\nk:b\n\nhello\0");
    assert_eq!(frame.command, Command::Send);
    assert_eq!(pairs(&frame), [("destination", "/app/x"), ("k", "a"), ("k", "b")]);
    assert_eq!(frame.header("k"), Some("a"));
    assert_eq!(frame.body, Bytes::from_static(b"hello"));
}

#[test]
fn accepts_crlf_line_endings() {
    let frame = decode_one(Version::V1_2, b"SEND\r\ndestination:/x\r\n\r\nbody\0");
    assert_eq!(pairs(&frame), [("destination", "/x")]);
    assert_eq!(frame.body, Bytes::from_static(b"body"));
}

#[test]
fn content_length_bodies_may_hold_nuls() {
    let frame = decode_one(Version::V1_2, b"SEND\ncontent-length:5\n\na\0b\0c\0");
    assert_eq!(frame.body, Bytes::from_static(b"a\0b\0c"));
    assert_eq!(frame.header("content-length"), Some("5"));
}

#[test]
fn first_content_length_wins() {
    let frame = decode_one(Version::V1_2, b"SEND\ncontent-length:1\ncontent-length:3\n\nx\0");
    assert_eq!(frame.body, Bytes::from_static(b"x"));
}

#[test]
fn eols_between_frames_are_heart_beats() {
    let (items, rest) = decode_all(Version::V1_2, b"\n\r\nSEND\n\n\0\n\nRECEIPT\n\n\0\r\n");
    assert!(rest.is_empty());
    let kinds: Vec<&str> = items
        .iter()
        .map(|item| match item {
            Inbound::HeartBeat => "beat",
            Inbound::Frame(_) => "frame",
        })
        .collect();
    assert_eq!(kinds, ["beat", "beat", "frame", "beat", "beat", "frame", "beat"]);
}

#[test]
fn several_frames_in_one_buffer_come_out_in_order() {
    let (items, _) = decode_all(Version::V1_1, b"BEGIN\ntransaction:t\n\n\0COMMIT\ntransaction:t\n\n\0");
    let commands: Vec<Command> = items
        .into_iter()
        .filter_map(|item| match item {
            Inbound::Frame(frame) => Some(frame.command),
            Inbound::HeartBeat => None,
        })
        .collect();
    assert_eq!(commands, [Command::Begin, Command::Commit]);
}

#[test]
fn an_incomplete_frame_is_need_more_bytes_and_consumes_nothing() {
    let mut decoder = decoder(Version::V1_2);
    for partial in [
        &b"SE"[..],
        b"SEND\ndest",
        b"SEND\n\nbody",
        b"SEND\ncontent-length:4\n\nab",
        b"SEND\ncontent-length:4\n\nabcd",
        b"\r",
    ] {
        let mut buf = BytesMut::from(partial);
        assert_eq!(decoder.decode(&mut buf), Ok(None), "{partial:?}");
        assert_eq!(&buf[..], partial);
        decoder = Decoder::new(Limits::default());
    }
}

#[test]
fn a_frame_split_across_reads_completes() {
    let mut decoder = decoder(Version::V1_2);
    let mut buf = BytesMut::from(&b"SEND\ndestination:/a\n"[..]);
    assert_eq!(decoder.decode(&mut buf), Ok(None));
    buf.extend_from_slice(b"content-length:3\n\nab");
    assert_eq!(decoder.decode(&mut buf), Ok(None));
    buf.extend_from_slice(b"c\0SEND");
    let Ok(Some(Inbound::Frame(frame))) = decoder.decode(&mut buf) else {
        panic!("expected a frame");
    };
    assert_eq!(frame.body, Bytes::from_static(b"abc"));
    assert_eq!(&buf[..], b"SEND");
}

/// A stream with every feature, decoded whole, then fed split at every byte boundary, then one byte
/// at a time: the same items every way.
#[test]
fn a_stream_split_at_every_byte_decodes_the_same() {
    let stream: &[u8] = b"\nSEND\r\ndestination:/a\\cb\r\nx:1\r\n\r\nhi\0\r\n\
        MESSAGE\ncontent-length:4\nsubscription:s\n\n\0\0\0\0\0\n\
        SUBSCRIBE\nid:1\ndestination:/topic/x\n\n\0";
    let (whole, rest) = decode_all(Version::V1_2, stream);
    assert!(rest.is_empty());
    assert_eq!(whole.len(), 6);
    for split in 0..=stream.len() {
        let mut decoder = decoder(Version::V1_2);
        let mut buf = BytesMut::new();
        let mut items = Vec::new();
        for chunk in [&stream[..split], &stream[split..]] {
            buf.extend_from_slice(chunk);
            while let Some(item) = decoder.decode(&mut buf).unwrap() {
                items.push(item);
            }
        }
        assert_eq!(items, whole, "split at {split}");
    }
    let mut decoder = decoder(Version::V1_2);
    let mut buf = BytesMut::new();
    let mut items = Vec::new();
    for byte in stream {
        buf.extend_from_slice(&[*byte]);
        while let Some(item) = decoder.decode(&mut buf).unwrap() {
            items.push(item);
        }
    }
    assert_eq!(items, whole);
}

#[test]
fn headers_are_unescaped_per_version() {
    let raw = b"SEND\na\\cb:c\\nd\\\\e\n\n\0";
    let frame = decode_one(Version::V1_2, raw);
    assert_eq!(pairs(&frame), [("a:b", "c\nd\\e")]);
    assert_eq!(pairs(&decode_one(Version::V1_1, raw)), [("a:b", "c\nd\\e")]);
    assert_eq!(pairs(&decode_one(Version::V1_0, raw)), [("a\\cb", "c\\nd\\\\e")]);
    assert_eq!(
        pairs(&decode_one(Version::V1_2, b"SEND\nk:a\\rb\n\n\0")),
        [("k", "a\rb")]
    );
}

#[test]
fn a_raw_colon_in_a_value_is_part_of_the_value() {
    let frame = decode_one(Version::V1_0, b"SEND\nk:a:b\n\n\0");
    assert_eq!(pairs(&frame), [("k", "a:b")]);
}

#[test]
fn connect_and_connected_headers_are_never_unescaped() {
    for command in ["CONNECT", "STOMP", "CONNECTED"] {
        let raw = format!("{command}\npasscode:a\\cb\\t\n\n\0");
        let frame = decode_one(Version::V1_2, raw.as_bytes());
        assert_eq!(pairs(&frame), [("passcode", "a\\cb\\t")], "{command}");
    }
}

#[test]
fn undefined_escapes_are_errors_in_1_1_and_1_2() {
    let limits = Limits::default();
    for version in [Version::V1_1, Version::V1_2] {
        assert_eq!(
            decode_err(version, limits, b"SEND\nk:a\\tb\n\n\0"),
            CodecError::InvalidEscape { sequence: "\\t".into() }
        );
    }
    assert_eq!(
        decode_err(Version::V1_1, limits, b"SEND\nk:\\r\n\n\0"),
        CodecError::InvalidEscape { sequence: "\\r".into() }
    );
}

#[test]
fn an_unknown_command_decodes_as_unknown() {
    let frame = decode_one(Version::V1_2, b"FROB\n\n\0");
    assert_eq!(frame.command, Command::Unknown("FROB".into()));
}

#[test]
fn frame_size_is_capped_before_the_body_is_buffered() {
    let limits = Limits {
        max_frame_bytes: 64,
        ..Limits::default()
    };
    // The declared length alone is over the limit: refused with only the headers buffered.
    assert_eq!(
        decode_err(Version::V1_2, limits, b"SEND\ncontent-length:100\n\n"),
        CodecError::FrameTooLarge { limit: 64 }
    );
    // No content-length and no NUL within the limit.
    let mut long = b"SEND\n\n".to_vec();
    long.extend(std::iter::repeat_n(b'x', 60));
    assert_eq!(
        decode_err(Version::V1_2, limits, &long),
        CodecError::FrameTooLarge { limit: 64 }
    );
    // The same frame arriving whole, NUL included, in one read.
    long.push(0);
    assert_eq!(
        decode_err(Version::V1_2, limits, &long),
        CodecError::FrameTooLarge { limit: 64 }
    );
    // Headers alone over the limit.
    let mut headers = b"SEND\n".to_vec();
    for n in 0..10 {
        headers.extend_from_slice(format!("h{n}:value\n").as_bytes());
    }
    assert_eq!(
        decode_err(Version::V1_2, limits, &headers),
        CodecError::FrameTooLarge { limit: 64 }
    );
    // Exactly at the limit is fine.
    let mut exact = b"SEND\n\n".to_vec();
    exact.extend(std::iter::repeat_n(b'x', 58));
    exact.push(0);
    assert_eq!(decode_all(Version::V1_2, &exact).0.len(), 1);
    let mut decoder = Decoder::new(limits);
    assert!(decoder.decode(&mut BytesMut::from(&exact[..])).is_ok());
}

#[test]
fn header_count_is_capped() {
    let limits = Limits {
        max_headers: 3,
        ..Limits::default()
    };
    assert_eq!(
        decode_err(Version::V1_2, limits, b"SEND\na:1\nb:2\nc:3\nd:4\n"),
        CodecError::TooManyHeaders { limit: 3 }
    );
    let mut decoder = Decoder::new(limits);
    let mut ok = BytesMut::from(&b"SEND\na:1\nb:2\nc:3\n\n\0"[..]);
    assert!(matches!(decoder.decode(&mut ok), Ok(Some(Inbound::Frame(_)))));
}

#[test]
fn header_line_length_is_capped_even_before_its_end_arrives() {
    let limits = Limits {
        max_header_line: 16,
        ..Limits::default()
    };
    assert_eq!(
        decode_err(Version::V1_2, limits, b"SEND\nkey:0123456789abcdef\n\n\0"),
        CodecError::HeaderLineTooLong { limit: 16 }
    );
    assert_eq!(
        decode_err(Version::V1_2, limits, b"SEND\nkey:0123456789abcdef"),
        CodecError::HeaderLineTooLong { limit: 16 }
    );
    assert_eq!(
        decode_err(Version::V1_2, limits, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
        CodecError::HeaderLineTooLong { limit: 16 }
    );
    // 16 bytes plus CRLF is within the limit.
    let mut decoder = Decoder::new(limits);
    let mut ok = BytesMut::from(&b"SEND\nkey:0123456789ab\r\n\n\0"[..]);
    assert!(matches!(decoder.decode(&mut ok), Ok(Some(Inbound::Frame(_)))));
}

#[test]
fn malformed_headers_are_errors() {
    let limits = Limits::default();
    assert_eq!(
        decode_err(Version::V1_2, limits, b"SEND\nno-colon\n\n\0"),
        CodecError::MalformedHeader {
            line: "no-colon".into()
        }
    );
    assert_eq!(
        decode_err(Version::V1_2, limits, b"SEND\n:value\n\n\0"),
        CodecError::EmptyHeaderName
    );
    assert_eq!(
        decode_err(Version::V1_2, limits, b"SEND\nk:\xff\n\n\0"),
        CodecError::NotUtf8
    );
    assert_eq!(
        decode_err(Version::V1_2, limits, b"SE\xffND\n\n\0"),
        CodecError::NotUtf8
    );
}

#[test]
fn bad_content_lengths_are_errors() {
    let limits = Limits::default();
    for value in ["", "-1", "1a", " 1", "99999999999999999999999"] {
        let raw = format!("SEND\ncontent-length:{value}\n\nx\0");
        assert_eq!(
            decode_err(Version::V1_2, limits, raw.as_bytes()),
            CodecError::InvalidContentLength { value: value.into() },
            "{value:?}"
        );
    }
    assert_eq!(
        decode_err(Version::V1_2, limits, b"SEND\ncontent-length:1\n\nxy\0"),
        CodecError::MissingNul
    );
}

#[test]
fn a_stray_carriage_return_between_frames_is_an_error() {
    assert_eq!(
        decode_err(Version::V1_2, Limits::default(), b"\rSEND\n\n\0"),
        CodecError::StrayCarriageReturn
    );
}

#[test]
fn encoding_escapes_per_version_and_sets_content_length() {
    let frame = Frame::new(Command::Message)
        .with_header("k:1", "a\nb\\c\r")
        .with_header("content-length", "999")
        .with_body(&b"x\0y"[..]);
    let v12 = encode_to_bytes(&frame, Version::V1_2);
    assert_eq!(&v12[..], b"MESSAGE\nk\\c1:a\\nb\\\\c\\r\ncontent-length:3\n\nx\0y\0");
    let v11 = encode_to_bytes(&frame, Version::V1_1);
    assert_eq!(&v11[..], b"MESSAGE\nk\\c1:a\\nb\\\\c \ncontent-length:3\n\nx\0y\0");
    let v10 = encode_to_bytes(&frame, Version::V1_0);
    assert_eq!(&v10[..], b"MESSAGE\nk 1:a b\\c \ncontent-length:3\n\nx\0y\0");
}

#[test]
fn encoding_connected_is_never_escaped_and_an_empty_body_has_no_length() {
    let frame = Frame::new(Command::Connected).with_header("server", "kwanje\\0.1");
    let mut dst = BytesMut::new();
    encode(&frame, Version::V1_2, &mut dst);
    assert_eq!(&dst[..], b"CONNECTED\nserver:kwanje\\0.1\n\n\0");
}

fn command() -> impl Strategy<Value = Command> {
    prop::sample::select(vec![
        Command::Connect,
        Command::Stomp,
        Command::Send,
        Command::Subscribe,
        Command::Unsubscribe,
        Command::Ack,
        Command::Nack,
        Command::Begin,
        Command::Commit,
        Command::Abort,
        Command::Disconnect,
        Command::Connected,
        Command::Message,
        Command::Receipt,
        Command::Error,
    ])
}

fn text() -> impl Strategy<Value = String> {
    let ch = prop_oneof![
        3 => prop::sample::select(vec![':', '\n', '\r', '\\', 'c', 'n', 'r', ' ', '\0', 'é', '관']),
        2 => any::<char>(),
    ];
    prop::collection::vec(ch, 0..12).prop_map(|chars| chars.into_iter().collect())
}

/// Removes what `escaping` cannot carry, so every generated frame is representable.
fn representable(escaping: Escaping, text: String, name: bool) -> String {
    text.chars()
        .filter(|&c| match escaping {
            Escaping::Raw => c != '\n' && c != '\r' && !(name && c == ':'),
            Escaping::V11 => c != '\r',
            Escaping::V12 => true,
        })
        .collect()
}

fn frame_for(version: Version) -> impl Strategy<Value = Frame> {
    (
        command(),
        prop::collection::vec((text(), text()), 0..6),
        prop::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(move |(command, headers, body)| {
            let escaping = Escaping::for_frame(version, &command);
            let headers = headers
                .into_iter()
                .map(|(name, value)| {
                    let mut name = representable(escaping, name, true);
                    if name.is_empty() || name == "content-length" {
                        name.insert(0, 'h');
                    }
                    (name, representable(escaping, value, false))
                })
                .collect();
            Frame {
                command,
                headers,
                body: Bytes::from(body),
            }
        })
}

fn round_trip(version: Version, frame: Frame) -> Result<(), TestCaseError> {
    let encoded = encode_to_bytes(&frame, version);
    let decoded = decode_one(version, &encoded);
    let mut expected = frame;
    if !expected.body.is_empty() {
        let length = expected.body.len().to_string();
        expected.push_header("content-length", length);
    }
    prop_assert_eq!(&decoded, &expected);
    prop_assert_eq!(encode_to_bytes(&decoded, version), encoded);
    Ok(())
}

proptest! {
    #[test]
    fn round_trip_1_0(frame in frame_for(Version::V1_0)) {
        round_trip(Version::V1_0, frame)?;
    }

    #[test]
    fn round_trip_1_1(frame in frame_for(Version::V1_1)) {
        round_trip(Version::V1_1, frame)?;
    }

    #[test]
    fn round_trip_1_2(frame in frame_for(Version::V1_2)) {
        round_trip(Version::V1_2, frame)?;
    }

    /// Arbitrary bytes never panic the decoder, whatever the version and the limits.
    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..256),
        small in any::<bool>(),
    ) {
        let limits = if small {
            Limits { max_frame_bytes: 32, max_headers: 2, max_header_line: 8 }
        } else {
            Limits::default()
        };
        for version in Version::SUPPORTED {
            let mut decoder = Decoder::new(limits);
            decoder.set_version(version);
            let mut buf = BytesMut::from(&bytes[..]);
            while let Ok(Some(_)) = decoder.decode(&mut buf) {}
        }
    }
}

#[test]
fn a_replaced_buffer_does_not_panic_the_decoder() {
    let mut decoder = decoder(Version::V1_2);
    let mut buf = BytesMut::from(&b"SEND\ndestination:/a\nx:1"[..]);
    assert_eq!(decoder.decode(&mut buf), Ok(None));
    let mut fresh = BytesMut::from(&b"ACK\n\n\0"[..]);
    let Ok(Some(Inbound::Frame(frame))) = decoder.decode(&mut fresh) else {
        panic!("expected a frame");
    };
    assert_eq!(frame.command, Command::Ack);
}
