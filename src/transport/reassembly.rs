//! Reassembly of fragmented WebSocket messages (RFC 6455 §5.4), with UTF-8 checked as the
//! fragments arrive (§8.1: fail fast on the first invalid byte).
//!
//! Used where a whole message matters (the conformance echo). The STOMP socket does not need
//! it: its decoder takes bytes in any pieces, so fragments go straight to it. Pure: it owns one
//! message being assembled and the size cap; what to answer on an error (close codes) is the
//! actor's.

use bytes::{Bytes, BytesMut};
use thiserror::Error;

/// A WebSocket fragment, as the codec hands it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fragment {
    First { text: bool, data: Bytes },
    Continue(Bytes),
    Last(Bytes),
}

/// A complete message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assembled {
    Text(Bytes),
    Binary(Bytes),
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReassemblyError {
    #[error("a text message is not valid UTF-8")]
    InvalidUtf8,
    #[error("a message is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("a continuation fragment arrived with no message started")]
    NotStarted,
    #[error("a new message started before the previous one ended")]
    AlreadyStarted,
}

/// One message under assembly.
#[derive(Debug)]
pub struct Reassembler {
    limit: usize,
    current: Option<Partial>,
}

#[derive(Debug)]
struct Partial {
    text: bool,
    data: BytesMut,
    /// Bytes before this offset are known to be valid UTF-8 (text messages).
    valid: usize,
}

impl Partial {
    /// Checks the newly added bytes; an incomplete sequence at the end may still be completed
    /// by the next fragment, unless this is the last one.
    fn check_utf8(&mut self, last: bool) -> Result<(), ReassemblyError> {
        if !self.text {
            return Ok(());
        }
        match std::str::from_utf8(&self.data[self.valid..]) {
            Ok(_) => {
                self.valid = self.data.len();
                Ok(())
            }
            Err(err) if err.error_len().is_none() && !last => {
                self.valid += err.valid_up_to();
                Ok(())
            }
            Err(_) => Err(ReassemblyError::InvalidUtf8),
        }
    }
}

impl Reassembler {
    pub fn new(limit: usize) -> Self {
        Reassembler { limit, current: None }
    }

    /// Adds a fragment; `Some` once the message is complete.
    pub fn push(&mut self, fragment: Fragment) -> Result<Option<Assembled>, ReassemblyError> {
        let (data, last) = match fragment {
            Fragment::First { text, data } => {
                if self.current.is_some() {
                    return Err(ReassemblyError::AlreadyStarted);
                }
                self.current = Some(Partial {
                    text,
                    data: BytesMut::new(),
                    valid: 0,
                });
                (data, false)
            }
            Fragment::Continue(data) => (data, false),
            Fragment::Last(data) => (data, true),
        };
        let partial = self.current.as_mut().ok_or(ReassemblyError::NotStarted)?;
        if partial.data.len() + data.len() > self.limit {
            self.current = None;
            return Err(ReassemblyError::TooLarge { limit: self.limit });
        }
        partial.data.extend_from_slice(&data);
        if let Err(err) = partial.check_utf8(last) {
            self.current = None;
            return Err(err);
        }
        if !last {
            return Ok(None);
        }
        let done = self.current.take().ok_or(ReassemblyError::NotStarted)?;
        let data = done.data.freeze();
        Ok(Some(if done.text {
            Assembled::Text(data)
        } else {
            Assembled::Binary(data)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &[u8]) -> Bytes {
        Bytes::copy_from_slice(s)
    }

    #[test]
    fn fragments_join_and_utf8_may_straddle_them() {
        let mut r = Reassembler::new(100);
        let euro = "€".as_bytes();
        assert_eq!(
            r.push(Fragment::First {
                text: true,
                data: b(&euro[..1])
            }),
            Ok(None)
        );
        assert_eq!(r.push(Fragment::Continue(b(&euro[1..2]))), Ok(None));
        assert_eq!(
            r.push(Fragment::Last(b(&[euro[2], b'!']))),
            Ok(Some(Assembled::Text(b("€!".as_bytes()))))
        );
        assert_eq!(
            r.push(Fragment::First {
                text: false,
                data: b(&[0xff])
            }),
            Ok(None)
        );
        assert_eq!(
            r.push(Fragment::Last(b(&[0xfe]))),
            Ok(Some(Assembled::Binary(b(&[0xff, 0xfe]))))
        );
    }

    #[test]
    fn invalid_utf8_fails_at_the_first_bad_fragment() {
        let mut r = Reassembler::new(100);
        assert_eq!(
            r.push(Fragment::First {
                text: true,
                data: b(b"ok")
            }),
            Ok(None)
        );
        assert_eq!(
            r.push(Fragment::Continue(b(&[0xc0, 0x80]))),
            Err(ReassemblyError::InvalidUtf8)
        );
        // An incomplete sequence is an error only when the message ends with it.
        assert_eq!(
            r.push(Fragment::First {
                text: true,
                data: b(&[0xe2, 0x82])
            }),
            Ok(None)
        );
        assert_eq!(r.push(Fragment::Last(b(b""))), Err(ReassemblyError::InvalidUtf8));
    }

    #[test]
    fn order_and_size_are_enforced() {
        let mut r = Reassembler::new(4);
        assert_eq!(r.push(Fragment::Continue(b(b"x"))), Err(ReassemblyError::NotStarted));
        assert_eq!(r.push(Fragment::Last(b(b"x"))), Err(ReassemblyError::NotStarted));
        assert_eq!(
            r.push(Fragment::First {
                text: false,
                data: b(b"abc")
            }),
            Ok(None)
        );
        assert_eq!(
            r.push(Fragment::First {
                text: false,
                data: b(b"")
            }),
            Err(ReassemblyError::AlreadyStarted)
        );
        assert_eq!(
            r.push(Fragment::Continue(b(b"de"))),
            Err(ReassemblyError::TooLarge { limit: 4 })
        );
    }
}
