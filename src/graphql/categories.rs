//! Categories in the API: `categories(bookId)`, `createCategory`, `updateCategory`,
//! `deleteCategory`, and the `Category` type. Global categories are offered to every book and
//! are read-only; a book's own are managed by its ADMINs and OWNER.

use async_graphql::{Context, ID, MaybeUndefined, Object};
use chrono::{DateTime, Utc};
use entity::{category, enums::Role};

use crate::{
    graphql::{
        accounts::parse_id,
        books::change,
        context::{actor, state},
        guards::BookRoleGuard,
        loaders::{CategoriesKey, forget_categories, loaders},
    },
    service::categories::{self, CategoryChanges, CategoryInput},
};

/// A label for entries.
pub struct Category(pub category::Model);

#[Object]
impl Category {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// `#RRGGBB`.
    async fn color(&self) -> Option<&str> {
        self.0.color.as_deref()
    }

    /// An icon name from the client's icon set.
    async fn icon(&self) -> Option<&str> {
        self.0.icon.as_deref()
    }

    /// Whether this is one of the defaults every book offers (read-only).
    async fn is_global(&self) -> bool {
        self.0.book_id.is_none()
    }

    /// Set once deleted: entries keep showing it, lists no longer offer it.
    async fn deleted_at(&self) -> Option<DateTime<Utc>> {
        self.0.deleted_at
    }
}

#[derive(Default)]
pub struct CategoryQuery;

#[Object]
impl CategoryQuery {
    /// The categories a book offers: the global ones, then the book's own, each by name.
    #[graphql(guard = "BookRoleGuard::arg(Role::Reader, \"bookId\", &book_id)")]
    async fn categories(
        &self,
        ctx: &Context<'_>,
        book_id: ID,
    ) -> async_graphql::Result<Vec<Category>> {
        let book_id = parse_id(&book_id, "bookId")?;
        let offered = loaders(ctx)?.load_one(CategoriesKey(book_id)).await?;
        Ok(offered
            .unwrap_or_default()
            .into_iter()
            .map(Category)
            .collect())
    }
}

#[derive(Default)]
pub struct CategoryMutation;

#[Object]
impl CategoryMutation {
    /// Adds a category to a book (ADMIN and up). Names are unique within the book, counting
    /// the global ones.
    #[graphql(guard = "BookRoleGuard::arg(Role::Admin, \"bookId\", &book_id)")]
    async fn create_category(
        &self,
        ctx: &Context<'_>,
        book_id: ID,
        #[graphql(desc = "1 to 50 characters on one line.")] name: String,
        #[graphql(desc = "`#RRGGBB`.")] color: Option<String>,
        icon: Option<String>,
    ) -> async_graphql::Result<Category> {
        let input = CategoryInput {
            name: &name,
            color: color.as_deref(),
            icon: icon.as_deref(),
        };
        let row = categories::create(
            state(ctx)?,
            &actor(ctx)?,
            parse_id(&book_id, "bookId")?,
            input,
        )
        .await?;
        forget_categories(loaders(ctx)?);
        Ok(Category(row))
    }

    /// Changes a book's category (ADMIN and up): arguments left out stay as they are, `null`
    /// clears `color` or `icon`.
    async fn update_category(
        &self,
        ctx: &Context<'_>,
        id: ID,
        name: Option<String>,
        color: MaybeUndefined<String>,
        icon: MaybeUndefined<String>,
    ) -> async_graphql::Result<Category> {
        let changes = CategoryChanges {
            name: name.as_deref(),
            color: change(&color),
            icon: change(&icon),
        };
        let row =
            categories::update(state(ctx)?, &actor(ctx)?, parse_id(&id, "id")?, changes).await?;
        forget_categories(loaders(ctx)?);
        Ok(Category(row))
    }

    /// Deletes a book's category (ADMIN and up). Entries that use it keep it.
    async fn delete_category(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Category> {
        let row = categories::delete(state(ctx)?, &actor(ctx)?, parse_id(&id, "id")?).await?;
        forget_categories(loaders(ctx)?);
        Ok(Category(row))
    }
}
