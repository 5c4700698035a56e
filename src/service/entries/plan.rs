//! From what the client asked for to what gets written: a [`Plan`] holds an entry's payers and
//! shares in the book's currency, computed by the ledger. Pure: the caller passes the book and
//! its live seats, so every rule here is testable without a database.
//!
//! Rules kept here, each refused as BAD_USER_INPUT naming its field:
//! - every payer and every member of the split is a live seat of the book;
//! - payers add up to the amount, and split values follow their mode's rules (the ledger's);
//! - a PERSONAL book takes no split and no payer but its owner: the owner pays and owes it all;
//! - another currency comes with an explicit exchange rate, and only then is a rate accepted.
//!
//! An entry in another currency is split in that currency first (so exact amounts and
//! adjustments mean what the person typed); the converted total is then apportioned over the
//! payers and the shares in proportion to their original amounts, so both still add up to it.

use std::collections::BTreeSet;

use entity::enums::{BookKind, SplitMode};
use uuid::Uuid;

use super::EntryDraft;
use crate::{
    error::{AppError, AppResult},
    ledger::{self, Allocation, Currency, EntryEffect, Money, Rate, SplitRule, fields},
};

/// What the book contributes to planning an entry.
pub struct BookFacts {
    pub kind: BookKind,
    pub currency: Currency,
    /// The live seats, in any order.
    pub seats: BTreeSet<Uuid>,
    /// The seat of the person writing the entry (the default payer).
    pub writer_seat: Uuid,
    /// The owner's seat (who pays and owes everything in a PERSONAL book).
    pub owner_seat: Uuid,
}

/// An entry's money, ready to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// In the book's currency.
    pub amount: Money,
    pub currency: Currency,
    /// The amount as given, its currency and the rate, when converted.
    pub original: Option<(Money, Currency, Rate)>,
    /// Who paid how much, in the book's currency; positive amounts only.
    pub payers: Vec<(Uuid, Money)>,
    pub mode: SplitMode,
    /// One per member of the split, in the order given.
    pub shares: Vec<Share>,
}

/// One member's part of the split: the value given for it and what the ledger made of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    pub given: Given,
    pub allocation: Allocation,
}

/// The per-member value a split mode takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Given {
    Equal,
    Ratio(i64),
    Shares(i64),
    Exact(Money),
    Adjustment(Money),
}

impl Plan {
    /// The entry's effect on balances, for `kind`.
    pub fn effect(&self, kind: ledger::EntryKind) -> EntryEffect {
        EntryEffect {
            kind,
            payers: self.payers.clone(),
            allocations: self
                .shares
                .iter()
                .map(|share| (share.allocation.member, share.allocation.amount))
                .collect(),
        }
    }
}

/// Plans entry `entry_id` of a book described by `book` from `draft`.
pub fn plan(entry_id: Uuid, book: &BookFacts, draft: &EntryDraft) -> AppResult<Plan> {
    if !draft.amount.is_positive() {
        return Err(AppError::bad_input(
            fields::AMOUNT,
            format!("must be greater than zero, got {}", draft.amount),
        ));
    }
    let given_currency = draft.currency.unwrap_or(book.currency);
    let original = match (given_currency == book.currency, draft.exchange_rate) {
        (true, None) => None,
        (true, Some(_)) => {
            return Err(AppError::bad_input(
                "exchangeRate",
                "an exchange rate goes only with an entry in another currency than the book's",
            ));
        }
        (false, None) => {
            return Err(AppError::bad_input(
                "exchangeRate",
                format!(
                    "this book keeps {}; an entry in {given_currency} needs an exchangeRate \
                     ({} per 1 {given_currency})",
                    book.currency, book.currency
                ),
            ));
        }
        (false, Some(rate)) => Some((draft.amount, given_currency, rate)),
    };
    let rule = split_rule(book, draft)?;
    let payers = draft
        .payers
        .clone()
        .unwrap_or_else(|| vec![(book.writer_seat, draft.amount)]);
    if book.kind == BookKind::Personal && payers.iter().any(|&(seat, _)| seat != book.owner_seat) {
        return Err(AppError::bad_input(
            fields::PAYERS,
            "in a personal book the owner pays everything",
        ));
    }
    ensure_seats(book, fields::PAYERS, payers.iter().map(|&(seat, _)| seat))?;
    ensure_seats(book, fields::SPLIT, rule.members())?;
    ledger::validate_payers(draft.amount, &payers)?;
    let split = ledger::allocate(entry_id, draft.amount, given_currency, &rule)?;
    let (amount, payers, split) = match original {
        None => (draft.amount, payers, split),
        Some((_, _, rate)) => {
            let amount = ledger::convert(draft.amount, rate)?;
            let payers = ledger::convert_parts(entry_id, amount, book.currency, &payers)?
                .into_iter()
                .map(|part| (part.member, part.amount))
                .collect();
            let parts: Vec<_> = split.iter().map(|a| (a.member, a.amount)).collect();
            let split = ledger::convert_parts(entry_id, amount, book.currency, &parts)?;
            (amount, payers, split)
        }
    };
    let payers = payers
        .into_iter()
        .filter(|&(_, paid)| paid.is_positive())
        .collect();
    let shares = given_values(&rule)
        .into_iter()
        .zip(split)
        .map(|(given, allocation)| Share { given, allocation })
        .collect();
    Ok(Plan {
        amount,
        currency: book.currency,
        original,
        payers,
        mode: mode_of(&rule),
        shares,
    })
}

