//! Settling up in the API: `Book.settlementSuggestions` and `recordPayment`. The rules are in
//! [`crate::service::settling`].

use async_graphql::{Context, ID, InputObject, Object};
use uuid::Uuid;

use crate::{
    error::{AppError, AppResult},
    graphql::{
        accounts::parse_id,
        context::{actor, state},
        entries::{Entry, current},
        loaders::{SeatKey, loaders},
        members::Member,
        scalars::{Date, Decimal},
    },
    ledger::{Money, SplitRule, Transfer},
    service::{
        entries::{self, EntryDraft},
        idempotency::IdempotencyKey,
        settling::{Payment, Suggestions},
    },
    text::{Name, Note},
};

/// Who should pay whom to settle the book, in as few payments as possible.
pub struct SettlementSuggestions {
    suggestions: Suggestions,
    currency: String,
}

impl SettlementSuggestions {
    pub fn new(suggestions: Suggestions, currency: String) -> Self {
        Self {
            suggestions,
            currency,
        }
    }
}

#[Object]
impl SettlementSuggestions {
    /// The payments, by payer then payee. Paying one leaves the others as they are.
    async fn transfers(&self) -> Vec<SuggestedTransfer> {
        self.suggestions
            .plan
            .transfers
            .iter()
            .map(|&transfer| SuggestedTransfer {
                transfer,
                currency: self.currency.clone(),
            })
            .collect()
    }

    /// Whether the number of payments is proven minimal (up to 20 members with a balance);
    /// above that the plan is greedy.
    async fn optimal(&self) -> bool {
        self.suggestions.plan.optimal
    }

    /// The version of the book's balances the plan settles; it changes with every entry.
    async fn balance_version(&self) -> i64 {
        self.suggestions.balance_version
    }
}

/// One suggested payment.
pub struct SuggestedTransfer {
    transfer: Transfer,
    currency: String,
}

async fn seat(ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<Member> {
    let seat = loaders(ctx)?
        .load_one(SeatKey(id))
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("seat {id} missing")))?;
    Ok(Member::new(seat))
}

#[Object]
impl SuggestedTransfer {
    /// Who pays (owes the book).
    async fn from(&self, ctx: &Context<'_>) -> async_graphql::Result<Member> {
        seat(ctx, self.transfer.from).await
    }

    /// Who is paid (is owed).
    async fn to(&self, ctx: &Context<'_>) -> async_graphql::Result<Member> {
        seat(ctx, self.transfer.to).await
    }

    async fn amount(&self) -> Decimal {
        Decimal::amount(self.transfer.amount, &self.currency)
    }
}

/// `recordPayment`'s input.
#[derive(InputObject)]
pub struct PaymentInput {
    pub book_id: ID,
    /// The paying member (`Member.id`).
    pub from: ID,
    /// The member paid.
    pub to: ID,
    /// In the book's currency, above zero.
    pub amount: Decimal,
    pub occurred_on: Date,
    /// Up to 1000 characters.
    pub note: Option<String>,
    /// Record it even though it pays more than the payer owes or the payee is owed.
    #[graphql(default)]
    pub allow_overpay: bool,
}

impl PaymentInput {
    /// The payment, and the TRANSFER entry that records it: `from` pays, `to` receives.
    fn parse(&self) -> AppResult<(EntryDraft, Payment)> {
        let from = parse_id(&self.from, "from")?;
        let to = parse_id(&self.to, "to")?;
        if from == to {
            return Err(AppError::bad_input("to", "a member cannot pay themself"));
        }
        let amount: Money = self.amount.money("amount")?;
        let draft = EntryDraft {
            kind: entity::enums::EntryKind::Transfer,
            amount,
            currency: None,
            exchange_rate: None,
            occurred_on: self.occurred_on.parse_on("occurredOn")?,
            description: Name::parse("description", "Payment", entries::MAX_DESCRIPTION_CHARS)?,
            category_id: None,
            note: Note::parse_optional("note", self.note.as_deref(), entries::MAX_NOTE_CHARS)?,
            payers: Some(vec![(from, amount)]),
            split: Some(SplitRule::Equal { members: vec![to] }),
        };
        let payment = Payment {
            from,
            to,
            amount,
            allow_overpay: self.allow_overpay,
        };
        Ok((draft, payment))
    }
}

#[derive(Default)]
pub struct SettlingMutation;

#[Object]
impl SettlingMutation {
    /// Records that `from` paid `to` (a TRANSFER entry). WRITERs record payments they make or
    /// receive, ADMINs and the OWNER any. A payment may not exceed what the payer owes or the
    /// payee is owed (CONFLICT naming the most) unless `allowOverpay`. Payments cannot be
    /// edited; an ADMIN deletes a wrong one. `idempotencyKey` works as for `createEntry`.
    async fn record_payment(
        &self,
        ctx: &Context<'_>,
        input: PaymentInput,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<Entry> {
        let book_id = parse_id(&input.book_id, "bookId")?;
        let (draft, payment) = input.parse()?;
        let key = idempotency_key
            .as_deref()
            .map(IdempotencyKey::parse)
            .transpose()?;
        let id = entries::record_payment(
            state(ctx)?,
            &actor(ctx)?,
            book_id,
            &draft,
            payment,
            key.as_ref(),
        )
        .await?;
        current(ctx, id).await
    }
}
