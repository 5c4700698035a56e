//! `books`: a ledger, either one person's (`PERSONAL`) or shared (`SPLIT`). Everything
//! book-scoped hangs off it and carries its `book_id`.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::BookKind;

#[sea_orm::compact_model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "books")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub name: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    pub kind: BookKind,
    /// ISO 4217 code, three letters (database default `TWD`).
    #[sea_orm(column_type = "Text", default_value = "TWD")]
    pub currency: String,
    /// Mirrors the single `OWNER` membership; a user who owns a book cannot be deleted.
    pub owner_id: Uuid,
    /// At most this many members (2 to 200, default 50).
    #[sea_orm(default_value = 50)]
    pub member_limit: i32,
    pub archived_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    /// Bumped by every change to the book's balances (settlement plans are cached by it).
    #[sea_orm(default_value = 0)]
    pub balance_version: i64,
    /// How many live (not deleted) entries the book holds, mirrors included: moved with
    /// `balance_version`, by the change that adds, deletes or restores them.
    #[sea_orm(default_value = 0)]
    pub live_entries: i64,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::OwnerId",
        to = "super::user::Column::Id",
        on_delete = "NoAction"
    )]
    Owner,
    #[sea_orm(has_many = "super::membership::Entity")]
    Memberships,
    #[sea_orm(has_many = "super::category::Entity")]
    Categories,
    #[sea_orm(has_many = "super::entry::Entity")]
    Entries,
    #[sea_orm(has_many = "super::settlement::Entity")]
    Settlements,
    #[sea_orm(has_many = "super::invite::Entity")]
    Invites,
    #[sea_orm(has_many = "super::activity_log::Entity")]
    ActivityLog,
}

impl Related<super::membership::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Memberships.def()
    }
}

impl Related<super::category::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Categories.def()
    }
}

impl Related<super::entry::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Entries.def()
    }
}

impl Related<super::settlement::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Settlements.def()
    }
}

impl Related<super::invite::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Invites.def()
    }
}

impl Related<super::activity_log::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ActivityLog.def()
    }
}

/// The book's members, through `memberships` (the owner is one of them).
impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        super::membership::Relation::User.def()
    }

    fn via() -> Option<RelationDef> {
        Some(super::membership::Relation::Book.def().rev())
    }
}

impl ActiveModelBehavior for ActiveModel {}
