//! `refresh_tokens`: one row per issued refresh token, stored only as a hash. Tokens rotate on
//! use; all tokens descended from one login share a `family_id`, so reuse of a rotated token
//! can revoke the whole family.

use sea_orm::entity::prelude::*;

#[sea_orm::compact_model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refresh_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub family_id: Uuid,
    /// SHA-256 of the token (32 bytes); unique.
    #[sea_orm(column_type = "Blob", unique)]
    pub token_hash: Vec<u8>,
    /// When this token stops working: the earlier of its own lifetime and its family's end.
    pub expires_at: DateTimeUtc,
    /// The absolute end of the login session; no rotation goes past it. `None` only on rows
    /// written before sessions had an end (they get one at their next rotation).
    pub family_expires_at: Option<DateTimeUtc>,
    /// Set when this token was exchanged for its successor.
    pub rotated_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
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
