//! `refresh_tokens.family_expires_at`: the absolute end of a login session. Every token of a
//! family carries it, and rotation never issues a token that outlives it, so refreshing keeps a
//! session alive for at most its configured lifetime (`TALLY_SESSION_MAX_DAYS`).
//!
//! Nullable only for the rows written before it existed: such a family gets its end at its next
//! rotation.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(RefreshTokens::Table)
                    .add_column(timestamp_with_time_zone_null(
                        RefreshTokens::FamilyExpiresAt,
                    ))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(RefreshTokens::Table)
                    .drop_column(RefreshTokens::FamilyExpiresAt)
                    .to_owned(),
            )
            .await
    }

    /// SQLite runs DDL in transactions too: a failed step leaves nothing half-created behind.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    FamilyExpiresAt,
}
