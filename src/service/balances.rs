//! Materialised balances: each seat's paid / owed / net in its book, kept in `member_balances`
//! and changed in the same transaction as every entry that touches the seat, so reading a
//! book's balances costs one small query however many entries it has.
//!
//! - [`upsert`] adds entries' effects (or takes them away), for any number of books, with one
//!   upsert that *adds* each seat's total change to its row, sent by the caller
//!   ([`Writes`](crate::service::writes::Writes)). It never reads a balance to write one, so
//!   appenders to one book (PostgreSQL, where they hold the book only in shared mode) cannot
//!   lose each other's changes. A balance that would leave the range money is stored in is
//!   the client's error (BAD_USER_INPUT on `amount`), never a wrapped or rounded value: the
//!   database refuses it in the upsert itself, PostgreSQL by its `bigint` arithmetic and
//!   SQLite (whose arithmetic would turn to floating point) by a trigger that keeps balances
//!   integers, and [`overflow_refused`] names the refusal. The upsert writes the rows in seat
//!   order, the order every change locks them in. The book's `balance_version` moves on in
//!   the same transaction, once per change, when the unit of work commits ([`next_versions`],
//!   which locks the books in id order; settlement plans are cached by it), and its count of
//!   live entries with it.
//! - [`of_book`] reads them for the API; [`recompute`] rebuilds them from the entries with the
//!   ledger's reference function, and [`mismatches`] compares the two: `tally check` and the
//!   integration tests run it.
//!
//! The balance rows and the versions are the last locks a change takes, and the only ones
//! appenders to one book queue for: what they hold from there to their commit is what bounds
//! the rate of new entries in one book on PostgreSQL.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{NaiveDate, Utc};
use entity::{allocation, book, entry, entry_payer, member_balance, membership};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, InsertMany, QueryFilter, QueryOrder,
    RuntimeErr, Set,
    sea_query::{Expr, ExprTrait, LockType, OnConflict, Order, Query},
};
use uuid::Uuid;

use crate::{
    error::{AppError, AppResult},
    ledger::{self, Balance, EntryEffect, Money},
};

/// Which way an effect is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Apply,
    Unapply,
}

/// One effect moving one book's balances.
pub struct Movement<'a> {
    pub book_id: Uuid,
    pub effect: &'a EntryEffect,
    pub direction: Direction,
}

