//! Settling up: the suggested payments for a book's current balances, and recording a payment.
//!
//! **Suggestions.** The plan is the ledger's [`settlement_plan`] of the book's nets: exact
//! (fewest transfers) up to 20 members with a non-zero balance, which can take milliseconds of
//! CPU, so it runs on the blocking pool and is cached per (book, balance version): every change
//! to a book's balances moves its version in the same transaction, so a cached plan is never
//! stale, and concurrent readers of one version share one computation (the cache holds a
//! placeholder while the first computes).
//!
//! **Payments.** `recordPayment` writes a TRANSFER entry (payer `from`, allocation `to`) through
//! the entries machinery, so balances, mirrors, activity and idempotency behave as for any entry.
//! Under the book's lock it checks the payment against the balances as they are
//! ([`check_payment`]): at most what `from` owes and what `to` is owed, unless the caller says
//! the overpayment is deliberate. WRITERs record payments they make or receive; ADMINs and the
//! OWNER any. Payments are immutable: correcting one means deleting it (ADMIN and up) and
//! recording it again.

use std::{collections::BTreeMap, sync::Arc};

use entity::{book, enums::Role, membership};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::{
    error::{AppError, AppResult},
    ledger::{LedgerError, Money, Plan, check_payment, settlement_plan},
    service::{access::BookAccess, balances},
    state::AppState,
};

/// The cache of plans, by (book, balance version).
pub type PlanCache = quick_cache::sync::Cache<(Uuid, i64), Arc<Plan>>;

/// Plans kept at most; a plan is a few hundred bytes.
pub const PLAN_CACHE_ITEMS: usize = 4096;

/// A book's suggested payments and the balance version they settle.
pub struct Suggestions {
    pub plan: Arc<Plan>,
    pub balance_version: i64,
}

/// How often the version and the balances may be caught apart by a concurrent write before the
/// read gives up (each retry means a write committed in between: rare, and then progress).
const CONSISTENT_READ_ATTEMPTS: usize = 5;

/// The suggested payments for the book's current balances (any member may read them).
pub async fn suggestions(state: &AppState, access: &BookAccess) -> AppResult<Suggestions> {
    let (version, nets) = consistent_nets(&state.db, access.book_id()).await?;
    let plan = state
        .plans
        .get_or_insert_async(&(access.book_id(), version), async move {
            tokio::task::spawn_blocking(move || settlement_plan(&nets).map(Arc::new))
                .await
                .map_err(AppError::internal)?
                .map_err(AppError::from)
        })
        .await?;
    Ok(Suggestions {
        plan,
        balance_version: version,
    })
}

/// The book's nets together with the balance version they belong to: the version is read
/// before and after the balances, and the read is repeated if a write slipped in between (on
/// PostgreSQL each statement sees its own snapshot).
async fn consistent_nets(
    db: &impl ConnectionTrait,
    book_id: Uuid,
) -> AppResult<(i64, BTreeMap<Uuid, Money>)> {
    for _ in 0..CONSISTENT_READ_ATTEMPTS {
        let before = balance_version(db, book_id).await?;
        let nets = balances::nets(db, book_id).await?;
        if balance_version(db, book_id).await? == before {
            return Ok((before, nets));
        }
    }
    Err(AppError::conflict(
        "the balances keep changing; try again in a moment",
    ))
}

async fn balance_version(db: &impl ConnectionTrait, book_id: Uuid) -> AppResult<i64> {
    book::Entity::find_by_id(book_id)
        .one(db)
        .await?
        .map(|book| book.balance_version)
        .ok_or(AppError::NotFound { entity: "book" })
}

/// What `recordPayment` asks for, parsed.
#[derive(Debug, Clone, Copy)]
pub struct Payment {
    pub from: Uuid,
    pub to: Uuid,
    pub amount: Money,
    /// Let the payment overshoot (someone really paid more than they owed).
    pub allow_overpay: bool,
}

/// Checks, inside the writing transaction with the book locked, that both sides are live
/// members (BAD_USER_INPUT on `from` or `to`), that the writer may record `payment` (WRITERs
/// only their own, made or received) and that it does not overshoot.
pub async fn check(
    db: &impl ConnectionTrait,
    access: &BookAccess,
    payment: &Payment,
) -> AppResult<()> {
    for (field, seat) in [("from", payment.from), ("to", payment.to)] {
        let live = membership::Entity::find_by_id(seat)
            .filter(membership::Column::BookId.eq(access.book_id()))
            .filter(membership::Column::RemovedAt.is_null())
            .one(db)
            .await?;
        if live.is_none() {
            return Err(AppError::bad_input(
                field,
                format!("{seat} is not a member of this book"),
            ));
        }
    }
    let own = [payment.from, payment.to].contains(&access.member_id());
    if access.role() == Role::Writer && !own {
        return Err(AppError::Forbidden);
    }
    let nets = balances::nets(db, access.book_id()).await?;
    match check_payment(&nets, payment.from, payment.to, payment.amount) {
        Ok(()) => Ok(()),
        Err(LedgerError::PaymentOvershoots { .. }) if payment.allow_overpay => Ok(()),
        Err(LedgerError::PaymentOvershoots { most, .. }) => Err(AppError::conflict(format!(
            "this payment would overshoot: at most {most} may be paid (what the payer owes \
             or the payee is owed, whichever is less); set allowOverpay to record it anyway"
        ))),
        Err(other) => Err(other.into()),
    }
}
