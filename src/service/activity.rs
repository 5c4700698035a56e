//! The activity log: an append-only record of who did what in a book, with the subject's state
//! before and after as JSON.
//!
//! Events are written by the service that makes the change, in the same transaction, so the log
//! never mentions a change that was rolled back and never misses one that committed. Members
//! (READER and up) read it newest first. Rows older than the retention period
//! (`TALLY_ACTIVITY_RETENTION_DAYS`, 90 by default) are deleted by [`prune`], which the
//! hourly [`housekeeping`](crate::service::housekeeping) sweep runs.

use chrono::{DateTime, Utc};
use entity::activity_log;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    error::AppResult,
    service::{access::BookAccess, now},
};

/// What happened. Stored as its [`Action::as_str`] text, the value clients see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    BookCreated,
    BookUpdated,
    BookArchived,
    MemberJoined,
    MemberLeft,
    MemberRemoved,
    MemberRoleChanged,
    OwnershipTransferred,
    GuestAdded,
    GuestClaimed,
    EntryCreated,
    EntryUpdated,
    EntryDeleted,
    EntryRestored,
    PaymentRecorded,
    PaymentDeleted,
    SettlementCreated,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BookCreated => "book.created",
            Self::BookUpdated => "book.updated",
            Self::BookArchived => "book.archived",
            Self::MemberJoined => "member.joined",
            Self::MemberLeft => "member.left",
            Self::MemberRemoved => "member.removed",
            Self::MemberRoleChanged => "member.role_changed",
            Self::OwnershipTransferred => "member.ownership_transferred",
            Self::GuestAdded => "member.guest_added",
            Self::GuestClaimed => "member.guest_claimed",
            Self::EntryCreated => "entry.created",
            Self::EntryUpdated => "entry.updated",
            Self::EntryDeleted => "entry.deleted",
            Self::EntryRestored => "entry.restored",
            Self::PaymentRecorded => "payment.recorded",
            Self::PaymentDeleted => "payment.deleted",
            Self::SettlementCreated => "settlement.created",
        }
    }

    /// What the subject id names: the book itself, an entry, or the member whose seat changed
    /// (by user id for a user's seat, by seat id for a guest's).
    fn subject_type(self) -> &'static str {
        match self {
            Self::BookCreated | Self::BookUpdated | Self::BookArchived => "book",
            Self::MemberJoined
            | Self::MemberLeft
            | Self::MemberRemoved
            | Self::MemberRoleChanged
            | Self::OwnershipTransferred
            | Self::GuestAdded
            | Self::GuestClaimed => "member",
            Self::EntryCreated
            | Self::EntryUpdated
            | Self::EntryDeleted
            | Self::EntryRestored
            | Self::PaymentRecorded
            | Self::PaymentDeleted => "entry",
            Self::SettlementCreated => "settlement",
        }
    }
}

/// One thing that happened in a book.
pub struct Event {
    pub book_id: Uuid,
    pub actor_id: Uuid,
    pub action: Action,
    pub subject_id: Uuid,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// Appends `event`, inside the caller's transaction.
pub async fn record(db: &impl ConnectionTrait, event: Event) -> AppResult<()> {
    // Nothing is read back: the log is written once and only ever read by the feed.
    activity_log::Entity::insert(row(event))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The log's row for `event`, for a writer that sends it with others.
pub fn row(event: Event) -> activity_log::ActiveModel {
    activity_log::ActiveModel {
        // v7 ids sort by creation time; the feed pages on them.
        id: Set(Uuid::now_v7()),
        book_id: Set(event.book_id),
        actor_id: Set(Some(event.actor_id)),
        action: Set(event.action.as_str().to_owned()),
        subject_type: Set(event.action.subject_type().to_owned()),
        subject_id: Set(Some(event.subject_id)),
        before: Set(event.before),
        after: Set(event.after),
        created_at: Set(now()),
    }
}

/// Up to `limit` events of the book, newest first, strictly older than `before_id` when given.
pub async fn page(
    db: &impl ConnectionTrait,
    access: &BookAccess,
    before_id: Option<Uuid>,
    limit: u64,
) -> AppResult<Vec<activity_log::Model>> {
    let mut query =
        activity_log::Entity::find().filter(activity_log::Column::BookId.eq(access.book_id()));
    if let Some(before_id) = before_id {
        query = query.filter(activity_log::Column::Id.lt(before_id));
    }
    Ok(query
        .order_by_desc(activity_log::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Deletes every event recorded before `cutoff`; returns how many went.
pub async fn prune(db: &impl ConnectionTrait, cutoff: DateTime<Utc>) -> AppResult<u64> {
    let deleted = activity_log::Entity::delete_many()
        .filter(activity_log::Column::CreatedAt.lt(cutoff))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected)
}
