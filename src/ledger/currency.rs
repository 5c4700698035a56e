//! [`Currency`]: an ISO 4217 currency that money can be apportioned in.
//!
//! The minor-unit exponent (TWD 2, JPY 0, KWD 3) comes from the `iso_currency` crate's copy of
//! the ISO table, not a hand-written one. A `Currency` only exists for codes that have a minor
//! unit of at most 4 decimals, because [`Money`] has 4: precious metals, test and
//! fund-less codes (XAU, XTS, XXX…) have no minor unit and are refused, so every `Currency` can
//! answer [`Currency::minor_exponent`] without an `Option`.

use std::fmt;
use std::str::FromStr;

use super::Money;
use super::decimal::SCALE;

/// An ISO 4217 currency with a minor unit of at most 4 decimals.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency {
    iso: iso_currency::Currency,
    /// Checked at parse time to be ≤ [`SCALE`].
    minor_exponent: u32,
}

/// Why a code is not a usable currency.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CurrencyError {
    /// Not three ASCII letters.
    #[error("expected a three-letter ISO 4217 currency code such as \"TWD\"")]
    Malformed,
    /// Three letters, but not an ISO 4217 code.
    #[error("{code} is not an ISO 4217 currency code")]
    Unknown { code: String },
    /// A code with no minor unit: not money people split (gold, test codes, "no currency").
    #[error("{code} has no minor unit and cannot be used for amounts")]
    NoMinorUnit { code: &'static str },
    /// A currency with more decimals than amounts carry.
    #[error("{code} has {exponent} decimal places; at most 4 are supported")]
    TooPrecise { code: &'static str, exponent: u16 },
}

impl Currency {
    /// Parses an ISO 4217 alphabetic code in any letter case (`"twd"` → `TWD`).
    pub fn parse(code: &str) -> Result<Currency, CurrencyError> {
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(CurrencyError::Malformed);
        }
        let upper = code.to_ascii_uppercase();
        let iso = iso_currency::Currency::from_code(&upper)
            .ok_or(CurrencyError::Unknown { code: upper })?;
        let exponent = iso
            .exponent()
            .ok_or(CurrencyError::NoMinorUnit { code: iso.code() })?;
        if u32::from(exponent) > SCALE {
            return Err(CurrencyError::TooPrecise {
                code: iso.code(),
                exponent,
            });
        }
        Ok(Currency {
            iso,
            minor_exponent: u32::from(exponent),
        })
    }

    /// The upper-case ISO code, e.g. `"TWD"`.
    pub fn code(self) -> &'static str {
        self.iso.code()
    }

    /// Decimal places of the minor unit: TWD 2, JPY 0, KWD 3.
    pub fn minor_exponent(self) -> u32 {
        self.minor_exponent
    }

    /// One minor unit as money: TWD 0.01, JPY 1, KWD 0.001.
    pub fn minor_unit(self) -> Money {
        // 10^(4 − exponent) ten-thousandths; the exponent is ≤ 4, so this is 1..=10_000.
        Money::from_e4(10_i64.pow(SCALE - self.minor_exponent))
    }
}

impl FromStr for Currency {
    type Err = CurrencyError;

    fn from_str(code: &str) -> Result<Currency, CurrencyError> {
        Currency::parse(code)
    }
}

/// The ISO code (`TWD`).
impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.code())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Currency({})", self.code())
    }
}

impl serde::Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> serde::Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Currency, D::Error> {
        let code = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Currency::parse(&code).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_minor_units_from_the_iso_table() {
        let cases = [
            ("TWD", 2, 100),
            ("JPY", 0, 10_000),
            ("KWD", 3, 10),
            ("USD", 2, 100),
        ];
        for (code, exponent, unit_e4) in cases {
            let currency = Currency::parse(code).unwrap();
            assert_eq!(currency.code(), code);
            assert_eq!(currency.minor_exponent(), exponent, "{code}");
            assert_eq!(currency.minor_unit(), Money::from_e4(unit_e4), "{code}");
        }
        // Unidad de Fomento has 4 decimals: the most Money can carry.
        assert_eq!(
            Currency::parse("CLF").unwrap().minor_unit(),
            Money::from_e4(1)
        );
    }

    #[test]
    fn parses_any_case_into_the_canonical_code() {
        assert_eq!(Currency::parse("twd").unwrap().code(), "TWD");
        assert_eq!("jPy".parse::<Currency>().unwrap().to_string(), "JPY");
    }

    #[test]
    fn refuses_codes_that_are_not_money() {
        assert_eq!(Currency::parse(""), Err(CurrencyError::Malformed));
        assert_eq!(Currency::parse("TW"), Err(CurrencyError::Malformed));
        assert_eq!(Currency::parse(" TWD"), Err(CurrencyError::Malformed));
        assert_eq!(Currency::parse("T1D"), Err(CurrencyError::Malformed));
        assert_eq!(Currency::parse("ŤWD"), Err(CurrencyError::Malformed));
        assert_eq!(
            Currency::parse("abc"),
            Err(CurrencyError::Unknown {
                code: "ABC".to_owned()
            })
        );
        for code in ["XAU", "XTS", "XXX"] {
            assert_eq!(
                Currency::parse(code),
                Err(CurrencyError::NoMinorUnit { code }),
                "{code}"
            );
        }
    }

    #[test]
    fn travels_as_its_code() {
        let twd = Currency::parse("TWD").unwrap();
        assert_eq!(serde_json::to_string(&twd).unwrap(), "\"TWD\"");
        assert_eq!(serde_json::from_str::<Currency>("\"twd\"").unwrap(), twd);
        assert!(serde_json::from_str::<Currency>("\"XAU\"").is_err());
    }
}
