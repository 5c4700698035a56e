//! `books.live_entries`: how many live (not deleted) entries a book holds, mirrors included,
//! kept by every change in the statement that moves the book's `balance_version`. It answers an
//! unfiltered `totalCount` without counting the entries, so that read costs the same at 100 and
//! at 100,000 entries. Existing books are counted once, here.

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
                    .add_column(big_integer(Books::LiveEntries).default(0))
                    .to_owned(),
            )
            .await?;
        let live = Query::select()
            .expr(Expr::col((Entries::Table, Entries::Id)).count())
            .from(Entries::Table)
            .and_where(
                Expr::col((Entries::Table, Entries::BookId)).equals((Books::Table, Books::Id)),
            )
            .and_where(Expr::col((Entries::Table, Entries::DeletedAt)).is_null())
            .to_owned();
        manager
            .exec_stmt(
                Query::update()
                    .table(Books::Table)
                    .value(Books::LiveEntries, live)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Books::Table)
                    .drop_column(Books::LiveEntries)
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
    Id,
    LiveEntries,
}

#[derive(DeriveIden)]
enum Entries {
    Table,
    Id,
    BookId,
    DeletedAt,
}
