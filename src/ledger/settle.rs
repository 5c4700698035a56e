//! Settlement plans: who should pay whom, in as few payments as possible.
//!
//! [`settlement_plan`] takes each member's net balance (Σ = 0; above zero = is owed) and returns
//! transfers, each from a member who owes to a member who is owed, that bring every balance to
//! zero. Guarantees:
//!
//! - **Fewest transfers** when at most [`EXACT_PLAN_MEMBERS_MAX`] members have a non-zero
//!   balance (`optimal: true`). The minimum is k − (most zero-sum groups the k balances split
//!   into), found exactly by a subset table (see `zero_sum`). Greedy matching, which every peer
//!   uses, is not optimal: on A −5, B −5, C +10, D −7, E +7 it suggests 4 transfers where 3 do.
//!   Above that size the plan is greedy (`optimal: false`).
//! - **Never more than k − 1 transfers**, and no transfer exceeds what its payer owes or its
//!   payee is owed, so nobody is asked to pass money through.
//! - **Stable**: after someone pays one suggested transfer, the recomputed plan is the old plan
//!   without that transfer. Suggestions do not reshuffle under people's feet.
//!
//! How stability is achieved. Order transfers by (payer id, payee id, amount descending). The
//! plan is the *lexicographically least* optimal plan: of all minimum plans whose transfers go
//! from a debtor to a creditor, the one containing the least transfer possible, then the next
//! least, and so on (sets compared by the least transfer in which they differ). Paying transfer
//! `t` of plan `P` leaves balances for which `P − t` is optimal; if some other optimal plan `Q`
//! were less than `P − t`, then `Q + t` would be an optimal plan for the old balances less than
//! `P`, a contradiction. So the new plan is `P − t`. (`Q` cannot contain another payment between
//! the same two members: merging the two would beat the optimum.)
//!
//! Computing that plan: the least transfer has the least-id debtor `d` as payer (every debtor
//! pays in every plan); its payee is the least-id creditor `c` that shares a group with `d` in
//! some maximum zero-sum split; and its amount is the largest possible, `min(owed by d, owed to
//! c)` (settling `d` and `c` first within their group is always part of some optimal plan).
//! Pay it, recompute the table for the smaller set, repeat. Once the members form a single
//! group every pairing is allowed, and the rest of the plan is "least debtor pays least
//! creditor" (north-west corner) order.
//!
//! That north-west order is also the greedy plan above the exact limit, and it is stable too:
//! lay debts and credits out, in id order, on two lines from 0 to the total; each transfer is
//! the overlap of its payer's and payee's stretches, and paying it cuts exactly that overlap
//! out of both lines, leaving every other overlap as it was. (Stability holds within a mode: a
//! payment that brings a book from above the limit to within it switches to the exact plan.)

use std::collections::BTreeMap;

use super::error::fields::{AMOUNT, TO};
use super::zero_sum::ZeroSumTable;
use super::{LedgerError, MemberId, Money};

/// Plans for up to this many members with a non-zero balance are proven minimal; above it they
/// are greedy. 2^20 subsets is about a mebibyte of table and tens of milliseconds.
pub const EXACT_PLAN_MEMBERS_MAX: usize = 20;

/// One suggested payment.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Transfer {
    /// Who pays (a member whose net is below zero).
    pub from: MemberId,
    /// Who is paid (a member whose net is above zero).
    pub to: MemberId,
    /// How much; positive.
    pub amount: Money,
}

/// Suggested payments that settle a book.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Plan {
    /// Sorted by payer id, then payee id; at most one transfer per pair.
    pub transfers: Vec<Transfer>,
    /// `true` when the number of transfers is proven minimal.
    pub optimal: bool,
}

impl Plan {
    /// What the plan has `from` paying `to` (zero when it suggests nothing between them).
    pub fn planned(&self, from: MemberId, to: MemberId) -> Money {
        self.transfers
            .iter()
            .find(|t| t.from == from && t.to == to)
            .map_or(Money::ZERO, |t| t.amount)
    }
}

