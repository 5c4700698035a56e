//! Entries in another currency: an explicit exchange rate, and converting an entry's parts into
//! the book's currency without losing or inventing a single ten-thousandth.
//!
//! A rate is given by the person recording the entry (book units per one unit of the entry's
//! currency) and never fetched. The converted total is `amount × rate` rounded half-even to
//! ten-thousandths; the parts (payers, shares) are then *apportioned* from that total in
//! proportion to their original values ([`convert_parts`]), so they still add up to it exactly,
//! which rounding each part on its own would not guarantee.

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};

use super::split::proportional;
use super::{Allocation, Currency, EntryId, LedgerError, MemberId, Money};

/// Most significant digits a rate may carry (rates such as 0.000031 IDR→USD need many
/// decimals; none needs more than this).
const MAX_RATE_DECIMALS: u32 = 12;

/// Book units per one unit of another currency: positive, at most 12 decimals.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rate(Decimal);

/// Why a string is not a rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RateError {
    #[error("expected a decimal string such as \"31.25\"")]
    Malformed,
    #[error("an exchange rate must be greater than zero")]
    NotPositive,
    #[error("an exchange rate has at most 12 decimal places")]
    TooManyDecimals,
}

impl FromStr for Rate {
    type Err = RateError;

    /// The grammar of money (`[0-9]+(\.[0-9]+)?`, no sign, exponent or spaces), with up to 12
    /// decimals.
    fn from_str(text: &str) -> Result<Rate, RateError> {
        let (integer, fraction) = text.split_once('.').unwrap_or((text, ""));
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(integer) || (text.contains('.') && !digits(fraction)) {
            return Err(RateError::Malformed);
        }
        if fraction.len() > MAX_RATE_DECIMALS as usize {
            return Err(RateError::TooManyDecimals);
        }
        let rate = Decimal::from_str_exact(text).map_err(|_| RateError::Malformed)?;
        if rate <= Decimal::ZERO {
            return Err(RateError::NotPositive);
        }
        Ok(Rate(rate.normalize()))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Rate({})", self.0)
    }
}

/// `amount × rate` in the book's currency, rounded half-even to ten-thousandths; above zero for
/// any positive amount (a conversion that would round to nothing is refused, not recorded as
/// zero).
pub fn convert(amount: Money, rate: Rate) -> Result<Money, LedgerError> {
    let overflow = LedgerError::Overflow {
        field: Some(super::fields::AMOUNT),
    };
    let converted = Decimal::from(amount.e4())
        .checked_mul(rate.0)
        .ok_or_else(|| overflow.clone())?
        .round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven);
    let e4 = i64::try_from(converted).map_err(|_| overflow)?;
    let converted = Money::from_e4(e4);
    if amount.is_positive() && !converted.is_positive() {
        return Err(LedgerError::NonPositiveAmount {
            field: super::fields::AMOUNT,
            amount: converted,
        });
    }
    Ok(converted)
}

/// Apportions `total` (in the book's `currency`) over `parts` in proportion to their original
/// amounts, so that the converted parts sum to `total` exactly; each result explains itself as
/// a split allocation does. Parts of zero stay zero. The output follows the input order;
/// `entry_id` seeds the tie-break, as for splits.
pub fn convert_parts(
    entry_id: EntryId,
    total: Money,
    currency: Currency,
    parts: &[(MemberId, Money)],
) -> Result<Vec<Allocation>, LedgerError> {
    if !parts.iter().any(|&(_, amount)| amount.is_positive())
        || parts.iter().any(|&(_, amount)| amount.is_negative())
    {
        return Err(LedgerError::NoMembers {
            field: super::fields::SPLIT,
        });
    }
    let claims: Vec<(MemberId, i128)> = parts
        .iter()
        .map(|&(member, amount)| (member, i128::from(amount.e4())))
        .collect();
    proportional(entry_id, total, currency, &claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(text: &str) -> Rate {
        text.parse().expect("a valid rate")
    }

    #[test]
    fn rates_parse_like_money_with_more_decimals() {
        assert_eq!(rate("31.25").to_string(), "31.25");
        assert_eq!(rate("0.000031000000").to_string(), "0.000031");
        assert_eq!("0".parse::<Rate>(), Err(RateError::NotPositive));
        assert_eq!("-1".parse::<Rate>(), Err(RateError::Malformed));
        assert_eq!("1e3".parse::<Rate>(), Err(RateError::Malformed));
        assert_eq!(".5".parse::<Rate>(), Err(RateError::Malformed));
        assert_eq!(
            "1.0000000000001".parse::<Rate>(),
            Err(RateError::TooManyDecimals)
        );
    }

    #[test]
    fn conversion_rounds_half_even_to_ten_thousandths() {
        // 10.00005 → 10.0000 (even), 10.00015 → 10.0002 (even).
        assert_eq!(
            convert(Money::from_e4(1_000_005), rate("0.1")),
            Ok(Money::from_e4(100_000))
        );
        assert_eq!(
            convert(Money::from_e4(1_000_015), rate("0.1")),
            Ok(Money::from_e4(100_002))
        );
        assert_eq!(
            convert(Money::from_e4(1_000_000), rate("31.25")),
            Ok(Money::from_e4(31_250_000))
        );
    }

    #[test]
    fn conversion_refuses_overflow_and_nothing() {
        assert!(matches!(
            convert(Money::MAX, rate("2")),
            Err(LedgerError::Overflow { .. })
        ));
        assert!(matches!(
            convert(Money::from_e4(1), rate("0.1")),
            Err(LedgerError::NonPositiveAmount { .. })
        ));
    }

    #[test]
    fn converted_parts_add_up_to_the_converted_total() {
        let usd = Currency::parse("USD").expect("USD");
        let (a, b, c) = (
            EntryId::from_u128(1),
            EntryId::from_u128(2),
            EntryId::from_u128(3),
        );
        let parts = [
            (a, Money::from_e4(33_333)),
            (b, Money::from_e4(33_333)),
            (c, Money::from_e4(33_334)),
        ];
        let total = convert(Money::from_e4(100_000), rate("0.3333")).expect("converts");
        let converted = convert_parts(EntryId::from_u128(9), total, usd, &parts).expect("fits");
        let sum = Money::checked_sum(converted.iter().map(|allocation| allocation.amount));
        assert_eq!(sum, Ok(total));
    }
}
