//! Split allocation: who owes what share of one entry, for every split mode.
//!
//! [`allocate`] turns an entry amount and a [`SplitRule`] into one [`Allocation`] per listed
//! member and keeps these invariants for every mode and input it accepts:
//!
//! - Σ allocation amounts = the entry amount, exactly;
//! - no allocation is negative;
//! - each share is less than one apportioning unit away from its exact value;
//! - the result depends on the (member, value) pairs and the entry id only, not on the order the
//!   members are listed in (the output follows the input order, for display);
//! - an allocation explains itself: `amount = base + remainder_units × unit`.
//!
//! Amounts are apportioned in the currency's minor unit (TWD 0.01, JPY 1, KWD 0.001) so everyone
//! owes a payable amount. An amount that is not a whole number of minor units (123.4567 USD, from
//! a conversion) cannot be split that way without changing the total, so it is apportioned in
//! ten-thousandths instead. Rounding is largest remainder with a per-entry tie-break (see
//! `apportion`).

use std::collections::BTreeSet;

use super::apportion::{Apportioned, largest_remainder};
use super::error::fields::{AMOUNT, SPLIT};
use super::{Currency, EntryId, LedgerError, MemberId, Money, Percent, Weight};

/// How an entry's amount is divided among members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SplitRule {
    /// Equally among these members; members not listed get nothing.
    Equal { members: Vec<MemberId> },
    /// By percentages (up to 4 decimals each, 0–100) that total exactly 100.
    Ratio(Vec<(MemberId, Percent)>),
    /// In proportion to positive weights (shares, meter readings…).
    Shares(Vec<(MemberId, Weight)>),
    /// Exactly these amounts (≥ 0), which must total the entry amount.
    Exact(Vec<(MemberId, Money)>),
    /// Each member's fixed extra (or, if negative, discount); the rest is split equally among
    /// all listed members. No resulting share may be negative.
    Adjustment(Vec<(MemberId, Money)>),
}

impl SplitRule {
    /// The members the rule lists, in input order.
    pub fn members(&self) -> Vec<MemberId> {
        match self {
            SplitRule::Equal { members } => members.clone(),
            SplitRule::Ratio(list) => list.iter().map(|&(member, _)| member).collect(),
            SplitRule::Shares(list) => list.iter().map(|&(member, _)| member).collect(),
            SplitRule::Exact(list) | SplitRule::Adjustment(list) => {
                list.iter().map(|&(member, _)| member).collect()
            }
        }
    }
}

/// One member's share of an entry, with how it was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Allocation {
    pub member: MemberId,
    /// What the member owes of the entry.
    pub amount: Money,
    /// The share before leftover units: the rounded-down proportional share (plus the member's
    /// adjustment, for ADJUSTMENT; the exact amount, for EXACT).
    pub base: Money,
    /// How many leftover units the member received by largest remainder (0 or 1).
    pub remainder_units: u32,
    /// The apportioning unit: the currency's minor unit, or 0.0001 when the amount apportioned
    /// (for ADJUSTMENT, what the adjustments leave) is not a whole number of minor units.
    /// `amount = base + remainder_units × unit`.
    pub unit: Money,
}

/// Splits `amount` of `currency` among the members of `rule`; see the module docs for the
/// guarantees. `entry_id` seeds the tie-break, so pass the entry's real id (also on edits).
pub fn allocate(
    entry_id: EntryId,
    amount: Money,
    currency: Currency,
    rule: &SplitRule,
) -> Result<Vec<Allocation>, LedgerError> {
    if !amount.is_positive() {
        return Err(LedgerError::NonPositiveAmount {
            field: AMOUNT,
            amount,
        });
    }
    check_members(&rule.members())?;
    let split = match rule {
        SplitRule::Equal { members } => {
            let claims: Vec<_> = members.iter().map(|&member| (member, 1)).collect();
            proportional(entry_id, amount, currency, &claims)
        }
        SplitRule::Ratio(list) => ratio(entry_id, amount, currency, list),
        SplitRule::Shares(list) => shares(entry_id, amount, currency, list),
        SplitRule::Exact(list) => exact(amount, currency, list),
        SplitRule::Adjustment(list) => adjustment(entry_id, amount, currency, list),
    }
    .map_err(|error| error.in_field(SPLIT))?;
    debug_assert_eq!(
        Money::checked_sum(split.iter().map(|a| a.amount)),
        Ok(amount),
        "allocations must sum to the entry amount"
    );
    Ok(split)
}

fn check_members(members: &[MemberId]) -> Result<(), LedgerError> {
    if members.is_empty() {
        return Err(LedgerError::NoMembers { field: SPLIT });
    }
    let mut seen = BTreeSet::new();
    match members.iter().find(|&&member| !seen.insert(member)) {
        Some(&member) => Err(LedgerError::DuplicateMember {
            field: SPLIT,
            member,
        }),
        None => Ok(()),
    }
}

