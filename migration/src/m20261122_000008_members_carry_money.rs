//! Money belongs to book members, and a member may be a guest.
//!
//! People record a trip before everyone has signed up, so a payer or a share names a
//! *membership*, not an account: a guest seat has a name and no user until someone claims it
//! through an invite for it, taking over its whole history. This migration
//!
//! - rebuilds `memberships` with a nullable `user_id`, a guest name (encrypted like every name
//!   of a person, with a keyed hash for uniqueness) and `removed_at` (leaving keeps the row:
//!   money refers to it);
//! - recreates the ledger (`entries`, `entry_payers`, `splits`, `allocations`,
//!   `member_balances`) keyed by member, with an entry's note and its original currency and
//!   exchange rate, and `idempotency_keys` with the id of what the first request created;
//! - adds `invites.member_id`, the guest seat an invite hands over.
//!
//! The ledger tables and `idempotency_keys` were empty when this was written (nothing wrote
//! entries yet), so they are dropped and created anew rather than altered. `down` restores the
//! previous shape and drops guest seats.

use sea_orm_migration::{prelude::*, schema::*};

use crate::ddl::{byte_length, char_length, check, drop_table, foreign_key, one_of};
use crate::m20261121_000001_create_accounts::Users;
use crate::m20261121_000002_create_books::{Books, Categories};
use crate::{m20261121_000004_create_ledger as ledger_v1, m20261121_000005_create_book_records};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_ledger_v1(manager).await?;
        rebuild_memberships(manager).await?;
        create_entries(manager).await?;
        create_entry_payers(manager).await?;
        create_splits(manager).await?;
        create_allocations(manager).await?;
        create_member_balances(manager).await?;
        create_idempotency_keys(manager).await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Invites::Table)
                    .add_column(uuid_null(Invites::MemberId))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Invites::Table)
                    .drop_column(Invites::MemberId)
                    .to_owned(),
            )
            .await?;
        for table in [
            IdempotencyKeys::Table.into_iden(),
            MemberBalances::Table.into_iden(),
            Allocations::Table.into_iden(),
            Splits::Table.into_iden(),
            EntryPayers::Table.into_iden(),
            Entries::Table.into_iden(),
        ] {
            manager.drop_table(drop_table(table)).await?;
        }
        restore_memberships_v1(manager).await?;
        ledger_v1::create_all(manager).await?;
        m20261121_000005_create_book_records::create_idempotency_keys(manager).await
    }

    /// SQLite runs DDL in transactions too: a failed step leaves nothing half-created behind.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

async fn drop_ledger_v1(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    for table in [
        "idempotency_keys",
        "member_balances",
        "allocations",
        "splits",
        "entry_payers",
        "entries",
    ] {
        manager.drop_table(drop_table(Alias::new(table))).await?;
    }
    Ok(())
}

/// The indexes `memberships` had before; index names are global, so they go before the rebuild.
const MEMBERSHIP_INDEXES_V1: [&str; 4] = [
    "uq_memberships_book_user",
    "uq_memberships_one_owner",
    "ix_memberships_user",
    "ix_memberships_book",
];

/// Columns every version of `memberships` has, copied across a rebuild.
const MEMBERSHIP_COMMON_COLUMNS: &str = "id, book_id, user_id, role, joined_at, updated_at";

/// SQLite cannot make a column nullable in place, so the table is renamed, created anew and
/// copied (nothing refers to `memberships` yet, so no reference needs repointing).
async fn rebuild_memberships(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    for index in MEMBERSHIP_INDEXES_V1 {
        manager
            .drop_index(
                Index::drop()
                    .name(index)
                    .table(Memberships::Table)
                    .to_owned(),
            )
            .await?;
    }
    manager
        .rename_table(
            Table::rename()
                .table(Memberships::Table, Alias::new("memberships_v1"))
                .to_owned(),
        )
        .await?;
    create_memberships(manager).await?;
    let db = manager.get_connection();
    db.execute_unprepared(&format!(
        "INSERT INTO memberships ({MEMBERSHIP_COMMON_COLUMNS}) \
         SELECT {MEMBERSHIP_COMMON_COLUMNS} FROM memberships_v1"
    ))
    .await?;
    manager
        .drop_table(drop_table(Alias::new("memberships_v1")))
        .await
}

