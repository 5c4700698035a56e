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
//! ascending id order here, before writing to any of them. A personal-book write locks only
//! its own book. So any two writes take their common locks in the same order and queue; they
//! cannot deadlock.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use entity::{
    book, entry,
    enums::{BookKind, EntryKind},
    membership,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use super::plan::{Given, Plan, Share};
use crate::{
    error::AppResult,
    events::EntryChange,
    ledger::{self, Currency, Money, SplitRule},
    service::{
        access,
        balances::{self, Direction, Movement},
        entries::{
            Changed, ledger_kind,
            store::{self, Children},
        },
    },
};

/// Brings the mirrors of `source` in line with its `shares` (seat → amount; ignored when the
/// source is deleted). Returns the mirrors it changed.
pub async fn sync(
    txn: &DatabaseTransaction,
    source: &entry::Model,
    shares: &[(Uuid, Money)],
    at: DateTime<Utc>,
) -> AppResult<Vec<Changed>> {
    // A payment between members is nobody's spending: it gets no mirror.
    let wanted = if source.deleted_at.is_some() || source.kind == EntryKind::Transfer {
        BTreeMap::new()
    } else {
        targets(txn, shares).await?
    };
    let existing = entry::Entity::find()
        .filter(entry::Column::SourceEntryId.eq(source.id))
        .all(txn)
        .await?;
    let books: BTreeSet<Uuid> = wanted
        .keys()
        .copied()
        .chain(existing.iter().map(|mirror| mirror.book_id))
        .collect();
    // Ascending id order: see the module docs.
    access::lock_books(txn, &books).await?;
    let mut changed = Vec::new();
    // Every balance movement of the mirrors, applied together at the end: the old effects
    // taken away, then the new ones added.
    let mut movements = Vec::new();
    for mirror in &existing {
        if mirror.deleted_at.is_none() {
            let effect = store::stored_effect(txn, mirror).await?;
            movements.push((mirror.book_id, effect, Direction::Unapply));
        }
    }
    let currency = Currency::parse(&source.currency).map_err(crate::error::AppError::internal)?;
    // New mirrors are written together: their rows, then their children.
    let mut fresh_rows = Vec::new();
    let mut fresh_plans = Vec::new();
    for (&book_id, &(owner_seat, amount)) in &wanted {
        let previous = existing.iter().find(|mirror| mirror.book_id == book_id);
        let id = previous.map_or_else(Uuid::now_v7, |previous| previous.id);
        let row = mirror_row(source, previous, id, book_id, amount, at);
        let plan = mirror_plan(id, owner_seat, amount, currency)?;
        movements.push((
            book_id,
            plan.effect(ledger_kind(source.kind)),
            Direction::Apply,
        ));
        match previous {
            None => {
                changed.push(Changed {
                    book_id,
                    entry_id: id,
                    version: 1,
                    change: EntryChange::Created,
                });
                fresh_rows.push(row);
                fresh_plans.push((book_id, id, plan));
            }
            Some(previous) => {
                let change = match previous.deleted_at {
                    Some(_) => EntryChange::Restored,
                    None => EntryChange::Updated,
                };
                let mirror = row.update(txn).await?;
                store::write_children(txn, book_id, mirror.id, &plan, Children::Replace, at)
                    .await?;
                changed.push(Changed::of(&mirror, change));
            }
        }
    }
    if !fresh_rows.is_empty() {
        entry::Entity::insert_many(fresh_rows)
            .exec_without_returning(txn)
            .await?;
        let children: Vec<_> = fresh_plans
            .iter()
            .map(|(book_id, id, plan)| (*book_id, *id, plan))
            .collect();
        store::insert_children(txn, &children, at).await?;
    }
    let movements: Vec<_> = movements
        .iter()
        .map(|(book_id, effect, direction)| Movement {
            book_id: *book_id,
            effect,
            direction: *direction,
        })
        .collect();
    balances::apply_all(txn, &movements).await?;
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
/// personal book id → (owner seat, amount).
async fn targets(
    txn: &DatabaseTransaction,
    shares: &[(Uuid, Money)],
) -> AppResult<BTreeMap<Uuid, (Uuid, Money)>> {
    let amounts: BTreeMap<Uuid, Money> = shares
        .iter()
        .filter(|(_, amount)| amount.is_positive())
        .copied()
        .collect();
    let seats = membership::Entity::find()
        .filter(membership::Column::Id.is_in(amounts.keys().copied()))
        .all(txn)
        .await?;
    let users: BTreeMap<Uuid, Money> = seats
        .iter()
        .filter_map(|seat| Some((seat.user_id?, *amounts.get(&seat.id)?)))
        .collect();
    // Each user's oldest live personal book: the first row per owner in creation order.
    let personal = book::Entity::find()
        .filter(book::Column::Kind.eq(BookKind::Personal))
        .filter(book::Column::OwnerId.is_in(users.keys().copied()))
        .filter(book::Column::ArchivedAt.is_null())
        .order_by_asc(book::Column::Id)
        .all(txn)
        .await?;
    let mut first: BTreeMap<Uuid, Uuid> = BTreeMap::new();
    for row in &personal {
        first.entry(row.owner_id).or_insert(row.id);
    }
    let owner_seats = membership::Entity::find()
        .filter(membership::Column::BookId.is_in(first.values().copied()))
        .filter(membership::Column::RemovedAt.is_null())
        .all(txn)
        .await?;
    Ok(owner_seats
        .iter()
        .filter_map(|seat| {
            let user = seat.user_id?;
            let book_id = *first.get(&user)?;
            (book_id == seat.book_id).then_some((book_id, (seat.id, *users.get(&user)?)))
        })
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
