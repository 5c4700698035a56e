//! `access_tokens`: personal access tokens for scripts and dashboards, stored only as a hash
//! plus a visible prefix the owner can recognise.

use sea_orm::entity::prelude::*;

use crate::enums::TokenScope;

#[sea_orm::compact_model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "access_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub name: String,
    pub scope: TokenScope,
    /// The first characters of the token, shown in listings.
    #[sea_orm(column_type = "Text")]
    pub prefix: String,
    /// SHA-256 of the token (32 bytes); unique.
    #[sea_orm(column_type = "Blob", unique)]
    pub token_hash: Vec<u8>,
    /// `None`: never expires.
    pub expires_at: Option<DateTimeUtc>,
    pub last_used_at: Option<DateTimeUtc>,
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
