//! Reading entries: one entry for a member, a book's entries page by page with filters and an
//! order, and the batched lookups the API's loaders make (payers, shares, splits, mirrors of
//! many entries in one statement each).
//!
//! Pages are keyset pages: the cursor holds the last row's sort key and id, so a page costs
//! the same at the millionth row as at the first, and rows written meanwhile never shift it.

use std::collections::HashMap;

use chrono::NaiveDate;
use entity::{allocation, entry, entry_payer, enums::EntryKind, enums::Role, split};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
    sea_query::{Expr, ExprTrait, Func, LikeExpr, Query},
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    error::{AppError, AppResult},
    service::{
        Actor,
        access::{self, BookAccess},
    },
};

/// How a page of entries is ordered. Ties are broken by id (creation order) in the same
/// direction, so every order is total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    #[default]
    OccurredOnDesc,
    OccurredOnAsc,
    AmountDesc,
    AmountAsc,
    CreatedAtDesc,
}

/// Where a page resumes: the last row's sort key and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryCursor {
    #[serde(rename = "k")]
    key: SortKey,
    #[serde(rename = "i")]
    id: Uuid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum SortKey {
    #[serde(rename = "d")]
    Date(NaiveDate),
    #[serde(rename = "a")]
    Amount(i64),
    #[serde(rename = "c")]
    Created,
}

impl Order {
    /// The cursor pointing just past `row` in this order.
    pub fn cursor(self, row: &entry::Model) -> EntryCursor {
        let key = match self {
            Order::OccurredOnDesc | Order::OccurredOnAsc => SortKey::Date(row.occurred_on),
            Order::AmountDesc | Order::AmountAsc => SortKey::Amount(row.amount_e4),
            Order::CreatedAtDesc => SortKey::Created,
        };
        EntryCursor { key, id: row.id }
    }

    fn descending(self) -> bool {
        matches!(
            self,
            Order::OccurredOnDesc | Order::AmountDesc | Order::CreatedAtDesc
        )
    }

    fn apply(self, query: Select<entry::Entity>) -> Select<entry::Entity> {
        let column = match self {
            Order::OccurredOnDesc | Order::OccurredOnAsc => Some(entry::Column::OccurredOn),
            Order::AmountDesc | Order::AmountAsc => Some(entry::Column::AmountE4),
            Order::CreatedAtDesc => None,
        };
        let order = if self.descending() {
            sea_orm::Order::Desc
        } else {
            sea_orm::Order::Asc
        };
        let query = match column {
            Some(column) => query.order_by(column, order.clone()),
            None => query,
        };
        query.order_by(entry::Column::Id, order)
    }

    /// Rows strictly after `cursor` in this order; BAD_USER_INPUT for a cursor of another order.
    fn after(self, cursor: EntryCursor) -> AppResult<Condition> {
        let id_after = |id: Uuid| {
            if self.descending() {
                entry::Column::Id.lt(id)
            } else {
                entry::Column::Id.gt(id)
            }
        };
        let keyed = |column: entry::Column, value: sea_orm::Value| {
            let beyond = if self.descending() {
                Expr::col(column).lt(value.clone())
            } else {
                Expr::col(column).gt(value.clone())
            };
            Condition::any().add(beyond).add(
                Condition::all()
                    .add(Expr::col(column).eq(value))
                    .add(id_after(cursor.id)),
            )
        };
        match (self, cursor.key) {
            (Order::OccurredOnDesc | Order::OccurredOnAsc, SortKey::Date(date)) => {
                Ok(keyed(entry::Column::OccurredOn, date.into()))
            }
            (Order::AmountDesc | Order::AmountAsc, SortKey::Amount(amount)) => {
                Ok(keyed(entry::Column::AmountE4, amount.into()))
            }
            (Order::CreatedAtDesc, SortKey::Created) => {
                Ok(Condition::all().add(id_after(cursor.id)))
            }
            _ => Err(AppError::bad_input(
                "after",
                "this cursor belongs to another order; start again without it",
            )),
        }
    }
}

/// Which entries a page shows.
#[derive(Debug, Clone, Default)]
pub struct EntryFilter {
    /// Occurred on or after.
    pub from: Option<NaiveDate>,
    /// Occurred on or before.
    pub to: Option<NaiveDate>,
    pub category_id: Option<Uuid>,
    /// Entries this seat paid or shares.
    pub member_id: Option<Uuid>,
    pub kind: Option<EntryKind>,
    /// Case-insensitive substring of the description.
    pub text: Option<String>,
    pub include_deleted: bool,
}

impl EntryFilter {
    /// Whether the filter lets every live entry through, and only those: the default.
    fn is_every_live_entry(&self) -> bool {
        let Self {
            from,
            to,
            category_id,
            member_id,
            kind,
            text,
            include_deleted,
        } = self;
        from.is_none()
            && to.is_none()
            && category_id.is_none()
            && member_id.is_none()
            && kind.is_none()
            && text.is_none()
            && !include_deleted
    }

