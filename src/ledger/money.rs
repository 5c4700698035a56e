//! [`Money`]: an exact amount in ten-thousandths of a currency unit.
//!
//! Money is stored as `BIGINT` ten-thousandths (the scale of `DECIMAL(19,4)`) because SeaORM
//! keeps `Decimal` in SQLite as a float. This type is that integer with its rules attached:
//!
//! - it is never a float: it is built from an `i64`, or parsed from a decimal string;
//! - arithmetic is checked: overflow is a [`LedgerError::Overflow`], never a wrap or a panic;
//! - its text form is exact and round-trips through [`FromStr`] (and serde, as a string).
//!
//! A `Money` carries no currency: a book has one, and the caller passes it where it matters
//! (apportioning and display).

use std::fmt;
use std::str::FromStr;

use super::decimal::{self, E4Visitor};
use super::{Currency, LedgerError};

/// An exact amount, in ten-thousandths of a currency unit.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i64);

/// Why a string is not a scale-4 decimal (for [`Money`], [`Percent`](super::Percent) and
/// [`Weight`](super::Weight)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Nothing was given.
    #[error("expected a decimal string such as \"123.45\", got an empty string")]
    Empty,
    /// Not a plain decimal (signs other than a leading `-`, exponents, spaces, bare points…).
    #[error("expected a decimal string such as \"123.45\"")]
    Malformed,
    /// A fifth decimal: refused rather than rounded away.
    #[error("at most 4 decimal places are allowed")]
    TooManyDecimals,
    /// Beyond ±922,337,203,685,477.5807.
    #[error("amount out of range")]
    OutOfRange,
}

impl Money {
    /// Nothing.
    pub const ZERO: Money = Money(0);
    /// The largest amount, 922,337,203,685,477.5807.
    pub const MAX: Money = Money(i64::MAX);
    /// The smallest amount, −922,337,203,685,477.5808.
    pub const MIN: Money = Money(i64::MIN);

    /// The amount `e4` ten-thousandths (a stored `BIGINT` column).
    pub const fn from_e4(e4: i64) -> Money {
        Money(e4)
    }

    /// The amount in ten-thousandths (what is stored).
    pub const fn e4(self) -> i64 {
        self.0
    }

    /// `self + rhs`, or an overflow error.
    pub fn checked_add(self, rhs: Money) -> Result<Money, LedgerError> {
        self.0.checked_add(rhs.0).map(Money).ok_or(OVERFLOW)
    }

    /// `self − rhs`, or an overflow error.
    pub fn checked_sub(self, rhs: Money) -> Result<Money, LedgerError> {
        self.0.checked_sub(rhs.0).map(Money).ok_or(OVERFLOW)
    }

    /// `−self`, or an overflow error (only for [`Money::MIN`]).
    pub fn checked_neg(self) -> Result<Money, LedgerError> {
        self.0.checked_neg().map(Money).ok_or(OVERFLOW)
    }

    /// The sum of `amounts`, or an overflow error if the *total* is out of range.
    ///
    /// Partial sums are kept in `i128`, so the result does not depend on the order of the
    /// amounts (a plain fold could overflow on one order and not another).
    pub fn checked_sum<I: IntoIterator<Item = Money>>(amounts: I) -> Result<Money, LedgerError> {
        let total: i128 = amounts.into_iter().map(|m| i128::from(m.0)).sum();
        Money::try_from_i128(total)
    }

    /// `true` above zero.
    pub const fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// `true` below zero.
    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// `true` for exactly zero.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `true` when the amount is a whole number of `currency`'s minor units (0.01 for TWD), so
    /// it can be paid in that currency without fractions of a cent.
    pub fn is_whole_minor_units(self, currency: Currency) -> bool {
        self.0 % currency.minor_unit().0 == 0
    }

    /// The amount for people: at least `currency`'s minor-unit digits, more only when the
    /// amount has them (TWD 100 → `"100.00"`, TWD 123.4567 → `"123.4567"`, JPY 100 → `"100"`,
    /// KWD 1.5 → `"1.500"`). Exact: it never rounds.
    pub fn format(self, currency: Currency) -> String {
        decimal::format_e4(self.0, currency.minor_exponent())
    }

    /// Wraps an `i128` intermediate result, or reports that it does not fit.
    pub(crate) fn try_from_i128(e4: i128) -> Result<Money, LedgerError> {
        i64::try_from(e4).map(Money).map_err(|_| OVERFLOW)
    }
}

const OVERFLOW: LedgerError = LedgerError::Overflow { field: None };

/// The canonical text: exact, no trailing zeros (`12.5`, `-3.25`, `0`). Round-trips through
/// [`FromStr`].
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&decimal::format_e4(self.0, 0))
    }
}

