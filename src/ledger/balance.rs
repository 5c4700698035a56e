//! Member balances: what each member paid, what they owe, and the difference.
//!
//! Every entry kind moves money the same way: a member's `net = Σ paid − Σ allocated`.
//!
//! - EXPENSE: payers paid, the split's members consumed.
//! - TRANSFER ("A paid B 20"): payer A, allocation B, so A's net rises by 20 and B's falls.
//! - INCOME is a negated expense: the payers *received* money on the book's behalf (their `paid`
//!   falls) and it belongs to the split's members (their `owed` falls).
//!
//! Invariants kept here, for any sequence of applied and un-applied effects:
//!
//! - each [`EntryEffect`] is balanced (Σ payers = Σ allocations) or refused, so
//! - Σ net over a book is exactly 0, and Σ paid = Σ owed;
//! - `net = paid − owed` for every member;
//! - applying an effect either succeeds completely or leaves the balances untouched.
//!
//! The service keeps these balances materialised (MemberBalance rows) and adds each entry's
//! [`EntryEffect::delta`] in the same transaction as the entry; an edit subtracts the old effect
//! and adds the new one ([`replace_effect`]). [`balances`] recomputes them from scratch, and
//! [`audit`] checks stored rows against the invariants.

use std::collections::BTreeMap;

use super::{LedgerError, MemberId, Money};

/// What an entry records, as far as balances are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EntryKind {
    /// Money spent for the split's members.
    Expense,
    /// Money received for the split's members (a refund, a shared prize): a negated expense.
    Income,
    /// A payment between members: payer → allocated member.
    Transfer,
}

/// One entry's effect on balances: its kind, who paid, and the split's allocations.
///
/// Payments and allocations are given as positive amounts whatever the kind; the kind decides
/// the direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryEffect {
    pub kind: EntryKind,
    pub payers: Vec<(MemberId, Money)>,
    pub allocations: Vec<(MemberId, Money)>,
}

/// One member's standing in a book. Invariant: `net = paid − owed`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Balance {
    /// Σ paid for the book (expenses and transfers paid, minus income received).
    pub paid: Money,
    /// Σ allocated to the member (expense shares and transfers received, minus income shares).
    pub owed: Money,
    /// `paid − owed`: above zero the book owes the member, below zero the member owes the book.
    pub net: Money,
}

/// Which way a member's balance points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BalanceStatus {
    /// Net above zero: others owe this member.
    Owed,
    /// Net below zero: this member owes others.
    Owes,
    /// Net exactly zero.
    Settled,
}

impl Balance {
    /// Nothing paid, nothing owed.
    pub const ZERO: Balance = Balance {
        paid: Money::ZERO,
        owed: Money::ZERO,
        net: Money::ZERO,
    };

    /// A balance from its stored parts; `net` is derived so it cannot disagree.
    pub fn new(paid: Money, owed: Money) -> Result<Balance, LedgerError> {
        Ok(Balance {
            paid,
            owed,
            net: paid.checked_sub(owed)?,
        })
    }

    /// Which way the balance points.
    pub fn status(&self) -> BalanceStatus {
        match self.net.e4().signum() {
            1 => BalanceStatus::Owed,
            -1 => BalanceStatus::Owes,
            _ => BalanceStatus::Settled,
        }
    }

    /// Field-wise sum (adding an entry's delta).
    pub fn checked_add(self, delta: Balance) -> Result<Balance, LedgerError> {
        Ok(Balance {
            paid: self.paid.checked_add(delta.paid)?,
            owed: self.owed.checked_add(delta.owed)?,
            net: self.net.checked_add(delta.net)?,
        })
    }

    /// Field-wise difference (removing an entry's delta).
    pub fn checked_sub(self, delta: Balance) -> Result<Balance, LedgerError> {
        Ok(Balance {
            paid: self.paid.checked_sub(delta.paid)?,
            owed: self.owed.checked_sub(delta.owed)?,
            net: self.net.checked_sub(delta.net)?,
        })
    }
}

