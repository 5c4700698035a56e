//! Books: creating, renaming, archiving and listing them, and the two building blocks every way
//! into a book uses ([`insert_book`], [`add_member`]).
//!
//! Invariants kept here:
//! - a book always has exactly one OWNER membership (the database refuses a second one with
//!   `uq_memberships_one_owner`; the services never leave a book with none), and `books.owner_id`
//!   names that member;
//! - every member has a materialised balance row from the moment they join, so balance updates
//!   are plain UPDATEs; the row outlives a departure (the ledger still refers to the person) and
//!   is reused if they come back;
//! - an archived book is read-only: [`access::require_write`] refuses every write to it.

use entity::{
    book,
    enums::{BookKind, Role},
    membership,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    error::{AppError, AppResult},
    ledger::Currency,
    service::unit_of_work::UnitOfWork,
    service::{
        Actor,
        access::{self, BookAccess},
        activity::{self, Action, Event},
        now,
    },
    state::AppState,
    text::{Name, Note},
};

/// What a new book is made of, already validated (`name` a [`Name`], `description` a [`Note`]).
pub struct NewBook {
    pub name: String,
    pub description: Option<String>,
    pub kind: BookKind,
    pub currency: Currency,
}

/// The currency of a user's first, automatic personal book, and of new books by default.
pub const DEFAULT_CURRENCY: &str = "TWD";
/// Members a new book admits.
pub const DEFAULT_MEMBER_LIMIT: i32 = 50;
/// The range `memberLimit` may be set to: two people make a split book; the cap bounds the cost
/// of settling up and of fanning events out to subscribers (`ck_books_member_limit`).
pub const MEMBER_LIMIT_RANGE: std::ops::RangeInclusive<i32> = 2..=200;
/// Longest book name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1000;

/// Inserts a book owned by `owner_id`, with the owner's membership and balance row and a
/// "book created" event, inside the caller's transaction.
pub async fn insert_book(
    db: &impl ConnectionTrait,
    owner_id: Uuid,
    new: NewBook,
) -> AppResult<book::Model> {
    let at = now();
    let book = book::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(new.name),
        description: Set(new.description),
        kind: Set(new.kind),
        currency: Set(new.currency.code().to_owned()),
        owner_id: Set(owner_id),
        member_limit: Set(DEFAULT_MEMBER_LIMIT),
        archived_at: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
        balance_version: Set(0),
        live_entries: Set(0),
    }
    .insert(db)
    .await?;
    add_member(db, book.id, owner_id, Role::Owner).await?;
    activity::record(
        db,
        Event {
            book_id: book.id,
            actor_id: owner_id,
            action: Action::BookCreated,
            subject_id: book.id,
            before: None,
            after: Some(snapshot(&book)),
        },
    )
    .await?;
    Ok(book)
}

/// Gives `user_id` a new seat in `book_id` with `role`, inside the caller's transaction.
/// Limits and duplicates are the caller's to check first. (Its balance row appears with the
/// first entry that names the seat.)
pub async fn add_member(
    db: &impl ConnectionTrait,
    book_id: Uuid,
    user_id: Uuid,
    role: Role,
) -> AppResult<membership::Model> {
    let at = now();
    Ok(membership::ActiveModel {
        id: Set(Uuid::now_v7()),
        book_id: Set(book_id),
        user_id: Set(Some(user_id)),
        role: Set(role),
        guest_name_ciphertext: Set(None),
        guest_name_key_id: Set(None),
        guest_name_index: Set(None),
        joined_at: Set(at),
        updated_at: Set(at),
        removed_at: Set(None),
    }
    .insert(db)
    .await?)
}

/// `createBook` as typed by the client.
pub struct BookInput<'a> {
    pub name: &'a str,
    pub kind: BookKind,
    pub currency: &'a str,
    pub description: Option<&'a str>,
}

/// Creates a book owned by the actor.
pub async fn create_book(
    state: &AppState,
    actor: &Actor,
    input: BookInput<'_>,
) -> AppResult<book::Model> {
    actor.ensure_may_write()?;
    let new = NewBook {
        name: Name::parse("name", input.name, MAX_NAME_CHARS)?.into(),
        description: parse_description(input.description)?,
        kind: input.kind,
        currency: Currency::parse(input.currency)
            .map_err(|_| AppError::bad_input("currency", "not an ISO 4217 currency code"))?,
    };
    let work = UnitOfWork::begin(state).await?;
    let txn = work.txn();
    let book = insert_book(txn, actor.user_id, new).await?;
    work.commit(state).await?;
    Ok(book)
}

/// `updateBook`: each field left `None` stays as it is.
#[derive(Default)]
pub struct BookChanges<'a> {
    pub name: Option<&'a str>,
    /// `Some(None)` clears the description.
    pub description: Option<Option<&'a str>>,
    pub member_limit: Option<i32>,
}

