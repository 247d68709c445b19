//! SockJS frames as the server writes them: `o` (open), `h` (heartbeat), `a[...]` (messages, each
//! a JSON string) and `c[code,"reason"]` (close), and how each receiving transport carries them
//! (a line per frame for xhr, `data:` events for eventsource, with their preludes).
//!
//! JSON strings are quoted here rather than by serde_json: SockJS asks the server to escape more
//! than JSON does (the characters browsers mangle on the way: U+200C-U+200F, U+2028-U+202F,
//! U+2060-U+206F, U+FFF0-U+FFFF), as `\uXXXX` with lowercase hex.
//!
//! Pure: no I/O, no actix.

use std::fmt::Write;

/// The open frame, the first thing every new session sends.
pub const OPEN: &str = "o";
/// The heartbeat frame.
pub const HEARTBEAT: &str = "h";
/// Bytes of `h` an xhr-streaming response starts with (some browsers show nothing of a streamed
/// response before its first 2 KiB).
pub const STREAMING_PRELUDE_BYTES: usize = 2048;

/// Why a session (or one receiving request) ends, as a close frame carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Close {
    pub code: u16,
    pub reason: &'static str,
}

impl Close {
    /// The STOMP session ended normally (DISCONNECT).
    pub const NORMAL: Close = Close {
        code: 1000,
        reason: "Normal closure",
    };
    /// The STOMP session ended on an error (the ERROR frame before it says which).
    pub const POLICY: Close = Close {
        code: 1008,
        reason: "Policy violation",
    };
    /// A receiving request was cut off mid-way: what it carried may be lost.
    pub const INTERRUPTED: Close = Close {
        code: 1002,
        reason: "Connection interrupted",
    };
    /// A second receiving request while one is open (it is answered with this and ended; the
    /// session goes on).
    pub const ANOTHER_CONNECTION: Close = Close {
        code: 2010,
        reason: "Another connection still open",
    };
    /// The server closed the session.
    pub const GO_AWAY: Close = Close {
        code: 3000,
        reason: "Go away!",
    };

    /// `c[code,"reason"]`.
    pub fn frame(&self) -> String {
        let mut out = format!("c[{},", self.code);
        quote_into(self.reason, &mut out);
        out.push(']');
        out
    }
}

/// `a["m1","m2",...]`: messages in one frame, each quoted.
pub fn messages<'a>(messages: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::from("a[");
    for (i, message) in messages.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        quote_into(message, &mut out);
    }
    out.push(']');
    out
}

/// Whether SockJS wants `c` written as `\uXXXX` (beyond JSON's own escapes).
fn must_escape(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{200c}'..='\u{200f}'
        | '\u{2028}'..='\u{202f}'
        | '\u{2060}'..='\u{206f}'
        | '\u{fff0}'..='\u{ffff}')
}

/// Appends `text` as a JSON string literal with SockJS's escaping.
pub fn quote_into(text: &str, out: &mut String) {
    out.reserve(text.len() + 2);
    out.push('"');
    let mut plain = 0;
    for (at, c) in text.char_indices() {
        let escaped = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            '\u{8}' => "\\b",
            '\u{c}' => "\\f",
            c if must_escape(c) => "",
            _ => continue,
        };
        out.push_str(&text[plain..at]);
        if escaped.is_empty() {
            // Infallible: writing to a String.
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push_str(escaped);
        }
        plain = at + c.len_utf8();
    }
    out.push_str(&text[plain..]);
    out.push('"');
}

/// The HTTP transports that receive frames, each with its own framing around them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carrier {
    /// `POST .../xhr`: one response per poll, ended after the first frames.
    Polling,
    /// `POST .../xhr_streaming`: a response that stays open, frames one per line.
    Streaming,
    /// `GET .../eventsource`: a `text/event-stream` response, a frame per event.
    EventSource,
}

