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

use entity::{enums::Role, membership};
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

/// The suggested payments for the book's current balances (any member may read them).
pub async fn suggestions(state: &AppState, access: &BookAccess) -> AppResult<Suggestions> {
    let book_id = access.book_id();
    let (version, nets) =
        balances::at_one_version(&state.db, book_id, || balances::nets(&state.db, book_id)).await?;
    plan_at(state, book_id, version, nets).await
}

/// The plan for `book_id`'s `nets` at `version`: computed by the first caller, shared by every
/// other (live subscribers of one change ask together).
pub async fn plan_at(
    state: &AppState,
    book_id: Uuid,
    version: i64,
    nets: BTreeMap<Uuid, Money>,
) -> AppResult<Suggestions> {
    let plan = state
        .plans
        .get_or_insert_async(&(book_id, version), async move {
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
