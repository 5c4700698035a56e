//! Accounts: `users` and what authenticates them (`refresh_tokens`, `access_tokens`), plus
//! `login_failures` for throttling. Nothing here is book-scoped.
//!
//! Secrets are never stored in the clear: email and name are AES-256-GCM ciphertexts (the app
//! holds the keys), and every token is stored as its SHA-256 so a database leak yields nothing
//! that can be presented back to the API.

use sea_orm_migration::{prelude::*, schema::*};

use crate::ddl::{byte_length, check, drop_table, foreign_key, one_of};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(pk_uuid(Users::Id))
                    .col(blob(Users::EmailCiphertext))
                    .col(blob(Users::NameCiphertext))
                    .col(small_integer(Users::PiiKeyId))
                    .col(blob(Users::EmailBlindIndex))
                    .col(text(Users::PasswordHash))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .col(timestamp_with_time_zone(Users::UpdatedAt))
                    // An HMAC-SHA256 is 32 bytes; anything else is a bug that would slip past
                    // the uniqueness check below (e.g. a hex string of the same digest).
                    .check(check(
                        "ck_users_email_blind_index_len",
                        byte_length(Users::EmailBlindIndex).eq(32),
                    ))
                    .to_owned(),
            )
            .await?;
        // One account per email. The email itself is encrypted with a random nonce, so equal
        // addresses never have equal ciphertexts; the keyed hash is what can be compared.
        // The app maps this name to CONFLICT on registration.
        manager
            .create_index(
                Index::create()
                    .name("uq_users_email_blind_index")
                    .table(Users::Table)
                    .col(Users::EmailBlindIndex)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RefreshTokens::Table)
                    .col(pk_uuid(RefreshTokens::Id))
                    .col(uuid(RefreshTokens::UserId))
                    .col(uuid(RefreshTokens::FamilyId))
                    .col(blob(RefreshTokens::TokenHash))
                    .col(timestamp_with_time_zone(RefreshTokens::ExpiresAt))
                    .col(timestamp_with_time_zone_null(RefreshTokens::RotatedAt))
                    .col(timestamp_with_time_zone_null(RefreshTokens::RevokedAt))
                    .col(timestamp_with_time_zone(RefreshTokens::CreatedAt))
                    // A deleted user's sessions die with them.
                    .foreign_key(&mut foreign_key(
                        "fk_refresh_tokens_user",
                        (RefreshTokens::Table, RefreshTokens::UserId),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    // SHA-256 digests are 32 bytes.
                    .check(check(
                        "ck_refresh_tokens_hash_len",
                        byte_length(RefreshTokens::TokenHash).eq(32),
                    ))
                    .to_owned(),
            )
            .await?;
        // Presenting a token looks it up by hash; uniqueness makes the lookup unambiguous.
        manager
            .create_index(
                Index::create()
                    .name("uq_refresh_tokens_hash")
                    .table(RefreshTokens::Table)
                    .col(RefreshTokens::TokenHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // Reuse of a rotated token revokes its whole family (one login's chain of tokens).
        manager
            .create_index(
                Index::create()
                    .name("ix_refresh_tokens_family")
                    .table(RefreshTokens::Table)
                    .col(RefreshTokens::FamilyId)
                    .to_owned(),
            )
            .await?;
        // `logoutAll` revokes every token of a user; also serves the cascade from `users`.
        manager
            .create_index(
                Index::create()
                    .name("ix_refresh_tokens_user")
                    .table(RefreshTokens::Table)
                    .col(RefreshTokens::UserId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AccessTokens::Table)
                    .col(pk_uuid(AccessTokens::Id))
                    .col(uuid(AccessTokens::UserId))
                    .col(text(AccessTokens::Name))
                    .col(text(AccessTokens::Scope))
                    .col(text(AccessTokens::Prefix))
                    .col(blob(AccessTokens::TokenHash))
                    .col(timestamp_with_time_zone_null(AccessTokens::ExpiresAt))
                    .col(timestamp_with_time_zone_null(AccessTokens::LastUsedAt))
                    .col(timestamp_with_time_zone_null(AccessTokens::RevokedAt))
                    .col(timestamp_with_time_zone(AccessTokens::CreatedAt))
                    // A deleted user's tokens die with them.
                    .foreign_key(&mut foreign_key(
                        "fk_access_tokens_user",
                        (AccessTokens::Table, AccessTokens::UserId),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    // The scopes the API knows; anything else would be read as "no access".
                    .check(check(
                        "ck_access_tokens_scope",
                        one_of(AccessTokens::Scope, &["READ", "WRITE"]),
                    ))
                    // SHA-256 digests are 32 bytes.
                    .check(check(
                        "ck_access_tokens_hash_len",
                        byte_length(AccessTokens::TokenHash).eq(32),
                    ))
                    .to_owned(),
            )
            .await?;
        // Every API call with a token looks it up by hash.
        manager
            .create_index(
                Index::create()
                    .name("uq_access_tokens_hash")
                    .table(AccessTokens::Table)
                    .col(AccessTokens::TokenHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // Listing a user's tokens; also serves the cascade from `users`.
        manager
            .create_index(
                Index::create()
                    .name("ix_access_tokens_user")
                    .table(AccessTokens::Table)
                    .col(AccessTokens::UserId)
                    .to_owned(),
            )
            .await?;

        create_login_failures(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Children first; indexes go with their tables.
        manager.drop_table(drop_table(LoginFailures::Table)).await?;
        manager.drop_table(drop_table(AccessTokens::Table)).await?;
        manager.drop_table(drop_table(RefreshTokens::Table)).await?;
        manager.drop_table(drop_table(Users::Table)).await
    }

    /// SQLite runs DDL in transactions too: a failed step leaves nothing half-created behind.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

/// `login_failures` as this migration created it; migration 6 replaced it with
/// `throttle_counters` and calls this to put it back when it is rolled back.
pub(crate) async fn create_login_failures(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(LoginFailures::Table)
                .col(pk_uuid(LoginFailures::Id))
                .col(blob(LoginFailures::Subject))
                .col(timestamp_with_time_zone(LoginFailures::OccurredAt))
                // An HMAC-SHA256 is 32 bytes.
                .check(check(
                    "ck_login_failures_subject_len",
                    byte_length(LoginFailures::Subject).eq(32),
                ))
                .to_owned(),
        )
        .await?;
    // The throttle counts one subject's failures in a recent window; pruning deletes old
    // rows. Both are range scans on this index.
    manager
        .create_index(
            Index::create()
                .name("ix_login_failures_subject_occurred")
                .table(LoginFailures::Table)
                .col(LoginFailures::Subject)
                .col(LoginFailures::OccurredAt)
                .to_owned(),
        )
        .await?;
    Ok(())
}

#[derive(DeriveIden)]
pub enum Users {
    Table,
    Id,
    EmailCiphertext,
    NameCiphertext,
    PiiKeyId,
    EmailBlindIndex,
    PasswordHash,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    Id,
    UserId,
    FamilyId,
    TokenHash,
    ExpiresAt,
    RotatedAt,
    RevokedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AccessTokens {
    Table,
    Id,
    UserId,
    Name,
    Scope,
    Prefix,
    TokenHash,
    ExpiresAt,
    LastUsedAt,
    RevokedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum LoginFailures {
    Table,
    Id,
    Subject,
    OccurredAt,
}