async fn create_memberships(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Memberships::Table)
                .col(pk_uuid(Memberships::Id))
                .col(uuid(Memberships::BookId))
                // NULL for a guest seat, until someone claims it.
                .col(uuid_null(Memberships::UserId))
                .col(text(Memberships::Role))
                .col(blob_null(Memberships::GuestNameCiphertext))
                .col(small_integer_null(Memberships::GuestNameKeyId))
                .col(blob_null(Memberships::GuestNameIndex))
                .col(timestamp_with_time_zone(Memberships::JoinedAt))
                .col(timestamp_with_time_zone(Memberships::UpdatedAt))
                .col(timestamp_with_time_zone_null(Memberships::RemovedAt))
                .foreign_key(&mut foreign_key(
                    "fk_memberships_book",
                    (Memberships::Table, Memberships::BookId),
                    (Books::Table, Books::Id),
                    ForeignKeyAction::Cascade,
                ))
                // A seat is history (money refers to it): its user cannot simply be deleted.
                .foreign_key(&mut foreign_key(
                    "fk_memberships_user",
                    (Memberships::Table, Memberships::UserId),
                    (Users::Table, Users::Id),
                    ForeignKeyAction::NoAction,
                ))
                .check(check(
                    "ck_memberships_role",
                    one_of(Memberships::Role, &["OWNER", "ADMIN", "WRITER", "READER"]),
                ))
                // A seat is a user's or a named guest's: never neither, never both.
                .check(check(
                    "ck_memberships_user_or_guest",
                    Expr::col(Memberships::UserId)
                        .is_not_null()
                        .and(Expr::col(Memberships::GuestNameCiphertext).is_null())
                        .and(Expr::col(Memberships::GuestNameIndex).is_null())
                        .or(Expr::col(Memberships::UserId)
                            .is_null()
                            .and(Expr::col(Memberships::GuestNameCiphertext).is_not_null())
                            .and(Expr::col(Memberships::GuestNameKeyId).is_not_null())
                            .and(Expr::col(Memberships::GuestNameIndex).is_not_null())),
                ))
                // A guest only holds a seat; it can never act, so it never holds power.
                .check(check(
                    "ck_memberships_guest_reader",
                    Expr::col(Memberships::UserId)
                        .is_not_null()
                        .or(Expr::col(Memberships::Role).eq("READER")),
                ))
                // HMAC-SHA256 digests are 32 bytes.
                .check(check(
                    "ck_memberships_guest_name_index_len",
                    byte_length(Memberships::GuestNameIndex).eq(32),
                ))
                // The owner holds the book; removing them would orphan it.
                .check(check(
                    "ck_memberships_owner_stays",
                    Expr::col(Memberships::RemovedAt)
                        .is_null()
                        .or(Expr::col(Memberships::Role).ne("OWNER")),
                ))
                .to_owned(),
        )
        .await?;
    let indexes = [
        // A user holds one live seat per book; joining twice is a CONFLICT. Removed seats stay
        // (money refers to them), so a user who left may join again.
        Index::create()
            .name("uq_memberships_book_user")
            .table(Memberships::Table)
            .col(Memberships::BookId)
            .col(Memberships::UserId)
            .unique()
            .and_where(Expr::col(Memberships::RemovedAt).is_null())
            .to_owned(),
        // Two live guests of a book never share a name (compared case-insensitively through
        // the keyed hash, so the name itself stays encrypted).
        Index::create()
            .name("uq_memberships_guest_name")
            .table(Memberships::Table)
            .col(Memberships::BookId)
            .col(Memberships::GuestNameIndex)
            .unique()
            .and_where(Expr::col(Memberships::RemovedAt).is_null())
            .to_owned(),
        // Exactly one OWNER per book (see migration 2: demote before promoting).
        Index::create()
            .name("uq_memberships_one_owner")
            .table(Memberships::Table)
            .col(Memberships::BookId)
            .unique()
            .and_where(Expr::col(Memberships::Role).eq("OWNER"))
            .to_owned(),
        // Target of the composite keys that hold payers, shares and balances to the book of
        // their seat; also serves a book's member list.
        Index::create()
            .name("uq_memberships_book_id")
            .table(Memberships::Table)
            .col(Memberships::BookId)
            .col(Memberships::Id)
            .unique()
            .to_owned(),
        // "My books": every request resolves the caller's memberships.
        Index::create()
            .name("ix_memberships_user")
            .table(Memberships::Table)
            .col(Memberships::UserId)
            .to_owned(),
    ];
    for index in indexes {
        manager.create_index(index).await?;
    }
    Ok(())
}

