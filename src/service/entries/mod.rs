//! Entries: what was spent (or received, or paid between members), who paid it, and how it is
//! shared. Every change writes, in **one unit of work**: the entry, its payers, split and
//! allocations, the members' materialised balances, the mirrors in participants' personal
//! books, the idempotency record and the activity record; its events go out after commit.
//!
//! - [`create`]: WRITER and up; with an idempotency key, a retry returns the first entry.
//!   [`record_payment`] is the same for a payment between members, checked against the
//!   balances ([`settling`]). Payments (TRANSFER entries) cannot be edited, only deleted by an
//!   ADMIN or the OWNER and recorded again.
//! - [`update`] and [`delete`] take the version the client last saw (optimistic locking: a
//!   stale one is a CONFLICT with `currentVersion`, and changes nothing); [`restore`] undoes a
//!   delete. WRITERs change their own entries, ADMINs and the OWNER anyone's.
//! - Mirrors are read-only: changing one directly is FORBIDDEN.
//! - A non-member asking about an entry gets NOT_FOUND, as for an id that does not exist.
//!
//! The money rules are the ledger's, applied by [`plan`]; the rows are written by `store` and
//! the mirrors kept by [`mirrors`].
//!
//! Locks: a new entry takes its book (and its mirrors' books) as an appender
//! ([`BookLock::Appending`]), so new entries in one book are written side by side and queue
//! only on the balance rows and the version bump at their end; every other change to an entry,
//! and every payment, locks its book exclusively.

mod mirrors;
pub mod plan;
pub mod query;
mod store;

use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    activity_log, category, entry,
    enums::{EntryKind, Role},
    membership,
};
use sea_orm::{
    ColumnTrait, Condition, DatabaseTransaction, EntityTrait, QueryFilter, Set, TryIntoModel,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    error::{AppError, AppResult},
    events::{EntryChange, Event},
    ledger::{self, Currency, Money, Rate, SplitRule},
    service::{
        Actor,
        access::{self, BookLock, WriteAccess},
        activity::{self, Action},
        balances::Direction,
        idempotency::{self, Claim, IdempotencyKey},
        now,
        settling::{self, Payment},
        unit_of_work::UnitOfWork,
    },
    state::AppState,
    text::{Name, Note},
};
use mirrors::Source;
use plan::{BookFacts, Plan};
use store::Batch;

/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 200;
/// Longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 1000;

/// An entry as the client described it, parsed into domain values at the API's edge. Seats
/// (`memberships.id`) are not yet checked against the book: [`plan::plan`] does that.
#[derive(Debug, Clone)]
pub struct EntryDraft {
    pub kind: entity::enums::EntryKind,
    /// In `currency` (the book's when `None`).
    pub amount: Money,
    pub currency: Option<Currency>,
    /// Book units per one unit of `currency`; required exactly when it is not the book's.
    pub exchange_rate: Option<Rate>,
    pub occurred_on: NaiveDate,
    pub description: Name,
    pub category_id: Option<Uuid>,
    pub note: Option<Note>,
    /// `None`: the writer paid it all.
    pub payers: Option<Vec<(Uuid, Money)>>,
    /// `None`: equally among every live member (the owner alone, in a personal book).
    pub split: Option<SplitRule>,
}

impl EntryDraft {
    /// The draft in a fixed, complete form: what an idempotency key's request hash covers.
    fn canonical(&self, book_id: Uuid) -> Value {
        let split = self.split.as_ref().map(|rule| match rule {
            SplitRule::Equal { members } => json!({ "mode": "EQUAL", "members": members }),
            SplitRule::Ratio(list) => json!({ "mode": "RATIO", "members": pairs(list) }),
            SplitRule::Shares(list) => json!({ "mode": "SHARES", "members": pairs(list) }),
            SplitRule::Exact(list) => json!({ "mode": "EXACT", "members": pairs(list) }),
            SplitRule::Adjustment(list) => json!({ "mode": "ADJUSTMENT", "members": pairs(list) }),
        });
        json!({
            "bookId": book_id,
            "kind": self.kind,
            "amount": self.amount.to_string(),
            "currency": self.currency.map(|c| c.code()),
            "exchangeRate": self.exchange_rate.map(|r| r.to_string()),
            "occurredOn": self.occurred_on,
            "description": self.description.as_str(),
            "categoryId": self.category_id,
            "note": self.note.as_ref().map(|n| n.as_str()),
            "payers": self.payers.as_ref().map(|list| pairs(list)),
            "split": split,
        })
    }
}

