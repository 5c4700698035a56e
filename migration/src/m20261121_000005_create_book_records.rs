//! Records kept around a book's ledger: `settlements` (period snapshots), `invites`,
//! `activity_log`, and `idempotency_keys` (replayable mutation results).

use sea_orm_migration::{prelude::*, schema::*};

use crate::ddl::{byte_length, char_length, check, drop_table, foreign_key, one_of};
use crate::m20261121_000001_create_accounts::Users;
use crate::m20261121_000002_create_books::Books;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_settlements(manager).await?;
        create_invites(manager).await?;
        create_activity_log(manager).await?;
        create_idempotency_keys(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(drop_table(IdempotencyKeys::Table))
            .await?;
        manager.drop_table(drop_table(ActivityLog::Table)).await?;
        manager.drop_table(drop_table(Invites::Table)).await?;
        manager.drop_table(drop_table(Settlements::Table)).await
    }

    /// SQLite runs DDL in transactions too: a failed step leaves nothing half-created behind.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

async fn create_settlements(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Settlements::Table)
                .col(pk_uuid(Settlements::Id))
                .col(uuid(Settlements::BookId))
                .col(date(Settlements::PeriodStart))
                .col(date(Settlements::PeriodEnd))
                .col(json_binary(Settlements::Payload))
                .col(uuid(Settlements::CreatedBy))
                .col(timestamp_with_time_zone(Settlements::CreatedAt))
                .foreign_key(&mut foreign_key(
                    "fk_settlements_book",
                    (Settlements::Table, Settlements::BookId),
                    (Books::Table, Books::Id),
                    ForeignKeyAction::Cascade,
                ))
                // Who took a snapshot is part of it: such a user cannot be
                // deleted (NO ACTION refuses; see `ddl`).
                .foreign_key(&mut foreign_key(
                    "fk_settlements_created_by",
                    (Settlements::Table, Settlements::CreatedBy),
                    (Users::Table, Users::Id),
                    ForeignKeyAction::NoAction,
                ))
                // Both ends inclusive; a one-day period has start = end.
                .check(check(
                    "ck_settlements_period",
                    Expr::col(Settlements::PeriodEnd).gte(Expr::col(Settlements::PeriodStart)),
                ))
                .to_owned(),
        )
        .await?;
    // A book's snapshots in the order they were taken.
    manager
        .create_index(
            Index::create()
                .name("ix_settlements_book_created")
                .table(Settlements::Table)
                .col(Settlements::BookId)
                .col(Settlements::CreatedAt)
                .to_owned(),
        )
        .await?;
    Ok(())
}

async fn create_invites(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Invites::Table)
                .col(pk_uuid(Invites::Id))
                .col(uuid(Invites::BookId))
                .col(text(Invites::Code))
                .col(blob(Invites::TokenHash))
                .col(text(Invites::Role))
                .col(uuid(Invites::CreatedBy))
                .col(timestamp_with_time_zone(Invites::ExpiresAt))
                .col(integer_null(Invites::MaxUses))
                .col(integer(Invites::UseCount).default(0))
                .col(timestamp_with_time_zone_null(Invites::RevokedAt))
                .col(timestamp_with_time_zone(Invites::CreatedAt))
                .col(timestamp_with_time_zone(Invites::UpdatedAt))
                .foreign_key(&mut foreign_key(
                    "fk_invites_book",
                    (Invites::Table, Invites::BookId),
                    (Books::Table, Books::Id),
                    ForeignKeyAction::Cascade,
                ))
                // An invite speaks for the member who made it; it goes when they do.
                .foreign_key(&mut foreign_key(
                    "fk_invites_created_by",
                    (Invites::Table, Invites::CreatedBy),
                    (Users::Table, Users::Id),
                    ForeignKeyAction::Cascade,
                ))
                // Codes are typed by hand: always eight characters.
                .check(check(
                    "ck_invites_code_len",
                    char_length(Invites::Code).eq(8),
                ))
                // SHA-256 digests are 32 bytes.
                .check(check(
                    "ck_invites_hash_len",
                    byte_length(Invites::TokenHash).eq(32),
                ))
                // An invite never grants OWNER: ownership only moves by explicit transfer.
                .check(check(
                    "ck_invites_role",
                    one_of(Invites::Role, &["ADMIN", "WRITER", "READER"]),
                ))
                // NULL means unlimited; a limit of zero would be an invite nobody can use.
                .check(check(
                    "ck_invites_max_uses_positive",
                    Expr::col(Invites::MaxUses).gt(0),
                ))
                // Redeeming increments the count in the same UPDATE that checks the limit, so
                // two people racing for the last use cannot both get in.
                .check(check(
                    "ck_invites_use_count",
                    Expr::col(Invites::UseCount).gte(0).and(
                        Expr::col(Invites::MaxUses)
                            .is_null()
                            .or(Expr::col(Invites::UseCount).lte(Expr::col(Invites::MaxUses))),
                    ),
                ))
                .to_owned(),
        )
        .await?;
    // `joinBook(code)` looks the code up; two live books must never share one.
    manager
        .create_index(
            Index::create()
                .name("uq_invites_code")
                .table(Invites::Table)
                .col(Invites::Code)
                .unique()
                .to_owned(),
        )
        .await?;
    // Opening an invite link looks the token up by its hash.
    manager
        .create_index(
            Index::create()
                .name("uq_invites_token_hash")
                .table(Invites::Table)
                .col(Invites::TokenHash)
                .unique()
                .to_owned(),
        )
        .await?;
    // A book's invites, for the admins' list.
    manager
        .create_index(
            Index::create()
                .name("ix_invites_book")
                .table(Invites::Table)
                .col(Invites::BookId)
                .to_owned(),
        )
        .await?;
    Ok(())
}

