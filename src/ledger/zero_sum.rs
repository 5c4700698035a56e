//! Zero-sum subset tables: the exact part of the settlement plan.
//!
//! For k ≤ [`EXACT_PLAN_MEMBERS_MAX`] non-zero balances (member i is bit i of a mask) this
//! finds:
//!
//! - every subset whose balances sum to zero, by meeting in the middle: the subset sums of the
//!   low and the high half of the members are two tables of at most 2^10 entries, and a mask is
//!   zero-sum when its two halves' sums cancel;
//! - `groups[mask]`: the largest number of disjoint non-empty zero-sum subsets inside `mask`.
//!
//! Why that is the quantity to compute: a plan's transfers connect members into components,
//! each of which must sum to zero, and a component of s members needs at least s − 1 transfers.
//! So the fewest transfers for k members is k − (most zero-sum groups they can be split into),
//! and that is reached by settling each group with s − 1 transfers.
//!
//! The table has 2^k entries (1 MiB at k = 20) and is filled in O(2^k · k) steps at worst.

use super::settle::EXACT_PLAN_MEMBERS_MAX;

/// Subset facts about one set of non-zero balances that sum to zero.
pub(super) struct ZeroSumTable {
    member_count: usize,
    /// Non-empty zero-sum masks, ascending (the full mask is always one).
    zero_masks: Vec<u32>,
    /// `groups[mask]`: most disjoint non-empty zero-sum subsets within `mask`. Left empty when
    /// the full mask is the only zero-sum one (then the answer is 1 everywhere it is asked).
    groups: Vec<u8>,
    max_groups: u8,
}

impl ZeroSumTable {
    /// Builds the table. The caller guarantees `values.len() <= EXACT_PLAN_MEMBERS_MAX`, no zero
    /// values, Σ values = 0 and Σ |values| ≤ i64::MAX (so no subset sum overflows).
    pub(super) fn new(values: &[i64]) -> ZeroSumTable {
        debug_assert!(values.len() <= EXACT_PLAN_MEMBERS_MAX);
        let member_count = values.len();
        let zero_masks = zero_sum_masks(values);
        // Balances with arbitrary cents rarely cancel in any proper subset; then everyone is one
        // group and the 2^k table (the expensive part) is not needed.
        if zero_masks.len() <= 1 {
            return ZeroSumTable {
                member_count,
                max_groups: u8::from(!zero_masks.is_empty()),
                zero_masks,
                groups: Vec::new(),
            };
        }
        let groups = most_groups(member_count, &zero_masks);
        let full = (1_usize << member_count) - 1;
        ZeroSumTable {
            member_count,
            max_groups: groups[full],
            zero_masks,
            groups,
        }
    }

    fn full_mask(&self) -> u32 {
        // k ≤ 20, so the shift cannot overflow a u32.
        (1_u32 << self.member_count) - 1
    }

    /// The most zero-sum groups all the members can be split into.
    pub(super) fn max_groups(&self) -> u8 {
        self.max_groups
    }

    /// The members that share a group with `member` in at least one maximum split into
    /// zero-sum groups (as a mask, including `member`).
    ///
    /// A group of a maximum split is a zero-sum mask `g` that cannot be split further
    /// (`groups[g] == 1`) and whose complement still splits into `max_groups − 1` groups.
    pub(super) fn partners(&self, member: usize) -> u32 {
        let full = self.full_mask();
        if self.groups.is_empty() {
            return full;
        }
        let rest_groups = self.max_groups.saturating_sub(1);
        let bit = 1_u32 << member;
        self.zero_masks
            .iter()
            .filter(|&&mask| {
                mask & bit != 0
                    && self.groups[mask as usize] == 1
                    && self.groups[(full ^ mask) as usize] == rest_groups
            })
            .fold(0, |reach, &mask| reach | mask)
    }
}

