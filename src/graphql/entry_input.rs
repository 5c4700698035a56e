//! The inputs of `createEntry` and `updateEntry`, and their parsing into an
//! [`EntryDraft`]: every value becomes a domain type here, once, and a bad one is refused with
//! BAD_USER_INPUT naming its exact place (`payers[1].amount`, `split.members[0].value`).

use async_graphql::{Enum, ID, InputObject};
use uuid::Uuid;

use crate::{
    error::{AppError, AppResult},
    graphql::{
        accounts::parse_id,
        scalars::{Date, Decimal},
    },
    ledger::{Currency, SplitRule},
    service::entries::{EntryDraft, MAX_DESCRIPTION_CHARS, MAX_NOTE_CHARS},
    text::{Name, Note},
};

/// What an entry records.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "entity::enums::EntryKind")]
pub enum EntryKind {
    /// Money spent for the split's members.
    Expense,
    /// Money received for the split's members (a refund): a negated expense.
    Income,
    /// A payment between members: the payer paid the split's member(s).
    Transfer,
}

/// How an entry's amount is shared.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "entity::enums::SplitMode")]
pub enum SplitMode {
    /// Equally among the listed members (members left out share nothing).
    Equal,
    /// By percentages that total exactly 100.
    Ratio,
    /// In proportion to positive weights (shares, meter readings…).
    Shares,
    /// Exact amounts that total the entry's amount.
    Exact,
    /// An equal split plus each member's signed adjustment.
    Adjustment,
}

/// An entry's content, for `createEntry` (with `bookId`) and `updateEntry`.
#[derive(InputObject)]
pub struct EntryInput {
    #[graphql(default_with = "EntryKind::Expense")]
    pub kind: EntryKind,
    /// Above zero, at most 4 decimals, as a string: `"100.00"`.
    pub amount: Decimal,
    /// ISO 4217 code; the book's currency when left out. Another currency needs
    /// `exchangeRate`.
    pub currency: Option<String>,
    /// Book-currency units per one unit of `currency` (e.g. `"31.25"` TWD per USD), given by
    /// you: Tally never fetches rates. The book amount is rounded half-even to 4 decimals.
    pub exchange_rate: Option<Decimal>,
    /// When it happened, `"2026-11-22"`.
    pub occurred_on: Date,
    /// 1 to 200 characters on one line.
    pub description: String,
    /// A global category or one of this book's.
    pub category_id: Option<ID>,
    /// Up to 1000 characters; line breaks are kept.
    pub note: Option<String>,
    /// Who paid how much (summing exactly to `amount`); you paid it all when left out.
    pub payers: Option<Vec<PayerInput>>,
    /// How it is shared (SPLIT books only); equally among all members when left out.
    pub split: Option<SplitInput>,
}

/// `createEntry`'s input: the book, and the entry.
#[derive(InputObject)]
pub struct CreateEntryInput {
    pub book_id: ID,
    #[graphql(flatten)]
    pub entry: EntryInput,
}

/// One payer of an entry.
#[derive(InputObject)]
pub struct PayerInput {
    /// The paying member's `Member.id` (a guest's too).
    pub member_id: ID,
    pub amount: Decimal,
}

/// A split: its mode and who shares.
#[derive(InputObject)]
pub struct SplitInput {
    pub mode: SplitMode,
    pub members: Vec<SplitMemberInput>,
}

/// One member of a split, with the value its mode takes: none for EQUAL, a percentage for
/// RATIO, a weight for SHARES, an amount for EXACT, a signed amount for ADJUSTMENT.
#[derive(InputObject)]
pub struct SplitMemberInput {
    pub member_id: ID,
    pub value: Option<Decimal>,
}

impl EntryInput {
    /// Parses every value into its domain type.
    pub fn draft(&self) -> AppResult<EntryDraft> {
        let currency = self
            .currency
            .as_deref()
            .map(|code| {
                Currency::parse(code)
                    .map_err(|error| AppError::bad_input("currency", error.to_string()))
            })
            .transpose()?;
        let payers = self
            .payers
            .as_ref()
            .map(|list| {
                list.iter()
                    .enumerate()
                    .map(|(i, payer)| {
                        Ok((
                            parse_id(&payer.member_id, &format!("payers[{i}].memberId"))?,
                            payer.amount.money(&format!("payers[{i}].amount"))?,
                        ))
                    })
                    .collect::<AppResult<Vec<_>>>()
            })
            .transpose()?;
        Ok(EntryDraft {
            kind: self.kind.into(),
            amount: self.amount.money("amount")?,
            currency,
            exchange_rate: self
                .exchange_rate
                .as_ref()
                .map(|rate| rate.rate("exchangeRate"))
                .transpose()?,
            occurred_on: self.occurred_on.parse_on("occurredOn")?,
            description: Name::parse("description", &self.description, MAX_DESCRIPTION_CHARS)?,
            category_id: self
                .category_id
                .as_ref()
                .map(|id| parse_id(id, "categoryId"))
                .transpose()?,
            note: Note::parse_optional("note", self.note.as_deref(), MAX_NOTE_CHARS)?,
            payers,
            split: self.split.as_ref().map(SplitInput::rule).transpose()?,
        })
    }
}

impl SplitMemberInput {
    fn seat(&self, i: usize) -> AppResult<Uuid> {
        parse_id(&self.member_id, &format!("split.members[{i}].memberId"))
    }

    /// The member's value, parsed by `parse` with the value's field name.
    fn value<T>(
        &self,
        i: usize,
        parse: impl Fn(&Decimal, &str) -> AppResult<T>,
    ) -> AppResult<(Uuid, T)> {
        let field = format!("split.members[{i}].value");
        let value = self.value.as_ref().ok_or_else(|| {
            AppError::bad_input(&field, "this split mode needs a value for every member")
        })?;
        Ok((self.seat(i)?, parse(value, &field)?))
    }
}

impl SplitInput {
    fn rule(&self) -> AppResult<SplitRule> {
        let members = self.members.iter().enumerate();
        Ok(match self.mode {
            SplitMode::Equal => SplitRule::Equal {
                members: members
                    .map(|(i, m)| match m.value {
                        Some(_) => Err(AppError::bad_input(
                            format!("split.members[{i}].value"),
                            "an EQUAL split takes no values",
                        )),
                        None => m.seat(i),
                    })
                    .collect::<AppResult<_>>()?,
            },
            SplitMode::Ratio => SplitRule::Ratio(
                members
                    .map(|(i, m)| m.value(i, Decimal::percent))
                    .collect::<AppResult<_>>()?,
            ),
            SplitMode::Shares => SplitRule::Shares(
                members
                    .map(|(i, m)| m.value(i, Decimal::weight))
                    .collect::<AppResult<_>>()?,
            ),
            SplitMode::Exact => SplitRule::Exact(
                members
                    .map(|(i, m)| m.value(i, Decimal::money))
                    .collect::<AppResult<_>>()?,
            ),
            SplitMode::Adjustment => SplitRule::Adjustment(
                members
                    .map(|(i, m)| m.value(i, Decimal::money))
                    .collect::<AppResult<_>>()?,
            ),
        })
    }
}
