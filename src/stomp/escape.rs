//! Header escaping, one [`Escaping`] flavour per STOMP version.
//!
//! STOMP 1.2 escapes CR, LF, `:` and `\` in header names and values as `\r`, `\n`, `\c`, `\\`; 1.1
//! has the same minus `\r`; 1.0 has none, and the handshake frames (CONNECT, STOMP, CONNECTED) are
//! never escaped. Owns the byte-level transform only; it must not know about frame layout (that is
//! `codec`).
//!
//! Encoding never fails and never produces a malformed frame: a byte the flavour cannot carry (LF
//! or CR in a raw header, CR in 1.1, `:` in a raw header name) is replaced by a space. Decoding
//! rejects an undefined escape sequence (`\t`, a trailing `\`, `\r` in 1.1) as the spec requires.

use bytes::{BufMut, BytesMut};

use super::error::CodecError;
use super::frame::{Command, Version};

/// How header names and values are escaped on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Escaping {
    /// STOMP 1.0 and the handshake frames: bytes as they are.
    Raw,
    /// STOMP 1.1: `\n`, `\c`, `\\`.
    V11,
    /// STOMP 1.2: `\r`, `\n`, `\c`, `\\`.
    V12,
}

/// Which part of a header is being escaped: only a raw name has to avoid `:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Name,
    Value,
}

impl Escaping {
    /// The number of flavours, for per-flavour caches.
    pub const COUNT: usize = 3;

    pub fn for_version(version: Version) -> Escaping {
        match version {
            Version::V1_0 => Escaping::Raw,
            Version::V1_1 => Escaping::V11,
            Version::V1_2 => Escaping::V12,
        }
    }

    /// The flavour for one frame: the version's, except for the never-escaped handshake frames.
    pub fn for_frame(version: Version, command: &Command) -> Escaping {
        if command.escapes_headers() {
            Escaping::for_version(version)
        } else {
            Escaping::Raw
        }
    }

    /// A dense index (0..COUNT) for per-flavour caches.
    pub fn index(self) -> usize {
        match self {
            Escaping::Raw => 0,
            Escaping::V11 => 1,
            Escaping::V12 => 2,
        }
    }
}

fn needs_work(byte: u8) -> bool {
    matches!(byte, b'\\' | b'\n' | b'\r' | b':')
}

/// Appends `text` to `dst` escaped for `escaping`; see the module doc for what cannot be carried.
pub fn escape_into(escaping: Escaping, text: &str, part: Part, dst: &mut BytesMut) {
    let bytes = text.as_bytes();
    if !bytes.iter().copied().any(needs_work) {
        dst.put_slice(bytes);
        return;
    }
    dst.reserve(bytes.len() + 8);
    for &byte in bytes {
        match (escaping, byte) {
            (Escaping::Raw, b'\n' | b'\r') | (Escaping::V11, b'\r') => dst.put_u8(b' '),
            (Escaping::Raw, b':') if part == Part::Name => dst.put_u8(b' '),
            (Escaping::Raw, _) => dst.put_u8(byte),
            (_, b'\r') => dst.put_slice(b"\\r"),
            (_, b'\n') => dst.put_slice(b"\\n"),
            (_, b':') => dst.put_slice(b"\\c"),
            (_, b'\\') => dst.put_slice(b"\\\\"),
            (_, _) => dst.put_u8(byte),
        }
    }
}

/// Decodes one raw header name or value (already split at the first `:`) into text.
pub fn unescape(escaping: Escaping, raw: &[u8]) -> Result<String, CodecError> {
    if escaping == Escaping::Raw || !raw.contains(&b'\\') {
        return String::from_utf8(raw.to_vec()).map_err(|_| CodecError::NotUtf8);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut bytes = raw.iter().copied();
    while let Some(byte) = bytes.next() {
        if byte != b'\\' {
            out.push(byte);
            continue;
        }
        let decoded = match (escaping, bytes.next()) {
            (_, Some(b'n')) => b'\n',
            (_, Some(b'c')) => b':',
            (_, Some(b'\\')) => b'\\',
            (Escaping::V12, Some(b'r')) => b'\r',
            (_, next) => {
                let sequence = match next {
                    Some(other) => format!("\\{}", char::from(other).escape_default()),
                    None => "\\".to_owned(),
                };
                return Err(CodecError::InvalidEscape { sequence });
            }
        };
        out.push(decoded);
    }
    String::from_utf8(out).map_err(|_| CodecError::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(escaping: Escaping, text: &str, part: Part) -> String {
        let mut dst = BytesMut::new();
        escape_into(escaping, text, part, &mut dst);
        String::from_utf8(dst.to_vec()).unwrap()
    }

    #[test]
    fn v12_escapes_all_four() {
        assert_eq!(
            escaped(Escaping::V12, "a:b\nc\rd\\e", Part::Value),
            "a\\cb\\nc\\rd\\\\e"
        );
        assert_eq!(unescape(Escaping::V12, b"a\\cb\\nc\\rd\\\\e").unwrap(), "a:b\nc\rd\\e");
    }

    #[test]
    fn v11_has_no_carriage_return_escape() {
        assert_eq!(escaped(Escaping::V11, "a:b\nc\rd\\", Part::Value), "a\\cb\\nc d\\\\");
        assert_eq!(
            unescape(Escaping::V11, b"\\r"),
            Err(CodecError::InvalidEscape { sequence: "\\r".into() })
        );
    }

    #[test]
    fn undefined_and_trailing_escapes_are_errors() {
        for escaping in [Escaping::V11, Escaping::V12] {
            assert_eq!(
                unescape(escaping, b"a\\tb"),
                Err(CodecError::InvalidEscape { sequence: "\\t".into() })
            );
            assert_eq!(
                unescape(escaping, b"a\\"),
                Err(CodecError::InvalidEscape { sequence: "\\".into() })
            );
        }
    }

    #[test]
    fn raw_keeps_backslashes_and_replaces_what_it_cannot_carry() {
        assert_eq!(unescape(Escaping::Raw, b"a\\cb\\t").unwrap(), "a\\cb\\t");
        assert_eq!(escaped(Escaping::Raw, "a:b\\c", Part::Value), "a:b\\c");
        assert_eq!(escaped(Escaping::Raw, "a:b\nc\r", Part::Name), "a b c ");
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        assert_eq!(unescape(Escaping::V12, &[0xff]), Err(CodecError::NotUtf8));
        assert_eq!(unescape(Escaping::Raw, &[0xc3]), Err(CodecError::NotUtf8));
    }

    #[test]
    fn handshake_frames_are_never_escaped() {
        assert_eq!(Escaping::for_frame(Version::V1_2, &Command::Connect), Escaping::Raw);
        assert_eq!(Escaping::for_frame(Version::V1_2, &Command::Stomp), Escaping::Raw);
        assert_eq!(Escaping::for_frame(Version::V1_2, &Command::Connected), Escaping::Raw);
        assert_eq!(Escaping::for_frame(Version::V1_2, &Command::Send), Escaping::V12);
        assert_eq!(Escaping::for_frame(Version::V1_1, &Command::Message), Escaping::V11);
        assert_eq!(Escaping::for_frame(Version::V1_0, &Command::Error), Escaping::Raw);
    }
}
