//! Materialised balances: each seat's paid / owed / net in its book, kept in `member_balances`
//! and changed in the same transaction as every entry that touches the seat, so reading a
//! book's balances costs one small query however many entries it has.
//!
//! - [`Moves`] adds up a change's effects on balances (or takes them away), for any number of
//!   books; the unit of work keeps them, and at commit [`apply`] applies them with one
//!   upsert that *adds* each seat's total change to its row. It never reads a balance to write
//!   one, so appenders to one book (PostgreSQL, where they hold the book only in shared mode)
//!   cannot lose each other's changes. A balance that would leave the range money is stored in
//!   is the client's error (BAD_USER_INPUT on `amount`), never a wrapped or rounded value: the
//!   database refuses it in the upsert itself, PostgreSQL by its `bigint` arithmetic and
//!   SQLite (whose arithmetic would turn to floating point) by a trigger that keeps balances
//!   integers, and [`overflow_refused`] names the refusal. The upsert writes the rows in seat
//!   order, the order every change locks them in. In the same statement, each changed book's
//!   `balance_version` moves on, once per change (settlement plans are cached by it), and its
//!   count of live entries with it.
//! - [`of_book`] reads them for the API; [`recompute`] rebuilds them from the entries with the
//!   ledger's reference function, and [`mismatches`] compares the two: `tally check` and the
//!   integration tests run it.
//!
//! The balance rows and the versions are the last locks a change takes, and the only ones
//! appenders to one book queue for: what they hold from there to their commit is what bounds
//! the rate of new entries in one book on PostgreSQL, so they are taken by the change's last
//! statement.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{NaiveDate, Utc};
use entity::{allocation, book, entry, entry_payer, member_balance, membership};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QueryTrait, RuntimeErr, Set, Statement,
    sea_query::{
        Alias, CommonTableExpression, Expr, ExprTrait, InsertStatement, LockType, OnConflict,
        Order, PostgresQueryBuilder, Query, SqliteQueryBuilder,
    },
};
use uuid::Uuid;

use crate::{
    error::{AppError, AppResult},
    ledger::{self, Balance, EntryEffect, Money},
};

/// PostgreSQL: the name [`apply`] gives the balance upsert in its statement.
const MOVED: &str = "moved";

/// Which way an effect is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Apply,
    Unapply,
}

/// The balance changes of one unit of work, added up as the change makes them: per seat, its
/// book and its total change. An overflow in the totals is the client's error, named, and
/// found before anything is sent; one in a stored balance is found by the statement that
/// applies them ([`apply`]), whose error [`overflow_refused`] names.
#[derive(Default)]
pub struct Moves(BTreeMap<Uuid, (Uuid, Balance)>);

impl Moves {
    /// Adds `effect` on `book_id`'s balances (or takes it away). The caller's transaction has
    /// locked the book, and its version moves with these balances at commit.
    pub fn add(
        &mut self,
        book_id: Uuid,
        effect: &EntryEffect,
        direction: Direction,
    ) -> AppResult<()> {
        for (member, change) in effect.delta().map_err(AppError::from)? {
            let (_, total) = self.0.entry(member).or_insert((book_id, Balance::ZERO));
            *total = match direction {
                Direction::Apply => total.checked_add(change)?,
                Direction::Unapply => total.checked_sub(change)?,
            };
        }
        Ok(())
    }

    /// The upsert that *adds* each seat's total change to its row, in seat order (the order
    /// every change locks them in); `None` when nothing moves.
    fn upsert(self) -> Option<InsertStatement> {
        if self.0.is_empty() {
            return None;
        }
        let at = Utc::now();
        let rows: Vec<_> = self
            .0
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
                Expr::col((member_balance::Entity, column))
                    .add(Expr::cust(format!("excluded.{name}"))),
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
        Some(
            member_balance::Entity::insert_many(rows)
                .on_conflict(on_conflict)
                .into_query(),
        )
    }
}

/// The client's error for a balance the database refused to take out of range in
/// [`apply`]' statement, as the ledger names it: PostgreSQL's `22003` (numeric value out of range), or
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

/// A change's last statement, sent by its unit of work at commit: applies `moves`, and moves
/// each book's `balance_version` on by one and its `live_entries` by the number of live
/// entries the change added to it (book → count, negative for deletions). A book gone is
/// NOT_FOUND.
///
/// These are the only locks appenders to one book queue for (see the module docs): the
/// balance rows, in seat order, then the books, in ascending id order (appenders hold their
/// books only in shared mode until here, so two of them may reach this point together and
/// must meet their common books in one order). Every other writer of those books waits for
/// them until this transaction commits, so one statement takes them all and nothing runs
/// between it and the commit: on PostgreSQL the upsert is a `WITH` whose row count the books'
/// locking read waits for (which keeps the order above), on SQLite the two go as one script.
pub async fn apply(
    db: &impl ConnectionTrait,
    moves: Moves,
    books: &BTreeMap<Uuid, i64>,
) -> AppResult<()> {
    if books.is_empty() {
        return Ok(());
    }
    let backend = db.get_database_backend();
    let upsert = moves.upsert();
    let mut in_order = Query::select()
        .column(book::Column::Id)
        .from(book::Entity)
        .and_where(book::Column::Id.is_in(books.keys().copied()))
        .order_by(book::Column::Id, Order::Asc)
        .lock(LockType::NoKeyUpdate)
        .to_owned();
    let mut update = Query::update()
        .table(book::Entity)
        .value(
            book::Column::BalanceVersion,
            Expr::col(book::Column::BalanceVersion).add(1),
        )
        .returning_col(book::Column::Id)
        .to_owned();
    let mut counted = books.iter().filter(|(_, delta)| **delta != 0);
    if let Some((&first, &delta)) = counted.next() {
        let by_book = counted.fold(
            Expr::case(book::Column::Id.eq(first), delta),
            |case, (&book_id, &delta)| case.case(book::Column::Id.eq(book_id), delta),
        );
        update.value(
            book::Column::LiveEntries,
            Expr::col(book::Column::LiveEntries).add(by_book.finally(0)),
        );
    }
    let postgres = backend == DbBackend::Postgres;
    if upsert.is_some() && postgres {
        in_order.and_where(Expr::cust(format!(
            "(SELECT count(*) FROM \"{MOVED}\") >= 0"
        )));
    }
    update.and_where(book::Column::Id.in_subquery(in_order));
    let statement = match upsert {
        None => backend.build(&update),
        Some(mut upsert) if postgres => {
            upsert.returning_col(member_balance::Column::MemberId);
            let moved = CommonTableExpression::new()
                .query(upsert)
                .table_name(Alias::new(MOVED))
                .to_owned();
            let (sql, values) = update
                .with(Query::with().cte(moved).to_owned())
                .build(PostgresQueryBuilder);
            Statement::from_sql_and_values(backend, sql, values)
        }
        Some(upsert) => {
            let (first, mut values) = upsert.build(SqliteQueryBuilder);
            let (then, mut then_values) = update.build(SqliteQueryBuilder);
            // sqlx binds a script's parameters to its statements in order.
            values.0.append(&mut then_values.0);
            Statement::from_sql_and_values(backend, format!("{first};\n{then}"), values)
        }
    };
    let updated = db
        .query_all_raw(statement)
        .await
        .map_err(overflow_refused)?;
    if updated.len() != books.len() {
        return Err(AppError::NotFound { entity: "book" });
    }
    Ok(())
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