/// Renames the book, changes its description or member limit (OWNER).
pub async fn update_book(
    state: &AppState,
    actor: &Actor,
    book_id: Uuid,
    changes: BookChanges<'_>,
) -> AppResult<book::Model> {
    let work = UnitOfWork::begin(state).await?;
    let txn = work.txn();
    let access = access::require_write(txn, actor, book_id, Role::Owner).await?;
    let before = access.book().clone();
    let mut active: book::ActiveModel = before.clone().into();
    if let Some(name) = changes.name {
        active.name = Set(Name::parse("name", name, MAX_NAME_CHARS)?.into());
    }
    if let Some(description) = changes.description {
        active.description = Set(parse_description(description)?);
    }
    if let Some(limit) = changes.member_limit {
        if !MEMBER_LIMIT_RANGE.contains(&limit) {
            return Err(AppError::bad_input(
                "memberLimit",
                format!(
                    "must be between {} and {}",
                    MEMBER_LIMIT_RANGE.start(),
                    MEMBER_LIMIT_RANGE.end()
                ),
            ));
        }
        // The roster cannot change under us: require_write holds the book row lock.
        let members = member_count(txn, book_id).await?;
        if u64::try_from(limit).unwrap_or(0) < members {
            return Err(AppError::bad_input(
                "memberLimit",
                format!("the book already has {members} members"),
            ));
        }
        active.member_limit = Set(limit);
    }
    if !active.is_changed() {
        work.commit(state).await?;
        return Ok(before);
    }
    active.updated_at = Set(now());
    let after = update_recorded(txn, actor, &before, active, Action::BookUpdated).await?;
    work.commit(state).await?;
    Ok(after)
}

/// Archives the book (OWNER): it stays readable by its members and is hidden from `books`
/// unless asked for, and every write to it is refused from now on.
pub async fn archive_book(
    state: &AppState,
    actor: &Actor,
    book_id: Uuid,
) -> AppResult<book::Model> {
    let work = UnitOfWork::begin(state).await?;
    let txn = work.txn();
    let access = access::require_write(txn, actor, book_id, Role::Owner).await?;
    let before = access.book().clone();
    let at = now();
    let mut active: book::ActiveModel = before.clone().into();
    active.archived_at = Set(Some(at));
    active.updated_at = Set(at);
    let after = update_recorded(txn, actor, &before, active, Action::BookArchived).await?;
    work.commit(state).await?;
    Ok(after)
}

/// Writes a change to a book and records `action` with the before/after snapshots, in the
/// caller's transaction, so the log never disagrees with the row.
async fn update_recorded(
    txn: &DatabaseTransaction,
    actor: &Actor,
    before: &book::Model,
    active: book::ActiveModel,
    action: Action,
) -> AppResult<book::Model> {
    let after = active.update(txn).await?;
    activity::record(
        txn,
        Event {
            book_id: before.id,
            actor_id: actor.user_id,
            action,
            subject_id: before.id,
            before: Some(snapshot(before)),
            after: Some(snapshot(&after)),
        },
    )
    .await?;
    Ok(after)
}

/// One book of the actor's, with the actor's role in it.
pub async fn get_book(
    db: &DatabaseConnection,
    actor: &Actor,
    book_id: Uuid,
) -> AppResult<BookAccess> {
    access::require(db, actor, book_id, Role::Reader).await
}

/// Which of the actor's books `books` lists.
#[derive(Default)]
pub struct BookFilter {
    pub kind: Option<BookKind>,
    pub include_archived: bool,
}

/// Up to `limit` of the actor's books with the actor's access to each, oldest first, after the
/// book `after_id` when given.
pub async fn list_books(
    db: &DatabaseConnection,
    actor: &Actor,
    filter: BookFilter,
    after_id: Option<Uuid>,
    limit: u64,
) -> AppResult<Vec<BookAccess>> {
    access::each_membership(db, actor, |mut query| {
        if let Some(kind) = filter.kind {
            query = query.filter(book::Column::Kind.eq(kind));
        }
        if !filter.include_archived {
            query = query.filter(book::Column::ArchivedAt.is_null());
        }
        if let Some(after_id) = after_id {
            query = query.filter(book::Column::Id.gt(after_id));
        }
        // v7 ids sort by creation time, and are unique: a stable keyset for paging.
        query.order_by_asc(book::Column::Id).limit(limit)
    })
    .await
}

/// How many live seats (users and guests) the book has.
pub async fn member_count(db: &impl ConnectionTrait, book_id: Uuid) -> AppResult<u64> {
    Ok(membership::Entity::find()
        .filter(membership::Column::BookId.eq(book_id))
        .filter(membership::Column::RemovedAt.is_null())
        .count(db)
        .await?)
}

/// The fields of a book an activity event shows before and after a change.
fn snapshot(book: &book::Model) -> Value {
    json!({
        "name": book.name,
        "description": book.description,
        "kind": book.kind,
        "currency": book.currency,
        "memberLimit": book.member_limit,
        "archivedAt": book.archived_at,
    })
}

/// A description is a [`Note`], not a [`Name`]: it is a paragraph about the book shown on its
/// own, never inside another line, so it may keep line breaks and tabs. Blank means none.
fn parse_description(input: Option<&str>) -> AppResult<Option<String>> {
    Ok(Note::parse_optional("description", input, MAX_DESCRIPTION_CHARS)?.map(String::from))
}