fn ratio(
    entry_id: EntryId,
    amount: Money,
    currency: Currency,
    list: &[(MemberId, Percent)],
) -> Result<Vec<Allocation>, LedgerError> {
    if let Some(&(member, percent)) = list
        .iter()
        .find(|(_, percent)| !(Percent::from_e4(0)..=Percent::HUNDRED).contains(percent))
    {
        return Err(LedgerError::PercentOutOfRange {
            field: SPLIT,
            member,
            percent,
        });
    }
    // Each is ≤ 100 % now, so the total of any realistic list fits; a list long enough to
    // overflow is certainly not 100 % either.
    let total = list
        .iter()
        .try_fold(0_i64, |sum, (_, p)| sum.checked_add(p.e4()))
        .map(Percent::from_e4)
        .unwrap_or(Percent::from_e4(i64::MAX));
    if total != Percent::HUNDRED {
        return Err(LedgerError::PercentTotal {
            field: SPLIT,
            total,
        });
    }
    let claims: Vec<_> = list
        .iter()
        .map(|&(member, percent)| (member, i128::from(percent.e4())))
        .collect();
    proportional(entry_id, amount, currency, &claims)
}

fn shares(
    entry_id: EntryId,
    amount: Money,
    currency: Currency,
    list: &[(MemberId, Weight)],
) -> Result<Vec<Allocation>, LedgerError> {
    if let Some(&(member, weight)) = list.iter().find(|(_, weight)| weight.e4() <= 0) {
        return Err(LedgerError::NonPositiveWeight {
            field: SPLIT,
            member,
            weight,
        });
    }
    let claims: Vec<_> = list
        .iter()
        .map(|&(member, weight)| (member, i128::from(weight.e4())))
        .collect();
    proportional(entry_id, amount, currency, &claims)
}

fn exact(
    amount: Money,
    currency: Currency,
    list: &[(MemberId, Money)],
) -> Result<Vec<Allocation>, LedgerError> {
    if let Some(&(member, share)) = list.iter().find(|(_, share)| share.is_negative()) {
        return Err(LedgerError::NegativeExactAmount {
            field: SPLIT,
            member,
            amount: share,
        });
    }
    let total = Money::checked_sum(list.iter().map(|&(_, share)| share))?;
    if total != amount {
        return Err(LedgerError::ExactTotal {
            field: SPLIT,
            expected: amount,
            total,
        });
    }
    let unit = currency.minor_unit();
    Ok(list
        .iter()
        .map(|&(member, share)| Allocation {
            member,
            amount: share,
            base: share,
            remainder_units: 0,
            unit,
        })
        .collect())
}

fn adjustment(
    entry_id: EntryId,
    amount: Money,
    currency: Currency,
    list: &[(MemberId, Money)],
) -> Result<Vec<Allocation>, LedgerError> {
    let adjustments: i128 = list.iter().map(|&(_, adj)| i128::from(adj.e4())).sum();
    // The rest can be negative (adjustments above the amount, offset by discounts is fine as
    // long as nobody ends up below zero) and even beyond i64; apportioning works in i128.
    let rest_e4 = i128::from(amount.e4()) - adjustments;
    let unit_e4 = apportioning_unit_e4(rest_e4, currency);
    let claims: Vec<_> = list.iter().map(|&(member, _)| (member, 1)).collect();
    let parts = largest_remainder(entry_id, rest_e4 / unit_e4, &claims);
    list.iter()
        .zip(parts)
        .map(|(&(member, adj), part)| {
            let base = Money::try_from_i128(i128::from(adj.e4()) + part.base_units * unit_e4)?;
            let allocation = explained(member, base, part, unit_e4)?;
            if allocation.amount.is_negative() {
                return Err(LedgerError::NegativeShare {
                    field: SPLIT,
                    member,
                    share: allocation.amount,
                });
            }
            Ok(allocation)
        })
        .collect()
}

/// Apportions `amount` by non-negative weights (Σ > 0).
pub(super) fn proportional(
    entry_id: EntryId,
    amount: Money,
    currency: Currency,
    claims: &[(MemberId, i128)],
) -> Result<Vec<Allocation>, LedgerError> {
    let amount_e4 = i128::from(amount.e4());
    let unit_e4 = apportioning_unit_e4(amount_e4, currency);
    let parts = largest_remainder(entry_id, amount_e4 / unit_e4, claims);
    claims
        .iter()
        .zip(parts)
        .map(|(&(member, _), part)| {
            // A base is between 0 and the amount, so it fits.
            let base = Money::try_from_i128(part.base_units * unit_e4)?;
            explained(member, base, part, unit_e4)
        })
        .collect()
}

/// The minor unit when `total_e4` is a whole number of them, else one ten-thousandth.
fn apportioning_unit_e4(total_e4: i128, currency: Currency) -> i128 {
    let minor_e4 = i128::from(currency.minor_unit().e4());
    if total_e4 % minor_e4 == 0 {
        minor_e4
    } else {
        1
    }
}

fn explained(
    member: MemberId,
    base: Money,
    part: Apportioned,
    unit_e4: i128,
) -> Result<Allocation, LedgerError> {
    // unit_e4 is 1..=10_000, so it fits i64.
    let unit = Money::try_from_i128(unit_e4)?;
    let amount = if part.extra_unit {
        base.checked_add(unit)?
    } else {
        base
    };
    Ok(Allocation {
        member,
        amount,
        base,
        remainder_units: u32::from(part.extra_unit),
        unit,
    })
}

#[cfg(test)]
mod tests;
