//! `categories`: labels for entries, either a book's own or global (`book_id` NULL, seeded by
//! a migration). Deleting one only stamps `deleted_at`, so entries keep their category.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[sea_orm::compact_model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "categories")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `None` for a global category, offered to every book.
    pub book_id: Option<Uuid>,
    #[sea_orm(column_type = "Text")]
    pub name: String,
    /// Hex colour such as `#4CAF50`.
    #[sea_orm(column_type = "Text", nullable)]
    pub color: Option<String>,
    /// Icon name for the client's icon set.
    #[sea_orm(column_type = "Text", nullable)]
    pub icon: Option<String>,
    pub deleted_at: Option<DateTimeUtc>,
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
    #[sea_orm(has_many = "super::entry::Entity")]
    Entries,
}

impl Related<super::book::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Book.def()
    }
}

impl Related<super::entry::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Entries.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
