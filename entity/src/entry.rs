//! `entries`: one expense, income or transfer in a book. Who paid is in `entry_payers`, how it
//! is shared in `splits` and `allocations`. A split entry's *mirror* (a participant's share,
//! written into their personal book) points back at it through `source_entry_id`.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::EntryKind;

#[sea_orm::compact_model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "entries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub book_id: Uuid,
    pub kind: EntryKind,
    /// Ten-thousandths of `currency`; always positive (the kind carries the direction).
    pub amount_e4: i64,
    /// ISO 4217 code: the book's currency (a mirror keeps its source's).
    #[sea_orm(column_type = "Text")]
    pub currency: String,
    /// For an entry made in another currency: the amount as given, in `original_currency`.
    pub original_amount_e4: Option<i64>,
    #[sea_orm(column_type = "Text", nullable)]
    pub original_currency: Option<String>,
    /// Book units per one unit of `original_currency`, as an exact decimal string.
    #[sea_orm(column_type = "Text", nullable)]
    pub exchange_rate: Option<String>,
    pub occurred_on: Date,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub note: Option<String>,
    pub category_id: Option<Uuid>,
    pub creator_id: Uuid,
    /// Optimistic lock: starts at 1, bumped by every update.
    #[sea_orm(default_value = 1)]
    pub version: i32,
    /// For a mirror entry, the split entry it mirrors.
    pub source_entry_id: Option<Uuid>,
    pub deleted_at: Option<DateTimeUtc>,
    pub deleted_by: Option<Uuid>,
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
        belongs_to = "super::category::Entity",
        from = "Column::CategoryId",
        to = "super::category::Column::Id",
        on_delete = "SetNull"
    )]
    Category,
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::CreatorId",
        to = "super::user::Column::Id",
        on_delete = "NoAction"
    )]
    Creator,
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::DeletedBy",
        to = "super::user::Column::Id",
        on_delete = "SetNull"
    )]
    DeletedBy,
    #[sea_orm(
        belongs_to = "Entity",
        from = "Column::SourceEntryId",
        to = "Column::Id",
        on_delete = "Cascade"
    )]
    SourceEntry,
    #[sea_orm(has_many = "super::entry_payer::Entity")]
    Payers,
    #[sea_orm(has_one = "super::split::Entity")]
    Split,
    #[sea_orm(has_many = "super::allocation::Entity")]
    Allocations,
}

impl Related<super::book::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Book.def()
    }
}

impl Related<super::category::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Category.def()
    }
}

impl Related<super::entry_payer::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Payers.def()
    }
}

impl Related<super::split::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Split.def()
    }
}

impl Related<super::allocation::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Allocations.def()
    }
}

/// From a mirror entry to the split entry it mirrors.
pub struct ToSourceEntry;

impl Linked for ToSourceEntry {
    type FromEntity = Entity;
    type ToEntity = Entity;

    fn link(&self) -> Vec<RelationDef> {
        vec![Relation::SourceEntry.def()]
    }
}

/// From a split entry to its mirror entries.
pub struct ToMirrors;

impl Linked for ToMirrors {
    type FromEntity = Entity;
    type ToEntity = Entity;

    fn link(&self) -> Vec<RelationDef> {
        vec![Relation::SourceEntry.def().rev()]
    }
}

impl ActiveModelBehavior for ActiveModel {}
