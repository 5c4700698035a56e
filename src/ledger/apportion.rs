//! Largest-remainder apportionment with a per-entry tie-break: the rounding behind every split.
//!
//! A total of `T` indivisible units is split in proportion to weights `w_i` (Σw = W > 0):
//! everyone first gets `floor(T·w_i / W)` units, then the `L = T − Σ floors` leftover units go
//! one each to the members with the largest remainders `T·w_i mod W`. Hence:
//!
//! - Σ shares = T exactly (no cent is created or lost);
//! - every share is within one unit of its exact value `T·w_i / W`, and no one gets two
//!   leftover units;
//! - the result depends only on (member, weight) pairs, not on the order they are listed in.
//!
//! Members with equal remainders (always the case in an equal split) are ordered by
//! SHA-256("tally.split.v1" ‖ entry id ‖ member id): the same entry always splits the same way,
//! while across entries the extra cent lands on a different member each time instead of
//! "always the last person" (Spliit #374). The key is versioned because changing it would change
//! how stored entries re-split on edit.
//!
//! All arithmetic is in `i128`: `|T| < 2^64·n` and `w_i < 2^63`, so products cannot overflow.

use sha2::{Digest, Sha256};

use super::{EntryId, MemberId};

/// Domain separator for the tie-break hash; bump the version to change the order.
const TIE_BREAK_DOMAIN: &[u8] = b"tally.split.v1";

/// One member's result, in units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Apportioned {
    /// `floor(T·w / W)`.
    pub base_units: i128,
    /// Whether this member received one of the leftover units.
    pub extra_unit: bool,
}

/// Splits `total_units` (any sign) among `claims` (member, weight ≥ 0) by largest remainder.
///
/// The caller guarantees Σ weights > 0 and that members are distinct.
pub(super) fn largest_remainder(
    entry_id: EntryId,
    total_units: i128,
    claims: &[(MemberId, i128)],
) -> Vec<Apportioned> {
    let weight_total: i128 = claims.iter().map(|&(_, weight)| weight).sum();
    debug_assert!(weight_total > 0, "apportioning by a zero total weight");
    // Euclidean division floors towards −∞ and keeps remainders ≥ 0, so a negative total (an
    // adjustment split whose adjustments exceed the amount) follows the same rule.
    let mut result = Vec::with_capacity(claims.len());
    let mut remainders = Vec::with_capacity(claims.len());
    for &(_, weight) in claims {
        let scaled = total_units * weight;
        result.push(Apportioned {
            base_units: scaled.div_euclid(weight_total),
            extra_unit: false,
        });
        remainders.push(scaled.rem_euclid(weight_total));
    }
    let floors: i128 = result.iter().map(|a| a.base_units).sum();
    let leftover = usize::try_from(total_units - floors).unwrap_or(0);
    // Σ remainders = leftover·W and each remainder < W, so leftover < number of members.
    debug_assert!(leftover < claims.len().max(1));
    if leftover == 0 {
        return result;
    }

    let mut by_remainder: Vec<usize> = (0..claims.len()).collect();
    by_remainder.sort_unstable_by(|&a, &b| remainders[b].cmp(&remainders[a]));
    let cutoff = remainders[by_remainder[leftover - 1]];
    // Everyone strictly above the cutoff remainder gets a unit; the members tied at the cutoff
    // share what is left in tie-break order. Hashing only the tied members keeps unequal splits
    // cheap.
    let above = by_remainder
        .iter()
        .take_while(|&&i| remainders[i] > cutoff)
        .count();
    for &i in &by_remainder[..above] {
        result[i].extra_unit = true;
    }
    let mut tied: Vec<(TieKey, usize)> = by_remainder[above..]
        .iter()
        .take_while(|&&i| remainders[i] == cutoff)
        .map(|&i| (tie_key(entry_id, claims[i].0), i))
        .collect();
    tied.sort_unstable();
    for &(_, i) in tied.iter().take(leftover - above) {
        result[i].extra_unit = true;
    }
    result
}

/// Tie-break order among equal remainders: the hash, then the member id (the hash alone is
/// practically unique; the id makes the order total without relying on that).
type TieKey = ([u8; 32], MemberId);

fn tie_key(entry_id: EntryId, member: MemberId) -> TieKey {
    let digest = Sha256::new()
        .chain_update(TIE_BREAK_DOMAIN)
        .chain_update(entry_id.as_bytes())
        .chain_update(member.as_bytes())
        .finalize();
    (digest.into(), member)
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn members(n: u128) -> Vec<MemberId> {
        (1..=n).map(Uuid::from_u128).collect()
    }

    fn units(result: &[Apportioned]) -> Vec<i128> {
        result
            .iter()
            .map(|a| a.base_units + i128::from(a.extra_unit))
            .collect()
    }

    #[test]
    fn gives_leftovers_to_the_largest_remainders() {
        let ids = members(3);
        // 10 units by 1:2:3 → exact 1.67, 3.33, 5 → floors 1, 3, 5; one leftover to the .67.
        let claims = [(ids[0], 1), (ids[1], 2), (ids[2], 3)];
        let result = largest_remainder(Uuid::nil(), 10, &claims);
        assert_eq!(units(&result), [2, 3, 5]);
        assert_eq!(result[0].base_units, 1);
        assert!(result[0].extra_unit && !result[1].extra_unit && !result[2].extra_unit);
    }

    #[test]
    fn negative_totals_floor_towards_minus_infinity() {
        let ids = members(3);
        let claims: Vec<_> = ids.iter().map(|&id| (id, 1)).collect();
        let result = largest_remainder(Uuid::nil(), -10, &claims);
        let mut got = units(&result);
        got.sort_unstable();
        assert_eq!(got, [-4, -3, -3]);
        assert!(result.iter().all(|a| a.base_units == -4));
    }

    #[test]
    fn ties_rotate_across_entries_and_repeat_within_one() {
        let ids = members(3);
        let claims: Vec<_> = ids.iter().map(|&id| (id, 1)).collect();
        let mut times_extra = [0; 3];
        for entry in 0..300 {
            let entry_id = Uuid::from_u128(entry);
            let result = largest_remainder(entry_id, 1, &claims);
            assert_eq!(result, largest_remainder(entry_id, 1, &claims));
            let winner = result.iter().position(|a| a.extra_unit).unwrap();
            times_extra[winner] += 1;
        }
        // Each of the three takes the odd cent roughly a third of the time, none always.
        assert!(
            times_extra.iter().all(|&n| (70..=130).contains(&n)),
            "{times_extra:?}"
        );
    }
}
