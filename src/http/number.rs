//! Whole numbers in request bodies, as JSON spells them.
//!
//! JSON has one number type, and JSON Schema's `integer` (what the OpenAPI document says for
//! counts and milliseconds) includes `5000.0`. serde reads an unsigned field only from an
//! integer token, so a client whose JSON library writes whole numbers with a fraction (Python's
//! `json.dumps(5000.0)`, for one) got 400 for a body the document allows. The functions here,
//! for `#[serde(deserialize_with)]`, take either spelling of a whole number and refuse
//! fractions, negatives and values out of the field's range, as before.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// 2^64, the first float above every `u64`.
const U64_LIMIT: f64 = 18_446_744_073_709_551_616.0;

/// A whole number of type `T`, from `5000` or `5000.0`.
struct Whole<T>(T);

struct WholeVisitor<T>(PhantomData<T>);

impl<T: TryFrom<u64>> WholeVisitor<T> {
    fn fit<E: de::Error>(v: u64) -> Result<Whole<T>, E> {
        T::try_from(v)
            .map(Whole)
            .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &"a smaller whole number"))
    }
}

impl<T: TryFrom<u64>> Visitor<'_> for WholeVisitor<T> {
    type Value = Whole<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a non-negative whole number")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Self::fit(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        let v = u64::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))?;
        Self::fit(v)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        if v.is_finite() && v.fract() == 0.0 && (0.0..U64_LIMIT).contains(&v) {
            // Exact: the value is whole and below 2^64.
            Self::fit(v as u64)
        } else {
            Err(E::invalid_value(de::Unexpected::Float(v), &self))
        }
    }
}

impl<'de, T: TryFrom<u64>> Deserialize<'de> for Whole<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(WholeVisitor(PhantomData))
    }
}

/// An optional whole-number field (use with `#[serde(default)]`).
pub fn optional<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64>,
{
    Ok(Option::<Whole<T>>::deserialize(d)?.map(|w| w.0))
}

/// A map of names to whole numbers.
pub fn map<'de, D, T>(d: D) -> Result<BTreeMap<String, T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64>,
{
    let raw = BTreeMap::<String, Whole<T>>::deserialize(d)?;
    Ok(raw.into_iter().map(|(k, w)| (k, w.0)).collect())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[serde(default, deserialize_with = "optional")]
        ms: Option<u64>,
        #[serde(default, deserialize_with = "optional")]
        small: Option<u16>,
        #[serde(default, deserialize_with = "map")]
        slots: BTreeMap<String, u16>,
    }

    fn read(v: serde_json::Value) -> Result<Body, serde_json::Error> {
        serde_json::from_value(v)
    }

    #[test]
    fn whole_numbers_are_read_in_either_spelling() {
        let b = read(json!({"ms": 5000, "small": 7.0, "slots": {"seoul": 2, "incheon": 1.0}})).unwrap();
        assert_eq!(b.ms, Some(5000));
        assert_eq!(b.small, Some(7));
        assert_eq!(b.slots, BTreeMap::from([("incheon".into(), 1), ("seoul".into(), 2)]));
        let b: Body = serde_json::from_str(r#"{"ms": 5000.0, "small": 0e0}"#).unwrap();
        assert_eq!((b.ms, b.small), (Some(5000), Some(0)));
    }

    #[test]
    fn absent_and_null_are_none() {
        let b = read(json!({})).unwrap();
        assert_eq!((b.ms, b.small), (None, None));
        assert!(b.slots.is_empty());
        assert_eq!(read(json!({"ms": null})).unwrap().ms, None);
    }

    #[test]
    fn fractions_negatives_and_out_of_range_are_refused() {
        for bad in [
            json!({"ms": 1.5}),
            json!({"ms": -1}),
            json!({"ms": -1.0}),
            json!({"ms": 1e30}),
            json!({"ms": "5000"}),
            json!({"small": 65536}),
            json!({"small": 65536.0}),
            json!({"slots": {"seoul": 0.5}}),
            json!({"slots": {"seoul": -2}}),
        ] {
            assert!(read(bad.clone()).is_err(), "{bad} was accepted");
        }
        let max: Body = serde_json::from_str(r#"{"ms": 18446744073709551615}"#).unwrap();
        assert_eq!(max.ms, Some(u64::MAX));
    }
}
