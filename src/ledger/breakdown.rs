//! Shares of a total in percent, for breakdowns (spending by category): each part's share of
//! 100 % in hundredths of a percent, apportioned by largest remainder so the shares always add
//! up to exactly 100.00 (or 0 for an empty total), never 99.99 or 100.01.

use super::apportion::largest_remainder;
use super::{MemberId, Money, Percent};

/// Hundredths of a percent in 100 %.
const HUNDRED_PERCENT_IN_HUNDREDTHS: i128 = 10_000;
/// Ten-thousandths in a hundredth of a percent (`Percent` is scale 4).
const E4_PER_HUNDREDTH: i64 = 100;

/// Each part's share of the parts' total, in the parts' order, in steps of 0.01 %. Parts are
/// named by any id (a category's); negative parts count as zero.
pub fn percentages(parts: &[(MemberId, Money)]) -> Vec<Percent> {
    let claims: Vec<(MemberId, i128)> = parts
        .iter()
        .map(|&(id, amount)| (id, i128::from(amount.e4().max(0))))
        .collect();
    if claims.iter().all(|&(_, weight)| weight == 0) {
        return vec![Percent::from_e4(0); parts.len()];
    }
    // The nil id seeds the tie-break: a breakdown is the same every time it is asked for.
    largest_remainder(MemberId::nil(), HUNDRED_PERCENT_IN_HUNDREDTHS, &claims)
        .into_iter()
        .map(|part| {
            let hundredths = part.base_units + i128::from(part.extra_unit);
            // At most 10,000 hundredths: fits.
            Percent::from_e4(i64::try_from(hundredths).unwrap_or(0) * E4_PER_HUNDREDTH)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(amounts: &[i64]) -> Vec<(MemberId, Money)> {
        amounts
            .iter()
            .enumerate()
            .map(|(i, &e4)| (MemberId::from_u128(i as u128 + 1), Money::from_e4(e4)))
            .collect()
    }

    fn total(shares: &[Percent]) -> i64 {
        shares.iter().map(|share| share.e4()).sum()
    }

    #[test]
    fn thirds_add_up_to_exactly_one_hundred() {
        let shares = percentages(&parts(&[1, 1, 1]));
        assert_eq!(total(&shares), Percent::HUNDRED.e4());
        let mut texts: Vec<String> = shares.iter().map(ToString::to_string).collect();
        texts.sort();
        assert_eq!(texts, ["33.33", "33.33", "33.34"]);
    }

    #[test]
    fn nothing_spent_is_zero_everywhere() {
        assert_eq!(total(&percentages(&parts(&[0, 0]))), 0);
        assert!(percentages(&[]).is_empty());
    }

    #[test]
    fn any_breakdown_adds_up() {
        for amounts in [
            &[5, 7, 11, 13][..],
            &[1, 999_999_999],
            &[3; 7],
            &[123_456, 1, 0, 42],
        ] {
            assert_eq!(total(&percentages(&parts(amounts))), Percent::HUNDRED.e4());
        }
    }
}