fn pairs<V: std::fmt::Display>(list: &[(Uuid, V)]) -> Vec<(Uuid, String)> {
    list.iter()
        .map(|(seat, value)| (*seat, value.to_string()))
        .collect()
}

/// An entry whose new version the change produced (for the events after commit).
#[derive(Debug, Clone, Copy)]
pub struct Changed {
    pub book_id: Uuid,
    pub entry_id: Uuid,
    pub version: i32,
    pub change: EntryChange,
}

impl Changed {
    fn of(row: &entry::Model, change: EntryChange) -> Self {
        Self {
            book_id: row.book_id,
            entry_id: row.id,
            version: row.version,
            change,
        }
    }
}

/// The ledger's name for a stored kind.
pub fn ledger_kind(kind: entity::enums::EntryKind) -> ledger::EntryKind {
    match kind {
        entity::enums::EntryKind::Expense => ledger::EntryKind::Expense,
        entity::enums::EntryKind::Income => ledger::EntryKind::Income,
        entity::enums::EntryKind::Transfer => ledger::EntryKind::Transfer,
    }
}

/// What recording a new entry came to.
#[derive(Debug)]
pub enum Recorded {
    /// The row this request wrote and committed, as stored: every column was set by the
    /// service, so the caller answers with it and reads nothing back.
    New(Box<entry::Model>),
    /// A retry under the same idempotency key: the entry the first request wrote, which may
    /// have changed since.
    Replay(Uuid),
}

/// Records a new entry in `book_id` (WRITER and up). With `key`, a repeated request (same
/// caller, same key, same input) gets the first one's entry without writing again.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    book_id: Uuid,
    draft: &EntryDraft,
    key: Option<&IdempotencyKey>,
) -> AppResult<Recorded> {
    record_new(state, actor, book_id, draft, key, None).await
}

/// Records a payment between two members of `book_id` as a TRANSFER entry (see
/// [`settling`]): WRITERs their own, ADMINs and up anyone's; never overshooting unless
/// `payment.allow_overpay`. Idempotent like [`create`], under its own operation name.
pub async fn record_payment(
    state: &AppState,
    actor: &Actor,
    book_id: Uuid,
    draft: &EntryDraft,
    payment: Payment,
    key: Option<&IdempotencyKey>,
) -> AppResult<Recorded> {
    record_new(state, actor, book_id, draft, key, Some(payment)).await
}