    fn condition(&self, book_id: Uuid) -> Condition {
        let mut condition = Condition::all().add(entry::Column::BookId.eq(book_id));
        if !self.include_deleted {
            condition = condition.add(entry::Column::DeletedAt.is_null());
        }
        if let Some(from) = self.from {
            condition = condition.add(entry::Column::OccurredOn.gte(from));
        }
        if let Some(to) = self.to {
            condition = condition.add(entry::Column::OccurredOn.lte(to));
        }
        if let Some(category_id) = self.category_id {
            condition = condition.add(entry::Column::CategoryId.eq(category_id));
        }
        if let Some(kind) = self.kind {
            condition = condition.add(entry::Column::Kind.eq(kind));
        }
        if let Some(member_id) = self.member_id {
            let paid = Query::select()
                .column(entry_payer::Column::EntryId)
                .from(entry_payer::Entity)
                .and_where(entry_payer::Column::MemberId.eq(member_id))
                .to_owned();
            let shares = Query::select()
                .column(allocation::Column::EntryId)
                .from(allocation::Entity)
                .and_where(allocation::Column::MemberId.eq(member_id))
                .to_owned();
            condition = condition.add(
                Condition::any()
                    .add(entry::Column::Id.in_subquery(paid))
                    .add(entry::Column::Id.in_subquery(shares)),
            );
        }
        if let Some(text) = &self.text {
            // LIKE's wildcards in the text are matched literally.
            let escaped = text
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            let pattern = LikeExpr::new(format!("%{escaped}%")).escape('\\');
            condition = condition
                .add(Expr::expr(Func::lower(Expr::col(entry::Column::Description))).like(pattern));
        }
        condition
    }
}

/// Up to `limit` entries of the book, in `order`, after `after` when given.
pub async fn page(
    db: &impl ConnectionTrait,
    access: &BookAccess,
    filter: &EntryFilter,
    order: Order,
    after: Option<EntryCursor>,
    limit: u64,
) -> AppResult<Vec<entry::Model>> {
    let mut query = entry::Entity::find().filter(filter.condition(access.book_id()));
    if let Some(cursor) = after {
        query = query.filter(order.after(cursor)?);
    }
    Ok(order.apply(query).limit(limit).all(db).await?)
}

/// How many entries of the book the filter lets through. All its live entries, the default,
/// are counted by the writes (`books.live_entries`, read with the book): a count that costs
/// the same at 100 and at 100,000 entries; any other filter counts through the indexes.
pub async fn count(
    db: &impl ConnectionTrait,
    access: &BookAccess,
    filter: &EntryFilter,
) -> AppResult<u64> {
    if filter.is_every_live_entry() {
        return u64::try_from(access.book().live_entries).map_err(|_| {
            AppError::internal(anyhow::anyhow!(
                "book {} counts {} live entries",
                access.book_id(),
                access.book().live_entries
            ))
        });
    }
    Ok(entry::Entity::find()
        .filter(filter.condition(access.book_id()))
        .count(db)
        .await?)
}

/// One entry and the caller's access to its book; NOT_FOUND for a non-member, exactly as for
/// an id that does not exist.
pub async fn get(
    db: &impl ConnectionTrait,
    actor: &Actor,
    entry_id: Uuid,
) -> AppResult<(BookAccess, entry::Model)> {
    let row = entry::Entity::find_by_id(entry_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound { entity: "entry" })?;
    let access = access::require(db, actor, row.book_id, Role::Reader)
        .await
        .map_err(access::hidden_as("entry"))?;
    Ok((access, row))
}

/// The live entries of `book_id` in which `seat` has a share.
pub async fn shared_by(
    db: &impl ConnectionTrait,
    book_id: Uuid,
    seat: Uuid,
) -> AppResult<Vec<entry::Model>> {
    let shares = Query::select()
        .column(allocation::Column::EntryId)
        .from(allocation::Entity)
        .and_where(allocation::Column::MemberId.eq(seat))
        .to_owned();
    Ok(entry::Entity::find()
        .filter(entry::Column::BookId.eq(book_id))
        .filter(entry::Column::DeletedAt.is_null())
        .filter(entry::Column::Id.in_subquery(shares))
        .order_by_asc(entry::Column::Id)
        .all(db)
        .await?)
}

/// The payers of each of `entry_ids`, in one statement.
pub async fn payers_of(
    db: &impl ConnectionTrait,
    entry_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<entry_payer::Model>>> {
    let rows = entry_payer::Entity::find()
        .filter(entry_payer::Column::EntryId.is_in(entry_ids.iter().copied()))
        .order_by_asc(entry_payer::Column::Id)
        .all(db)
        .await?;
    Ok(group(rows, |row| row.entry_id))
}

/// The allocations of each of `entry_ids`, in one statement.
pub async fn shares_of(
    db: &impl ConnectionTrait,
    entry_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<allocation::Model>>> {
    let rows = allocation::Entity::find()
        .filter(allocation::Column::EntryId.is_in(entry_ids.iter().copied()))
        .order_by_asc(allocation::Column::Id)
        .all(db)
        .await?;
    Ok(group(rows, |row| row.entry_id))
}

/// The split of each of `entry_ids`, in one statement.
pub async fn splits_of(
    db: &impl ConnectionTrait,
    entry_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, split::Model>> {
    let rows = split::Entity::find()
        .filter(split::Column::EntryId.is_in(entry_ids.iter().copied()))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|row| (row.entry_id, row)).collect())
}

/// The live mirrors of each of `entry_ids`, in one statement.
pub async fn mirrors_of(
    db: &impl ConnectionTrait,
    entry_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<entry::Model>>> {
    let rows = entry::Entity::find()
        .filter(entry::Column::SourceEntryId.is_in(entry_ids.iter().copied()))
        .filter(entry::Column::DeletedAt.is_null())
        .order_by_asc(entry::Column::Id)
        .all(db)
        .await?;
    Ok(group(rows, |row| row.source_entry_id.unwrap_or_default()))
}

fn group<T>(rows: Vec<T>, key: impl Fn(&T) -> Uuid) -> HashMap<Uuid, Vec<T>> {
    let mut grouped: HashMap<Uuid, Vec<T>> = HashMap::new();
    for row in rows {
        grouped.entry(key(&row)).or_default().push(row);
    }
    grouped
}
