//! The two ids in a SockJS session URL, `/sockjs/{server}/{session}/{transport}`.
//!
//! The server id is for load balancers (sticky routing) and is otherwise ignored; the session id
//! names the session. Either may be any non-empty text without a dot (a dot would let a session
//! URL pass for a file such as `iframe.html`); a length cap keeps a client from keying the
//! registry with megabytes. Pure.

use std::fmt;

use thiserror::Error;

/// Longest server or session id accepted.
pub const MAX_ID_BYTES: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdError {
    #[error("empty id")]
    Empty,
    #[error("an id must not contain a dot")]
    Dot,
    #[error("an id is longer than {MAX_ID_BYTES} bytes")]
    TooLong,
}

fn check(id: &str) -> Result<(), IdError> {
    if id.is_empty() {
        Err(IdError::Empty)
    } else if id.contains('.') {
        Err(IdError::Dot)
    } else if id.len() > MAX_ID_BYTES {
        Err(IdError::TooLong)
    } else {
        Ok(())
    }
}

/// A valid session id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionId(String);

impl SessionId {
    /// Checks both ids of a session URL; the server id is not kept.
    pub fn parse(server: &str, session: &str) -> Result<SessionId, IdError> {
        check(server)?;
        check(session)?;
        Ok(SessionId(session.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_dotless_non_empty_ids_are_valid_and_the_server_id_is_ignored() {
        for (server, session) in [("000", "a1b2"), ("a", "a"), ("_", "_"), ("abc_i-j ", "x y%")] {
            assert_eq!(SessionId::parse(server, session).unwrap().as_str(), session);
        }
        assert_eq!(
            SessionId::parse("000", "s").unwrap(),
            SessionId::parse("999", "s").unwrap()
        );
    }

    #[test]
    fn empty_dotted_or_huge_ids_are_refused() {
        assert_eq!(SessionId::parse("", "a"), Err(IdError::Empty));
        assert_eq!(SessionId::parse("a", ""), Err(IdError::Empty));
        assert_eq!(SessionId::parse("a.", "a"), Err(IdError::Dot));
        assert_eq!(SessionId::parse("a", "a."), Err(IdError::Dot));
        assert_eq!(SessionId::parse(".", "."), Err(IdError::Dot));
        let long = "x".repeat(MAX_ID_BYTES + 1);
        assert_eq!(SessionId::parse("a", &long), Err(IdError::TooLong));
        assert!(SessionId::parse("a", &long[1..]).is_ok());
    }
}
