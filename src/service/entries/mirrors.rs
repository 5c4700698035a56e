//! Mirror entries: a split entry's share for each participant, written into that person's
//! PERSONAL book (their oldest live one), so a personal book shows everything its owner spent,
//! shared or not. A mirror is read-only and follows its source: [`sync`] runs in the source's
//! transaction after every change to it (create, update, delete, restore, a guest seat claimed)
//! and brings every mirror in line: upserted by (source, book), soft-deleted when its member
//! no longer shares or the source is deleted, restored with it.
//!
//! Guests and members without a personal book get no mirror, and neither does a payment
//! between members (a TRANSFER is nobody's spending). A mirror keeps its source's
//! currency; in its personal book the owner pays and owes it all, so it moves that book's
//! paid and owed, never its net.
//!
//! **Lock order.** A mirror write touches several books. Every such write has locked its one
//! SPLIT source book first (`require_write`), and then locks the PERSONAL books it touches in
//! ascending id order here, before writing to any of them, in the source's mode: a new source
//! only adds mirrors and takes them as an appender, any other change exclusively. A
//! personal-book write locks only its own book. So any two writes take their common locks in
//! the same order and queue; they cannot deadlock (see [`access`] for the whole order).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use entity::{
    book, entry,
    enums::{BookKind, EntryKind},
    membership,
};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction,
    DbBackend, EntityTrait, QueryFilter, Set,
    sea_query::{Alias, Expr, ExprTrait, JoinType, Order, Query},
};
use uuid::Uuid;

use super::plan::{Given, Plan, Share};
use crate::{
    error::AppResult,
    events::EntryChange,
    ledger::{self, Currency, Money, SplitRule},
    service::{
        access::{self, BookLock},
        balances::Direction,
        entries::{
            Changed, ledger_kind,
            store::{self, Batch},
        },
    },
};

/// Whether the source entry may already have mirrors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Inserted by this very change: it has none, and they need not be looked for.
    New,
    /// Stored before: its mirrors are read and brought in line.
    Existing,
}

/// Brings the mirrors of `source` in line with its `shares` (seat → amount; ignored when the
/// source is deleted): new mirrors and every balance movement go into `batch`, which the
/// caller writes; changed mirrors are updated here. Returns the mirrors it changed.
pub async fn sync(
    txn: &DatabaseTransaction,
    source: &entry::Model,
    kind: Source,
    shares: &[(Uuid, Money)],
    batch: &mut Batch,
    at: DateTime<Utc>,
) -> AppResult<Vec<Changed>> {
    // A payment between members is nobody's spending: it gets no mirror.
    let wanted = if source.deleted_at.is_some() || source.kind == EntryKind::Transfer {
        BTreeMap::new()
    } else {
        targets(txn, shares).await?
    };
    let existing = match kind {
        Source::New => Vec::new(),
        Source::Existing => {
            entry::Entity::find()
                .filter(entry::Column::SourceEntryId.eq(source.id))
                .all(txn)
                .await?
        }
    };
    let books: BTreeSet<Uuid> = wanted
        .keys()
        .copied()
        .chain(existing.iter().map(|mirror| mirror.book_id))
        .collect();
    // Ascending id order: see the module docs.
    let lock = match kind {
        Source::New => BookLock::Appending,
        Source::Existing => BookLock::Exclusive,
    };
    // SQLite has nothing to lock (its one writer holds every book) and nothing to check: each
    // id was read in this transaction, from a row that references its book.
    if txn.get_database_backend() != DbBackend::Sqlite {
        access::lock_books(txn, &books, lock).await?;
    }
    let mut changed = Vec::new();
    // The old effects are taken away before the new ones are added.
    for mirror in &existing {
        if mirror.deleted_at.is_none() {
            let effect = store::stored_effect(txn, mirror).await?;
            batch.move_balances(mirror.book_id, effect, Direction::Unapply);
        }
    }
    let currency = Currency::parse(&source.currency).map_err(crate::error::AppError::internal)?;
    for (&book_id, &(owner_seat, amount)) in &wanted {
        let previous = existing.iter().find(|mirror| mirror.book_id == book_id);
        let id = previous.map_or_else(Uuid::now_v7, |previous| previous.id);
        let row = mirror_row(source, previous, id, book_id, amount, at);
        let plan = mirror_plan(id, owner_seat, amount, currency)?;
        batch.move_balances(
            book_id,
            plan.effect(ledger_kind(source.kind)),
            Direction::Apply,
        );
        match previous {
            None => {
                changed.push(Changed {
                    book_id,
                    entry_id: id,
                    version: 1,
                    change: EntryChange::Created,
                });
                batch.insert_entry(row);
            }
            Some(previous) => {
                let change = match previous.deleted_at {
                    Some(_) => EntryChange::Restored,
                    None => EntryChange::Updated,
                };
                let mirror = row.update(txn).await?;
                store::delete_children(txn, mirror.id).await?;
                changed.push(Changed::of(&mirror, change));
            }
        }
        batch.insert_children(book_id, id, plan);
    }
    for mirror in existing {
        if !wanted.contains_key(&mirror.book_id) && mirror.deleted_at.is_none() {
            let version = mirror.version + 1;
            let mut gone: entry::ActiveModel = mirror.into();
            gone.deleted_at = Set(Some(at));
            gone.deleted_by = Set(source.deleted_by);
            gone.version = Set(version);
            gone.updated_at = Set(at);
            let gone = gone.update(txn).await?;
            changed.push(Changed::of(&gone, EntryChange::Deleted));
        }
    }
    Ok(changed)
}

