//! `invites`: a way into a book, by short code or by link. The link token is stored only as a
//! hash; an invite never grants `OWNER`, and stops working when expired, revoked or used up.

use sea_orm::entity::prelude::*;

use crate::enums::Role;

#[sea_orm::compact_model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invites")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub book_id: Uuid,
    /// Eight characters, typed by hand; unique.
    #[sea_orm(column_type = "Text", unique)]
    pub code: String,
    /// SHA-256 of the link token (32 bytes); unique.
    #[sea_orm(column_type = "Blob", unique)]
    pub token_hash: Vec<u8>,
    /// The role a joiner gets; never `Role::Owner`.
    pub role: Role,
    pub created_by: Uuid,
    pub expires_at: DateTimeUtc,
    /// `None`: unlimited.
    pub max_uses: Option<i32>,
    #[sea_orm(default_value = 0)]
    pub use_count: i32,
    pub revoked_at: Option<DateTimeUtc>,
    /// The guest seat (`memberships.id`) this invite hands over, if it is one: its redeemer
    /// takes the seat, with its history and balance, instead of a new one.
    pub member_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::book::Entity",
        from = "Column::BookId",
        to = "super::book::Column::Id",
        on_delete = "Cascade"
    )]
    Book,
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::CreatedBy",
        to = "super::user::Column::Id",
        on_delete = "Cascade"
    )]
    Creator,
}

impl Related<super::book::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Book.def()
    }
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Creator.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
