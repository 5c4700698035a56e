//! `activity_log`: an append-only record of who did what in a book, with the subject's state
//! before and after, as JSON. Old rows are pruned by a retention job.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[sea_orm::compact_model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "activity_log")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub book_id: Uuid,
    /// `None` once the acting user is deleted.
    pub actor_id: Option<Uuid>,
    /// What happened, e.g. `entry.created`.
    #[sea_orm(column_type = "Text")]
    pub action: String,
    /// What it happened to, e.g. `entry`.
    #[sea_orm(column_type = "Text")]
    pub subject_type: String,
    pub subject_id: Option<Uuid>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub before: Option<Json>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub after: Option<Json>,
    pub created_at: DateTimeUtc,
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
        from = "Column::ActorId",
        to = "super::user::Column::Id",
        on_delete = "SetNull"
    )]
    Actor,
}

impl Related<super::book::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Book.def()
    }
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Actor.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
