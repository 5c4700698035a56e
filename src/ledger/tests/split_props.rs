//! Laws of [`allocate`] for every split mode.

use std::collections::BTreeMap;

use proptest::prelude::*;
use uuid::Uuid;

use super::strategies::{amount, config, currency, members, partition};
use crate::ledger::{
    Allocation, Currency, EntryId, LedgerError, MemberId, Money, Percent, SplitRule, Weight,
    allocate,
};

/// An entry to split: id, amount, currency, rule, and a permutation of the rule's members.
type Case = (EntryId, Money, Currency, SplitRule, Vec<usize>);

/// Weights small enough that exactness checks stay within i128, with tiny ones to force ties.
fn weight() -> impl Strategy<Value = Weight> {
    prop_oneof![1..=10_i64, 1..=(1_i64 << 40)].prop_map(Weight::from_e4)
}

fn case() -> impl Strategy<Value = Case> {
    (any::<u128>(), amount(), currency(), members(1..=50)).prop_flat_map(
        |(entry, amount, currency, members)| {
            let count = members.len();
            let with = |members: &Vec<MemberId>| {
                let members = members.clone();
                move |values: Vec<i64>| members.iter().copied().zip(values).collect::<Vec<_>>()
            };
            let (ratio, exact, adjust) = (with(&members), with(&members), with(&members));
            let shares_members = members.clone();
            // Adjustments of up to half an equal share either way: mostly valid, sometimes a
            // discount drives a share below zero, which must be refused.
            let reach = amount.e4() / count as i64 / 2;
            let rule = prop_oneof![
                Just(SplitRule::Equal {
                    members: members.clone()
                }),
                partition(Percent::HUNDRED.e4(), count).prop_map(move |p| SplitRule::Ratio(
                    ratio(p)
                        .into_iter()
                        .map(|(m, p)| (m, Percent::from_e4(p)))
                        .collect()
                )),
                prop::collection::vec(weight(), count).prop_map(move |weights| {
                    SplitRule::Shares(shares_members.iter().copied().zip(weights).collect())
                }),
                partition(amount.e4(), count).prop_map(move |amounts| SplitRule::Exact(
                    exact(amounts)
                        .into_iter()
                        .map(|(m, a)| (m, Money::from_e4(a)))
                        .collect()
                )),
                prop::collection::vec(-reach..=reach, count).prop_map(move |adjustments| {
                    SplitRule::Adjustment(
                        adjust(adjustments)
                            .into_iter()
                            .map(|(m, a)| (m, Money::from_e4(a)))
                            .collect(),
                    )
                }),
            ];
            let permutation = Just((0..count).collect::<Vec<_>>()).prop_shuffle();
            (
                Just(Uuid::from_u128(entry)),
                Just(amount),
                Just(currency),
                rule,
                permutation,
            )
        },
    )
}

/// The same rule with its members listed in another order.
fn permuted(rule: &SplitRule, order: &[usize]) -> SplitRule {
    fn pick<T: Copy>(list: &[T], order: &[usize]) -> Vec<T> {
        order.iter().map(|&i| list[i]).collect()
    }
    match rule {
        SplitRule::Equal { members } => SplitRule::Equal {
            members: pick(members, order),
        },
        SplitRule::Ratio(list) => SplitRule::Ratio(pick(list, order)),
        SplitRule::Shares(list) => SplitRule::Shares(pick(list, order)),
        SplitRule::Exact(list) => SplitRule::Exact(pick(list, order)),
        SplitRule::Adjustment(list) => SplitRule::Adjustment(pick(list, order)),
    }
}