/// `down`: memberships as migration 2 made them. Guest seats cannot be expressed there and
/// are dropped; removed seats too (migration 2's app deleted them).
async fn restore_memberships_v1(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    for index in [
        "uq_memberships_book_user",
        "uq_memberships_guest_name",
        "uq_memberships_one_owner",
        "uq_memberships_book_id",
        "ix_memberships_user",
    ] {
        manager
            .drop_index(
                Index::drop()
                    .name(index)
                    .table(Memberships::Table)
                    .to_owned(),
            )
            .await?;
    }
    manager
        .rename_table(
            Table::rename()
                .table(Memberships::Table, Alias::new("memberships_v2"))
                .to_owned(),
        )
        .await?;
    crate::m20261121_000002_create_books::create_memberships(manager).await?;
    manager
        .get_connection()
        .execute_unprepared(&format!(
            "INSERT INTO memberships ({MEMBERSHIP_COMMON_COLUMNS}) \
             SELECT {MEMBERSHIP_COMMON_COLUMNS} FROM memberships_v2 \
             WHERE user_id IS NOT NULL AND removed_at IS NULL"
        ))
        .await?;
    manager
        .drop_table(drop_table(Alias::new("memberships_v2")))
        .await
}

/// A composite foreign key from `(book_id, member_id)` to the member's seat in that book: the
/// database keeps a payer, share or balance in the book its member belongs to.
fn to_seat(
    name: &str,
    table: impl IntoIden + Copy + 'static,
    book_id: impl IntoIden + Copy + 'static,
    member_id: impl IntoIden + Copy + 'static,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    foreign_key(
        name,
        (table, (book_id, member_id)),
        (Memberships::Table, (Memberships::BookId, Memberships::Id)),
        on_delete,
    )
}

