//! Who paid an entry: one or several payers whose payments add up to the entry amount.
//!
//! Several payers per entry is the most requested feature across the peers (Spliit #14,
//! IHateMoney #523); the rule that keeps it sound is that payments total the amount exactly,
//! so the entry moves as much into the book as its split takes out (Σ nets stays 0).

use std::collections::BTreeSet;

use super::error::fields::PAYERS;
use super::{LedgerError, MemberId, Money};

/// Checks that `payers` is non-empty, lists each member once with a positive payment, and that
/// the payments total `amount`.
pub fn validate_payers(amount: Money, payers: &[(MemberId, Money)]) -> Result<(), LedgerError> {
    if payers.is_empty() {
        return Err(LedgerError::NoMembers { field: PAYERS });
    }
    let mut seen = BTreeSet::new();
    for &(member, paid) in payers {
        if !paid.is_positive() {
            return Err(LedgerError::NonPositivePayment {
                field: PAYERS,
                member,
                amount: paid,
            });
        }
        if !seen.insert(member) {
            return Err(LedgerError::DuplicateMember {
                field: PAYERS,
                member,
            });
        }
    }
    let total = Money::checked_sum(payers.iter().map(|&(_, paid)| paid))
        .map_err(|error| error.in_field(PAYERS))?;
    if total != amount {
        return Err(LedgerError::PayersTotal {
            field: PAYERS,
            expected: amount,
            total,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn money(text: &str) -> Money {
        text.parse().unwrap()
    }

    #[test]
    fn several_payers_must_total_the_amount() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let payers = [(a, money("60")), (b, money("40.5"))];
        assert_eq!(validate_payers(money("100.5"), &payers), Ok(()));
        assert_eq!(
            validate_payers(money("100"), &payers),
            Err(LedgerError::PayersTotal {
                field: "payers",
                expected: money("100"),
                total: money("100.5")
            })
        );
    }

    #[test]
    fn each_payer_once_with_a_positive_payment() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        assert_eq!(
            validate_payers(money("1"), &[]),
            Err(LedgerError::NoMembers { field: "payers" })
        );
        assert_eq!(
            validate_payers(money("1"), &[(a, money("1")), (b, money("0"))]),
            Err(LedgerError::NonPositivePayment {
                field: "payers",
                member: b,
                amount: money("0")
            })
        );
        assert_eq!(
            validate_payers(money("2"), &[(a, money("1")), (a, money("1"))]),
            Err(LedgerError::DuplicateMember {
                field: "payers",
                member: a
            })
        );
        assert_eq!(
            validate_payers(money("1"), &[(a, Money::MAX), (b, Money::MAX)]),
            Err(LedgerError::Overflow {
                field: Some("payers")
            })
        );
    }
}