async fn record_new(
    state: &AppState,
    actor: &Actor,
    book_id: Uuid,
    draft: &EntryDraft,
    key: Option<&IdempotencyKey>,
    payment: Option<Payment>,
) -> AppResult<Recorded> {
    actor.ensure_may_write()?;
    let entry_id = Uuid::now_v7();
    let at = now();
    let mut work = UnitOfWork::begin(state).await?;
    let txn = work.txn();
    if let Some(key) = key {
        let mut canonical = draft.canonical(book_id);
        let operation = match payment {
            Some(payment) => {
                canonical["allowOverpay"] = json!(payment.allow_overpay);
                "recordPayment"
            }
            None => "createEntry",
        };
        let hash = idempotency::request_hash(&canonical);
        let claim =
            idempotency::claim(txn, actor.user_id, operation, key, hash, entry_id, at).await?;
        if let Claim::Replay(first) = claim {
            work.commit(state).await?;
            return Ok(Recorded::Replay(first));
        }
    }
    // A new entry only adds to its book: others may be written beside it. A payment is checked
    // against the balances, which must hold still until it commits.
    let lock = match payment {
        Some(_) => BookLock::Exclusive,
        None => BookLock::Appending,
    };
    let (access, seats) =
        access::require_write_with_seats(txn, actor, book_id, Role::Writer, lock).await?;
    if let Some(payment) = &payment {
        settling::check(txn, &access, payment).await?;
    }
    check_category(txn, book_id, draft.category_id).await?;
    let plan = plan::plan(entry_id, &book_facts(&access, &seats)?, draft)?;
    let new_row = entry::ActiveModel {
        id: Set(entry_id),
        book_id: Set(book_id),
        creator_id: Set(actor.user_id),
        version: Set(1),
        source_entry_id: Set(None),
        deleted_at: Set(None),
        deleted_by: Set(None),
        created_at: Set(at),
        ..fields(draft, &plan, at)
    };
    // Every column is set, so the row is known without reading it back (it is inserted with
    // its mirrors, and is what the caller answers with).
    let row = new_row.clone().try_into_model()?;
    let mut batch = Batch::default();
    batch.record(record(
        &access,
        match payment {
            Some(_) => Action::PaymentRecorded,
            None => Action::EntryCreated,
        },
        &row,
        None,
        Some(snapshot(&row, &plan)),
    ));
    batch.insert_entry(new_row);
    let changed = write_money(&mut work, &row, &plan, None, batch, at).await?;
    publish(&mut work, changed);
    work.commit(state).await?;
    Ok(Recorded::New(Box::new(row)))
}

/// Replaces an entry's content, if it is still at `expected_version`.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    entry_id: Uuid,
    expected_version: i32,
    draft: &EntryDraft,
) -> AppResult<()> {
    let at = now();
    let mut work = UnitOfWork::begin(state).await?;
    let txn = work.txn();
    let (access, seats, before) = editable(txn, actor, entry_id).await?;
    if before.deleted_at.is_some() {
        return Err(AppError::conflict(
            "this entry is deleted; restore it first",
        ));
    }
    if before.kind == EntryKind::Transfer || draft.kind == EntryKind::Transfer {
        return Err(AppError::conflict(
            "payments cannot be edited: delete the payment and record it again",
        ));
    }
    check_category(txn, before.book_id, draft.category_id).await?;
    let plan = plan::plan(entry_id, &book_facts(&access, &seats)?, draft)?;
    let old = store::stored_effect(txn, &before).await?;
    let before_snapshot = snapshot_stored(&before, &old);
    let row = bump_version(txn, &before, expected_version, fields(draft, &plan, at)).await?;
    let (before_diff, after_diff) = diff(&before_snapshot, &snapshot(&row, &plan));
    let mut batch = Batch::default();
    batch.record(record(
        &access,
        Action::EntryUpdated,
        &row,
        Some(before_diff),
        Some(after_diff),
    ));
    let changed = write_money(&mut work, &row, &plan, Some(&old), batch, at).await?;
    publish(&mut work, changed);
    work.commit(state).await
}

/// Soft-deletes an entry at `expected_version`: it leaves the balances, and its mirrors go.
pub async fn delete(
    state: &AppState,
    actor: &Actor,
    entry_id: Uuid,
    expected_version: i32,
) -> AppResult<()> {
    set_deleted(state, actor, entry_id, Some(expected_version), true).await
}

/// Undoes a delete: the entry counts again, and its mirrors come back.
pub async fn restore(state: &AppState, actor: &Actor, entry_id: Uuid) -> AppResult<()> {
    set_deleted(state, actor, entry_id, None, false).await
}