/// The split asked for, or the default: everyone in the book equally (the owner alone in a
/// PERSONAL book, which takes no split).
fn split_rule(book: &BookFacts, draft: &EntryDraft) -> AppResult<SplitRule> {
    match (book.kind, &draft.split) {
        (BookKind::Personal, Some(_)) => Err(AppError::bad_input(
            fields::SPLIT,
            "a personal book takes no split: its owner pays and owes every entry",
        )),
        (BookKind::Personal, None) => Ok(SplitRule::Equal {
            members: vec![book.owner_seat],
        }),
        (BookKind::Split, Some(rule)) => Ok(rule.clone()),
        (BookKind::Split, None) => Ok(SplitRule::Equal {
            members: book.seats.iter().copied().collect(),
        }),
    }
}

fn ensure_seats(
    book: &BookFacts,
    field: &'static str,
    seats: impl IntoIterator<Item = Uuid>,
) -> AppResult<()> {
    match seats.into_iter().find(|seat| !book.seats.contains(seat)) {
        Some(seat) => Err(AppError::bad_input(
            field,
            format!("{seat} is not a member of this book"),
        )),
        None => Ok(()),
    }
}

fn mode_of(rule: &SplitRule) -> SplitMode {
    match rule {
        SplitRule::Equal { .. } => SplitMode::Equal,
        SplitRule::Ratio(_) => SplitMode::Ratio,
        SplitRule::Shares(_) => SplitMode::Shares,
        SplitRule::Exact(_) => SplitMode::Exact,
        SplitRule::Adjustment(_) => SplitMode::Adjustment,
    }
}

/// The value given for each member, in the rule's order (the ledger's output order).
fn given_values(rule: &SplitRule) -> Vec<Given> {
    match rule {
        SplitRule::Equal { members } => vec![Given::Equal; members.len()],
        SplitRule::Ratio(list) => list.iter().map(|&(_, p)| Given::Ratio(p.e4())).collect(),
        SplitRule::Shares(list) => list.iter().map(|&(_, w)| Given::Shares(w.e4())).collect(),
        SplitRule::Exact(list) => list.iter().map(|&(_, m)| Given::Exact(m)).collect(),
        SplitRule::Adjustment(list) => list.iter().map(|&(_, m)| Given::Adjustment(m)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::Name;

    fn seat(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn book(kind: BookKind) -> BookFacts {
        BookFacts {
            kind,
            currency: Currency::parse("TWD").expect("TWD"),
            seats: [seat(1), seat(2), seat(3)].into(),
            writer_seat: seat(1),
            owner_seat: seat(1),
        }
    }

    fn draft(amount: &str) -> EntryDraft {
        EntryDraft {
            kind: entity::enums::EntryKind::Expense,
            amount: amount.parse().expect("money"),
            currency: None,
            exchange_rate: None,
            occurred_on: chrono::NaiveDate::from_ymd_opt(2026, 11, 22).expect("date"),
            description: Name::parse("description", "Dinner", 200).expect("name"),
            category_id: None,
            note: None,
            payers: None,
            split: None,
        }
    }

    #[test]
    fn by_default_the_writer_pays_and_everyone_shares_equally() {
        let plan = plan(seat(9), &book(BookKind::Split), &draft("100.00")).expect("plans");
        assert_eq!(
            plan.payers,
            vec![(seat(1), "100.00".parse().expect("money"))]
        );
        assert_eq!(plan.mode, SplitMode::Equal);
        let total = Money::checked_sum(plan.shares.iter().map(|s| s.allocation.amount));
        assert_eq!(total, Ok(plan.amount));
        assert_eq!(plan.shares.len(), 3);
    }

    #[test]
    fn strangers_are_refused_by_field() {
        let mut stranger = draft("10");
        stranger.payers = Some(vec![(seat(7), "10".parse().expect("money"))]);
        let error = plan(seat(9), &book(BookKind::Split), &stranger).expect_err("refused");
        assert!(matches!(error, AppError::BadUserInput { field, .. } if field == "payers"));
    }

    #[test]
    fn another_currency_needs_a_rate_and_converts_exactly() {
        let mut usd = draft("10.00");
        usd.currency = Some(Currency::parse("USD").expect("USD"));
        let error = plan(seat(9), &book(BookKind::Split), &usd).expect_err("needs a rate");
        assert!(matches!(error, AppError::BadUserInput { field, .. } if field == "exchangeRate"));
        usd.exchange_rate = Some("31.3333".parse().expect("rate"));
        let plan = plan(seat(9), &book(BookKind::Split), &usd).expect("plans");
        assert_eq!(plan.amount, "313.333".parse().expect("money"));
        let shares = Money::checked_sum(plan.shares.iter().map(|s| s.allocation.amount));
        let paid = Money::checked_sum(plan.payers.iter().map(|&(_, paid)| paid));
        assert_eq!((shares, paid), (Ok(plan.amount), Ok(plan.amount)));
    }

    #[test]
    fn a_personal_book_takes_no_split() {
        let mut split = draft("10");
        split.split = Some(SplitRule::Equal {
            members: vec![seat(1)],
        });
        let error = plan(seat(9), &book(BookKind::Personal), &split).expect_err("no split");
        assert!(matches!(error, AppError::BadUserInput { field, .. } if field == "split"));
        let plan = plan(seat(9), &book(BookKind::Personal), &draft("10")).expect("plans");
        assert_eq!(plan.shares.len(), 1);
    }
}
