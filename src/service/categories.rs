//! Categories: the global defaults (seeded by a migration, read-only) plus each book's own,
//! managed by its ADMINs and OWNER.
//!
//! Deleting a book's category only stamps `deleted_at`: entries that use it keep pointing at
//! it (and keep showing it), while lists and new entries no longer offer it. A live name is
//! unique within a book, counting the global names the book also shows
//! (`uq_categories_book_name` backs the book's own names; a soft-deleted name is free again).

use std::collections::HashMap;

use entity::{category, enums::Role};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait,
    QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use crate::{
    error::{AppError, AppResult},
    service::unit_of_work::UnitOfWork,
    service::{
        Actor,
        access::{self, WriteAccess},
        now,
    },
    state::AppState,
    text::Name,
};

/// Longest category name, in characters.
pub const MAX_NAME_CHARS: usize = 50;
/// Longest icon name, in characters.
pub const MAX_ICON_CHARS: usize = 50;

/// The categories each of `book_ids` offers: the live global ones, then the book's live own
/// ones, each sorted by name, in one statement. For per-request loaders: the caller must already
/// have authorized the reader for every one of these books.
pub async fn offered(
    db: &impl ConnectionTrait,
    book_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<category::Model>>> {
    let rows = category::Entity::find()
        .filter(category::Column::DeletedAt.is_null())
        .filter(
            Condition::any()
                .add(category::Column::BookId.is_null())
                .add(category::Column::BookId.is_in(book_ids.iter().copied())),
        )
        .order_by_asc(category::Column::Name)
        .order_by_asc(category::Column::Id)
        .all(db)
        .await?;
    let (global, own): (Vec<_>, Vec<_>) = rows.into_iter().partition(|row| row.book_id.is_none());
    let mut by_book: HashMap<Uuid, Vec<category::Model>> = book_ids
        .iter()
        .map(|book_id| (*book_id, global.clone()))
        .collect();
    for row in own {
        if let Some(list) = row.book_id.and_then(|book_id| by_book.get_mut(&book_id)) {
            list.push(row);
        }
    }
    Ok(by_book)
}

/// `createCategory` as typed by the client.
pub struct CategoryInput<'a> {
    pub name: &'a str,
    pub color: Option<&'a str>,
    pub icon: Option<&'a str>,
}

/// Creates a category of `book_id` (ADMIN and up).
pub async fn create(
    state: &AppState,
    actor: &Actor,
    book_id: Uuid,
    input: CategoryInput<'_>,
) -> AppResult<category::Model> {
    let work = UnitOfWork::begin(state).await?;
    let txn = work.txn();
    let access = access::require_write(txn, actor, book_id, Role::Admin).await?;
    let name = Name::parse("name", input.name, MAX_NAME_CHARS)?;
    ensure_name_free(txn, &access, &name, None).await?;
    let at = now();
    let row = category::ActiveModel {
        id: Set(Uuid::now_v7()),
        book_id: Set(Some(book_id)),
        name: Set(name.into()),
        color: Set(parse_color(input.color)?),
        icon: Set(parse_icon(input.icon)?),
        deleted_at: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(txn)
    .await
    .map_err(name_taken_on_race)?;
    work.commit(state).await?;
    Ok(row)
}

/// `updateCategory`: each field left `None` stays as it is; `Some(None)` clears it.
#[derive(Default)]
pub struct CategoryChanges<'a> {
    pub name: Option<&'a str>,
    pub color: Option<Option<&'a str>>,
    pub icon: Option<Option<&'a str>>,
}

