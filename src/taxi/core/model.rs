//! Validated names and enumerations of the taxi domain: plates, regions, terminals, request ids,
//! vehicle classes, dispatch modes and line keys.
//!
//! Every name is a newtype that can only be built through its parser, so a value that reached
//! the dispatcher is known to be normalised and bounded. Parsing never panics; a bad input is a
//! [`ModelError`], which the HTTP layer maps to 422. Nothing here knows about lines, time or I/O.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Longest plate accepted, in characters, after normalisation (Korean plates are 7 to 9).
pub const MAX_PLATE_CHARS: usize = 16;
/// Longest region name accepted, in bytes.
pub const MAX_REGION_BYTES: usize = 32;
/// Longest terminal id accepted, in bytes.
pub const MAX_TERMINAL_BYTES: usize = 16;
/// Raw inputs longer than this are refused before any normalisation work is done.
pub const MAX_RAW_NAME_BYTES: usize = 256;
/// The name that stands for "every region" in integrated mode; no region may take it.
pub const ALL_REGIONS: &str = "all";

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error("{what} is empty")]
    Empty { what: &'static str },
    #[error("{what} is longer than {max}")]
    TooLong { what: &'static str, max: usize },
    #[error("{what} contains the character {found:?}")]
    BadCharacter { what: &'static str, found: char },
    #[error("\"all\" is reserved and cannot name a region")]
    ReservedRegion,
    #[error("unknown {what} {value:?}")]
    UnknownValue { what: &'static str, value: String },
}

fn check_raw(raw: &str, what: &'static str) -> Result<(), ModelError> {
    if raw.len() > MAX_RAW_NAME_BYTES {
        return Err(ModelError::TooLong {
            what,
            max: MAX_RAW_NAME_BYTES,
        });
    }
    Ok(())
}

/// A licence plate as read by an LPR camera or typed by an operator: trimmed, inner whitespace
/// removed, uppercased; letters (any script, so Hangul plates work), digits and `-` only.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
pub struct Plate(String);

impl Plate {
    pub fn parse(raw: &str) -> Result<Self, ModelError> {
        const WHAT: &str = "plate";
        check_raw(raw, WHAT)?;
        let mut out = String::with_capacity(raw.len());
        let mut chars = 0usize;
        for c in raw.chars().filter(|c| !c.is_whitespace()) {
            if !(c.is_alphanumeric() || c == '-') {
                return Err(ModelError::BadCharacter { what: WHAT, found: c });
            }
            for upper in c.to_uppercase() {
                out.push(upper);
                chars += 1;
            }
        }
        if chars == 0 {
            return Err(ModelError::Empty { what: WHAT });
        }
        if chars > MAX_PLATE_CHARS {
            return Err(ModelError::TooLong {
                what: WHAT,
                max: MAX_PLATE_CHARS,
            });
        }
        Ok(Plate(out))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A configured region name (`seoul`, `incheon`, `gyeonggi`, ...): trimmed, lowercased,
/// ASCII letters, digits, `-` and `_`. Whether the name is *configured* is the rules' business
/// ([`crate::taxi::core::rules::JointZoneRules::is_known`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
pub struct Region(String);

impl Region {
    pub fn parse(raw: &str) -> Result<Self, ModelError> {
        const WHAT: &str = "region";
        check_raw(raw, WHAT)?;
        let name = raw.trim().to_ascii_lowercase();
        if name.is_empty() {
            return Err(ModelError::Empty { what: WHAT });
        }
        if name.len() > MAX_REGION_BYTES {
            return Err(ModelError::TooLong {
                what: WHAT,
                max: MAX_REGION_BYTES,
            });
        }
        if let Some(found) = name
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'))
        {
            return Err(ModelError::BadCharacter { what: WHAT, found });
        }
        if name == ALL_REGIONS {
            return Err(ModelError::ReservedRegion);
        }
        Ok(Region(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A terminal (`T1`, `T2`): trimmed, uppercased, ASCII letters, digits, `-` and `_`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
pub struct TerminalId(String);

impl TerminalId {
    pub fn parse(raw: &str) -> Result<Self, ModelError> {
        const WHAT: &str = "terminal";
        check_raw(raw, WHAT)?;
        let name = raw.trim().to_ascii_uppercase();
        if name.is_empty() {
            return Err(ModelError::Empty { what: WHAT });
        }
        if name.len() > MAX_TERMINAL_BYTES {
            return Err(ModelError::TooLong {
                what: WHAT,
                max: MAX_TERMINAL_BYTES,
            });
        }
        if let Some(found) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(ModelError::BadCharacter { what: WHAT, found });
        }
        Ok(TerminalId(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_newtype_impls {
    ($($ty:ident),*) => {$(
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl FromStr for $ty {
            type Err = ModelError;
            fn from_str(s: &str) -> Result<Self, ModelError> {
                $ty::parse(s)
            }
        }
        impl TryFrom<String> for $ty {
            type Error = ModelError;
            fn try_from(s: String) -> Result<Self, ModelError> {
                $ty::parse(&s)
            }
        }
        impl From<$ty> for String {
            fn from(v: $ty) -> String {
                v.0
            }
        }
    )*};
}

string_newtype_impls!(Plate, Region, TerminalId);

/// A passenger request's id, made by the application (time-ordered 64-bit ids, see DESIGN.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct RequestId(pub i64);

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Vehicle class; each class always has its own line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaxiClass {
    #[default]
    Standard,
    Deluxe,
    Jumbo,
}

impl TaxiClass {
    pub const ALL: [TaxiClass; 3] = [TaxiClass::Standard, TaxiClass::Deluxe, TaxiClass::Jumbo];

    pub fn as_str(self) -> &'static str {
        match self {
            TaxiClass::Standard => "standard",
            TaxiClass::Deluxe => "deluxe",
            TaxiClass::Jumbo => "jumbo",
        }
    }
}

impl fmt::Display for TaxiClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TaxiClass {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, ModelError> {
        TaxiClass::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| ModelError::UnknownValue {
                what: "class",
                value: s.chars().take(MAX_REGION_BYTES).collect(),
            })
    }
}

/// How a terminal forms its lines: one per (service region, class), or one per class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DispatchMode {
    #[default]
    Regional,
    Integrated,
}

impl DispatchMode {
    pub fn as_str(self) -> &'static str {
        match self {
            DispatchMode::Regional => "regional",
            DispatchMode::Integrated => "integrated",
        }
    }
}

impl fmt::Display for DispatchMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DispatchMode {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, ModelError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "regional" => Ok(DispatchMode::Regional),
            "integrated" => Ok(DispatchMode::Integrated),
            _ => Err(ModelError::UnknownValue {
                what: "mode",
                value: s.chars().take(MAX_REGION_BYTES).collect(),
            }),
        }
    }
}

/// Which taxis a line gathers by region: one service region (regional mode) or all of them
/// (integrated mode). Serialised as the region's name or `"all"`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum LineScope {
    All,
    Region(Region),
}

impl fmt::Display for LineScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineScope::All => f.write_str(ALL_REGIONS),
            LineScope::Region(r) => r.fmt(f),
        }
    }
}

impl TryFrom<String> for LineScope {
    type Error = ModelError;
    fn try_from(s: String) -> Result<Self, ModelError> {
        if s.trim().eq_ignore_ascii_case(ALL_REGIONS) {
            Ok(LineScope::All)
        } else {
            Region::parse(&s).map(LineScope::Region)
        }
    }
}

impl From<LineScope> for String {
    fn from(v: LineScope) -> String {
        v.to_string()
    }
}

/// One line of a terminal: a scope and a class. Displayed as `seoul/standard` or `all/jumbo`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
pub struct LineKey {
    /// A region's name, or `all` in integrated mode.
    #[schema(value_type = String)]
    pub scope: LineScope,
    pub class: TaxiClass,
}

impl LineKey {
    /// The line a taxi of `class` serving `region` stands in under `mode`.
    pub fn for_taxi(mode: DispatchMode, region: &Region, class: TaxiClass) -> Self {
        let scope = match mode {
            DispatchMode::Regional => LineScope::Region(region.clone()),
            DispatchMode::Integrated => LineScope::All,
        };
        LineKey { scope, class }
    }
}

impl fmt::Display for LineKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.scope, self.class)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plate_is_normalised() {
        let p = Plate::parse("  12 가 3456 ").unwrap();
        assert_eq!(p.as_str(), "12가3456");
        assert_eq!(Plate::parse(" ab\t12-c ").unwrap().as_str(), "AB12-C");
        assert_eq!(Plate::parse("ab12").unwrap(), Plate::parse("AB 12").unwrap());
    }

    #[test]
    fn plate_rejects_empty_long_and_odd_input() {
        assert!(matches!(Plate::parse("   "), Err(ModelError::Empty { .. })));
        assert!(matches!(Plate::parse(&"1".repeat(17)), Err(ModelError::TooLong { .. })));
        assert!(Plate::parse(&"1".repeat(16)).is_ok());
        assert!(matches!(
            Plate::parse(&" ".repeat(10_000)),
            Err(ModelError::TooLong { .. })
        ));
        assert!(matches!(
            Plate::parse("AB/12"),
            Err(ModelError::BadCharacter { found: '/', .. })
        ));
        assert!(matches!(
            Plate::parse("AB\u{0}12"),
            Err(ModelError::BadCharacter { .. })
        ));
        // ß uppercases to two characters; the cap counts the result.
        assert!(matches!(Plate::parse(&"ß".repeat(9)), Err(ModelError::TooLong { .. })));
    }

    #[test]
    fn region_and_terminal_are_normalised() {
        assert_eq!(Region::parse(" Seoul ").unwrap().as_str(), "seoul");
        assert!(matches!(Region::parse("all"), Err(ModelError::ReservedRegion)));
        assert!(matches!(Region::parse("se oul"), Err(ModelError::BadCharacter { .. })));
        assert!(matches!(Region::parse(""), Err(ModelError::Empty { .. })));
        assert_eq!(TerminalId::parse(" t1 ").unwrap().as_str(), "T1");
        assert!(TerminalId::parse("T/1").is_err());
    }

    #[test]
    fn serde_is_snake_case_and_validating() {
        assert_eq!(serde_json::to_string(&TaxiClass::Jumbo).unwrap(), "\"jumbo\"");
        assert_eq!(
            serde_json::to_string(&DispatchMode::Integrated).unwrap(),
            "\"integrated\""
        );
        let plate: Plate = serde_json::from_str("\"ab 12\"").unwrap();
        assert_eq!(plate.as_str(), "AB12");
        assert!(serde_json::from_str::<Plate>("\"\"").is_err());
        assert!(serde_json::from_str::<Region>("\"all\"").is_err());
        let line = LineKey {
            scope: LineScope::All,
            class: TaxiClass::Deluxe,
        };
        assert_eq!(
            serde_json::to_string(&line).unwrap(),
            r#"{"scope":"all","class":"deluxe"}"#
        );
        assert_eq!(line.to_string(), "all/deluxe");
    }

    #[test]
    fn enumerations_parse_from_text() {
        assert_eq!("Deluxe".parse::<TaxiClass>().unwrap(), TaxiClass::Deluxe);
        assert!("limo".parse::<TaxiClass>().is_err());
        assert_eq!("integrated".parse::<DispatchMode>().unwrap(), DispatchMode::Integrated);
        assert_eq!(TaxiClass::default(), TaxiClass::Standard);
    }
}
