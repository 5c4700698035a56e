//! `member_balances`: each seat's running totals in its book, updated in the same transaction
//! as every entry that touches it, so reading balances never sums entries. The database keeps
//! `net = paid − owed`; `tally check` recomputes the totals from the entries.

use sea_orm::entity::prelude::*;

#[sea_orm::compact_model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "member_balances")]
pub struct Model {
    /// The seat (`memberships.id`); one row per seat.
    #[sea_orm(primary_key, auto_increment = false)]
    pub member_id: Uuid,
    pub book_id: Uuid,
    /// Σ paid, ten-thousandths of the book's currency.
    pub paid_e4: i64,
    /// Σ allocated.
    pub owed_e4: i64,
    /// `paid_e4 − owed_e4`.
    pub net_e4: i64,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