async fn create_activity_log(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(ActivityLog::Table)
                .col(pk_uuid(ActivityLog::Id))
                .col(uuid(ActivityLog::BookId))
                .col(uuid_null(ActivityLog::ActorId))
                .col(text(ActivityLog::Action))
                .col(text(ActivityLog::SubjectType))
                .col(uuid_null(ActivityLog::SubjectId))
                .col(json_binary_null(ActivityLog::Before))
                .col(json_binary_null(ActivityLog::After))
                .col(timestamp_with_time_zone(ActivityLog::CreatedAt))
                .foreign_key(&mut foreign_key(
                    "fk_activity_log_book",
                    (ActivityLog::Table, ActivityLog::BookId),
                    (Books::Table, Books::Id),
                    ForeignKeyAction::Cascade,
                ))
                // The log outlives a deleted account; it just no longer says who.
                .foreign_key(&mut foreign_key(
                    "fk_activity_log_actor",
                    (ActivityLog::Table, ActivityLog::ActorId),
                    (Users::Table, Users::Id),
                    ForeignKeyAction::SetNull,
                ))
                .to_owned(),
        )
        .await?;
    // A book's activity feed, newest first.
    manager
        .create_index(
            Index::create()
                .name("ix_activity_log_book_created")
                .table(ActivityLog::Table)
                .col(ActivityLog::BookId)
                .col((ActivityLog::CreatedAt, IndexOrder::Desc))
                .to_owned(),
        )
        .await?;
    // The retention job deletes rows older than a cut-off, across all books.
    manager
        .create_index(
            Index::create()
                .name("ix_activity_log_created")
                .table(ActivityLog::Table)
                .col(ActivityLog::CreatedAt)
                .to_owned(),
        )
        .await?;
    Ok(())
}

pub(crate) async fn create_idempotency_keys(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(IdempotencyKeys::Table)
                .col(pk_uuid(IdempotencyKeys::Id))
                .col(uuid(IdempotencyKeys::UserId))
                .col(text(IdempotencyKeys::Operation))
                .col(text(IdempotencyKeys::Key))
                .col(blob(IdempotencyKeys::RequestHash))
                .col(json_binary_null(IdempotencyKeys::Response))
                .col(uuid_null(IdempotencyKeys::BookId))
                .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                .foreign_key(&mut foreign_key(
                    "fk_idempotency_keys_user",
                    (IdempotencyKeys::Table, IdempotencyKeys::UserId),
                    (Users::Table, Users::Id),
                    ForeignKeyAction::Cascade,
                ))
                // A replay of a write into a deleted book has nothing to replay.
                .foreign_key(&mut foreign_key(
                    "fk_idempotency_keys_book",
                    (IdempotencyKeys::Table, IdempotencyKeys::BookId),
                    (Books::Table, Books::Id),
                    ForeignKeyAction::Cascade,
                ))
                // Keys are client-chosen; the bound keeps the unique index small.
                .check(check(
                    "ck_idempotency_keys_key_len",
                    char_length(IdempotencyKeys::Key).lte(255),
                ))
                // SHA-256 digests are 32 bytes.
                .check(check(
                    "ck_idempotency_keys_request_hash_len",
                    byte_length(IdempotencyKeys::RequestHash).eq(32),
                ))
                .to_owned(),
        )
        .await?;
    // The first request with a key claims it by inserting; a concurrent retry then fails on
    // this index and waits for, or replays, the first one's response.
    manager
        .create_index(
            Index::create()
                .name("uq_idempotency_keys_user_op_key")
                .table(IdempotencyKeys::Table)
                .col(IdempotencyKeys::UserId)
                .col(IdempotencyKeys::Operation)
                .col(IdempotencyKeys::Key)
                .unique()
                .to_owned(),
        )
        .await?;
    // Pruning deletes keys older than the replay window.
    manager
        .create_index(
            Index::create()
                .name("ix_idempotency_keys_created")
                .table(IdempotencyKeys::Table)
                .col(IdempotencyKeys::CreatedAt)
                .to_owned(),
        )
        .await?;
    Ok(())
}

#[derive(DeriveIden)]
enum Settlements {
    Table,
    Id,
    BookId,
    PeriodStart,
    PeriodEnd,
    Payload,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Invites {
    Table,
    Id,
    BookId,
    Code,
    TokenHash,
    Role,
    CreatedBy,
    ExpiresAt,
    MaxUses,
    UseCount,
    RevokedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ActivityLog {
    Table,
    Id,
    BookId,
    ActorId,
    Action,
    SubjectType,
    SubjectId,
    Before,
    After,
    CreatedAt,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Id,
    UserId,
    Operation,
    Key,
    RequestHash,
    Response,
    BookId,
    CreatedAt,
}
