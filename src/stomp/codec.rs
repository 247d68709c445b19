//! The wire codec: bytes to [`Inbound`] items and [`Frame`]s to bytes.
//!
//! Owns framing (command line, header lines with `\n` or `\r\n`, blank line, body, NUL),
//! `content-length`, heart-beat EOLs between frames and the size [`Limits`]. It must not decide
//! what a frame means; the session does that. No I/O: the transport appends whatever it read to a
//! `BytesMut` and calls [`Decoder::decode`] until it returns `Ok(None)`.
//!
//! Decoding is two-step, as in mini-redis: [`Decoder::decode`] first checks that a whole frame is
//! buffered (without building anything, and enforcing the limits as it scans, so nothing is
//! buffered unboundedly), and only then parses it out of the buffer. The check remembers how far it
//! got, so a frame dribbled in one byte at a time is scanned once, not once per byte. "Need more
//! bytes" is `Ok(None)`, not an error. One decoder serves one connection's buffer; after an error
//! the connection must be closed.

use std::fmt::Write as _;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::error::CodecError;
use super::escape::{escape_into, unescape, Escaping, Part};
use super::frame::{Command, Frame, Version};

/// Default cap on one frame's command line, headers and body together (the NUL excluded).
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// Default cap on the number of header lines in one frame.
pub const MAX_HEADERS: usize = 64;
/// Default cap on one command or header line, its EOL excluded.
pub const MAX_HEADER_LINE: usize = 8 * 1024;
/// How much of an offending header line an error quotes.
const ERROR_EXCERPT_BYTES: usize = 120;

/// Size limits, checked while scanning, before anything is buffered past them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_frame_bytes: usize,
    pub max_headers: usize,
    pub max_header_line: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_bytes: MAX_FRAME_BYTES,
            max_headers: MAX_HEADERS,
            max_header_line: MAX_HEADER_LINE,
        }
    }
}

/// One decoded item: a frame, or an EOL between frames (a client heart-beat).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    Frame(Frame),
    /// One EOL (`\n` or `\r\n`) outside a frame. Each EOL is one item, whatever the buffer
    /// boundaries.
    HeartBeat,
}

/// How far the check step got in the current, incomplete frame. Offsets are from the buffer's
/// start, which is always the frame's first byte.
#[derive(Debug, Default, Clone)]
struct Scan {
    /// Start of the first line not yet complete.
    line_start: usize,
    /// Bytes before this offset were already searched for the next LF (or the NUL, in the body).
    searched: usize,
    header_lines: usize,
    content_length: Option<usize>,
    body_start: Option<usize>,
}

/// A per-connection decoder. Decodes with the escaping of the version it was last given (no
/// escaping, as for CONNECT itself, until [`Decoder::set_version`] is called after the handshake).
#[derive(Debug, Clone)]
pub struct Decoder {
    limits: Limits,
    version: Version,
    scan: Scan,
}

impl Decoder {
    pub fn new(limits: Limits) -> Self {
        Decoder {
            limits,
            version: Version::V1_0,
            scan: Scan::default(),
        }
    }

    /// Sets the version whose escaping applies to the frames after the handshake.
    pub fn set_version(&mut self, version: Version) {
        self.version = version;
    }