/// The exact share of each member as a fraction `numerator / denominator` (in ten-thousandths),
/// for the modes that apportion.
fn exact_shares(amount: Money, rule: &SplitRule) -> Option<(Vec<i128>, i128)> {
    let amount = i128::from(amount.e4());
    let by_weights = |weights: Vec<i128>| {
        let total: i128 = weights.iter().sum();
        (weights.iter().map(|w| amount * w).collect(), total)
    };
    match rule {
        SplitRule::Equal { members } => Some(by_weights(vec![1; members.len()])),
        SplitRule::Ratio(list) => Some(by_weights(
            list.iter().map(|(_, p)| i128::from(p.e4())).collect(),
        )),
        SplitRule::Shares(list) => Some(by_weights(
            list.iter().map(|(_, w)| i128::from(w.e4())).collect(),
        )),
        SplitRule::Adjustment(list) => {
            let count = list.len() as i128;
            let adjustments: i128 = list.iter().map(|(_, a)| i128::from(a.e4())).sum();
            let rest = amount - adjustments;
            // adj + rest / n  =  (adj·n + rest) / n
            Some((
                list.iter()
                    .map(|(_, a)| i128::from(a.e4()) * count + rest)
                    .collect(),
                count,
            ))
        }
        SplitRule::Exact(_) => None,
    }
}

fn by_member(split: &[Allocation]) -> BTreeMap<MemberId, Allocation> {
    split.iter().map(|a| (a.member, *a)).collect()
}

proptest! {
    #![proptest_config(config())]

    /// Σ allocations = amount in every mode, nobody owes a negative share, and every allocation
    /// explains itself. The only refusal a well-formed rule can meet is a negative share.
    #[test]
    fn allocations_sum_to_the_amount((entry, amount, currency, rule, _) in case()) {
        match allocate(entry, amount, currency, &rule) {
            Ok(split) => {
                prop_assert_eq!(Money::checked_sum(split.iter().map(|a| a.amount)), Ok(amount));
                let listed: Vec<_> = split.iter().map(|a| a.member).collect();
                prop_assert_eq!(listed, rule.members());
                let expected_unit = if amount.is_whole_minor_units(currency) {
                    currency.minor_unit()
                } else {
                    Money::from_e4(1)
                };
                for a in &split {
                    prop_assert!(!a.amount.is_negative());
                    prop_assert!(a.remainder_units <= 1);
                    let extra = Money::from_e4(a.unit.e4() * i64::from(a.remainder_units));
                    prop_assert_eq!(a.base.checked_add(extra), Ok(a.amount));
                    if !matches!(rule, SplitRule::Exact(_) | SplitRule::Adjustment(_)) {
                        prop_assert_eq!(a.unit, expected_unit);
                    }
                }
            }
            Err(error) => prop_assert!(
                matches!(
                    (&rule, &error),
                    (SplitRule::Adjustment(_), LedgerError::NegativeShare { .. })
                ),
                "unexpected refusal {:?}", error
            ),
        }
    }

    /// Each share is less than one apportioning unit (so also less than one minor unit) away
    /// from its exact value.
    #[test]
    fn each_share_is_within_one_unit_of_exact((entry, amount, currency, rule, _) in case()) {
        let (Ok(split), Some((numerators, denominator))) =
            (allocate(entry, amount, currency, &rule), exact_shares(amount, &rule))
        else {
            return Ok(());
        };
        for (a, numerator) in split.iter().zip(numerators) {
            let error = i128::from(a.amount.e4()) * denominator - numerator;
            let unit = i128::from(a.unit.e4());
            prop_assert!(
                error.abs() < unit * denominator,
                "{:?} is {}/{} units from exact", a, error, denominator
            );
            prop_assert!(a.unit <= currency.minor_unit());
        }
    }

    /// Who gets what does not depend on the order members are listed in.
    #[test]
    fn allocation_ignores_member_order((entry, amount, currency, rule, order) in case()) {
        let shuffled = permuted(&rule, &order);
        let original = allocate(entry, amount, currency, &rule);
        let reordered = allocate(entry, amount, currency, &shuffled);
        match (original, reordered) {
            (Ok(a), Ok(b)) => prop_assert_eq!(by_member(&a), by_member(&b)),
            (Err(_), Err(_)) => {}
            (a, b) => prop_assert!(false, "one order failed: {:?} vs {:?}", a, b),
        }
    }
}
