//! `idempotency_keys`: a mutation sent with an idempotency key, so a retry returns what the
//! first request created instead of writing twice. Keyed per user, operation and key; the
//! request hash catches a key reused for a different request. Pruned after 24 hours.

use sea_orm::entity::prelude::*;

#[sea_orm::compact_model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    /// The mutation's name, e.g. `createEntry`.
    #[sea_orm(column_type = "Text")]
    pub operation: String,
    /// The client's key, 1 to 255 characters.
    #[sea_orm(column_type = "Text")]
    pub key: String,
    /// SHA-256 of the canonical request (32 bytes).
    #[sea_orm(column_type = "Blob")]
    pub request_hash: Vec<u8>,
    /// The id of what the first request created.
    pub result_id: Uuid,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id",
        on_delete = "Cascade"
    )]
    User,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
