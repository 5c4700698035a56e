//! Settling up in the API: `Book.settlementSuggestions`, `recordPayment`, and settlement
//! snapshots (`createSettlement`, `Book.settlements`, `settlement`). The rules are in
//! [`crate::service::settling`] and [`crate::service::settlements`].

use async_graphql::{Context, ID, InputObject, Object};
use entity::enums::Role;
use uuid::Uuid;

use crate::{
    error::{AppError, AppResult},
    graphql::{
        accounts::{User, parse_id},
        context::{actor, state},
        entries::{Entry, MemberBalance, recorded, seat},
        guards::BookRoleGuard,
        loaders::user,
        members::Member,
        scalars::{Date, Decimal},
    },
    ledger::{Balance, Money, SplitRule, Transfer},
    service::{
        entries::{self, EntryDraft},
        idempotency::IdempotencyKey,
        settlements,
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
        suggested(&self.suggestions.plan.transfers, &self.currency)
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

fn suggested(transfers: &[Transfer], currency: &str) -> Vec<SuggestedTransfer> {
    transfers
        .iter()
        .map(|&transfer| SuggestedTransfer {
            transfer,
            currency: currency.to_owned(),
        })
        .collect()
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
        let written = entries::record_payment(
            state(ctx)?,
            &actor(ctx)?,
            book_id,
            &draft,
            payment,
            key.as_ref(),
        )
        .await?;
        recorded(ctx, written).await
    }
}

/// A closed period: each member's totals for the entries in it and the payments that settle
/// them, as they were when it was made. It never changes afterwards.
pub struct Settlement {
    row: entity::settlement::Model,
    snapshot: settlements::Snapshot,
    currency: String,
}

impl Settlement {
    /// The settlement's id (its page cursor).
    pub fn row_id(&self) -> Uuid {
        self.row.id
    }

    pub fn new(row: entity::settlement::Model, currency: String) -> AppResult<Self> {
        let snapshot = settlements::snapshot(&row)?;
        Ok(Self {
            row,
            snapshot,
            currency,
        })
    }
}

#[Object]
impl Settlement {
    async fn id(&self) -> ID {
        ID(self.row.id.to_string())
    }

    async fn period_start(&self) -> Date {
        Date::of(self.row.period_start)
    }

    /// Inclusive.
    async fn period_end(&self) -> Date {
        Date::of(self.row.period_end)
    }

    async fn note(&self) -> Option<&str> {
        self.snapshot.note.as_deref()
    }

    /// How many entries occurred in the period.
    async fn entry_count(&self) -> usize {
        self.snapshot.entry_count
    }

    /// Each member's paid, owed and net within the period.
    async fn balances(&self) -> Vec<MemberBalance> {
        self.snapshot
            .balances
            .iter()
            .map(|totals| {
                let balance = Balance {
                    paid: totals.paid,
                    owed: totals.owed,
                    net: totals.net,
                };
                MemberBalance::new(totals.member_id, balance, self.currency.clone())
            })
            .collect()
    }

    /// The fewest payments that settle the period.
    async fn transfers(&self) -> Vec<SuggestedTransfer> {
        suggested(&self.snapshot.transfers, &self.currency)
    }

    async fn optimal(&self) -> bool {
        self.snapshot.optimal
    }

    /// Other settlements of the book whose periods overlap this one.
    async fn overlaps(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ID>> {
        let ids = settlements::overlapping(&state(ctx)?.db, &self.row).await?;
        Ok(ids.into_iter().map(|id| ID(id.to_string())).collect())
    }

    async fn created_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        user(ctx, self.row.created_by).await
    }

    async fn created_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.row.created_at
    }
}

#[derive(Default)]
pub struct SettlementQuery;

#[Object]
impl SettlementQuery {
    /// One settlement of a book the caller is in (NOT_FOUND otherwise, as for a missing id).
    async fn settlement(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Settlement> {
        let (db, actor) = (&state(ctx)?.db, actor(ctx)?);
        let row = settlements::get(db, &actor, parse_id(&id, "id")?).await?;
        let access = crate::service::books::get_book(db, &actor, row.book_id).await?;
        Ok(Settlement::new(row, access.book().currency.clone())?)
    }
}

#[derive(Default)]
pub struct SettlementMutation;

#[Object]
impl SettlementMutation {
    /// Snapshots a period (ADMIN and up): each member's totals for the entries that occurred
    /// from `periodStart` to `periodEnd` (inclusive, at most 10 years) and the fewest payments
    /// that settle them. Later changes never alter it.
    #[graphql(guard = "BookRoleGuard::arg(Role::Admin, \"bookId\", &book_id)")]
    async fn create_settlement(
        &self,
        ctx: &Context<'_>,
        book_id: ID,
        period_start: Date,
        period_end: Date,
        note: Option<String>,
    ) -> async_graphql::Result<Settlement> {
        let (state, actor) = (state(ctx)?, actor(ctx)?);
        let book_id = parse_id(&book_id, "bookId")?;
        let period = settlements::Period {
            start: period_start.parse_on("periodStart")?,
            end: period_end.parse_on("periodEnd")?,
            note: note.as_deref(),
        };
        let row = settlements::create(state, &actor, book_id, period).await?;
        let access = crate::service::books::get_book(&state.db, &actor, book_id).await?;
        Ok(Settlement::new(row, access.book().currency.clone())?)
    }
}
