//! Books and who is in them: `books`, `memberships`, and `categories` (a book's own, or global
//! with `book_id` NULL).

use sea_orm_migration::{prelude::*, schema::*};

use crate::ddl::{char_length, check, drop_table, foreign_key, one_of};
use crate::m20261121_000001_create_accounts::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Books::Table)
                    .col(pk_uuid(Books::Id))
                    .col(text(Books::Name))
                    .col(text_null(Books::Description))
                    .col(text(Books::Kind))
                    .col(text(Books::Currency).default("TWD"))
                    .col(uuid(Books::OwnerId))
                    .col(integer(Books::MemberLimit).default(50))
                    .col(timestamp_with_time_zone_null(Books::ArchivedAt))
                    .col(timestamp_with_time_zone(Books::CreatedAt))
                    .col(timestamp_with_time_zone(Books::UpdatedAt))
                    // Ownership must be handed over before the owner's account can go (NO
                    // ACTION refuses the delete; see `ddl` for why not RESTRICT).
                    .foreign_key(&mut foreign_key(
                        "fk_books_owner",
                        (Books::Table, Books::OwnerId),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::NoAction,
                    ))
                    .check(check(
                        "ck_books_kind",
                        one_of(Books::Kind, &["PERSONAL", "SPLIT"]),
                    ))
                    // ISO 4217 codes are three letters; the app checks the code is known.
                    .check(check(
                        "ck_books_currency",
                        char_length(Books::Currency).eq(3),
                    ))
                    // A split book needs room for two people; the cap bounds the cost of
                    // settling and of fan-out to subscribers.
                    .check(check(
                        "ck_books_member_limit",
                        Expr::col(Books::MemberLimit).between(2, 200),
                    ))
                    .to_owned(),
            )
            .await?;
        // "Books I own", and the RESTRICT check when a user is deleted.
        manager
            .create_index(
                Index::create()
                    .name("ix_books_owner")
                    .table(Books::Table)
                    .col(Books::OwnerId)
                    .to_owned(),
            )
            .await?;

        create_memberships(manager).await?;

        manager
            .create_table(
                Table::create()
                    .table(Categories::Table)
                    .col(pk_uuid(Categories::Id))
                    .col(uuid_null(Categories::BookId))
                    .col(text(Categories::Name))
                    .col(text_null(Categories::Color))
                    .col(text_null(Categories::Icon))
                    .col(timestamp_with_time_zone_null(Categories::DeletedAt))
                    .col(timestamp_with_time_zone(Categories::CreatedAt))
                    .col(timestamp_with_time_zone(Categories::UpdatedAt))
                    // A book's own categories go with it; global ones (NULL) are untouched.
                    .foreign_key(&mut foreign_key(
                        "fk_categories_book",
                        (Categories::Table, Categories::BookId),
                        (Books::Table, Books::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        // Live names are unique within a book; a soft-deleted category frees its name. Global
        // rows (book_id NULL) never collide here, since NULLs are distinct: see the next index.
        manager
            .create_index(
                Index::create()
                    .name("uq_categories_book_name")
                    .table(Categories::Table)
                    .col(Categories::BookId)
                    .col(Categories::Name)
                    .unique()
                    .and_where(Expr::col(Categories::DeletedAt).is_null())
                    .to_owned(),
            )
            .await?;
        // Live global names are unique too.
        manager
            .create_index(
                Index::create()
                    .name("uq_categories_global_name")
                    .table(Categories::Table)
                    .col(Categories::Name)
                    .unique()
                    .and_where(Expr::col(Categories::BookId).is_null())
                    .and_where(Expr::col(Categories::DeletedAt).is_null())
                    .to_owned(),
            )
            .await?;
        // A book's categories including deleted ones (entries still show them), and the
        // cascade when a book is deleted: the partial index above cannot serve either.
        manager
            .create_index(
                Index::create()
                    .name("ix_categories_book")
                    .table(Categories::Table)
                    .col(Categories::BookId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(drop_table(Categories::Table)).await?;
        manager.drop_table(drop_table(Memberships::Table)).await?;
        manager.drop_table(drop_table(Books::Table)).await
    }

    /// SQLite runs DDL in transactions too: a failed step leaves nothing half-created behind.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

/// `memberships` and its indexes, as first created (migration 8 rebuilds it with guests; its
/// `down` restores this shape).
pub(crate) async fn create_memberships(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Memberships::Table)
                .col(pk_uuid(Memberships::Id))
                .col(uuid(Memberships::BookId))
                .col(uuid(Memberships::UserId))
                .col(text(Memberships::Role))
                .col(timestamp_with_time_zone(Memberships::JoinedAt))
                .col(timestamp_with_time_zone(Memberships::UpdatedAt))
                .foreign_key(&mut foreign_key(
                    "fk_memberships_book",
                    (Memberships::Table, Memberships::BookId),
                    (Books::Table, Books::Id),
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut foreign_key(
                    "fk_memberships_user",
                    (Memberships::Table, Memberships::UserId),
                    (Users::Table, Users::Id),
                    ForeignKeyAction::Cascade,
                ))
                .check(check(
                    "ck_memberships_role",
                    one_of(Memberships::Role, &["OWNER", "ADMIN", "WRITER", "READER"]),
                ))
                .to_owned(),
        )
        .await?;
    // A user is in a book once, with one role; joining twice is a CONFLICT.
    manager
        .create_index(
            Index::create()
                .name("uq_memberships_book_user")
                .table(Memberships::Table)
                .col(Memberships::BookId)
                .col(Memberships::UserId)
                .unique()
                .to_owned(),
        )
        .await?;
    // Exactly one OWNER per book: the database itself refuses a second one, whatever the
    // app does. (Transferring ownership demotes the old owner *before* promoting the new
    // one, in one transaction: a unique index is checked row by row, never deferred.)
    manager
        .create_index(
            Index::create()
                .name("uq_memberships_one_owner")
                .table(Memberships::Table)
                .col(Memberships::BookId)
                .unique()
                .and_where(Expr::col(Memberships::Role).eq("OWNER"))
                .to_owned(),
        )
        .await?;
    // "My books": every request resolves the caller's memberships.
    manager
        .create_index(
            Index::create()
                .name("ix_memberships_user")
                .table(Memberships::Table)
                .col(Memberships::UserId)
                .to_owned(),
        )
        .await?;
    // A book's member list. (Also a prefix of the unique index above; kept as asked by
    // the data-model requirements, and it is small.)
    manager
        .create_index(
            Index::create()
                .name("ix_memberships_book")
                .table(Memberships::Table)
                .col(Memberships::BookId)
                .to_owned(),
        )
        .await?;
    Ok(())
}

#[derive(DeriveIden)]
pub enum Books {
    Table,
    Id,
    Name,
    Description,
    Kind,
    Currency,
    OwnerId,
    MemberLimit,
    ArchivedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Memberships {
    Table,
    Id,
    BookId,
    UserId,
    Role,
    JoinedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum Categories {
    Table,
    Id,
    BookId,
    Name,
    Color,
    Icon,
    DeletedAt,
    CreatedAt,
    UpdatedAt,
}
