//! The activity log in the API: `Book.activity` pages through `ActivityEntry` values, newest
//! first (see [`crate::service::activity`] for what is recorded and for how long).

use async_graphql::{Context, ID, Json, Object};
use chrono::{DateTime, Utc};
use entity::activity_log;

use crate::graphql::{accounts::User, loaders::user};

/// Something that happened in a book.
pub struct ActivityEntry(pub activity_log::Model);

#[Object]
impl ActivityEntry {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// What happened: `book.created`, `book.updated`, `book.archived`, `member.joined`,
    /// `member.left`, `member.removed`, `member.role_changed`,
    /// `member.ownership_transferred`, `member.guest_added`, `member.guest_claimed`,
    /// `entry.created`, `entry.updated` (only the changed fields, before and after),
    /// `entry.deleted`, `entry.restored`.
    async fn action(&self) -> &str {
        &self.0.action
    }

    /// What `subjectId` names: `book`, `entry`, or `member` (a user id; a guest's seat id).
    async fn subject_type(&self) -> &str {
        &self.0.subject_type
    }

    async fn subject_id(&self) -> Option<ID> {
        self.0.subject_id.map(|id| ID(id.to_string()))
    }

    /// Who did it; null once their account is gone.
    async fn actor(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(actor_id) = self.0.actor_id else {
            return Ok(None);
        };
        user(ctx, actor_id).await
    }

    /// The subject's state before, when it had one.
    async fn before(&self) -> Option<Json<&serde_json::Value>> {
        self.0.before.as_ref().map(Json)
    }

    /// The subject's state after, unless it is gone.
    async fn after(&self) -> Option<Json<&serde_json::Value>> {
        self.0.after.as_ref().map(Json)
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
