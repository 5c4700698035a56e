//! The ledger: `entries`, who paid them (`entry_payers`), how they are shared (`splits`,
//! `allocations`), and the running totals they produce (`member_balances`).
//!
//! Money is BIGINT in ten-thousandths (`*_e4`). The children of an entry repeat its `book_id`
//! (so every book-scoped row can be found, and later distributed, by book); a composite foreign
//! key to `entries (book_id, id)` makes the database hold them to the entry's book, since a
//! payer or allocation filed under the wrong book would silently skew that book's balances.

use sea_orm_migration::{prelude::*, schema::*};

use crate::ddl::{char_length, check, drop_table, foreign_key, one_of};
use crate::m20261121_000001_create_accounts::Users;
use crate::m20261121_000002_create_books::{Books, Categories};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_all(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(drop_table(MemberBalances::Table))
            .await?;
        manager.drop_table(drop_table(Allocations::Table)).await?;
        manager.drop_table(drop_table(Splits::Table)).await?;
        manager.drop_table(drop_table(EntryPayers::Table)).await?;
        manager.drop_table(drop_table(Entries::Table)).await
    }

    /// SQLite runs DDL in transactions too: a failed step leaves nothing half-created behind.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

/// The ledger as first created (migration 8 replaces it, keyed by member; its `down` restores
/// this shape).
pub(crate) async fn create_all(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    create_entries(manager).await?;
    create_entry_payers(manager).await?;
    create_splits(manager).await?;
    create_allocations(manager).await?;
    create_member_balances(manager).await
}

async fn create_entries(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Entries::Table)
                .col(pk_uuid(Entries::Id))
                .col(uuid(Entries::BookId))
                .col(text(Entries::Kind))
                .col(big_integer(Entries::AmountE4))
                .col(text(Entries::Currency))
                .col(date(Entries::OccurredOn))
                .col(text(Entries::Description))
                .col(uuid_null(Entries::CategoryId))
                .col(uuid(Entries::CreatorId))
                .col(integer(Entries::Version).default(1))
                .col(uuid_null(Entries::SourceEntryId))
                .col(timestamp_with_time_zone_null(Entries::DeletedAt))
                .col(uuid_null(Entries::DeletedBy))
                .col(timestamp_with_time_zone(Entries::CreatedAt))
                .col(timestamp_with_time_zone(Entries::UpdatedAt))
                .foreign_key(&mut foreign_key(
                    "fk_entries_book",
                    (Entries::Table, Entries::BookId),
                    (Books::Table, Books::Id),
                    ForeignKeyAction::Cascade,
                ))
                // Categories are soft-deleted, so this only fires when a book's own categories
                // go with the book; the entry then shows as uncategorised.
                .foreign_key(&mut foreign_key(
                    "fk_entries_category",
                    (Entries::Table, Entries::CategoryId),
                    (Categories::Table, Categories::Id),
                    ForeignKeyAction::SetNull,
                ))
                // Who wrote an entry is part of the record: such a user cannot be
                // deleted (NO ACTION refuses; see `ddl`).
                .foreign_key(&mut foreign_key(
                    "fk_entries_creator",
                    (Entries::Table, Entries::CreatorId),
                    (Users::Table, Users::Id),
                    ForeignKeyAction::NoAction,
                ))
                // A mirror goes with the split entry it mirrors.
                .foreign_key(&mut foreign_key(
                    "fk_entries_source",
                    (Entries::Table, Entries::SourceEntryId),
                    (Entries::Table, Entries::Id),
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut foreign_key(
                    "fk_entries_deleted_by",
                    (Entries::Table, Entries::DeletedBy),
                    (Users::Table, Users::Id),
                    ForeignKeyAction::SetNull,
                ))
                .check(check(
                    "ck_entries_kind",
                    one_of(Entries::Kind, &["EXPENSE", "INCOME", "TRANSFER"]),
                ))
                // Amounts are positive; the kind says which way the money went.
                .check(check(
                    "ck_entries_amount_positive",
                    Expr::col(Entries::AmountE4).gt(0),
                ))
                .check(check(
                    "ck_entries_currency",
                    char_length(Entries::Currency).eq(3),
                ))
                // Optimistic locking counts up from 1; `expectedVersion` compares with it.
                .check(check(
                    "ck_entries_version",
                    Expr::col(Entries::Version).gte(1),
                ))
                // A deleter only makes sense on a deleted entry.
                .check(check(
                    "ck_entries_deleted_by",
                    Expr::col(Entries::DeletedBy)
                        .is_null()
                        .or(Expr::col(Entries::DeletedAt).is_not_null()),
                ))
                .to_owned(),
        )
        .await?;
    // Target of the composite foreign keys that hold an entry's children to its book.
    manager
        .create_index(
            Index::create()
                .name("uq_entries_book_id")
                .table(Entries::Table)
                .col(Entries::BookId)
                .col(Entries::Id)
                .unique()
                .to_owned(),
        )
        .await?;
    // A book's entries, newest first: the main listing and the dashboard's month range.
    manager
        .create_index(
            Index::create()
                .name("ix_entries_book_occurred")
                .table(Entries::Table)
                .col(Entries::BookId)
                .col((Entries::OccurredOn, IndexOrder::Desc))
                .to_owned(),
        )
        .await?;
    // "Entries I wrote" (edit rights), and the RESTRICT check when a user is deleted.
    manager
        .create_index(
            Index::create()
                .name("ix_entries_creator")
                .table(Entries::Table)
                .col(Entries::CreatorId)
                .to_owned(),
        )
        .await?;
    // A split entry's mirrors, rewritten whenever it changes; also serves the cascade.
    manager
        .create_index(
            Index::create()
                .name("ix_entries_source")
                .table(Entries::Table)
                .col(Entries::SourceEntryId)
                .to_owned(),
        )
        .await?;
    Ok(())
}

