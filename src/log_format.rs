//! `KWANJE_LOG_FORMAT=json`: one JSON object per log line, for log shippers, with the same
//! fields as the text lines. The server writes its lines as `what happened key=value ...`
//! (values Debug-quoted where they may hold spaces); here such a line becomes
//! `{"ts", "level", "target", "msg": "what happened", "key": "value", ...}`. Pure.

use serde_json::{Map, Value};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// env_logger's own lines (the default).
    Text,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// `KWANJE_LOG_FORMAT`'s value: `text` (or unset) or `json`.
    pub fn parse(raw: Option<&str>) -> Result<LogFormat, String> {
        match raw.map(str::trim) {
            None | Some("") | Some("text") => Ok(LogFormat::Text),
            Some("json") => Ok(LogFormat::Json),
            Some(other) => Err(format!("KWANJE_LOG_FORMAT must be text or json, not {other:?}")),
        }
    }
}

/// One log line as a JSON object. `fields` that are not `key=value` stay in `msg`, in order; a
/// field named like one of the four fixed ones is kept under `field.{key}`; of a repeated key
/// the first counts.
pub fn json_line(ts: &str, level: &str, target: &str, message: &str) -> String {
    let mut out = Map::new();
    out.insert("ts".into(), Value::String(ts.into()));
    out.insert("level".into(), Value::String(level.into()));
    out.insert("target".into(), Value::String(target.into()));
    let mut words: Vec<String> = Vec::new();
    let mut fields: Vec<(String, String)> = Vec::new();
    for token in tokens(message) {
        match split_field(&token) {
            Some((key, value)) => fields.push((key, value)),
            None => words.push(token),
        }
    }
    out.insert("msg".into(), Value::String(words.join(" ")));
    for (key, value) in fields {
        let key = if matches!(key.as_str(), "ts" | "level" | "target" | "msg") {
            format!("field.{key}")
        } else {
            key
        };
        // The first of a repeated key wins: a later one cannot forge a field.
        out.entry(key).or_insert(Value::String(value));
    }
    Value::Object(out).to_string()
}

/// `key=value` with a plain key; the value unquoted when it was Debug-quoted.
fn split_field(token: &str) -> Option<(String, String)> {
    let (key, value) = token.split_once('=')?;
    let plain = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    if !plain {
        return None;
    }
    let value = match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => unescape(inner),
        None => value.to_owned(),
    };
    Some((key.to_owned(), value))
}

/// Splits on spaces outside double quotes (a Debug-quoted value keeps its spaces).
fn tokens(message: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in message.chars() {
        if escaped {
            current.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => {
                current.push(c);
                escaped = true;
            }
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            ' ' if !quoted => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            _ => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Undoes Rust's Debug escaping of a string (`\"`, `\\`, `\n`, `\t`, `\r`, `\u{..}`).
fn unescape(inner: &str) -> String {
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some('u') => {
                let hex: String = chars.by_ref().skip(1).take_while(|&c| c != '}').collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(c) => out.push(c),
                    None => out.push('\u{fffd}'),
                }
            }
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(message: &str) -> Value {
        serde_json::from_str(&json_line("2026-12-07T12:00:00Z", "INFO", "kwanje::app", message)).unwrap()
    }

    #[test]
    fn key_value_fields_become_json_fields_and_the_rest_is_the_message() {
        let v = parsed("serving addr=127.0.0.1:8080 scheme=http device_threads=2");
        assert_eq!(v["msg"], "serving");
        assert_eq!(v["addr"], "127.0.0.1:8080");
        assert_eq!(v["scheme"], "http");
        assert_eq!(v["device_threads"], "2");
        assert_eq!((&v["level"], &v["target"]), (&json!("INFO"), &json!("kwanje::app")));
    }

    #[test]
    fn debug_quoted_values_keep_their_spaces_and_escapes() {
        let v = parsed(r#"login refused username="kim \"the\" op" addr=10.0.0.1 detail="a\nb" who="관제""#);
        assert_eq!(v["msg"], "login refused");
        assert_eq!(v["username"], "kim \"the\" op");
        assert_eq!(v["detail"], "a\nb");
        assert_eq!(v["who"], "관제");
        assert_eq!(parsed(r#"x v="\u{1f600}""#)["v"], "😀");
    }

    #[test]
    fn fixed_names_are_not_overwritten_and_odd_tokens_stay_in_the_message() {
        let v = parsed("odd level=9 a=b=c =x 50%");
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["field.level"], "9");
        assert_eq!(v["a"], "b=c");
        assert_eq!(v["msg"], "odd =x 50%");
    }

    #[test]
    fn a_repeated_key_keeps_its_first_value() {
        let v = parsed("login by=kim username=x username=forged");
        assert_eq!(v["username"], "x");
    }

    #[test]
    fn the_setting_is_text_or_json() {
        assert_eq!(LogFormat::parse(None), Ok(LogFormat::Text));
        assert_eq!(LogFormat::parse(Some("json")), Ok(LogFormat::Json));
        assert!(LogFormat::parse(Some("yaml")).unwrap_err().contains("text or json"));
    }

    use serde_json::json;
}
