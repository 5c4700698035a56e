//! The global categories every book starts with (`book_id` NULL), under fixed UUIDs so that
//! every database, test and client agrees on them.
//!
//! The list is part of this migration: never edit it; add, rename or retire categories in a
//! new migration.

use sea_orm::prelude::{DateTimeUtc, Uuid};
use sea_orm_migration::prelude::*;

use crate::m20261121_000002_create_books::Categories;

/// One seeded global category.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GlobalCategory {
    pub id: Uuid,
    /// Lower case, as shown before the client localises it.
    pub name: &'static str,
    /// `#RRGGBB`.
    pub color: &'static str,
    /// An icon name from the client's (Lucide-style) icon set.
    pub icon: &'static str,
}

const fn global(
    id: u128,
    name: &'static str,
    color: &'static str,
    icon: &'static str,
) -> GlobalCategory {
    GlobalCategory {
        id: Uuid::from_u128(id),
        name,
        color,
        icon,
    }
}

/// The seeded global categories, in display order.
pub const GLOBAL_CATEGORIES: [GlobalCategory; 8] = [
    global(
        0xc47e6000_0000_4000_8000_000000000001,
        "groceries",
        "#4CAF50",
        "shopping-cart",
    ),
    global(
        0xc47e6000_0000_4000_8000_000000000002,
        "food",
        "#FF9800",
        "utensils",
    ),
    global(
        0xc47e6000_0000_4000_8000_000000000003,
        "transport",
        "#2196F3",
        "bus",
    ),
    global(
        0xc47e6000_0000_4000_8000_000000000004,
        "housing",
        "#795548",
        "house",
    ),
    global(
        0xc47e6000_0000_4000_8000_000000000005,
        "utilities",
        "#607D8B",
        "zap",
    ),
    global(
        0xc47e6000_0000_4000_8000_000000000006,
        "entertainment",
        "#9C27B0",
        "clapperboard",
    ),
    global(
        0xc47e6000_0000_4000_8000_000000000007,
        "travel",
        "#00BCD4",
        "plane",
    ),
    global(
        0xc47e6000_0000_4000_8000_000000000008,
        "other",
        "#9E9E9E",
        "tag",
    ),
];

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Bound values, not SQL literals: the driver then stores the UUIDs and timestamps in
        // exactly the form the entities write (a 16-byte blob for a UUID in SQLite).
        let now: DateTimeUtc = chrono::Utc::now();
        let mut insert = Query::insert();
        insert.into_table(Categories::Table).columns([
            Categories::Id,
            Categories::BookId,
            Categories::Name,
            Categories::Color,
            Categories::Icon,
            Categories::CreatedAt,
            Categories::UpdatedAt,
        ]);
        for category in GLOBAL_CATEGORIES {
            insert
                .values([
                    category.id.into(),
                    Option::<Uuid>::None.into(),
                    category.name.into(),
                    category.color.into(),
                    category.icon.into(),
                    now.into(),
                    now.into(),
                ])
                .map_err(|error| DbErr::Migration(error.to_string()))?;
        }
        manager.execute(insert).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Entries that used these categories keep their rows; `category_id` becomes NULL.
        let ids = GLOBAL_CATEGORIES.map(|category| category.id);
        manager
            .execute(
                Query::delete()
                    .from_table(Categories::Table)
                    .and_where(Expr::col(Categories::Id).is_in(ids))
                    .to_owned(),
            )
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