impl Carrier {
    /// The response's `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            Carrier::Polling | Carrier::Streaming => "application/javascript; charset=UTF-8",
            Carrier::EventSource => "text/event-stream",
        }
    }

    /// The length of [`Carrier::prelude`], without making it.
    pub fn prelude_len(self) -> usize {
        match self {
            Carrier::Polling => 0,
            Carrier::Streaming => STREAMING_PRELUDE_BYTES + 1,
            Carrier::EventSource => 2,
        }
    }

    /// What the response starts with, before any frame.
    pub fn prelude(self) -> String {
        match self {
            Carrier::Polling => String::new(),
            Carrier::Streaming => {
                let mut prelude = HEARTBEAT.repeat(STREAMING_PRELUDE_BYTES);
                prelude.push('\n');
                prelude
            }
            // An empty line first: some browsers miss the first event otherwise.
            Carrier::EventSource => "\r\n".to_owned(),
        }
    }

    /// Appends one frame as this transport carries it.
    pub fn push_frame(self, frame: &str, out: &mut String) {
        match self {
            Carrier::Polling | Carrier::Streaming => {
                out.push_str(frame);
                out.push('\n');
            }
            Carrier::EventSource => {
                out.push_str("data: ");
                out.push_str(frame);
                out.push_str("\r\n\r\n");
            }
        }
    }

    /// Whether a response ends once it has carried a frame.
    pub fn ends_after_frame(self) -> bool {
        self == Carrier::Polling
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quote(text: &str) -> String {
        let mut out = String::new();
        quote_into(text, &mut out);
        out
    }

    #[test]
    fn messages_are_an_array_of_json_strings() {
        assert_eq!(messages(["a"]), r#"a["a"]"#);
        assert_eq!(messages(["x", "y z"]), r#"a["x","y z"]"#);
        assert_eq!(messages(std::iter::empty()), "a[]");
    }

    #[test]
    fn a_stomp_frame_survives_quoting_and_json_decoding() {
        let stomp = "MESSAGE\ndestination:/topic/a\n\n{\"k\":\"v\\\\\"}\0";
        let frame = messages([stomp]);
        assert!(frame.starts_with("a[\"MESSAGE\\ndestination") && frame.ends_with("}\\u0000\"]"));
        let decoded: Vec<String> = serde_json::from_str(&frame[1..]).unwrap();
        assert_eq!(decoded, [stomp]);
    }

    #[test]
    fn control_characters_use_short_escapes_where_json_has_them() {
        assert_eq!(quote("  \u{0}\n\r "), r#""  \u0000\n\r ""#);
        assert_eq!(quote("\t\u{8}\u{c}\u{1f}"), r#""\t\b\f\u001f""#);
    }

    #[test]
    fn characters_browsers_mangle_are_escaped_in_lowercase_hex() {
        for c in [
            '\u{200c}', '\u{200f}', '\u{2028}', '\u{202f}', '\u{2060}', '\u{206f}', '\u{fff0}', '\u{ffff}',
        ] {
            assert_eq!(quote(&c.to_string()), format!("\"\\u{:04x}\"", u32::from(c)));
        }
        assert_eq!(quote("\u{feff}"), "\"\u{feff}\"", "not in SockJS's list: verbatim");
        // Everything else is written as it is, multi-byte characters included.
        assert_eq!(quote("관제 é \u{1f6eb} /"), "\"관제 é \u{1f6eb} /\"");
        let all: String = ('\u{100}'..='\u{ffff}').collect();
        let back: String = serde_json::from_str(&quote(&all)).unwrap();
        assert_eq!(back, all);
    }

    #[test]
    fn close_frames_carry_code_and_quoted_reason() {
        assert_eq!(Close::GO_AWAY.frame(), r#"c[3000,"Go away!"]"#);
        assert_eq!(
            Close::ANOTHER_CONNECTION.frame(),
            r#"c[2010,"Another connection still open"]"#
        );
        assert_eq!(Close::INTERRUPTED.frame(), r#"c[1002,"Connection interrupted"]"#);
    }

    #[test]
    fn each_carrier_frames_its_own_way() {
        let mut out = Carrier::Streaming.prelude();
        assert_eq!(out.len(), STREAMING_PRELUDE_BYTES + 1);
        assert!(out.starts_with("hhhh") && out.ends_with("h\n"));
        Carrier::Streaming.push_frame(OPEN, &mut out);
        assert!(out.ends_with("h\no\n"));

        let mut out = Carrier::EventSource.prelude();
        Carrier::EventSource.push_frame(r#"a["x"]"#, &mut out);
        assert_eq!(out, "\r\ndata: a[\"x\"]\r\n\r\n");

        let mut out = Carrier::Polling.prelude();
        Carrier::Polling.push_frame(OPEN, &mut out);
        assert_eq!(out, "o\n");

        assert!(Carrier::Polling.ends_after_frame());
        assert!(!Carrier::Streaming.ends_after_frame() && !Carrier::EventSource.ends_after_frame());
        assert_eq!(Carrier::EventSource.content_type(), "text/event-stream");
        for carrier in [Carrier::Polling, Carrier::Streaming, Carrier::EventSource] {
            assert_eq!(carrier.prelude_len(), carrier.prelude().len(), "{carrier:?}");
        }
    }
}