/// All non-empty zero-sum masks, ascending, by meeting in the middle.
pub(super) fn zero_sum_masks(values: &[i64]) -> Vec<u32> {
    let low_bits = values.len() / 2;
    let (low, high) = values.split_at(low_bits);
    let mut low_sums: Vec<(i64, u32)> = subset_sums(low).into_iter().zip(0_u32..).collect();
    low_sums.sort_unstable();
    let mut masks = Vec::new();
    for (high_sum, high_mask) in subset_sums(high).into_iter().zip(0_u32..) {
        let target = -high_sum;
        let start = low_sums.partition_point(|&(sum, _)| sum < target);
        for &(_, low_mask) in low_sums[start..]
            .iter()
            .take_while(|&&(sum, _)| sum == target)
        {
            let mask = (high_mask << low_bits) | low_mask;
            if mask != 0 {
                masks.push(mask);
            }
        }
    }
    masks.sort_unstable();
    masks
}

/// `sums[mask]` = Σ values in `mask`, each built from a smaller mask plus its lowest member.
fn subset_sums(values: &[i64]) -> Vec<i64> {
    let mut sums = vec![0_i64; 1 << values.len()];
    for mask in 1..sums.len() {
        let lowest = mask.trailing_zeros() as usize;
        sums[mask] = sums[mask & (mask - 1)] + values[lowest];
    }
    sums
}

/// `groups[mask]` for every mask: the most disjoint non-empty zero-sum subsets inside it.
///
/// The textbook recurrence is `groups[m] = max over i in m of groups[m − i] + [m is zero-sum]`.
/// Removing one member breaks at most one group, so every `groups[m − i]` is `groups[m]` or
/// one less. That gives two shortcuts: a zero-sum `m` is `groups[m − lowest] + 1` with no
/// search, and otherwise the search can stop at the first `i` that beats `groups[m − lowest]`.
pub(super) fn most_groups(member_count: usize, zero_masks: &[u32]) -> Vec<u8> {
    let mut groups = vec![0_u8; 1 << member_count];
    let mut zero_masks = zero_masks.iter().map(|&mask| mask as usize).peekable();
    for mask in 1..groups.len() {
        let without_lowest = mask & (mask - 1);
        let floor = groups[without_lowest];
        groups[mask] = if zero_masks.next_if_eq(&mask).is_some() {
            floor + 1
        } else {
            let mut others = without_lowest;
            let mut best = floor;
            while others != 0 {
                let bit = others & others.wrapping_neg();
                if groups[mask ^ bit] > floor {
                    best = floor + 1;
                    break;
                }
                others ^= bit;
            }
            best
        };
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_zero_sum_subsets() {
        // bits: 0 → −5, 1 → −5, 2 → +10, 3 → −7, 4 → +7
        let table = ZeroSumTable::new(&[-5, -5, 10, -7, 7]);
        assert_eq!(table.zero_masks, [0b00111, 0b11000, 0b11111]);
        assert_eq!(table.max_groups(), 2);
        assert_eq!(table.partners(0), 0b00111);
        assert_eq!(table.partners(3), 0b11000);
    }

    #[test]
    fn counts_the_most_groups_not_the_first_found() {
        // {−1,+1} twice and {−2,+2}: three groups, though {−1,−1,+2} is also zero-sum.
        let values = [-1, 1, -1, 1, -2, 2];
        let table = ZeroSumTable::new(&values);
        assert_eq!(table.max_groups(), 3);
        // −2 can pair with +2 only (pairing it with both +1s leaves −1,−1,+2: two groups).
        assert_eq!(table.partners(4), 0b110000);
        // The first −1 can pair with either +1, never with the +2.
        assert_eq!(table.partners(0), 0b001011);
    }

    #[test]
    fn a_set_with_no_smaller_zero_sum_subset_is_one_group() {
        let table = ZeroSumTable::new(&[-3, -4, 2, 5]);
        assert_eq!(table.max_groups(), 1);
        assert_eq!(table.partners(1), 0b1111);
    }
}
