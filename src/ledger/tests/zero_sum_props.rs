//! The subset table's shortcuts (meet in the middle, early exits) against plain recursion.

use proptest::prelude::*;

use super::strategies::config;
use crate::ledger::zero_sum::{most_groups, zero_sum_masks};

/// Most disjoint non-empty zero-sum subsets inside each mask, by a different recurrence: the
/// lowest member is either left out, or grouped with some subset of the others.
fn reference_groups(values: &[i64]) -> Vec<u8> {
    let sum = |mask: usize| -> i64 {
        (0..values.len())
            .filter(|i| mask >> i & 1 == 1)
            .map(|i| values[i])
            .sum()
    };
    let mut groups = vec![0_u8; 1 << values.len()];
    for mask in 1..groups.len() {
        let lowest = mask & mask.wrapping_neg();
        let others = mask ^ lowest;
        let mut best = groups[others];
        // Every subset of the others, including the empty one.
        let mut companions = others;
        loop {
            let group = companions | lowest;
            if sum(group) == 0 {
                best = best.max(1 + groups[mask ^ group]);
            }
            if companions == 0 {
                break;
            }
            companions = (companions - 1) & others;
        }
        groups[mask] = best;
    }
    groups
}

fn nonzero_values() -> impl Strategy<Value = Vec<i64>> {
    prop::collection::vec(prop_oneof![-4..=-1_i64, 1..=4_i64], 1..=10)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_table_matches_plain_recursion(values in nonzero_values()) {
        let zero_masks = zero_sum_masks(&values);
        let expected_zero: Vec<u32> = (1..1_u32 << values.len())
            .filter(|&mask| {
                (0..values.len())
                    .filter(|i| mask >> i & 1 == 1)
                    .map(|i| values[i])
                    .sum::<i64>()
                    == 0
            })
            .collect();
        prop_assert_eq!(&zero_masks, &expected_zero);
        prop_assert_eq!(most_groups(values.len(), &zero_masks), reference_groups(&values));
    }
}