async fn create_entry_payers(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(EntryPayers::Table)
                .col(pk_uuid(EntryPayers::Id))
                .col(uuid(EntryPayers::EntryId))
                .col(uuid(EntryPayers::BookId))
                .col(uuid(EntryPayers::UserId))
                .col(big_integer(EntryPayers::AmountE4))
                .col(timestamp_with_time_zone(EntryPayers::CreatedAt))
                .col(timestamp_with_time_zone(EntryPayers::UpdatedAt))
                // Goes with its entry, and belongs to the entry's book.
                .foreign_key(&mut foreign_key(
                    "fk_entry_payers_entry",
                    (
                        EntryPayers::Table,
                        (EntryPayers::BookId, EntryPayers::EntryId),
                    ),
                    (Entries::Table, (Entries::BookId, Entries::Id)),
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut foreign_key(
                    "fk_entry_payers_book",
                    (EntryPayers::Table, EntryPayers::BookId),
                    (Books::Table, Books::Id),
                    ForeignKeyAction::Cascade,
                ))
                // Money a user paid is history: such a user cannot be
                // deleted (NO ACTION refuses; see `ddl`).
                .foreign_key(&mut foreign_key(
                    "fk_entry_payers_user",
                    (EntryPayers::Table, EntryPayers::UserId),
                    (Users::Table, Users::Id),
                    ForeignKeyAction::NoAction,
                ))
                .check(check(
                    "ck_entry_payers_amount_positive",
                    Expr::col(EntryPayers::AmountE4).gt(0),
                ))
                .to_owned(),
        )
        .await?;
    // One row per payer per entry (amounts are summed before writing).
    manager
        .create_index(
            Index::create()
                .name("uq_entry_payers_entry_user")
                .table(EntryPayers::Table)
                .col(EntryPayers::EntryId)
                .col(EntryPayers::UserId)
                .unique()
                .to_owned(),
        )
        .await?;
    // What a member paid in a book: recomputing or auditing a balance.
    manager
        .create_index(
            Index::create()
                .name("ix_entry_payers_book_user")
                .table(EntryPayers::Table)
                .col(EntryPayers::BookId)
                .col(EntryPayers::UserId)
                .to_owned(),
        )
        .await?;
    Ok(())
}