/// The same for an entry's children: `(book_id, entry_id)` to the entry in that book.
fn to_entry(
    name: &str,
    table: impl IntoIden + Copy + 'static,
    book_id: impl IntoIden + Copy + 'static,
    entry_id: impl IntoIden + Copy + 'static,
) -> ForeignKeyCreateStatement {
    foreign_key(
        name,
        (table, (book_id, entry_id)),
        (Entries::Table, (Entries::BookId, Entries::Id)),
        ForeignKeyAction::Cascade,
    )
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
                .col(big_integer_null(Entries::OriginalAmountE4))
                .col(text_null(Entries::OriginalCurrency))
                .col(text_null(Entries::ExchangeRate))
                .col(date(Entries::OccurredOn))
                .col(text(Entries::Description))
                .col(text_null(Entries::Note))
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
                // Who wrote an entry is part of the record: such a user cannot be deleted.
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
                // An amount converted from another currency keeps all three of its origins (the
                // amount, its currency, the rate), or none.
                .check(check(
                    "ck_entries_original",
                    Expr::col(Entries::OriginalAmountE4)
                        .is_null()
                        .and(Expr::col(Entries::OriginalCurrency).is_null())
                        .and(Expr::col(Entries::ExchangeRate).is_null())
                        .or(Expr::col(Entries::OriginalAmountE4)
                            .gt(0)
                            .and(char_length(Entries::OriginalCurrency).eq(3))
                            .and(Expr::col(Entries::ExchangeRate).is_not_null())),
                ))
                .check(check(
                    "ck_entries_description_len",
                    char_length(Entries::Description).between(1, 200),
                ))
                .check(check(
                    "ck_entries_note_len",
                    char_length(Entries::Note).lte(1000),
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
    let indexes = [
        // Target of the composite foreign keys that hold an entry's children to its book.
        Index::create()
            .name("uq_entries_book_id")
            .table(Entries::Table)
            .col(Entries::BookId)
            .col(Entries::Id)
            .unique()
            .to_owned(),
        // A book's entries by date, either way: the main listing and the dashboard's months.
        Index::create()
            .name("ix_entries_book_occurred")
            .table(Entries::Table)
            .col(Entries::BookId)
            .col(Entries::OccurredOn)
            .col(Entries::Id)
            .to_owned(),
        // A book's entries by amount (`orderBy: AMOUNT_*`).
        Index::create()
            .name("ix_entries_book_amount")
            .table(Entries::Table)
            .col(Entries::BookId)
            .col(Entries::AmountE4)
            .col(Entries::Id)
            .to_owned(),
        // "Entries I wrote" (edit rights), and the NO ACTION check when a user is deleted.
        Index::create()
            .name("ix_entries_creator")
            .table(Entries::Table)
            .col(Entries::CreatorId)
            .to_owned(),
        // One mirror of a split entry per personal book: mirrors are upserted on this key
        // whenever their source changes. Also serves the cascade from the source.
        Index::create()
            .name("uq_entries_source_book")
            .table(Entries::Table)
            .col(Entries::SourceEntryId)
            .col(Entries::BookId)
            .unique()
            .to_owned(),
    ];
    for index in indexes {
        manager.create_index(index).await?;
    }
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
                .col(uuid(EntryPayers::MemberId))
                .col(big_integer(EntryPayers::AmountE4))
                .col(timestamp_with_time_zone(EntryPayers::CreatedAt))
                .foreign_key(&mut to_entry(
                    "fk_entry_payers_entry",
                    EntryPayers::Table,
                    EntryPayers::BookId,
                    EntryPayers::EntryId,
                ))
                // Seats are never deleted on their own (leaving only marks them removed, and
                // their users cannot be deleted), so this fires only when the book goes, and
                // takes the payer with it, as the entry's own key does.
                .foreign_key(&mut to_seat(
                    "fk_entry_payers_member",
                    EntryPayers::Table,
                    EntryPayers::BookId,
                    EntryPayers::MemberId,
                    ForeignKeyAction::Cascade,
                ))
                .check(check(
                    "ck_entry_payers_amount_positive",
                    Expr::col(EntryPayers::AmountE4).gt(0),
                ))
                .to_owned(),
        )
        .await?;
    let indexes = [
        // One row per payer per entry (amounts are summed before writing); loads an entry's
        // payers by its prefix.
        Index::create()
            .name("uq_entry_payers_entry_member")
            .table(EntryPayers::Table)
            .col(EntryPayers::EntryId)
            .col(EntryPayers::MemberId)
            .unique()
            .to_owned(),
        // What a member paid in a book: recomputing a balance, filtering by member.
        Index::create()
            .name("ix_entry_payers_book_member")
            .table(EntryPayers::Table)
            .col(EntryPayers::BookId)
            .col(EntryPayers::MemberId)
            .to_owned(),
    ];
    for index in indexes {
        manager.create_index(index).await?;
    }
    Ok(())
}

async fn create_splits(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Splits::Table)
                // One split per entry: the entry's id is the split's key.
                .col(pk_uuid(Splits::EntryId))
                .col(uuid(Splits::BookId))
                .col(text(Splits::Mode))
                .col(timestamp_with_time_zone(Splits::CreatedAt))
                .foreign_key(&mut to_entry(
                    "fk_splits_entry",
                    Splits::Table,
                    Splits::BookId,
                    Splits::EntryId,
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
        .await
}

async fn create_allocations(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Allocations::Table)
                .col(pk_uuid(Allocations::Id))
                .col(uuid(Allocations::EntryId))
                .col(uuid(Allocations::BookId))
                .col(uuid(Allocations::MemberId))
                .col(big_integer_null(Allocations::RatioE4))
                .col(big_integer_null(Allocations::SharesE4))
                .col(big_integer_null(Allocations::ExactE4))
                .col(big_integer_null(Allocations::AdjustmentE4))
                .col(big_integer(Allocations::CalculatedE4))
                .col(big_integer(Allocations::BaseE4))
                .col(integer(Allocations::RemainderUnits))
                .col(big_integer(Allocations::UnitE4))
                .col(timestamp_with_time_zone(Allocations::CreatedAt))
                .foreign_key(&mut to_entry(
                    "fk_allocations_entry",
                    Allocations::Table,
                    Allocations::BookId,
                    Allocations::EntryId,
                ))
                // As for payers: fires only when the book goes.
                .foreign_key(&mut to_seat(
                    "fk_allocations_member",
                    Allocations::Table,
                    Allocations::BookId,
                    Allocations::MemberId,
                    ForeignKeyAction::Cascade,
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
                // The ledger's explanation holds: amount = base + remainder units × unit.
                .check(check(
                    "ck_allocations_explained",
                    Expr::col(Allocations::CalculatedE4).eq(Expr::col(Allocations::BaseE4).add(
                        Expr::col(Allocations::RemainderUnits).mul(Expr::col(Allocations::UnitE4)),
                    )),
                ))
                .check(check(
                    "ck_allocations_remainder_units",
                    Expr::col(Allocations::RemainderUnits).gte(0),
                ))
                .to_owned(),
        )
        .await?;
    let indexes = [
        // One share per member per entry; loads an entry's shares by its prefix.
        Index::create()
            .name("uq_allocations_entry_member")
            .table(Allocations::Table)
            .col(Allocations::EntryId)
            .col(Allocations::MemberId)
            .unique()
            .to_owned(),
        // What a member owes in a book: recomputing a balance, filtering by member.
        Index::create()
            .name("ix_allocations_book_member")
            .table(Allocations::Table)
            .col(Allocations::BookId)
            .col(Allocations::MemberId)
            .to_owned(),
    ];
    for index in indexes {
        manager.create_index(index).await?;
    }
    Ok(())
}

async fn create_member_balances(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(MemberBalances::Table)
                // One running total per seat; every entry write upserts it by this key.
                .col(pk_uuid(MemberBalances::MemberId))
                .col(uuid(MemberBalances::BookId))
                .col(big_integer(MemberBalances::PaidE4).default(0))
                .col(big_integer(MemberBalances::OwedE4).default(0))
                .col(big_integer(MemberBalances::NetE4).default(0))
                .col(timestamp_with_time_zone(MemberBalances::UpdatedAt))
                .foreign_key(&mut to_seat(
                    "fk_member_balances_member",
                    MemberBalances::Table,
                    MemberBalances::BookId,
                    MemberBalances::MemberId,
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
    // A book's balances in one range scan.
    manager
        .create_index(
            Index::create()
                .name("ix_member_balances_book")
                .table(MemberBalances::Table)
                .col(MemberBalances::BookId)
                .to_owned(),
        )
        .await
}

async fn create_idempotency_keys(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(IdempotencyKeys::Table)
                .col(pk_uuid(IdempotencyKeys::Id))
                .col(uuid(IdempotencyKeys::UserId))
                .col(text(IdempotencyKeys::Operation))
                .col(text(IdempotencyKeys::Key))
                .col(blob(IdempotencyKeys::RequestHash))
                // The id of what the first request created (chosen before it is written, so it
                // is known when the key is claimed). A replay loads it; no rendered response is
                // kept, so a replay shows the object as it is now.
                .col(uuid(IdempotencyKeys::ResultId))
                .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                .foreign_key(&mut foreign_key(
                    "fk_idempotency_keys_user",
                    (IdempotencyKeys::Table, IdempotencyKeys::UserId),
                    (Users::Table, Users::Id),
                    ForeignKeyAction::Cascade,
                ))
                // Keys are client-chosen; the bound keeps the unique index small.
                .check(check(
                    "ck_idempotency_keys_key_len",
                    char_length(IdempotencyKeys::Key).between(1, 255),
                ))
                // SHA-256 digests are 32 bytes.
                .check(check(
                    "ck_idempotency_keys_request_hash_len",
                    byte_length(IdempotencyKeys::RequestHash).eq(32),
                ))
                .to_owned(),
        )
        .await?;
    let indexes = [
        // The first request with a key claims it by inserting; a concurrent retry waits on
        // this index for the first to commit, then replays it.
        Index::create()
            .name("uq_idempotency_keys_user_op_key")
            .table(IdempotencyKeys::Table)
            .col(IdempotencyKeys::UserId)
            .col(IdempotencyKeys::Operation)
            .col(IdempotencyKeys::Key)
            .unique()
            .to_owned(),
        // Pruning deletes keys older than the replay window.
        Index::create()
            .name("ix_idempotency_keys_created")
            .table(IdempotencyKeys::Table)
            .col(IdempotencyKeys::CreatedAt)
            .to_owned(),
    ];
    for index in indexes {
        manager.create_index(index).await?;
    }
    Ok(())
}

#[derive(DeriveIden, Clone, Copy)]
enum Memberships {
    Table,
    Id,
    BookId,
    UserId,
    Role,
    GuestNameCiphertext,
    GuestNameKeyId,
    GuestNameIndex,
    JoinedAt,
    UpdatedAt,
    RemovedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Entries {
    Table,
    Id,
    BookId,
    Kind,
    AmountE4,
    Currency,
    OriginalAmountE4,
    OriginalCurrency,
    ExchangeRate,
    OccurredOn,
    Description,
    Note,
    CategoryId,
    CreatorId,
    Version,
    SourceEntryId,
    DeletedAt,
    DeletedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum EntryPayers {
    Table,
    Id,
    EntryId,
    BookId,
    MemberId,
    AmountE4,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Splits {
    Table,
    EntryId,
    BookId,
    Mode,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Allocations {
    Table,
    Id,
    EntryId,
    BookId,
    MemberId,
    RatioE4,
    SharesE4,
    ExactE4,
    AdjustmentE4,
    CalculatedE4,
    BaseE4,
    RemainderUnits,
    UnitE4,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum MemberBalances {
    Table,
    MemberId,
    BookId,
    PaidE4,
    OwedE4,
    NetE4,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum IdempotencyKeys {
    Table,
    Id,
    UserId,
    Operation,
    Key,
    RequestHash,
    ResultId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Invites {
    Table,
    MemberId,
}
