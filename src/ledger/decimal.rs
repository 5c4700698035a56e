//! Scale-4 decimal text: the one parser and printer behind [`Money`](super::Money),
//! [`Percent`](super::Percent) and [`Weight`](super::Weight).
//!
//! Values are `i64` ten-thousandths. The API speaks decimal strings so that no amount ever passes
//! through a float, and the grammar is deliberately narrow, `-?[0-9]+(\.[0-9]{1,4})?`: no `+`, no
//! exponent, no whitespace, no bare `.5` or `5.`. A fifth decimal is refused rather than rounded,
//! because silently changing what a person typed is how ledgers lose trust.
//!
//! Invariant: `parse_e4(&format_e4(v, d)) == Ok(v)` for every `i64` and every `d <= 4`.

use std::fmt;

use super::MoneyError;

/// Decimal places carried by every scale-4 value.
pub(super) const SCALE: u32 = 4;

/// Parses a decimal string into ten-thousandths.
pub(super) fn parse_e4(text: &str) -> Result<i64, MoneyError> {
    if text.is_empty() {
        return Err(MoneyError::Empty);
    }
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (integer_digits, fraction_digits) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let has_point = integer_digits.len() != unsigned.len();
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(integer_digits) || (has_point && !all_digits(fraction_digits)) {
        return Err(MoneyError::Malformed);
    }
    if fraction_digits.len() > SCALE as usize {
        return Err(MoneyError::TooManyDecimals);
    }

    // The magnitude is gathered in i128 so that i64::MIN, whose magnitude is one more than
    // i64::MAX, parses; any longer digit string overflows i128 and is out of range anyway.
    let padded_fraction = fraction_digits
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(SCALE as usize);
    let mut magnitude: i128 = 0;
    for digit in integer_digits.bytes().chain(padded_fraction) {
        magnitude = magnitude
            .checked_mul(10)
            .and_then(|m| m.checked_add(i128::from(digit - b'0')))
            .ok_or(MoneyError::OutOfRange)?;
    }
    let value = if negative { -magnitude } else { magnitude };
    i64::try_from(value).map_err(|_| MoneyError::OutOfRange)
}

/// Writes `value_e4` with at least `min_decimals` (≤ 4) decimals and more only when the value
/// needs them, so it is exact and as short as the caller allows.
pub(super) fn format_e4(value_e4: i64, min_decimals: u32) -> String {
    let magnitude = value_e4.unsigned_abs();
    let integer = magnitude / 10_000;
    let mut fraction = magnitude % 10_000;
    let mut decimals = SCALE;
    while decimals > min_decimals && fraction.is_multiple_of(10) {
        fraction /= 10;
        decimals -= 1;
    }
    let sign = if value_e4 < 0 { "-" } else { "" };
    if decimals == 0 {
        format!("{sign}{integer}")
    } else {
        let width = decimals as usize;
        format!("{sign}{integer}.{fraction:0width$}")
    }
}

/// Serde support: scale-4 values travel as decimal strings, never JSON numbers.
pub(super) struct E4Visitor;

impl serde::de::Visitor<'_> for E4Visitor {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a decimal string with at most 4 decimals, such as \"123.4567\"")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<i64, E> {
        parse_e4(text).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_decimals() {
        assert_eq!(parse_e4("12"), Ok(120_000));
        assert_eq!(parse_e4("12.5"), Ok(125_000));
        assert_eq!(parse_e4("-3.25"), Ok(-32_500));
        assert_eq!(parse_e4("0.0001"), Ok(1));
        assert_eq!(parse_e4("-0"), Ok(0));
        assert_eq!(parse_e4("007.10"), Ok(71_000));
    }

    #[test]
    fn parses_the_whole_i64_range() {
        assert_eq!(parse_e4("922337203685477.5807"), Ok(i64::MAX));
        assert_eq!(parse_e4("-922337203685477.5808"), Ok(i64::MIN));
        assert_eq!(
            parse_e4("922337203685477.5808"),
            Err(MoneyError::OutOfRange)
        );
        assert_eq!(
            parse_e4("-922337203685477.5809"),
            Err(MoneyError::OutOfRange)
        );
        assert_eq!(
            parse_e4("99999999999999999999999999999999999999999"),
            Err(MoneyError::OutOfRange)
        );
    }

    #[test]
    fn refuses_anything_but_a_plain_decimal() {
        assert_eq!(parse_e4(""), Err(MoneyError::Empty));
        for text in [
            " 1", "1 ", "+1", "1e3", "1E3", "1.", ".5", "-", "--1", "1.2.3", "1,5", "0x10", "NaN",
            "inf", "١",
        ] {
            assert_eq!(parse_e4(text), Err(MoneyError::Malformed), "{text:?}");
        }
        assert_eq!(parse_e4("1.23456"), Err(MoneyError::TooManyDecimals));
        assert_eq!(parse_e4("0.00000"), Err(MoneyError::TooManyDecimals));
    }

    #[test]
    fn formats_exactly_with_the_requested_minimum() {
        assert_eq!(format_e4(125_000, 0), "12.5");
        assert_eq!(format_e4(125_000, 2), "12.50");
        assert_eq!(format_e4(1_234_567, 2), "123.4567");
        assert_eq!(format_e4(-32_500, 0), "-3.25");
        assert_eq!(format_e4(0, 0), "0");
        assert_eq!(format_e4(-1, 0), "-0.0001");
        assert_eq!(format_e4(i64::MIN, 0), "-922337203685477.5808");
        assert_eq!(format_e4(i64::MAX, 4), "922337203685477.5807");
    }

    #[test]
    fn round_trips_edge_values() {
        for value in [0, 1, -1, 9_999, 10_000, -10_001, i64::MAX, i64::MIN] {
            for decimals in 0..=SCALE {
                assert_eq!(parse_e4(&format_e4(value, decimals)), Ok(value));
            }
        }
    }
}
