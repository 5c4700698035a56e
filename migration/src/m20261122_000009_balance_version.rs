//! `books.balance_version`: bumped by every change to a book's materialised balances, in the
//! same transaction. A settlement plan is a pure function of the balances, so it is cached per
//! (book, balance version) and recomputed only when the version moves.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Books::Table)
                    .add_column(big_integer(Books::BalanceVersion).default(0))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Books::Table)
                    .drop_column(Books::BalanceVersion)
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
enum Books {
    Table,
    BalanceVersion,
}
