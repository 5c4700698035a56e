//! Laws of balances, checked against a naive reference model.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::strategies::{config, members, partition};
use crate::ledger::{
    Balance, EntryEffect, EntryKind, MemberId, Money, apply_effect, audit, balances,
    replace_effect, unapply_effect,
};

fn kind() -> impl Strategy<Value = EntryKind> {
    prop::sample::select(vec![
        EntryKind::Expense,
        EntryKind::Income,
        EntryKind::Transfer,
    ])
}

/// A balanced entry among `pool`: random payers and random shares of the same amount.
fn effect(pool: Vec<MemberId>) -> impl Strategy<Value = EntryEffect> {
    let count = pool.len();
    (kind(), 1..=10_000_000_000_i64).prop_flat_map(move |(kind, amount)| {
        let pool = pool.clone();
        (partition(amount, count), partition(amount, count)).prop_map(move |(paid, owed)| {
            // Zero parts are dropped, so payers and split members are random subsets.
            let listed = |parts: Vec<i64>| {
                pool.iter()
                    .copied()
                    .zip(parts)
                    .filter(|&(_, part)| part > 0)
                    .map(|(member, part)| (member, Money::from_e4(part)))
                    .collect()
            };
            EntryEffect {
                kind,
                payers: listed(paid),
                allocations: listed(owed),
            }
        })
    })
}

/// A book: 2–8 members and up to 40 entries, plus one more entry to edit one of them into.
fn book() -> impl Strategy<Value = (Vec<EntryEffect>, EntryEffect)> {
    members(2..=8).prop_flat_map(|pool| {
        (
            prop::collection::vec(effect(pool.clone()), 0..=40),
            effect(pool),
        )
    })
}

/// The reference model: plain i128 sums, sign flipped for income.
fn naive(effects: &[EntryEffect]) -> BTreeMap<MemberId, (i128, i128)> {
    let mut book: BTreeMap<MemberId, (i128, i128)> = BTreeMap::new();
    for effect in effects {
        let sign = if effect.kind == EntryKind::Income {
            -1
        } else {
            1
        };
        for &(member, amount) in &effect.payers {
            book.entry(member).or_default().0 += sign * i128::from(amount.e4());
        }
        for &(member, amount) in &effect.allocations {
            book.entry(member).or_default().1 += sign * i128::from(amount.e4());
        }
    }
    book
}

/// Drops members whose balance is all zero (present or absent mean the same).
fn nonzero(book: BTreeMap<MemberId, Balance>) -> BTreeMap<MemberId, Balance> {
    book.into_iter()
        .filter(|(_, b)| *b != Balance::ZERO)
        .collect()
}

proptest! {
    #![proptest_config(config())]

    /// Σ nets = 0, net = paid − owed, and every figure equals the naive model's.
    #[test]
    fn nets_sum_to_zero_and_match_a_naive_model((effects, _) in book()) {
        let book = balances(&effects).unwrap();
        let total: i128 = book.values().map(|b| i128::from(b.net.e4())).sum();
        prop_assert_eq!(total, 0);
        prop_assert_eq!(audit(&book), Ok(()));
        let model = naive(&effects);
        prop_assert_eq!(book.len(), model.len());
        for (member, (paid, owed)) in model {
            let balance = book[&member];
            prop_assert_eq!(i128::from(balance.paid.e4()), paid);
            prop_assert_eq!(i128::from(balance.owed.e4()), owed);
            prop_assert_eq!(i128::from(balance.net.e4()), paid - owed);
        }
    }

    /// Each entry's delta is balanced on its own.
    #[test]
    fn every_delta_nets_to_zero((effects, _) in book()) {
        for effect in &effects {
            let delta = effect.delta().unwrap();
            let total = Money::checked_sum(delta.iter().map(|(_, b)| b.net));
            prop_assert_eq!(total, Ok(Money::ZERO));
        }
    }

    /// Deleting every entry, in any order, brings every balance back to zero.
    #[test]
    fn deleting_every_entry_returns_to_zero((effects, _) in book()) {
        let mut book = balances(&effects).unwrap();
        for effect in effects.iter().rev() {
            unapply_effect(&mut book, effect).unwrap();
            prop_assert_eq!(audit(&book), Ok(()));
        }
        prop_assert!(book.values().all(|b| *b == Balance::ZERO));
    }

    /// Editing one entry in place equals recomputing the book with the edited entry.
    #[test]
    fn an_edit_equals_recomputing(
        (mut effects, edited) in book(),
        index in any::<prop::sample::Index>(),
    ) {
        prop_assume!(!effects.is_empty());
        let at = index.index(effects.len());
        let mut book = balances(&effects).unwrap();
        replace_effect(&mut book, &effects[at], &edited).unwrap();
        effects[at] = edited;
        prop_assert_eq!(nonzero(book), nonzero(balances(&effects).unwrap()));
    }
}

#[test]
fn applying_one_by_one_equals_recomputing() {
    use uuid::Uuid;
    let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
    let effects = [EntryEffect {
        kind: EntryKind::Transfer,
        payers: vec![(a, Money::from_e4(5))],
        allocations: vec![(b, Money::from_e4(5))],
    }];
    let mut book = BTreeMap::new();
    for effect in &effects {
        apply_effect(&mut book, effect).unwrap();
    }
    assert_eq!(book, balances(&effects).unwrap());
}