/// The plan that settles `nets` (each member's net balance; they must sum to zero). Members
/// with a zero balance take no part.
pub fn settlement_plan(nets: &BTreeMap<MemberId, Money>) -> Result<Plan, LedgerError> {
    let total = Money::checked_sum(nets.values().copied())?;
    if !total.is_zero() {
        return Err(LedgerError::UnbalancedNets { total });
    }
    // Σ owed = Σ owing ≤ i64::MAX bounds every subset sum and every running amount below, so
    // the planners can use plain i64 arithmetic.
    Money::checked_sum(nets.values().copied().filter(|net| net.is_positive()))?;
    // BTreeMap order is member-id order, which the tie-breaking rules rely on.
    let live: Vec<(MemberId, i64)> = nets
        .iter()
        .filter(|(_, net)| !net.is_zero())
        .map(|(&member, net)| (member, net.e4()))
        .collect();
    let (mut transfers, optimal) = if live.len() <= EXACT_PLAN_MEMBERS_MAX {
        (least_optimal_plan(live), true)
    } else {
        (north_west(&live), false)
    };
    transfers.sort_unstable();
    Ok(Plan { transfers, optimal })
}

/// Checks a recorded payment of `amount` from `from` to `to` against the book's `nets`: two
/// different members, a positive amount, and no overshoot: at most what `from` owes overall
/// (−net) and at most what `to` is owed overall (net), so nobody turns from debtor into
/// creditor by paying (seed 003, property 28). Any such payment is allowed, not only the
/// suggested ones: A may pay C even when the plan pairs A with B. The service may let a
/// caller override the overshoot rule ("allowOverpay") when someone really does pay more.
pub fn check_payment(
    nets: &BTreeMap<MemberId, Money>,
    from: MemberId,
    to: MemberId,
    amount: Money,
) -> Result<(), LedgerError> {
    if from == to {
        return Err(LedgerError::SelfPayment {
            field: TO,
            member: from,
        });
    }
    if !amount.is_positive() {
        return Err(LedgerError::NonPositiveAmount {
            field: AMOUNT,
            amount,
        });
    }
    let net = |member| nets.get(&member).copied().unwrap_or(Money::ZERO);
    let owes = net(from).checked_neg()?.max(Money::ZERO);
    let owed = net(to).max(Money::ZERO);
    let most = owes.min(owed);
    if amount > most {
        return Err(LedgerError::PaymentOvershoots {
            field: AMOUNT,
            from,
            to,
            amount,
            most,
        });
    }
    Ok(())
}

/// The lexicographically least minimum plan (see the module docs), for ≤ 20 members.
fn least_optimal_plan(mut live: Vec<(MemberId, i64)>) -> Vec<Transfer> {
    let mut transfers = Vec::with_capacity(live.len().saturating_sub(1));
    while !live.is_empty() {
        let values: Vec<i64> = live.iter().map(|&(_, net)| net).collect();
        let table = ZeroSumTable::new(&values);
        // One group: every pair may settle first, so the least-first order is north-west.
        if table.max_groups() <= 1 {
            transfers.extend(north_west(&live));
            break;
        }
        let Some(debtor) = live.iter().position(|&(_, net)| net < 0) else {
            break;
        };
        let partners = table.partners(debtor);
        let creditor = (0..live.len()).find(|&i| partners >> i & 1 == 1 && live[i].1 > 0);
        let Some(creditor) = creditor else {
            // Unreachable: the debtor's group sums to zero so it holds a creditor. Finishing
            // greedily still yields a correct (if not minimal) plan.
            debug_assert!(false, "a debtor's zero-sum group has no creditor");
            transfers.extend(north_west(&live));
            break;
        };
        let amount = (-live[debtor].1).min(live[creditor].1);
        transfers.push(Transfer {
            from: live[debtor].0,
            to: live[creditor].0,
            amount: Money::from_e4(amount),
        });
        live[debtor].1 += amount;
        live[creditor].1 -= amount;
        live.retain(|&(_, net)| net != 0);
    }
    transfers
}

/// Greedy plan: debtors in id order pay creditors in id order, each payment as large as both
/// allow. At most k − 1 transfers, since each one settles at least one member (the last
/// settles two).
pub(super) fn north_west(live: &[(MemberId, i64)]) -> Vec<Transfer> {
    let mut debtors = live
        .iter()
        .filter(|&&(_, net)| net < 0)
        .map(|&(member, net)| (member, -net));
    let mut creditors = live.iter().filter(|&&(_, net)| net > 0).copied();
    let mut transfers = Vec::with_capacity(live.len().saturating_sub(1));
    let (mut debtor, mut creditor) = (debtors.next(), creditors.next());
    while let (Some((from, owes)), Some((to, owed))) = (debtor, creditor) {
        let amount = owes.min(owed);
        transfers.push(Transfer {
            from,
            to,
            amount: Money::from_e4(amount),
        });
        debtor = if owes == amount {
            debtors.next()
        } else {
            Some((from, owes - amount))
        };
        creditor = if owed == amount {
            creditors.next()
        } else {
            Some((to, owed - amount))
        };
    }
    transfers
}

#[cfg(test)]
mod tests;