async fn set_deleted(
    state: &AppState,
    actor: &Actor,
    entry_id: Uuid,
    expected_version: Option<i32>,
    deleted: bool,
) -> AppResult<()> {
    let at = now();
    let mut work = UnitOfWork::begin(state).await?;
    let txn = work.txn();
    let (access, _, before) = editable(txn, actor, entry_id).await?;
    // Payments are corrected by their book's managers only (seed 003, property 29).
    if before.kind == EntryKind::Transfer {
        access::check_role(Some(access.role()), Role::Admin)?;
    }
    match (before.deleted_at.is_some(), deleted) {
        (true, true) => return Err(AppError::conflict("this entry is already deleted")),
        (false, false) => return Err(AppError::conflict("this entry is not deleted")),
        _ => {}
    }
    let effect = store::stored_effect(txn, &before).await?;
    let change = entry::ActiveModel {
        deleted_at: Set(deleted.then_some(at)),
        deleted_by: Set(deleted.then_some(actor.user_id)),
        updated_at: Set(at),
        ..Default::default()
    };
    let expected = expected_version.unwrap_or(before.version);
    let row = bump_version(txn, &before, expected, change).await?;
    let direction = if deleted {
        Direction::Unapply
    } else {
        Direction::Apply
    };
    let change = if deleted {
        EntryChange::Deleted
    } else {
        EntryChange::Restored
    };
    let mut changed = vec![Changed::of(&row, change)];
    let mut batch = Batch::default();
    let shares = effect.allocations.clone();
    batch.move_balances(row.book_id, effect, direction);
    changed.extend(mirrors::sync(txn, &row, Source::Existing, &shares, &mut batch, at).await?);
    let (action, state_after) = match (deleted, row.kind) {
        (true, EntryKind::Transfer) => (Action::PaymentDeleted, json!({ "deleted": true })),
        (true, _) => (Action::EntryDeleted, json!({ "deleted": true })),
        (false, _) => (Action::EntryRestored, json!({ "deleted": false })),
    };
    let state_before = json!({ "deleted": !deleted });
    batch.record(record(
        &access,
        action,
        &row,
        Some(state_before),
        Some(state_after),
    ));
    batch.write(&mut work, at).await?;
    publish(&mut work, changed);
    work.commit(state).await
}

/// Writes mirrors for every live entry in which `seat` shares, after the seat was claimed by
/// a user. Runs in the claiming transaction, with the seat's book locked.
pub async fn mirror_claimed_seat(
    work: &mut UnitOfWork,
    book_id: Uuid,
    seat: Uuid,
) -> AppResult<Vec<Changed>> {
    let txn = work.txn();
    let shared = query::shared_by(txn, book_id, seat).await?;
    let at = now();
    let mut changed = Vec::new();
    let mut batch = Batch::default();
    for row in shared {
        let effect = store::stored_effect(txn, &row).await?;
        changed.extend(
            mirrors::sync(
                txn,
                &row,
                Source::Existing,
                &effect.allocations,
                &mut batch,
                at,
            )
            .await?,
        );
    }
    batch.write(work, at).await?;
    Ok(changed)
}

/// Announces each changed entry, and the balances of its book, once the unit of work commits;
/// and counts the entries it adds to or takes from their books' live entries.
pub fn publish(work: &mut UnitOfWork, changed: Vec<Changed>) {
    for change in changed {
        let delta = match change.change {
            EntryChange::Created | EntryChange::Restored => 1,
            EntryChange::Deleted => -1,
            EntryChange::Updated => 0,
        };
        work.entries_counted(change.book_id, delta);
        work.publish(Event::EntryChanged {
            book_id: change.book_id,
            entry_id: change.entry_id,
            version: change.version,
            change: change.change,
        });
    }
}

/// The entry's columns that come from the draft and the plan.
fn fields(draft: &EntryDraft, plan: &Plan, at: DateTime<Utc>) -> entry::ActiveModel {
    let (original_amount, original_currency, rate) = match plan.original {
        Some((amount, currency, rate)) => (
            Some(amount.e4()),
            Some(currency.code().to_owned()),
            Some(rate.to_string()),
        ),
        None => (None, None, None),
    };
    entry::ActiveModel {
        kind: Set(draft.kind),
        amount_e4: Set(plan.amount.e4()),
        currency: Set(plan.currency.code().to_owned()),
        original_amount_e4: Set(original_amount),
        original_currency: Set(original_currency),
        exchange_rate: Set(rate),
        occurred_on: Set(draft.occurred_on),
        description: Set(draft.description.as_str().to_owned()),
        note: Set(draft.note.as_ref().map(|note| note.as_str().to_owned())),
        category_id: Set(draft.category_id),
        updated_at: Set(at),
        ..Default::default()
    }
}