/// Changes one of a book's categories (ADMIN and up). Global categories are read-only.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    category_id: Uuid,
    changes: CategoryChanges<'_>,
) -> AppResult<category::Model> {
    let work = UnitOfWork::begin(state).await?;
    let txn = work.txn();
    let (row, access) = load_for_write(txn, actor, category_id).await?;
    let mut active: category::ActiveModel = row.clone().into();
    if let Some(name) = changes.name {
        let name = Name::parse("name", name, MAX_NAME_CHARS)?;
        if name.as_str() != row.name {
            ensure_name_free(txn, &access, &name, Some(row.id)).await?;
            active.name = Set(name.into());
        }
    }
    if let Some(color) = changes.color {
        active.color = Set(parse_color(color)?);
    }
    if let Some(icon) = changes.icon {
        active.icon = Set(parse_icon(icon)?);
    }
    if !active.is_changed() {
        work.commit(state).await?;
        return Ok(row);
    }
    active.updated_at = Set(now());
    let row = active.update(txn).await.map_err(name_taken_on_race)?;
    work.commit(state).await?;
    Ok(row)
}

/// Soft-deletes one of a book's categories (ADMIN and up); entries keep it.
pub async fn delete(
    state: &AppState,
    actor: &Actor,
    category_id: Uuid,
) -> AppResult<category::Model> {
    let work = UnitOfWork::begin(state).await?;
    let txn = work.txn();
    let (row, _) = load_for_write(txn, actor, category_id).await?;
    let at = now();
    let mut active: category::ActiveModel = row.into();
    active.deleted_at = Set(Some(at));
    active.updated_at = Set(at);
    let row = active.update(txn).await?;
    work.commit(state).await?;
    Ok(row)
}

/// A live category and the write access to its book. Someone outside the book gets the same
/// NOT_FOUND as for a category that does not exist; a global category is FORBIDDEN to change.
async fn load_for_write(
    txn: &DatabaseTransaction,
    actor: &Actor,
    category_id: Uuid,
) -> AppResult<(category::Model, WriteAccess)> {
    let row = category::Entity::find_by_id(category_id)
        .filter(category::Column::DeletedAt.is_null())
        .one(txn)
        .await?
        .ok_or(AppError::NotFound { entity: "category" })?;
    let Some(book_id) = row.book_id else {
        return Err(AppError::Forbidden);
    };
    let access = access::require_write(txn, actor, book_id, Role::Admin)
        .await
        .map_err(access::hidden_as("category"))?;
    Ok((row, access))
}

/// CONFLICT if `name` is already a live category of the book or a live global one.
async fn ensure_name_free(
    txn: &DatabaseTransaction,
    access: &WriteAccess,
    name: &Name,
    except: Option<Uuid>,
) -> AppResult<()> {
    let mut query = category::Entity::find()
        .filter(category::Column::Name.eq(name.as_str()))
        .filter(category::Column::DeletedAt.is_null())
        .filter(
            Condition::any()
                .add(category::Column::BookId.is_null())
                .add(category::Column::BookId.eq(access.book_id())),
        );
    if let Some(id) = except {
        query = query.filter(category::Column::Id.ne(id));
    }
    if query.one(txn).await?.is_some() {
        return Err(name_taken());
    }
    Ok(())
}

fn name_taken() -> AppError {
    AppError::conflict("this book already has a category with that name")
}

/// The unique index catches what the check above cannot: a concurrent insert of the same name.
fn name_taken_on_race(error: sea_orm::DbErr) -> AppError {
    AppError::unique_violation_or(error, "uq_categories_book_name", name_taken)
}

/// An icon name: a key into the client's icon set, so a one-line [`Name`] like any other name
/// (it ends up in markup and lists as well). Blank means none.
fn parse_icon(input: Option<&str>) -> AppResult<Option<String>> {
    Ok(Name::parse_optional("icon", input, MAX_ICON_CHARS)?.map(String::from))
}

/// A colour as `#RRGGBB` (stored upper-case); blank means none.
fn parse_color(input: Option<&str>) -> AppResult<Option<String>> {
    let Some(color) = input.map(str::trim).filter(|color| !color.is_empty()) else {
        return Ok(None);
    };
    let well_formed = color.len() == 7
        && color.starts_with('#')
        && color[1..].bytes().all(|b| b.is_ascii_hexdigit());
    if !well_formed {
        return Err(AppError::bad_input("color", "use the form #RRGGBB"));
    }
    Ok(Some(color.to_ascii_uppercase()))
}
