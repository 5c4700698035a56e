//! `member_balances`: each member's running totals in a book, materialised so balances are a
//! lookup, not a scan. Written in the same transaction as the entry that changes them.
//! `net_e4 = paid_e4 - owed_e4` is a CHECK constraint; the nets of a book sum to zero.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[sea_orm::compact_model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "member_balances")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub book_id: Uuid,
    pub user_id: Uuid,
    /// Σ what the member paid, ten-thousandths.
    #[sea_orm(default_value = 0)]
    pub paid_e4: i64,
    /// Σ what was allocated to the member, ten-thousandths.
    #[sea_orm(default_value = 0)]
    pub owed_e4: i64,
    /// `paid_e4 - owed_e4`: positive means the book owes the member.
    #[sea_orm(default_value = 0)]
    pub net_e4: i64,
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
        from = "Column::UserId",
        to = "super::user::Column::Id",
        on_delete = "Cascade"
    )]
    User,
}

impl Related<super::book::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Book.def()
    }
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
