//! `throttle_counters`: one row per throttled subject (a keyed hash of an email, a client
//! address or a user), holding how many attempts its current window has taken. Written only by
//! one atomic upsert that decides and records an attempt together; pruned once the window ends.

use sea_orm::entity::prelude::*;

#[sea_orm::compact_model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "throttle_counters")]
pub struct Model {
    /// HMAC-SHA256 of the subject (32 bytes); raw emails and addresses never reach the table.
    #[sea_orm(primary_key, auto_increment = false, column_type = "Blob")]
    pub subject: Vec<u8>,
    /// When the current window began, in milliseconds since the Unix epoch.
    pub window_started_ms: i64,
    /// Attempts taken in the current window (failures, and attempts still being evaluated).
    pub attempts: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