/// The upsert that applies `movements`, however many (a shared entry moves its book's balances
/// and each sharer's personal book's): it adds each seat's total change, in seat order. An
/// overflow is the client's error, named, and nothing is written: in the totals here, or in a
/// balance when the upsert runs, whose error the caller passes through [`overflow_refused`].
/// The caller's transaction has locked every book involved, and sends the upsert (`None`:
/// nothing moves).
pub fn upsert(
    movements: &[Movement<'_>],
) -> AppResult<Option<InsertMany<member_balance::ActiveModel>>> {
    // Per seat: its book and its total change.
    let mut seats: BTreeMap<Uuid, (Uuid, Balance)> = BTreeMap::new();
    for movement in movements {
        let delta = movement.effect.delta().map_err(AppError::from)?;
        for (member, change) in delta {
            let (_, total) = seats
                .entry(member)
                .or_insert((movement.book_id, Balance::ZERO));
            *total = match movement.direction {
                Direction::Apply => total.checked_add(change)?,
                Direction::Unapply => total.checked_sub(change)?,
            };
        }
    }
    if seats.is_empty() {
        return Ok(None);
    }
    let at = Utc::now();
    let rows: Vec<_> = seats
        .into_iter()
        .map(|(member, (book_id, change))| member_balance::ActiveModel {
            member_id: Set(member),
            book_id: Set(book_id),
            paid_e4: Set(change.paid.e4()),
            owed_e4: Set(change.owed.e4()),
            net_e4: Set(change.net.e4()),
            updated_at: Set(at),
        })
        .collect();
    let add = |column: member_balance::Column, name: &str| {
        (
            column,
            Expr::col((member_balance::Entity, column)).add(Expr::cust(format!("excluded.{name}"))),
        )
    };
    let on_conflict = OnConflict::column(member_balance::Column::MemberId)
        .values([
            add(member_balance::Column::PaidE4, "paid_e4"),
            add(member_balance::Column::OwedE4, "owed_e4"),
            add(member_balance::Column::NetE4, "net_e4"),
        ])
        .update_column(member_balance::Column::UpdatedAt)
        .to_owned();
    Ok(Some(
        member_balance::Entity::insert_many(rows).on_conflict(on_conflict),
    ))
}

/// The client's error for a balance the database refused to take out of range in [`upsert`]'s
/// statement, as the ledger names it: PostgreSQL's `22003` (numeric value out of range), or
/// SQLite's trigger (`1811`, SQLITE_CONSTRAINT_TRIGGER, with the migration's message). Anything
/// else as it is.
pub fn overflow_refused(error: DbErr) -> AppError {
    let out_of_range = match &error {
        DbErr::Exec(RuntimeErr::SqlxError(sqlx)) | DbErr::Query(RuntimeErr::SqlxError(sqlx)) => {
            sqlx.as_database_error()
                .is_some_and(|database| match database.code().as_deref() {
                    Some("22003") => true,
                    Some("1811") => database.message().contains(migration::BALANCE_OUT_OF_RANGE),
                    _ => false,
                })
        }
        _ => false,
    };
    if out_of_range {
        ledger::LedgerError::Overflow { field: None }.into()
    } else {
        error.into()
    }
}

/// Moves each book's `balance_version` on by one, and its `live_entries` by the number of live
/// entries the change added to it (book → count, negative for deletions), and returns the new
/// versions, in book id order, in one statement. The unit of work calls it once at commit, for
/// every changed book (a shared entry changes its book and each sharer's personal book). The
/// rows are locked for the update in ascending id order first: appenders hold their books only
/// in shared mode until here, so two of them may reach this point together and must meet
/// their common books in one order.
pub async fn next_versions(
    db: &impl ConnectionTrait,
    books: &BTreeMap<Uuid, i64>,
) -> AppResult<Vec<(Uuid, i64)>> {
    if books.is_empty() {
        return Ok(Vec::new());
    }
    let in_order = Query::select()
        .column(book::Column::Id)
        .from(book::Entity)
        .and_where(book::Column::Id.is_in(books.keys().copied()))
        .order_by(book::Column::Id, Order::Asc)
        .lock(LockType::NoKeyUpdate)
        .to_owned();
    let mut update = book::Entity::update_many().col_expr(
        book::Column::BalanceVersion,
        Expr::col(book::Column::BalanceVersion).add(1),
    );
    let mut counted = books.iter().filter(|(_, delta)| **delta != 0);
    if let Some((&first, &delta)) = counted.next() {
        let by_book = counted.fold(
            Expr::case(book::Column::Id.eq(first), delta),
            |case, (&book_id, &delta)| case.case(book::Column::Id.eq(book_id), delta),
        );
        update = update.col_expr(
            book::Column::LiveEntries,
            Expr::col(book::Column::LiveEntries).add(by_book.finally(0)),
        );
    }
    let updated = update
        .filter(book::Column::Id.in_subquery(in_order))
        .exec_with_returning(db)
        .await?;
    if updated.len() != books.len() {
        return Err(AppError::NotFound { entity: "book" });
    }
    let mut versions: Vec<(Uuid, i64)> = updated
        .into_iter()
        .map(|book| (book.id, book.balance_version))
        .collect();
    versions.sort_unstable();
    Ok(versions)
}

/// A stored row as a ledger balance (which re-derives and so checks `net`).
fn stored(row: &member_balance::Model) -> AppResult<Balance> {
    let balance = Balance::new(Money::from_e4(row.paid_e4), Money::from_e4(row.owed_e4))?;
    if balance.net.e4() != row.net_e4 {
        return Err(AppError::internal(anyhow::anyhow!(
            "balance of seat {} has net ≠ paid − owed",
            row.member_id
        )));
    }
    Ok(balance)
}

/// The stored balances of each seat of `book_id` that has a row.
pub async fn of_book(
    db: &impl ConnectionTrait,
    book_id: Uuid,
) -> AppResult<BTreeMap<Uuid, Balance>> {
    Ok(of_books(db, &[book_id])
        .await?
        .remove(&book_id)
        .unwrap_or_default())
}

/// [`of_book`] for several books in one statement (a book without rows is absent).
pub async fn of_books(
    db: &impl ConnectionTrait,
    book_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, BTreeMap<Uuid, Balance>>> {
    let mut by_book: HashMap<Uuid, BTreeMap<Uuid, Balance>> = HashMap::new();
    let rows = member_balance::Entity::find()
        .filter(member_balance::Column::BookId.is_in(book_ids.iter().copied()))
        .all(db)
        .await?;
    for row in &rows {
        by_book
            .entry(row.book_id)
            .or_default()
            .insert(row.member_id, stored(row)?);
    }
    Ok(by_book)
}

/// The balances a book shows: one per live seat of `roster`, in its order (zero for a seat with
/// no row yet), then the removed seats whose net is not zero (money still owed to or by them).
pub fn shown(
    roster: &[membership::Model],
    mut stored: BTreeMap<Uuid, Balance>,
) -> Vec<(Uuid, Balance)> {
    let mut shown: Vec<(Uuid, Balance)> = roster
        .iter()
        .map(|seat| (seat.id, stored.remove(&seat.id).unwrap_or_default()))
        .collect();
    shown.extend(
        stored
            .into_iter()
            .filter(|(_, balance)| !balance.net.is_zero()),
    );
    shown
}

/// How often the version and a read can be caught apart by a concurrent write before the read
/// gives up (each retry means a write committed in between: rare, and then progress).
const CONSISTENT_READ_ATTEMPTS: usize = 5;

/// Runs `read` on `book_id` between two reads of its `balance_version`, and again while a
/// write slipped in between (on PostgreSQL each statement sees its own snapshot): what it read
/// belongs to the returned version. NOT_FOUND for a book that does not exist.
pub async fn at_one_version<C, T, F, Fut>(db: &C, book_id: Uuid, mut read: F) -> AppResult<(i64, T)>
where
    C: ConnectionTrait,
    F: FnMut() -> Fut,
    Fut: Future<Output = AppResult<T>>,
{
    for _ in 0..CONSISTENT_READ_ATTEMPTS {
        let before = version(db, book_id).await?;
        let value = read().await?;
        if version(db, book_id).await? == before {
            return Ok((before, value));
        }
    }
    Err(AppError::conflict(
        "the balances keep changing; try again in a moment",
    ))
}

/// The book's current `balance_version`.
pub async fn version(db: &impl ConnectionTrait, book_id: Uuid) -> AppResult<i64> {
    book::Entity::find_by_id(book_id)
        .one(db)
        .await?
        .map(|book| book.balance_version)
        .ok_or(AppError::NotFound { entity: "book" })
}

/// Each seat's net in `book_id` (seats without a row are at zero and absent).
pub async fn nets(db: &impl ConnectionTrait, book_id: Uuid) -> AppResult<BTreeMap<Uuid, Money>> {
    Ok(ledger::net_balances(&of_book(db, book_id).await?))
}

/// Every live entry's effect in `book_id` (those that occurred within `period`, inclusive, when
/// given), rebuilt from its payer and allocation rows.
pub async fn effects(
    db: &impl ConnectionTrait,
    book_id: Uuid,
    period: Option<(NaiveDate, NaiveDate)>,
) -> AppResult<Vec<EntryEffect>> {
    let mut query = entry::Entity::find()
        .filter(entry::Column::BookId.eq(book_id))
        .filter(entry::Column::DeletedAt.is_null());
    if let Some((start, end)) = period {
        query = query
            .filter(entry::Column::OccurredOn.gte(start))
            .filter(entry::Column::OccurredOn.lte(end));
    }
    let entries = query.order_by_asc(entry::Column::Id).all(db).await?;
    let mut effects: BTreeMap<Uuid, EntryEffect> = entries
        .iter()
        .map(|row| {
            let effect = EntryEffect {
                kind: crate::service::entries::ledger_kind(row.kind),
                payers: Vec::new(),
                allocations: Vec::new(),
            };
            (row.id, effect)
        })
        .collect();
    let payers = entry_payer::Entity::find()
        .filter(entry_payer::Column::BookId.eq(book_id))
        .all(db)
        .await?;
    for payer in payers {
        if let Some(effect) = effects.get_mut(&payer.entry_id) {
            effect
                .payers
                .push((payer.member_id, Money::from_e4(payer.amount_e4)));
        }
    }
    let allocations = allocation::Entity::find()
        .filter(allocation::Column::BookId.eq(book_id))
        .all(db)
        .await?;
    for share in allocations {
        if let Some(effect) = effects.get_mut(&share.entry_id) {
            effect
                .allocations
                .push((share.member_id, Money::from_e4(share.calculated_e4)));
        }
    }
    Ok(effects.into_values().collect())
}

/// The balances of `book_id` recomputed from its live entries by the ledger.
pub async fn recompute(
    db: &impl ConnectionTrait,
    book_id: Uuid,
) -> AppResult<BTreeMap<Uuid, Balance>> {
    let effects = effects(db, book_id, None).await?;
    Ok(ledger::balances(&effects)?)
}

/// One seat whose stored balance differs from the recomputed one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub book_id: Uuid,
    pub member_id: Uuid,
    pub stored: Balance,
    pub recomputed: Balance,
}

/// Compares the stored balances of `book_id` with the recomputed ones (a seat without a row
/// counts as zero). An error means the stored rows break an invariant on their own (nets not
/// summing to zero, net ≠ paid − owed).
pub async fn mismatches(db: &impl ConnectionTrait, book_id: Uuid) -> AppResult<Vec<Mismatch>> {
    let stored = as_stored(db, book_id).await?;
    let recomputed = recompute(db, book_id).await?;
    let members: BTreeSet<Uuid> = stored.keys().chain(recomputed.keys()).copied().collect();
    Ok(members
        .into_iter()
        .filter_map(|member_id| {
            let stored = stored.get(&member_id).copied().unwrap_or(Balance::ZERO);
            let recomputed = recomputed.get(&member_id).copied().unwrap_or(Balance::ZERO);
            (stored != recomputed).then_some(Mismatch {
                book_id,
                member_id,
                stored,
                recomputed,
            })
        })
        .collect())
}

/// Checks the stored balances of `book_id` on their own: each net is paid − owed, and the
/// nets sum to zero.
pub async fn audit(db: &impl ConnectionTrait, book_id: Uuid) -> AppResult<()> {
    Ok(ledger::audit(&as_stored(db, book_id).await?)?)
}

/// The rows of `book_id` exactly as stored (no invariant checked), for auditing them.
async fn as_stored(db: &impl ConnectionTrait, book_id: Uuid) -> AppResult<BTreeMap<Uuid, Balance>> {
    Ok(member_balance::Entity::find()
        .filter(member_balance::Column::BookId.eq(book_id))
        .all(db)
        .await?
        .iter()
        .map(|row| {
            let balance = Balance {
                paid: Money::from_e4(row.paid_e4),
                owed: Money::from_e4(row.owed_e4),
                net: Money::from_e4(row.net_e4),
            };
            (row.member_id, balance)
        })
        .collect())
}
