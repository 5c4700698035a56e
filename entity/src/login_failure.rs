//! `login_failures`: one row per failed login, under a keyed hash of the email and another of
//! the client address, so every instance throttles from the same counts. Pruned by age.

use sea_orm::entity::prelude::*;

#[sea_orm::compact_model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_failures")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// HMAC-SHA256 of the email or of the client address (32 bytes).
    #[sea_orm(column_type = "Blob")]
    pub subject: Vec<u8>,
    pub occurred_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