impl EntryEffect {
    /// The change this entry makes to each member it touches, sorted by member id (a member who
    /// both paid and shares appears once). The deltas' nets sum to zero.
    pub fn delta(&self) -> Result<Vec<(MemberId, Balance)>, LedgerError> {
        let paid = Money::checked_sum(self.payers.iter().map(|&(_, amount)| amount))?;
        let allocated = Money::checked_sum(self.allocations.iter().map(|&(_, amount)| amount))?;
        if paid != allocated {
            return Err(LedgerError::UnbalancedEffect { paid, allocated });
        }
        let sign: i128 = match self.kind {
            EntryKind::Expense | EntryKind::Transfer => 1,
            EntryKind::Income => -1,
        };
        // (member, paid, owed) in i128 so merging a member's rows cannot overflow midway.
        let mut rows: Vec<(MemberId, i128, i128)> = self
            .payers
            .iter()
            .map(|&(member, amount)| (member, sign * i128::from(amount.e4()), 0))
            .chain(
                self.allocations
                    .iter()
                    .map(|&(member, amount)| (member, 0, sign * i128::from(amount.e4()))),
            )
            .collect();
        rows.sort_unstable_by_key(|&(member, _, _)| member);
        let mut merged: Vec<(MemberId, i128, i128)> = Vec::with_capacity(rows.len());
        for (member, paid, owed) in rows {
            match merged.last_mut() {
                Some(last) if last.0 == member => {
                    last.1 += paid;
                    last.2 += owed;
                }
                _ => merged.push((member, paid, owed)),
            }
        }
        merged
            .into_iter()
            .map(|(member, paid, owed)| {
                let balance = Balance {
                    paid: Money::try_from_i128(paid)?,
                    owed: Money::try_from_i128(owed)?,
                    net: Money::try_from_i128(paid - owed)?,
                };
                Ok((member, balance))
            })
            .collect()
    }
}

/// Recomputes every member's balance from a book's entries. Members in no entry are absent
/// (their balance is [`Balance::ZERO`]).
pub fn balances<'a, I>(effects: I) -> Result<BTreeMap<MemberId, Balance>, LedgerError>
where
    I: IntoIterator<Item = &'a EntryEffect>,
{
    let mut book = BTreeMap::new();
    for effect in effects {
        apply_effect(&mut book, effect)?;
    }
    debug_assert_eq!(audit(&book), Ok(()));
    Ok(book)
}

/// Adds one entry's effect (a new entry, or a restored one).
pub fn apply_effect(
    book: &mut BTreeMap<MemberId, Balance>,
    effect: &EntryEffect,
) -> Result<(), LedgerError> {
    commit(book, &[(effect.delta()?.as_slice(), Direction::Add)])
}

/// Removes one entry's effect (a deleted entry).
pub fn unapply_effect(
    book: &mut BTreeMap<MemberId, Balance>,
    effect: &EntryEffect,
) -> Result<(), LedgerError> {
    commit(book, &[(effect.delta()?.as_slice(), Direction::Remove)])
}

/// Replaces an edited entry's old effect by its new one, all or nothing.
pub fn replace_effect(
    book: &mut BTreeMap<MemberId, Balance>,
    old: &EntryEffect,
    new: &EntryEffect,
) -> Result<(), LedgerError> {
    commit(
        book,
        &[
            (old.delta()?.as_slice(), Direction::Remove),
            (new.delta()?.as_slice(), Direction::Add),
        ],
    )
}

/// Each member's net, the input of [`settlement_plan`](super::settlement_plan).
pub fn net_balances(book: &BTreeMap<MemberId, Balance>) -> BTreeMap<MemberId, Money> {
    book.iter()
        .map(|(&member, balance)| (member, balance.net))
        .collect()
}

/// Checks stored balances against the invariants (`net = paid − owed` per member, Σ net = 0),
/// a cheap second line of defence after the service updates materialised rows.
pub fn audit(book: &BTreeMap<MemberId, Balance>) -> Result<(), LedgerError> {
    for (&member, balance) in book {
        if Balance::new(balance.paid, balance.owed).map(|b| b.net) != Ok(balance.net) {
            return Err(LedgerError::InconsistentBalance { member });
        }
    }
    let total = Money::checked_sum(book.values().map(|balance| balance.net))?;
    if !total.is_zero() {
        return Err(LedgerError::UnbalancedNets { total });
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Direction {
    Add,
    Remove,
}

/// Applies deltas to a staging copy of the touched members, then writes them all, so an
/// overflow halfway leaves `book` as it was.
fn commit(
    book: &mut BTreeMap<MemberId, Balance>,
    deltas: &[(&[(MemberId, Balance)], Direction)],
) -> Result<(), LedgerError> {
    let mut staged: BTreeMap<MemberId, Balance> = BTreeMap::new();
    for &(delta, direction) in deltas {
        for &(member, change) in delta {
            let current = staged
                .get(&member)
                .or_else(|| book.get(&member))
                .copied()
                .unwrap_or_default();
            let updated = match direction {
                Direction::Add => current.checked_add(change)?,
                Direction::Remove => current.checked_sub(change)?,
            };
            staged.insert(member, updated);
        }
    }
    book.extend(staged);
    Ok(())
}

#[cfg(test)]
mod tests;