async fn create_splits(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Splits::Table)
                .col(pk_uuid(Splits::Id))
                .col(uuid(Splits::EntryId))
                .col(uuid(Splits::BookId))
                .col(text(Splits::Mode))
                .col(timestamp_with_time_zone(Splits::CreatedAt))
                .col(timestamp_with_time_zone(Splits::UpdatedAt))
                // Goes with its entry, and belongs to the entry's book.
                .foreign_key(&mut foreign_key(
                    "fk_splits_entry",
                    (Splits::Table, (Splits::BookId, Splits::EntryId)),
                    (Entries::Table, (Entries::BookId, Entries::Id)),
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut foreign_key(
                    "fk_splits_book",
                    (Splits::Table, Splits::BookId),
                    (Books::Table, Books::Id),
                    ForeignKeyAction::Cascade,
                ))
                .check(check(
                    "ck_splits_mode",
                    one_of(
                        Splits::Mode,
                        &["EQUAL", "RATIO", "SHARES", "EXACT", "ADJUSTMENT"],
                    ),
                ))
                .to_owned(),
        )
        .await?;
    // An entry is split one way only (1:1).
    manager
        .create_index(
            Index::create()
                .name("uq_splits_entry")
                .table(Splits::Table)
                .col(Splits::EntryId)
                .unique()
                .to_owned(),
        )
        .await?;
    Ok(())
}

async fn create_allocations(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Allocations::Table)
                .col(pk_uuid(Allocations::Id))
                .col(uuid(Allocations::SplitId))
                .col(uuid(Allocations::EntryId))
                .col(uuid(Allocations::BookId))
                .col(uuid(Allocations::UserId))
                .col(big_integer_null(Allocations::RatioE4))
                .col(big_integer_null(Allocations::SharesE4))
                .col(big_integer_null(Allocations::ExactE4))
                .col(big_integer_null(Allocations::AdjustmentE4))
                .col(big_integer(Allocations::CalculatedE4))
                .col(integer(Allocations::RemainderUnits).default(0))
                .col(timestamp_with_time_zone(Allocations::CreatedAt))
                .col(timestamp_with_time_zone(Allocations::UpdatedAt))
                .foreign_key(&mut foreign_key(
                    "fk_allocations_split",
                    (Allocations::Table, Allocations::SplitId),
                    (Splits::Table, Splits::Id),
                    ForeignKeyAction::Cascade,
                ))
                // Goes with its entry, and belongs to the entry's book.
                .foreign_key(&mut foreign_key(
                    "fk_allocations_entry",
                    (
                        Allocations::Table,
                        (Allocations::BookId, Allocations::EntryId),
                    ),
                    (Entries::Table, (Entries::BookId, Entries::Id)),
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut foreign_key(
                    "fk_allocations_book",
                    (Allocations::Table, Allocations::BookId),
                    (Books::Table, Books::Id),
                    ForeignKeyAction::Cascade,
                ))
                // A share someone owes is history: such a user cannot be
                // deleted (NO ACTION refuses; see `ddl`).
                .foreign_key(&mut foreign_key(
                    "fk_allocations_user",
                    (Allocations::Table, Allocations::UserId),
                    (Users::Table, Users::Id),
                    ForeignKeyAction::NoAction,
                ))
                // A percentage at scale 4: 0 to 100.0000 %.
                .check(check(
                    "ck_allocations_ratio",
                    Expr::col(Allocations::RatioE4).between(0, 1_000_000),
                ))
                // A member in a SHARES split holds some shares; zero would be "not in it".
                .check(check(
                    "ck_allocations_shares_positive",
                    Expr::col(Allocations::SharesE4).gt(0),
                ))
                .check(check(
                    "ck_allocations_exact_non_negative",
                    Expr::col(Allocations::ExactE4).gte(0),
                ))
                // Nobody's share is negative (adjustment_e4 may be: it shifts an equal part).
                .check(check(
                    "ck_allocations_calculated_non_negative",
                    Expr::col(Allocations::CalculatedE4).gte(0),
                ))
                .check(check(
                    "ck_allocations_remainder_units",
                    Expr::col(Allocations::RemainderUnits).gte(0),
                ))
                .to_owned(),
        )
        .await?;
    // One allocation per member per split.
    manager
        .create_index(
            Index::create()
                .name("uq_allocations_split_user")
                .table(Allocations::Table)
                .col(Allocations::SplitId)
                .col(Allocations::UserId)
                .unique()
                .to_owned(),
        )
        .await?;
    // What a member owes in a book: recomputing or auditing a balance.
    manager
        .create_index(
            Index::create()
                .name("ix_allocations_book_user")
                .table(Allocations::Table)
                .col(Allocations::BookId)
                .col(Allocations::UserId)
                .to_owned(),
        )
        .await?;
    // Loading an entry's allocations; also serves the cascade from `entries`.
    manager
        .create_index(
            Index::create()
                .name("ix_allocations_entry")
                .table(Allocations::Table)
                .col(Allocations::EntryId)
                .to_owned(),
        )
        .await?;
    Ok(())
}

