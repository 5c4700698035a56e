//! `allocations`: one member's part of a split. The input column that matches the split's mode
//! is set (`ratio_e4`, `shares_e4`, `exact_e4`, `adjustment_e4`); `calculated_e4` is the share
//! the ledger apportioned, and the calculated shares of a split add up to the entry's amount.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[sea_orm::compact_model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "allocations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub split_id: Uuid,
    pub entry_id: Uuid,
    /// The entry's book; the database checks they agree.
    pub book_id: Uuid,
    pub user_id: Uuid,
    /// Percent at scale 4: 1_000_000 is 100 %.
    pub ratio_e4: Option<i64>,
    /// Share count at scale 4 (1.5 shares is 15_000).
    pub shares_e4: Option<i64>,
    /// A fixed amount, ten-thousandths.
    pub exact_e4: Option<i64>,
    /// Signed adjustment for the `ADJUSTMENT` mode, ten-thousandths.
    pub adjustment_e4: Option<i64>,
    /// The member's apportioned share of the entry, ten-thousandths.
    pub calculated_e4: i64,
    /// How many leftover minor units the largest-remainder pass gave this member.
    #[sea_orm(default_value = 0)]
    pub remainder_units: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::split::Entity",
        from = "Column::SplitId",
        to = "super::split::Column::Id",
        on_delete = "Cascade"
    )]
    Split,
    #[sea_orm(
        belongs_to = "super::entry::Entity",
        from = "Column::EntryId",
        to = "super::entry::Column::Id",
        on_delete = "Cascade"
    )]
    Entry,
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
        on_delete = "NoAction"
    )]
    User,
}

impl Related<super::split::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Split.def()
    }
}

impl Related<super::entry::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Entry.def()
    }
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
