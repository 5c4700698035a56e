//! `allocations`: one member's part of an entry's split. The input column that matches the
//! split's mode is set (`ratio_e4`, `shares_e4`, `exact_e4`, `adjustment_e4`; none for
//! EQUAL); `calculated_e4` is the share the ledger apportioned, explained by
//! `base_e4 + remainder_units × unit_e4`. The calculated shares of an entry add up to its
//! amount.

use sea_orm::entity::prelude::*;

#[sea_orm::compact_model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "allocations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub entry_id: Uuid,
    /// The entry's book; the database checks they agree.
    pub book_id: Uuid,
    /// The sharing seat (`memberships.id`) in the entry's book.
    pub member_id: Uuid,
    /// Percent at scale 4: 1_000_000 is 100 %.
    pub ratio_e4: Option<i64>,
    /// Share weight at scale 4 (1.5 shares is 15_000).
    pub shares_e4: Option<i64>,
    /// A fixed amount, ten-thousandths.
    pub exact_e4: Option<i64>,
    /// Signed adjustment for the `ADJUSTMENT` mode, ten-thousandths.
    pub adjustment_e4: Option<i64>,
    /// The member's apportioned share of the entry, ten-thousandths.
    pub calculated_e4: i64,
    /// The share before leftover units were handed out.
    pub base_e4: i64,
    /// How many leftover units the largest-remainder pass gave this member (0 or 1).
    pub remainder_units: i32,
    /// The apportioning unit: the currency's minor unit, or 1 (0.0001) for amounts that are
    /// not a whole number of minor units.
    pub unit_e4: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::entry::Entity",
        from = "Column::EntryId",
        to = "super::entry::Column::Id",
        on_delete = "Cascade"
    )]
    Entry,
}

impl Related<super::entry::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Entry.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
