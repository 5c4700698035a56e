//! Laws of settlement plans, with a brute-force optimum as the reference.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::strategies::{config, members, nets};
use crate::ledger::settle::north_west;
use crate::ledger::{
    EXACT_PLAN_MEMBERS_MAX, LedgerError, MemberId, Money, Plan, Transfer, check_payment,
    settlement_plan,
};

/// Nets after the given transfers are paid.
fn pay(nets: &BTreeMap<MemberId, Money>, transfers: &[Transfer]) -> BTreeMap<MemberId, Money> {
    let mut after = nets.clone();
    for t in transfers {
        let from = after.entry(t.from).or_default();
        *from = from.checked_add(t.amount).unwrap();
        let to = after.entry(t.to).or_default();
        *to = to.checked_sub(t.amount).unwrap();
    }
    after
}

fn live_count(nets: &BTreeMap<MemberId, Money>) -> usize {
    nets.values().filter(|n| !n.is_zero()).count()
}

/// The greedy plan (what peers suggest), for comparison.
fn greedy(nets: &BTreeMap<MemberId, Money>) -> Vec<Transfer> {
    let live: Vec<_> = nets
        .iter()
        .filter(|(_, n)| !n.is_zero())
        .map(|(&m, n)| (m, n.e4()))
        .collect();
    north_west(&live)
}

/// Reference optimum: try every way to split the members into zero-sum groups (set partitions,
/// built by choosing the first member's group among all subsets of the rest).
fn brute_force_minimum(nets: &BTreeMap<MemberId, Money>) -> usize {
    fn most_groups(values: &[i64]) -> usize {
        let Some((&first, rest)) = values.split_first() else {
            return 0;
        };
        let mut best = 0;
        for chosen in 0..(1_u32 << rest.len()) {
            let group_sum: i64 = first
                + (0..rest.len())
                    .filter(|i| chosen >> i & 1 == 1)
                    .map(|i| rest[i])
                    .sum::<i64>();
            if group_sum == 0 {
                let others: Vec<i64> = (0..rest.len())
                    .filter(|i| chosen >> i & 1 == 0)
                    .map(|i| rest[i])
                    .collect();
                best = best.max(1 + most_groups(&others));
            }
        }
        best
    }
    let values: Vec<i64> = nets.values().map(|n| n.e4()).filter(|&v| v != 0).collect();
    values.len() - most_groups(&values)
}

/// Shape checks every plan must pass, whatever its size.
fn check_shape(nets: &BTreeMap<MemberId, Money>, plan: &Plan) -> Result<(), TestCaseError> {
    prop_assert!(pay(nets, &plan.transfers).values().all(|n| n.is_zero()));
    prop_assert!(plan.transfers.len() <= live_count(nets).saturating_sub(1));
    let mut pairs = BTreeSet::new();
    for t in &plan.transfers {
        // From someone who owes to someone owed, never more than either's balance.
        prop_assert!(t.amount.is_positive());
        prop_assert!(nets[&t.from].is_negative() && nets[&t.to].is_positive());
        prop_assert!(t.amount.e4() <= -nets[&t.from].e4() && t.amount <= nets[&t.to]);
        prop_assert!(pairs.insert((t.from, t.to)), "two transfers for one pair");
        // Every suggested transfer is a payment the check allows.
        prop_assert_eq!(check_payment(nets, t.from, t.to, t.amount), Ok(()));
    }
    prop_assert!(plan.transfers.is_sorted());
    Ok(())
}

/// Paying each suggested transfer in turn leaves exactly the other transfers suggested.
fn check_stable(nets: &BTreeMap<MemberId, Money>, plan: &Plan) -> Result<(), TestCaseError> {
    for (i, paid) in plan.transfers.iter().enumerate() {
        let after = pay(nets, &[*paid]);
        let replanned = settlement_plan(&after).unwrap();
        if replanned.optimal != plan.optimal {
            // Crossing the exact-plan limit changes the algorithm; nothing to compare.
            continue;
        }
        let mut rest = plan.transfers.clone();
        rest.remove(i);
        prop_assert_eq!(&replanned.transfers, &rest, "after paying {:?}", paid);
    }
    Ok(())
}

/// Nets of 22–40 members (greedy territory) summing to zero.
fn large_nets() -> impl Strategy<Value = BTreeMap<MemberId, Money>> {
    (22..=40_usize)
        .prop_flat_map(|count| {
            (
                members(count..=count),
                prop::collection::vec(-1_000_000..=1_000_000_i64, count - 1),
            )
        })
        .prop_map(|(ids, values)| {
            let last = -values.iter().sum::<i64>();
            ids.into_iter()
                .zip(values.into_iter().chain([last]).map(Money::from_e4))
                .collect()
        })
}

proptest! {
    #![proptest_config(config())]

    /// Small books: the plan is the brute-force minimum, settles everyone, ≤ n − 1 transfers.
    #[test]
    fn small_plans_are_minimal(nets in nets(7)) {
        let plan = settlement_plan(&nets).unwrap();
        prop_assert!(plan.optimal);
        check_shape(&nets, &plan)?;
        prop_assert_eq!(plan.transfers.len(), brute_force_minimum(&nets));
    }

    /// The exact plan never needs more transfers than greedy matching.
    #[test]
    fn exact_never_loses_to_greedy(nets in nets(14)) {
        let plan = settlement_plan(&nets).unwrap();
        prop_assert!(plan.optimal);
        check_shape(&nets, &plan)?;
        prop_assert!(plan.transfers.len() <= greedy(&nets).len());
    }

    /// Paying one suggested transfer leaves the rest of the plan unchanged.
    #[test]
    fn exact_plans_are_stable(nets in nets(12)) {
        let plan = settlement_plan(&nets).unwrap();
        check_stable(&nets, &plan)?;
    }

    /// Above the exact limit: greedy, still zeroing, ≤ n − 1, and stable while it stays above.
    #[test]
    fn large_plans_settle_and_are_stable(nets in large_nets()) {
        prop_assume!(live_count(&nets) > EXACT_PLAN_MEMBERS_MAX);
        let plan = settlement_plan(&nets).unwrap();
        prop_assert!(!plan.optimal);
        check_shape(&nets, &plan)?;
        check_stable(&nets, &plan)?;
    }
}

proptest! {
    #![proptest_config(config())]

    /// A payment the check allows never turns its payer into a creditor or its payee into a
    /// debtor, and one unit more than the most it names is refused.
    #[test]
    fn allowed_payments_never_overshoot(
        book in nets(8),
        pick in any::<(prop::sample::Index, prop::sample::Index)>(),
        fraction in 0u32..=100,
    ) {
        let members: Vec<MemberId> = book.keys().copied().collect();
        prop_assume!(members.len() >= 2);
        let (from, to) = (*pick.0.get(&members), *pick.1.get(&members));
        prop_assume!(from != to);
        let owes = (-book[&from].e4()).max(0);
        let owed = book[&to].e4().max(0);
        let most = owes.min(owed);
        let amount = Money::from_e4(most * i64::from(fraction) / 100);
        if amount.is_positive() {
            prop_assert_eq!(check_payment(&book, from, to, amount), Ok(()));
            let after = pay(&book, &[Transfer { from, to, amount }]);
            prop_assert!(!after[&from].is_positive(), "the payer became a creditor");
            prop_assert!(!after[&to].is_negative(), "the payee became a debtor");
        }
        let over = Money::from_e4(most + 1);
        let refused = matches!(
            check_payment(&book, from, to, over),
            Err(LedgerError::PaymentOvershoots { .. })
        );
        prop_assert!(refused, "overshoot allowed");
    }
}
