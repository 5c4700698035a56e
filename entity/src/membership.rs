//! `memberships`: a seat in a book, with a role. A seat belongs to a user, or is a **guest**
//! seat (a name, no account) until someone claims it through an invite for it. Money (payers,
//! shares, balances) refers to the seat, so a guest's history and balance pass whole to whoever
//! claims it, and leaving only marks the seat removed.
//!
//! The database allows one live seat per (book, user), one live guest per name in a book, and
//! exactly one `OWNER` per book.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::Role;

#[sea_orm::compact_model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "memberships")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub book_id: Uuid,
    /// `None` for a guest seat.
    pub user_id: Option<Uuid>,
    /// A guest is always `READER`: it cannot act.
    pub role: Role,
    /// Nonce ‖ ciphertext of a guest's name (`None` for a user's seat).
    #[sea_orm(column_type = "Blob", nullable)]
    pub guest_name_ciphertext: Option<Vec<u8>>,
    /// Which PII key encrypted the guest name.
    pub guest_name_key_id: Option<i16>,
    /// Keyed hash of the guest's case-folded name, unique among the book's live guests.
    #[sea_orm(column_type = "Blob", nullable)]
    pub guest_name_index: Option<Vec<u8>>,
    /// When the seat was taken (or the guest added); doubles as the row's creation time.
    pub joined_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// When the member left or was removed; the row stays because money refers to it.
    pub removed_at: Option<DateTimeUtc>,
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
        on_delete = "NoAction"
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