async fn create_member_balances(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(MemberBalances::Table)
                .col(pk_uuid(MemberBalances::Id))
                .col(uuid(MemberBalances::BookId))
                .col(uuid(MemberBalances::UserId))
                .col(big_integer(MemberBalances::PaidE4).default(0))
                .col(big_integer(MemberBalances::OwedE4).default(0))
                .col(big_integer(MemberBalances::NetE4).default(0))
                .col(timestamp_with_time_zone(MemberBalances::CreatedAt))
                .col(timestamp_with_time_zone(MemberBalances::UpdatedAt))
                .foreign_key(&mut foreign_key(
                    "fk_member_balances_book",
                    (MemberBalances::Table, MemberBalances::BookId),
                    (Books::Table, Books::Id),
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut foreign_key(
                    "fk_member_balances_user",
                    (MemberBalances::Table, MemberBalances::UserId),
                    (Users::Table, Users::Id),
                    ForeignKeyAction::Cascade,
                ))
                // The materialised net can never drift from its parts.
                .check(check(
                    "ck_member_balances_net",
                    Expr::col(MemberBalances::NetE4)
                        .eq(Expr::col(MemberBalances::PaidE4)
                            .sub(Expr::col(MemberBalances::OwedE4))),
                ))
                .to_owned(),
        )
        .await?;
    // One running total per member per book; updates find it by this key.
    manager
        .create_index(
            Index::create()
                .name("uq_member_balances_book_user")
                .table(MemberBalances::Table)
                .col(MemberBalances::BookId)
                .col(MemberBalances::UserId)
                .unique()
                .to_owned(),
        )
        .await?;
    Ok(())
}

#[derive(DeriveIden)]
pub enum Entries {
    Table,
    Id,
    BookId,
    Kind,
    AmountE4,
    Currency,
    OccurredOn,
    Description,
    CategoryId,
    CreatorId,
    Version,
    SourceEntryId,
    DeletedAt,
    DeletedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum EntryPayers {
    Table,
    Id,
    EntryId,
    BookId,
    UserId,
    AmountE4,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Splits {
    Table,
    Id,
    EntryId,
    BookId,
    Mode,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Allocations {
    Table,
    Id,
    SplitId,
    EntryId,
    BookId,
    UserId,
    RatioE4,
    SharesE4,
    ExactE4,
    AdjustmentE4,
    CalculatedE4,
    RemainderUnits,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum MemberBalances {
    Table,
    Id,
    BookId,
    UserId,
    PaidE4,
    OwedE4,
    NetE4,
    CreatedAt,
    UpdatedAt,
}