/// Writes the plan's rows for `row`, moves the balances from `old` (the entry's previous
/// effect, if it had one; none means `row` is new and waits in `batch`) to the plan's, and
/// brings the mirrors along; all that is inserted goes in `batch`, written last.
async fn write_money(
    work: &mut UnitOfWork,
    row: &entry::Model,
    plan: &Plan,
    old: Option<&ledger::EntryEffect>,
    mut batch: Batch,
    at: DateTime<Utc>,
) -> AppResult<Vec<Changed>> {
    let txn = work.txn();
    if let Some(old) = old {
        store::delete_children(txn, row.id).await?;
        batch.move_balances(row.book_id, old.clone(), Direction::Unapply);
    }
    batch.insert_children(row.book_id, row.id, plan.clone());
    let effect = plan.effect(ledger_kind(row.kind));
    let (change, source) = match old {
        Some(_) => (EntryChange::Updated, Source::Existing),
        None => (EntryChange::Created, Source::New),
    };
    let mut changed = vec![Changed::of(row, change)];
    changed.extend(mirrors::sync(txn, row, source, &effect.allocations, &mut batch, at).await?);
    batch.move_balances(row.book_id, effect, Direction::Apply);
    batch.write(work, at).await?;
    Ok(changed)
}

/// Applies `change` to `before` and bumps its version, in one conditional UPDATE that holds
/// only while the entry is still at `expected`: otherwise CONFLICT with the current version.
async fn bump_version(
    txn: &DatabaseTransaction,
    before: &entry::Model,
    expected: i32,
    mut change: entry::ActiveModel,
) -> AppResult<entry::Model> {
    change.version = Set(expected.saturating_add(1));
    let updated = entry::Entity::update_many()
        .set(change)
        .filter(entry::Column::Id.eq(before.id))
        .filter(entry::Column::Version.eq(expected))
        .exec(txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(AppError::stale_version(before.version));
    }
    entry::Entity::find_by_id(before.id)
        .one(txn)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("entry {} vanished", before.id)))
}

/// The entry, the caller's write access to its book and the book's live seats, if the caller
/// may change it: a member (else NOT_FOUND, as for no entry), WRITER on their own entries or
/// ADMIN and up, never a mirror.
async fn editable(
    txn: &DatabaseTransaction,
    actor: &Actor,
    entry_id: Uuid,
) -> AppResult<(WriteAccess, Vec<membership::Model>, entry::Model)> {
    actor.ensure_may_write()?;
    let not_found = || AppError::NotFound { entity: "entry" };
    let found = entry::Entity::find_by_id(entry_id)
        .one(txn)
        .await?
        .ok_or_else(not_found)?;
    let (access, seats) = access::require_write_with_seats(
        txn,
        actor,
        found.book_id,
        Role::Reader,
        BookLock::Exclusive,
    )
    .await
    .map_err(access::hidden_as("entry"))?;
    // Read again under the book's lock: the first read only found the book.
    let row = entry::Entity::find_by_id(entry_id)
        .one(txn)
        .await?
        .ok_or_else(not_found)?;
    if row.source_entry_id.is_some() {
        return Err(AppError::Forbidden);
    }
    let own = row.creator_id == actor.user_id;
    let allowed = match access.role() {
        Role::Owner | Role::Admin => true,
        Role::Writer => own,
        Role::Reader => false,
    };
    if !allowed {
        return Err(AppError::Forbidden);
    }
    Ok((access, seats, row))
}

/// What planning needs to know about the (locked) book, whose live seats are `seats`.
fn book_facts(access: &WriteAccess, seats: &[membership::Model]) -> AppResult<BookFacts> {
    let book = access.book();
    let owner_seat = seats
        .iter()
        .find(|seat| seat.role == Role::Owner)
        .map(|seat| seat.id)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("book {} has no owner", book.id)))?;
    Ok(BookFacts {
        kind: book.kind,
        currency: Currency::parse(&book.currency).map_err(AppError::internal)?,
        seats: seats.iter().map(|seat| seat.id).collect(),
        writer_seat: access.member_id(),
        owner_seat,
    })
}