/// The personal book (and its owner's seat there) that gets each sharing user's mirror:
/// personal book id → (owner seat, amount). One statement: the sharers' seats, each user's
/// live personal books (oldest first) and the user's seat in each.
async fn targets(
    txn: &DatabaseTransaction,
    shares: &[(Uuid, Money)],
) -> AppResult<BTreeMap<Uuid, (Uuid, Money)>> {
    let amounts: BTreeMap<Uuid, Money> = shares
        .iter()
        .filter(|(_, amount)| amount.is_positive())
        .copied()
        .collect();
    if amounts.is_empty() {
        return Ok(BTreeMap::new());
    }
    let (sharer, owner) = (Alias::new("sharer"), Alias::new("owner"));
    let query = Query::select()
        .column((sharer.clone(), membership::Column::Id))
        .column((sharer.clone(), membership::Column::UserId))
        .column((book::Entity, book::Column::Id))
        .column((owner.clone(), membership::Column::Id))
        .from_as(membership::Entity, sharer.clone())
        .inner_join(
            book::Entity,
            Expr::col((book::Entity, book::Column::OwnerId))
                .equals((sharer.clone(), membership::Column::UserId)),
        )
        .join_as(
            JoinType::LeftJoin,
            membership::Entity,
            owner.clone(),
            Condition::all()
                .add(
                    Expr::col((owner.clone(), membership::Column::BookId))
                        .equals((book::Entity, book::Column::Id)),
                )
                .add(
                    Expr::col((owner.clone(), membership::Column::UserId))
                        .equals((sharer.clone(), membership::Column::UserId)),
                )
                .add(Expr::col((owner.clone(), membership::Column::RemovedAt)).is_null()),
        )
        .and_where(Expr::col((sharer, membership::Column::Id)).is_in(amounts.keys().copied()))
        .and_where(Expr::col((book::Entity, book::Column::Kind)).eq(BookKind::Personal.to_value()))
        .and_where(Expr::col((book::Entity, book::Column::ArchivedAt)).is_null())
        .order_by((book::Entity, book::Column::Id), Order::Asc)
        .to_owned();
    let rows = txn.query_all(&query).await?;
    // Each user's oldest live personal book is the first of theirs in id (creation) order;
    // the owner's seat there is where the mirror goes (a book without one gets none).
    let mut first: BTreeMap<Uuid, Option<(Uuid, Uuid, Money)>> = BTreeMap::new();
    for row in rows {
        let seat: Uuid = row.try_get_by_index(0)?;
        let user: Uuid = row.try_get_by_index(1)?;
        let book_id: Uuid = row.try_get_by_index(2)?;
        let owner_seat: Option<Uuid> = row.try_get_by_index(3)?;
        first.entry(user).or_insert_with(|| {
            let amount = amounts.get(&seat).copied()?;
            Some((book_id, owner_seat?, amount))
        });
    }
    Ok(first
        .into_values()
        .flatten()
        .map(|(book_id, owner_seat, amount)| (book_id, (owner_seat, amount)))
        .collect())
}

/// The row of `source`'s mirror in `book_id`: a new one with id `id`, or `previous` (whose id
/// it is) brought back in line with the source (and one version on).
fn mirror_row(
    source: &entry::Model,
    previous: Option<&entry::Model>,
    id: Uuid,
    book_id: Uuid,
    amount: Money,
    at: DateTime<Utc>,
) -> entry::ActiveModel {
    let mut row = match previous {
        Some(previous) => {
            let version = previous.version + 1;
            let mut row: entry::ActiveModel = previous.clone().into();
            row.version = Set(version);
            row
        }
        None => entry::ActiveModel {
            id: Set(id),
            book_id: Set(book_id),
            source_entry_id: Set(Some(source.id)),
            creator_id: Set(source.creator_id),
            version: Set(1),
            created_at: Set(at),
            ..Default::default()
        },
    };
    row.kind = Set(source.kind);
    row.amount_e4 = Set(amount.e4());
    row.currency = Set(source.currency.clone());
    row.original_amount_e4 = Set(None);
    row.original_currency = Set(None);
    row.exchange_rate = Set(None);
    row.occurred_on = Set(source.occurred_on);
    row.description = Set(source.description.clone());
    row.note = Set(None);
    // Categories are chosen per book; the owner files their mirror as they like (later).
    row.category_id = Set(None);
    row.deleted_at = Set(None);
    row.deleted_by = Set(None);
    row.updated_at = Set(at);
    row
}

/// The owner pays and owes the whole mirror.
fn mirror_plan(
    mirror_id: Uuid,
    owner_seat: Uuid,
    amount: Money,
    currency: Currency,
) -> AppResult<Plan> {
    let rule = SplitRule::Equal {
        members: vec![owner_seat],
    };
    let shares = ledger::allocate(mirror_id, amount, currency, &rule)?
        .into_iter()
        .map(|allocation| Share {
            given: Given::Equal,
            allocation,
        })
        .collect();
    Ok(Plan {
        amount,
        currency,
        original: None,
        payers: vec![(owner_seat, amount)],
        mode: entity::enums::SplitMode::Equal,
        shares,
    })
}