/// Shows the decimal value, not the raw integer, so test failures read as amounts.
impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Money({self})")
    }
}

impl FromStr for Money {
    type Err = MoneyError;

    /// Parses `"12"`, `"12.5"`, `"-3.25"`, `"0.0001"`; see the module docs of `decimal` for
    /// what is refused.
    fn from_str(text: &str) -> Result<Money, MoneyError> {
        decimal::parse_e4(text).map(Money)
    }
}

impl serde::Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Money, D::Error> {
        deserializer.deserialize_str(E4Visitor).map(Money)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(text: &str) -> Money {
        text.parse().unwrap()
    }

    fn currency(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    #[test]
    fn parses_and_displays_canonically() {
        assert_eq!(money("12").e4(), 120_000);
        assert_eq!(money("12.5").to_string(), "12.5");
        assert_eq!(money("12.50").to_string(), "12.5");
        assert_eq!(money("-3.25").to_string(), "-3.25");
        assert_eq!(money("0.0001").to_string(), "0.0001");
        assert_eq!(money("-0").to_string(), "0");
        assert_eq!(format!("{:>8}", money("1.5")), "     1.5");
        assert_eq!(format!("{:?}", money("1.5")), "Money(1.5)");
    }

    #[test]
    fn refuses_non_decimals() {
        assert_eq!("".parse::<Money>(), Err(MoneyError::Empty));
        assert_eq!("1e2".parse::<Money>(), Err(MoneyError::Malformed));
        assert_eq!(" 1".parse::<Money>(), Err(MoneyError::Malformed));
        assert_eq!("1.00001".parse::<Money>(), Err(MoneyError::TooManyDecimals));
        assert_eq!(
            "1000000000000000".parse::<Money>(),
            Err(MoneyError::OutOfRange)
        );
    }

    #[test]
    fn formats_with_the_currency_minor_unit() {
        assert_eq!(money("100").format(currency("TWD")), "100.00");
        assert_eq!(money("123.4567").format(currency("TWD")), "123.4567");
        assert_eq!(money("123.4").format(currency("TWD")), "123.40");
        assert_eq!(money("100").format(currency("JPY")), "100");
        assert_eq!(money("100.5").format(currency("JPY")), "100.5");
        assert_eq!(money("1.5").format(currency("KWD")), "1.500");
        assert_eq!(money("-0.01").format(currency("USD")), "-0.01");
        assert_eq!(money("2").format(currency("CLF")), "2.0000");
    }

    #[test]
    fn arithmetic_overflow_is_an_error_not_a_wrap() {
        let one = Money::from_e4(1);
        assert_eq!(Money::MAX.checked_add(one), Err(OVERFLOW));
        assert_eq!(Money::MIN.checked_sub(one), Err(OVERFLOW));
        assert_eq!(Money::MIN.checked_neg(), Err(OVERFLOW));
        assert_eq!(Money::MAX.checked_neg(), Ok(Money::from_e4(-i64::MAX)));
        assert_eq!(money("1.5").checked_add(money("2.25")), Ok(money("3.75")));
        assert_eq!(money("1.5").checked_sub(money("2.25")), Ok(money("-0.75")));
    }

    #[test]
    fn sums_do_not_depend_on_order() {
        // MAX + 1 − 1 overflows as a left fold but the total is in range.
        let amounts = [Money::MAX, Money::from_e4(1), Money::from_e4(-1)];
        assert_eq!(Money::checked_sum(amounts), Ok(Money::MAX));
        assert_eq!(Money::checked_sum([Money::MAX, Money::MAX]), Err(OVERFLOW));
        assert_eq!(Money::checked_sum([]), Ok(Money::ZERO));
    }

    #[test]
    fn knows_whole_minor_units() {
        assert!(money("1.01").is_whole_minor_units(currency("TWD")));
        assert!(!money("1.001").is_whole_minor_units(currency("TWD")));
        assert!(money("1.001").is_whole_minor_units(currency("KWD")));
        assert!(!money("1.5").is_whole_minor_units(currency("JPY")));
    }

    #[test]
    fn serializes_as_a_string_and_refuses_json_numbers() {
        assert_eq!(
            serde_json::to_string(&money("123.4567")).unwrap(),
            "\"123.4567\""
        );
        assert_eq!(
            serde_json::from_str::<Money>("\"-0.5\"").unwrap(),
            money("-0.5")
        );
        assert!(serde_json::from_str::<Money>("12.5").is_err());
        assert!(serde_json::from_str::<Money>("\"1.23456\"").is_err());
    }
}