/// BAD_USER_INPUT unless `category_id` is a live category offered in `book_id` (a global one,
/// or the book's own).
async fn check_category(
    txn: &DatabaseTransaction,
    book_id: Uuid,
    category_id: Option<Uuid>,
) -> AppResult<()> {
    let Some(category_id) = category_id else {
        return Ok(());
    };
    let offered = category::Entity::find_by_id(category_id)
        .filter(category::Column::DeletedAt.is_null())
        .filter(
            Condition::any()
                .add(category::Column::BookId.is_null())
                .add(category::Column::BookId.eq(book_id)),
        )
        .one(txn)
        .await?;
    match offered {
        Some(_) => Ok(()),
        None => Err(AppError::bad_input(
            "categoryId",
            "no such category in this book (it may have been deleted)",
        )),
    }
}

/// The entry as the activity log shows it.
fn snapshot(row: &entry::Model, plan: &Plan) -> Value {
    describe(
        row,
        plan.payers.iter().copied(),
        plan.shares
            .iter()
            .map(|share| (share.allocation.member, share.allocation.amount)),
        Some(plan.mode),
    )
}

fn snapshot_stored(row: &entry::Model, effect: &ledger::EntryEffect) -> Value {
    describe(
        row,
        effect.payers.iter().copied(),
        effect.allocations.iter().copied(),
        None,
    )
}

fn describe(
    row: &entry::Model,
    payers: impl Iterator<Item = (Uuid, Money)>,
    shares: impl Iterator<Item = (Uuid, Money)>,
    mode: Option<entity::enums::SplitMode>,
) -> Value {
    let list = |items: Vec<(Uuid, Money)>| -> Value {
        items
            .into_iter()
            .map(|(member, amount)| json!({ "memberId": member, "amount": amount.to_string() }))
            .collect()
    };
    let mut value = row_fields(row);
    value.insert("payers".into(), list(payers.collect()));
    value.insert("shares".into(), list(shares.collect()));
    if let Some(mode) = mode {
        value.insert("splitMode".into(), json!(mode));
    }
    Value::Object(value)
}

/// An entry's own fields as JSON (amounts as exact decimal strings): what the activity log
/// and the JSON export both show of it.
pub fn row_fields(row: &entry::Model) -> serde_json::Map<String, Value> {
    let amount = |e4: i64| Money::from_e4(e4).to_string();
    let fields = json!({
        "kind": row.kind,
        "amount": amount(row.amount_e4),
        "currency": row.currency,
        "originalAmount": row.original_amount_e4.map(amount),
        "originalCurrency": row.original_currency,
        "exchangeRate": row.exchange_rate,
        "occurredOn": row.occurred_on,
        "description": row.description,
        "note": row.note,
        "categoryId": row.category_id,
    });
    match fields {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

/// The fields that differ between two snapshots: (before, after), each holding only those.
fn diff(before: &Value, after: &Value) -> (Value, Value) {
    let (mut old, mut new) = (serde_json::Map::new(), serde_json::Map::new());
    if let (Some(before), Some(after)) = (before.as_object(), after.as_object()) {
        for (field, value) in after {
            let previous = before.get(field).unwrap_or(&Value::Null);
            if previous != value && field != "splitMode" {
                old.insert(field.clone(), previous.clone());
                new.insert(field.clone(), value.clone());
            }
        }
    }
    (Value::Object(old), Value::Object(new))
}

/// The activity record of `action` on `row`, written with the change's [`Batch`].
fn record(
    access: &WriteAccess,
    action: Action,
    row: &entry::Model,
    before: Option<Value>,
    after: Option<Value>,
) -> activity_log::ActiveModel {
    activity::row(activity::Event {
        book_id: row.book_id,
        actor_id: access.actor().user_id,
        action,
        subject_id: row.id,
        before,
        after,
    })
}