    pub fn version(&self) -> Version {
        self.version
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Takes the next item off the front of `buf`: `Ok(None)` when more bytes are needed (nothing
    /// is consumed then), an error when the bytes can never form a valid frame.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Inbound>, CodecError> {
        match buf.first() {
            None => return Ok(None),
            Some(b'\n') => {
                buf.advance(1);
                return Ok(Some(Inbound::HeartBeat));
            }
            Some(b'\r') => match buf.get(1) {
                None => return Ok(None),
                Some(b'\n') => {
                    buf.advance(2);
                    return Ok(Some(Inbound::HeartBeat));
                }
                Some(_) => return Err(CodecError::StrayCarriageReturn),
            },
            Some(_) => {}
        }
        let Some((body_start, frame_len)) = self.check(buf)? else {
            return Ok(None);
        };
        self.scan = Scan::default();
        let raw = buf.split_to(frame_len).freeze();
        self.parse(raw, body_start).map(|frame| Some(Inbound::Frame(frame)))
    }

    /// Step one: is a whole frame buffered? Returns where its body starts and its length with the
    /// NUL.
    fn check(&mut self, buf: &[u8]) -> Result<Option<(usize, usize)>, CodecError> {
        if self.scan.searched > buf.len() || self.scan.line_start > buf.len() {
            // The caller replaced or cut the buffer: the memo is stale, so scan afresh rather than
            // panic.
            self.scan = Scan::default();
        }
        let limits = self.limits;
        let scan = &mut self.scan;
        let body_start = loop {
            if let Some(start) = scan.body_start {
                break start;
            }
            let from = scan.searched.max(scan.line_start);
            let Some(offset) = buf[from..].iter().position(|&b| b == b'\n') else {
                scan.searched = buf.len();
                if buf.len() - scan.line_start > limits.max_header_line + 1 {
                    return Err(CodecError::HeaderLineTooLong {
                        limit: limits.max_header_line,
                    });
                }
                if buf.len() > limits.max_frame_bytes {
                    return Err(CodecError::FrameTooLarge {
                        limit: limits.max_frame_bytes,
                    });
                }
                return Ok(None);
            };
            let lf = from + offset;
            let line = strip_cr(&buf[scan.line_start..lf]);
            if line.len() > limits.max_header_line {
                return Err(CodecError::HeaderLineTooLong {
                    limit: limits.max_header_line,
                });
            }
            if lf + 1 > limits.max_frame_bytes {
                return Err(CodecError::FrameTooLarge {
                    limit: limits.max_frame_bytes,
                });
            }
            let is_command_line = scan.line_start == 0;
            scan.line_start = lf + 1;
            scan.searched = lf + 1;
            if is_command_line {
                continue;
            }
            if line.is_empty() {
                scan.body_start = Some(lf + 1);
                continue;
            }
            scan.header_lines += 1;
            if scan.header_lines > limits.max_headers {
                return Err(CodecError::TooManyHeaders {
                    limit: limits.max_headers,
                });
            }
            if scan.content_length.is_none() {
                if let Some(value) = line.strip_prefix(b"content-length:") {
                    scan.content_length = Some(parse_content_length(value)?);
                }
            }
        };
        match scan.content_length {
            Some(length) => {
                let body_end = body_start.saturating_add(length);
                if body_end > limits.max_frame_bytes {
                    return Err(CodecError::FrameTooLarge {
                        limit: limits.max_frame_bytes,
                    });
                }
                match buf.get(body_end) {
                    None => Ok(None),
                    Some(0) => Ok(Some((body_start, body_end + 1))),
                    Some(_) => Err(CodecError::MissingNul),
                }
            }
            None => {
                let from = scan.searched.max(body_start);
                let nul = buf[from..].iter().position(|&b| b == 0).map(|i| from + i);
                match nul {
                    Some(end) if end <= limits.max_frame_bytes => Ok(Some((body_start, end + 1))),
                    _ => {
                        scan.searched = buf.len();
                        if buf.len() > limits.max_frame_bytes {
                            return Err(CodecError::FrameTooLarge {
                                limit: limits.max_frame_bytes,
                            });
                        }
                        Ok(None)
                    }
                }
            }
        }
    }

    /// Step two: build the frame out of bytes the check step has vouched for (`raw` ends with the
    /// NUL).
    fn parse(&self, raw: Bytes, body_start: usize) -> Result<Frame, CodecError> {
        let mut lines = raw[..body_start].split(|&b| b == b'\n').map(strip_cr);
        let command_line = lines.next().unwrap_or_default();
        let command = std::str::from_utf8(command_line).map_err(|_| CodecError::NotUtf8)?;
        let command = Command::parse(command);
        let escaping = Escaping::for_frame(self.version, &command);
        let mut headers = Vec::new();
        for line in lines.take_while(|line| !line.is_empty()) {
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                let excerpt = &line[..line.len().min(ERROR_EXCERPT_BYTES)];
                return Err(CodecError::MalformedHeader {
                    line: String::from_utf8_lossy(excerpt).into_owned(),
                });
            };
            if colon == 0 {
                return Err(CodecError::EmptyHeaderName);
            }
            let name = unescape(escaping, &line[..colon])?;
            let value = unescape(escaping, &line[colon + 1..])?;
            headers.push((name, value));
        }
        let body = raw.slice(body_start..raw.len() - 1);
        Ok(Frame { command, headers, body })
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn parse_content_length(value: &[u8]) -> Result<usize, CodecError> {
    let invalid = || CodecError::InvalidContentLength {
        value: String::from_utf8_lossy(&value[..value.len().min(ERROR_EXCERPT_BYTES)]).into_owned(),
    };
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return Err(invalid());
    }
    std::str::from_utf8(value)
        .ok()
        .and_then(|digits| digits.parse().ok())
        .ok_or_else(invalid)
}

/// Appends one encoded frame to `dst`, escaped for `version` (the handshake frames never are).
///
/// Headers go out in order, except `content-length`: any in `frame.headers` is dropped and the real
/// length is written last when the body is not empty, so a body may hold NULs and a frame never
/// lies about its length. Bytes the version cannot carry are replaced (see `escape`).
pub fn encode(frame: &Frame, version: Version, dst: &mut BytesMut) {
    let escaping = Escaping::for_frame(version, &frame.command);
    let header_bytes: usize = frame
        .headers
        .iter()
        .map(|(name, value)| name.len() + value.len() + 2)
        .sum();
    dst.reserve(frame.command.as_str().len() + header_bytes + frame.body.len() + 32);
    escape_into(Escaping::Raw, frame.command.as_str(), Part::Value, dst);
    dst.put_u8(b'\n');
    for (name, value) in &frame.headers {
        if name == "content-length" {
            continue;
        }
        escape_into(escaping, name, Part::Name, dst);
        dst.put_u8(b':');
        escape_into(escaping, value, Part::Value, dst);
        dst.put_u8(b'\n');
    }
    put_content_length(frame.body.len(), dst);
    dst.put_u8(b'\n');
    dst.put_slice(&frame.body);
    dst.put_u8(0);
}

/// [`encode`] into a fresh buffer.
pub fn encode_to_bytes(frame: &Frame, version: Version) -> Bytes {
    let mut dst = BytesMut::new();
    encode(frame, version, &mut dst);
    dst.freeze()
}

/// Writes `content-length:<n>\n` unless the body is empty.
pub(crate) fn put_content_length(length: usize, dst: &mut BytesMut) {
    if length > 0 {
        // Writing to a BytesMut cannot fail.
        let _ = writeln!(dst, "content-length:{length}");
    }
}
