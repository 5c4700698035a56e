//! Writing an entry's rows: the entry itself, its payers, its split and its allocations, and
//! reading back what an entry currently contributes to balances.
//!
//! Children are replaced wholesale on every change (delete, then insert): an entry has a
//! handful of them, and rewriting is simpler to trust than diffing. A new entry has none to
//! delete, and skips the three deletes.
//!
//! A change collects what it inserts in a [`Batch`] and writes it last, together: a shared
//! entry writes itself and a mirror per sharer and moves as many books' balances, and every
//! statement is a round trip made while the book is locked (on SQLite, while the one writer
//! waits), so the rows of all of them are four inserts (entries, payers, splits,
//! allocations) and the activity record one, sent as one statement (PostgreSQL) or one script
//! (SQLite) ([`Writes`]). Their balance movements go to the unit of work, which applies them
//! with the books' versions in its last statement.

use chrono::{DateTime, Utc};
use entity::{activity_log, allocation, entry, entry_payer, split};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use super::plan::{Given, Plan};
use crate::{
    error::AppResult,
    ledger::{EntryEffect, Money},
    service::{
        balances::Direction, entries::ledger_kind, unit_of_work::UnitOfWork, writes::Writes,
    },
};

/// What a change inserts, written together by [`Batch::write`]: new entry rows first, then the
/// children of entries that have none (new, or deleted by [`delete_children`]); and the
/// balance movements, which the unit of work applies at commit.
#[derive(Default)]
pub struct Batch {
    entries: Vec<entry::ActiveModel>,
    children: Vec<(Uuid, Uuid, Plan)>,
    records: Vec<activity_log::ActiveModel>,
    movements: Vec<(Uuid, EntryEffect, Direction)>,
}

impl Batch {
    /// A new entry's row (every column set). Entries are inserted in the order given, so a
    /// source comes before the mirrors that name it.
    pub fn insert_entry(&mut self, row: entry::ActiveModel) {
        self.entries.push(row);
    }

    /// `plan`'s payers, split and allocations for entry `entry_id` of `book_id`, which has
    /// no children now.
    pub fn insert_children(&mut self, book_id: Uuid, entry_id: Uuid, plan: Plan) {
        self.children.push((book_id, entry_id, plan));
    }

    /// The change's activity record ([`crate::service::activity::row`]).
    pub fn record(&mut self, row: activity_log::ActiveModel) {
        self.records.push(row);
    }

    /// Moves `book_id`'s balances by `effect` (the caller's transaction has locked the book).
    pub fn move_balances(&mut self, book_id: Uuid, effect: EntryEffect, direction: Direction) {
        self.movements.push((book_id, effect, direction));
    }

    /// Writes the rows, and hands the balance movements to `work`, which applies them in its
    /// last statement at commit (see [`UnitOfWork::move_balances`]). An overflow in the
    /// change's totals is refused before anything is written (BAD_USER_INPUT), and the unit of
    /// work then keeps nothing of the change.
    pub async fn write(self, work: &mut UnitOfWork, at: DateTime<Utc>) -> AppResult<()> {
        for (book_id, effect, direction) in &self.movements {
            work.move_balances(*book_id, effect, *direction)?;
        }
        let mut writes = Writes::new(work.txn());
        writes.insert(self.entries);
        insert_children(&mut writes, &self.children, at);
        writes.insert(self.records);
        Ok(writes.flush().await?)
    }
}

/// Writes the payers, splits and allocations of entries that have none yet, given as
/// (book, entry, plan): three statements however many entries.
fn insert_children(
    writes: &mut Writes<'_, impl ConnectionTrait>,
    entries: &[(Uuid, Uuid, Plan)],
    at: DateTime<Utc>,
) {
    let mut payers = Vec::new();
    let mut splits = Vec::new();
    let mut shares = Vec::new();
    for (book_id, entry_id, plan) in entries {
        let (book_id, entry_id) = (*book_id, *entry_id);
        payers.extend(
            plan.payers
                .iter()
                .map(|&(member_id, amount)| entry_payer::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    entry_id: Set(entry_id),
                    book_id: Set(book_id),
                    member_id: Set(member_id),
                    amount_e4: Set(amount.e4()),
                    created_at: Set(at),
                }),
        );
        splits.push(split::ActiveModel {
            entry_id: Set(entry_id),
            book_id: Set(book_id),
            mode: Set(plan.mode),
            created_at: Set(at),
        });
        shares.extend(plan.shares.iter().map(|share| {
            let a = share.allocation;
            let (ratio, weight, exact, adjustment) = match share.given {
                Given::Equal => (None, None, None, None),
                Given::Ratio(e4) => (Some(e4), None, None, None),
                Given::Shares(e4) => (None, Some(e4), None, None),
                Given::Exact(money) => (None, None, Some(money.e4()), None),
                Given::Adjustment(money) => (None, None, None, Some(money.e4())),
            };
            allocation::ActiveModel {
                id: Set(Uuid::now_v7()),
                entry_id: Set(entry_id),
                book_id: Set(book_id),
                member_id: Set(a.member),
                ratio_e4: Set(ratio),
                shares_e4: Set(weight),
                exact_e4: Set(exact),
                adjustment_e4: Set(adjustment),
                calculated_e4: Set(a.amount.e4()),
                base_e4: Set(a.base.e4()),
                remainder_units: Set(i32::try_from(a.remainder_units).unwrap_or(i32::MAX)),
                unit_e4: Set(a.unit.e4()),
                created_at: Set(at),
            }
        }));
    }
    writes.insert(payers);
    writes.insert(splits);
    writes.insert(shares);
}

/// Deletes an existing entry's payers, split and allocations, before it gets new ones.
pub async fn delete_children(db: &impl ConnectionTrait, entry_id: Uuid) -> AppResult<()> {
    entry_payer::Entity::delete_many()
        .filter(entry_payer::Column::EntryId.eq(entry_id))
        .exec(db)
        .await?;
    allocation::Entity::delete_many()
        .filter(allocation::Column::EntryId.eq(entry_id))
        .exec(db)
        .await?;
    split::Entity::delete_many()
        .filter(split::Column::EntryId.eq(entry_id))
        .exec(db)
        .await?;
    Ok(())
}

/// What `row` contributes to its book's balances, from its stored payers and allocations.
pub async fn stored_effect(
    db: &impl ConnectionTrait,
    row: &entry::Model,
) -> AppResult<EntryEffect> {
    let payers = entry_payer::Entity::find()
        .filter(entry_payer::Column::EntryId.eq(row.id))
        .all(db)
        .await?;
    let shares = allocation::Entity::find()
        .filter(allocation::Column::EntryId.eq(row.id))
        .all(db)
        .await?;
    Ok(EntryEffect {
        kind: ledger_kind(row.kind),
        payers: payers
            .iter()
            .map(|p| (p.member_id, Money::from_e4(p.amount_e4)))
            .collect(),
        allocations: shares
            .iter()
            .map(|s| (s.member_id, Money::from_e4(s.calculated_e4)))
            .collect(),
    })
}
