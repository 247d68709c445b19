//! Fields of an edit (`PATCH`) body that may be cleared: absent leaves the value as it is,
//! `null` clears it, a value sets it. For `#[serde(default, deserialize_with = "nullable::field")]`
//! on an `Option<Option<T>>`.

use serde::{Deserialize, Deserializer};

/// `null` is `Some(None)`; an absent field never reaches here and stays `None` (`default`).
pub fn field<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[serde(default, deserialize_with = "super::field")]
        zone: Option<Option<String>>,
    }

    #[test]
    fn absent_null_and_a_value_are_three_answers() {
        let read = |s: &str| serde_json::from_str::<Body>(s).unwrap().zone;
        assert_eq!(read("{}"), None);
        assert_eq!(read(r#"{"zone": null}"#), Some(None));
        assert_eq!(read(r#"{"zone": "B"}"#), Some(Some("B".into())));
    }
}
