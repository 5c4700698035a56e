//! Settlement snapshots: the record of a closed period. For the entries that occurred in the
//! period, each member's paid / owed / net and the fewest payments that settle them, stored
//! once as JSON (`tally.settlement/1`) and never changed: later entries, edits and deletions
//! leave a snapshot as it was, which is the point of one. Overlapping periods are allowed; the
//! API names the snapshots a period overlaps.

use chrono::{Datelike, NaiveDate};
use entity::{enums::Role, settlement};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::{
    error::{AppError, AppResult},
    ledger::{self, Balance, Money, Transfer},
    service::{
        Actor,
        access::{self, BookAccess},
        activity::{self, Action},
        balances, now,
        unit_of_work::UnitOfWork,
    },
    state::AppState,
    text::Note,
};

/// The stored payload's format name; bump it when its shape changes.
pub const FORMAT: &str = "tally.settlement/1";
/// Longest period a snapshot may cover, in years.
pub const MAX_PERIOD_YEARS: i32 = 10;
/// Longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 1000;

/// What a snapshot holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub format: String,
    pub note: Option<String>,
    /// How many entries the period held.
    pub entry_count: usize,
    pub balances: Vec<MemberTotals>,
    pub transfers: Vec<Transfer>,
    pub optimal: bool,
}

/// One member's totals in a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberTotals {
    pub member_id: Uuid,
    pub paid: Money,
    pub owed: Money,
    pub net: Money,
}

/// Reads a stored payload.
pub fn snapshot(row: &settlement::Model) -> AppResult<Snapshot> {
    serde_json::from_value(row.payload.clone()).map_err(AppError::internal)
}

/// `createSettlement` as asked for.
pub struct Period<'a> {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub note: Option<&'a str>,
}

/// Snapshots the period (ADMIN and up).
pub async fn create(
    state: &AppState,
    actor: &Actor,
    book_id: Uuid,
    period: Period<'_>,
) -> AppResult<settlement::Model> {
    if period.end < period.start {
        return Err(AppError::bad_input(
            "periodEnd",
            "the period must not end before it starts",
        ));
    }
    let longest = period
        .start
        .with_year(period.start.year() + MAX_PERIOD_YEARS)
        .unwrap_or(NaiveDate::MAX);
    if period.end > longest {
        return Err(AppError::bad_input(
            "periodEnd",
            format!("a period covers at most {MAX_PERIOD_YEARS} years"),
        ));
    }
    let note = Note::parse_optional("note", period.note, MAX_NOTE_CHARS)?;
    let work = UnitOfWork::begin(state).await?;
    let txn = work.txn();
    let access = access::require_write(txn, actor, book_id, Role::Admin).await?;
    let effects = balances::effects(txn, book_id, Some((period.start, period.end))).await?;
    let totals = ledger::balances(&effects)?;
    let plan = ledger::settlement_plan(&ledger::net_balances(&totals))?;
    let payload = Snapshot {
        format: FORMAT.to_owned(),
        note: note.map(String::from),
        entry_count: effects.len(),
        balances: totals
            .iter()
            .map(|(&member_id, balance): (&Uuid, &Balance)| MemberTotals {
                member_id,
                paid: balance.paid,
                owed: balance.owed,
                net: balance.net,
            })
            .collect(),
        transfers: plan.transfers,
        optimal: plan.optimal,
    };
    let row = settlement::ActiveModel {
        id: Set(Uuid::now_v7()),
        book_id: Set(book_id),
        period_start: Set(period.start),
        period_end: Set(period.end),
        payload: Set(serde_json::to_value(&payload).map_err(AppError::internal)?),
        created_by: Set(actor.user_id),
        created_at: Set(now()),
    }
    .insert(txn)
    .await?;
    activity::record(
        txn,
        activity::Event {
            book_id,
            actor_id: access.actor().user_id,
            action: Action::SettlementCreated,
            subject_id: row.id,
            before: None,
            after: Some(json!({
                "periodStart": row.period_start,
                "periodEnd": row.period_end,
                "entryCount": payload.entry_count,
            })),
        },
    )
    .await?;
    work.commit(state).await?;
    Ok(row)
}

/// Up to `limit` snapshots of the book, newest first, older than `before_id` when given.
pub async fn page(
    db: &impl ConnectionTrait,
    access: &BookAccess,
    before_id: Option<Uuid>,
    limit: u64,
) -> AppResult<Vec<settlement::Model>> {
    let mut query =
        settlement::Entity::find().filter(settlement::Column::BookId.eq(access.book_id()));
    if let Some(before_id) = before_id {
        query = query.filter(settlement::Column::Id.lt(before_id));
    }
    Ok(query
        .order_by_desc(settlement::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// One snapshot, for a member of its book (NOT_FOUND otherwise, as for a missing id).
pub async fn get(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
) -> AppResult<settlement::Model> {
    let row = settlement::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound {
            entity: "settlement",
        })?;
    access::require(db, actor, row.book_id, Role::Reader)
        .await
        .map_err(access::hidden_as("settlement"))?;
    Ok(row)
}

/// The other snapshots of the same book whose periods overlap `row`'s.
pub async fn overlapping(
    db: &impl ConnectionTrait,
    row: &settlement::Model,
) -> AppResult<Vec<Uuid>> {
    Ok(settlement::Entity::find()
        .select_only()
        .column(settlement::Column::Id)
        .filter(settlement::Column::BookId.eq(row.book_id))
        .filter(settlement::Column::Id.ne(row.id))
        .filter(settlement::Column::PeriodStart.lte(row.period_end))
        .filter(settlement::Column::PeriodEnd.gte(row.period_start))
        .order_by_asc(settlement::Column::Id)
        .into_tuple()
        .all(db)
        .await?)
}
