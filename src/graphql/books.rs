//! Books in the API: `book`, `books`, `createBook`, `updateBook`, `deleteBook`, and the `Book`
//! type with its members, invites, categories and activity.
//!
//! A `Book` value exists only for a caller who passed the book's access check: it wraps the
//! service's proof of access, and every field of it reads through that proof or the request's
//! loaders.

use async_graphql::{
    Context, Enum, ID, InputObject, MaybeUndefined, Object,
    connection::{Connection, EmptyFields},
};
use chrono::{DateTime, Utc};
use entity::enums::Role;

use crate::{
    graphql::{
        accounts::{User, parse_id},
        activity::ActivityEntry,
        categories::Category,
        connection::{self, Cursor, PageArgs},
        context::{actor, state},
        dashboard::Dashboard,
        entries::{
            self, EntriesCursor, EntriesFilter, EntriesTotal, Entry, EntryOrder, MemberBalance,
        },
        guards::BookRoleGuard,
        invites::Invite,
        loaders::{BookKey, CategoriesKey, MembershipKey, loaders, user},
        members::{Member, MemberRole},
        settling::{Settlement, SettlementSuggestions},
    },
    service::{
        access::BookAccess,
        activity, books,
        books::{BookChanges, BookFilter, BookInput},
        dashboard, export, invites, settlements, settling,
    },
};

/// Whose a book is.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "entity::enums::BookKind")]
pub enum BookKind {
    /// One person's own records.
    Personal,
    /// Shared among members, with splits and balances.
    Split,
}

/// What `Book.export` writes.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum ExportFormat {
    Csv,
    Json,
}

/// A ledger kept by one person or shared by several.
pub struct Book(BookAccess);

impl Book {
    /// Wraps a book the caller may see, remembering the caller's role in it for the request's
    /// guards, so guarding a field of this book costs no statement.
    pub async fn wrap(ctx: &Context<'_>, access: BookAccess) -> async_graphql::Result<Self> {
        loaders(ctx)?
            .feed_one(role_key(&access), access.role())
            .await;
        Ok(Book(access))
    }

    /// [`Book::wrap`] for many books.
    pub async fn wrap_all(
        ctx: &Context<'_>,
        all: Vec<BookAccess>,
    ) -> async_graphql::Result<Vec<Self>> {
        let roles = all.iter().map(|access| (role_key(access), access.role()));
        loaders(ctx)?.feed_many(roles).await;
        Ok(all.into_iter().map(Book).collect())
    }
}

fn role_key(access: &BookAccess) -> MembershipKey {
    MembershipKey {
        book_id: access.book_id(),
        user_id: access.actor().user_id,
    }
}

#[Object]
impl Book {
    async fn id(&self) -> ID {
        ID(self.0.book_id().to_string())
    }

    async fn name(&self) -> &str {
        &self.0.book().name
    }

    async fn description(&self) -> Option<&str> {
        self.0.book().description.as_deref()
    }

    async fn kind(&self) -> BookKind {
        self.0.book().kind.into()
    }

    /// ISO 4217 code of the book's currency.
    async fn currency(&self) -> &str {
        &self.0.book().currency
    }

    /// Most members the book admits (2 to 200).
    async fn member_limit(&self) -> i32 {
        self.0.book().member_limit
    }

    /// Set once the book is archived (`deleteBook`); an archived book is read-only.
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.book().archived_at
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.book().created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.book().updated_at
    }

    /// The caller's role in this book.
    async fn my_role(&self) -> MemberRole {
        self.0.role().into()
    }

    /// The book's one OWNER.
    async fn owner(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        user(ctx, self.0.book().owner_id).await
    }

    /// Everyone in the book, in the order they joined.
    async fn members(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Member>> {
        let book = loaders(ctx)?.load_one(BookKey::of(&self.0)).await?;
        Ok(book
            .map(|book| book.roster.iter().cloned().map(Member::new).collect())
            .unwrap_or_default())
    }

    /// The book's entries, a page at a time (at most 100), filtered and ordered; deleted ones
    /// only with `filter.includeDeleted`.
    #[graphql(complexity = "connection::complexity(first, child_complexity)")]
    async fn entries(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "At most 100; 20 when not given.")] first: Option<i32>,
        after: Option<String>,
        filter: Option<EntriesFilter>,
        order_by: Option<EntryOrder>,
    ) -> async_graphql::Result<Connection<EntriesCursor, Entry, EntriesTotal, EmptyFields>> {
        entries::entries_page(ctx, &self.0, first, after, filter, order_by).await
    }

    /// Each member's paid, owed and net (the nets sum to zero), kept current by every entry.
    async fn balances(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<MemberBalance>> {
        let book = loaders(ctx)?.load_one(BookKey::of(&self.0)).await?;
        entries::book_balances(ctx, &self.0, &book.unwrap_or_default()).await
    }

    /// Who should pay whom to settle the current balances, in as few payments as possible.
    async fn settlement_suggestions(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<SettlementSuggestions> {
        let suggestions = settling::suggestions(state(ctx)?, &self.0).await?;
        Ok(SettlementSuggestions::new(
            suggestions,
            self.0.book().currency.clone(),
        ))
    }

    /// One month at a glance: totals, spending by category, the latest entries, the caller's
    /// balance, and (ADMIN and up) each member's month.
    async fn dashboard(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "`\"YYYY-MM\"`")] month: String,
    ) -> async_graphql::Result<Dashboard> {
        let month = dashboard::Month::parse(&month)?;
        let inner = dashboard::month(&state(ctx)?.db, &self.0, month).await?;
        Ok(Dashboard::new(
            inner,
            self.0.book().currency.clone(),
            self.0.actor().user_id,
            self.0.member_id(),
        ))
    }

    /// The book's live entries with their payers and splits, for taking along: `CSV` (one row
    /// per entry, a net column per member; formula-like cells neutralised) or `JSON` (the
    /// `tally.book/1` document, see the README). Any member may export.
    async fn export(
        &self,
        ctx: &Context<'_>,
        format: ExportFormat,
    ) -> async_graphql::Result<String> {
        let state = state(ctx)?;
        Ok(match format {
            ExportFormat::Csv => export::csv(state, &self.0).await?,
            ExportFormat::Json => export::json(state, &self.0).await?,
        })
    }

    /// The book's settlement snapshots, newest first.
    #[graphql(complexity = "connection::complexity(first, child_complexity)")]
    async fn settlements(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "At most 100; 20 when not given.")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<Cursor, Settlement>> {
        let page = PageArgs::parse(first, after.as_deref())?;
        let rows = settlements::page(&state(ctx)?.db, &self.0, page.after, page.fetch()).await?;
        let currency = &self.0.book().currency;
        let wrapped = rows
            .into_iter()
            .map(|row| Settlement::new(row, currency.clone()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(page.connection(wrapped, Settlement::row_id, |settlement| settlement))
    }

    /// Invites that can still be redeemed, newest first (ADMIN and up). All are listed; each
    /// `code` only where the caller outranks the invite's role.
    #[graphql(guard = "BookRoleGuard::book(Role::Admin, self.0.book_id())")]
    async fn invites(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Invite>> {
        let live = invites::live(&state(ctx)?.db, &self.0).await?;
        Ok(live.into_iter().map(Invite::new).collect())
    }

    /// The categories entries of this book can use: the global ones, then the book's own.
    async fn categories(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Category>> {
        let offered = loaders(ctx)?
            .load_one(CategoriesKey(self.0.book_id()))
            .await?;
        Ok(offered
            .unwrap_or_default()
            .into_iter()
            .map(Category)
            .collect())
    }

    /// What happened in the book, newest first (members only).
    #[graphql(
        guard = "BookRoleGuard::book(Role::Reader, self.0.book_id())",
        complexity = "connection::complexity(first, child_complexity)"
    )]
    async fn activity(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "At most 100; 20 when not given.")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<Cursor, ActivityEntry>> {
        let page = PageArgs::parse(first, after.as_deref())?;
        let rows = activity::page(&state(ctx)?.db, &self.0, page.after, page.fetch()).await?;
        Ok(page.connection(rows, |row| row.id, ActivityEntry))
    }
}

/// `createBook`'s input.
#[derive(InputObject)]
pub struct CreateBookInput {
    /// 1 to 100 characters on one line, trimmed; no control or bidirectional formatting
    /// characters.
    name: String,
    kind: BookKind,
    /// ISO 4217 code, e.g. `TWD`, `USD`, `JPY`.
    #[graphql(default = "TWD")]
    currency: String,
    /// At most 1000 characters; line breaks and tabs are kept, other control and
    /// bidirectional formatting characters refused.
    description: Option<String>,
}

/// `updateBook`'s input: fields left out stay as they are; `description: null` clears it.
#[derive(InputObject)]
pub struct UpdateBookInput {
    name: Option<String>,
    description: MaybeUndefined<String>,
    /// 2 to 200, and not below the current number of members.
    member_limit: Option<i32>,
}

#[derive(Default)]
pub struct BookQuery;

#[Object]
impl BookQuery {
    /// One of the caller's books. NOT_FOUND for a book the caller is not in, exactly as for one
    /// that does not exist.
    async fn book(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Book> {
        let book_id = parse_id(&id, "id")?;
        let access = books::get_book(&state(ctx)?.db, &actor(ctx)?, book_id).await?;
        Book::wrap(ctx, access).await
    }

    /// The caller's books, oldest first; archived ones only with `includeArchived`.
    #[graphql(complexity = "connection::complexity(first, child_complexity)")]
    async fn books(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "At most 100; 20 when not given.")] first: Option<i32>,
        after: Option<String>,
        kind: Option<BookKind>,
        #[graphql(default_with = "Some(false)")] include_archived: Option<bool>,
    ) -> async_graphql::Result<Connection<Cursor, Book>> {
        let page = PageArgs::parse(first, after.as_deref())?;
        let filter = BookFilter {
            kind: kind.map(Into::into),
            include_archived: include_archived.unwrap_or(false),
        };
        let found = books::list_books(
            &state(ctx)?.db,
            &actor(ctx)?,
            filter,
            page.after,
            page.fetch(),
        )
        .await?;
        let wrapped = Book::wrap_all(ctx, found).await?;
        Ok(page.connection(wrapped, |book| book.0.book_id(), |book| book))
    }
}

#[derive(Default)]
pub struct BookMutation;

#[Object]
impl BookMutation {
    /// Creates a book; the caller becomes its OWNER.
    async fn create_book(
        &self,
        ctx: &Context<'_>,
        input: CreateBookInput,
    ) -> async_graphql::Result<Book> {
        let (db, actor) = (&state(ctx)?.db, actor(ctx)?);
        let input = BookInput {
            name: &input.name,
            kind: input.kind.into(),
            currency: &input.currency,
            description: input.description.as_deref(),
        };
        let book = books::create_book(state(ctx)?, &actor, input).await?;
        Book::wrap(ctx, books::get_book(db, &actor, book.id).await?).await
    }

    /// Renames the book, or changes its description or member limit (OWNER).
    #[graphql(guard = "BookRoleGuard::arg(Role::Owner, \"id\", &id)")]
    async fn update_book(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateBookInput,
    ) -> async_graphql::Result<Book> {
        let (db, actor) = (&state(ctx)?.db, actor(ctx)?);
        let book_id = parse_id(&id, "id")?;
        let changes = BookChanges {
            name: input.name.as_deref(),
            description: change(&input.description),
            member_limit: input.member_limit,
        };
        books::update_book(state(ctx)?, &actor, book_id, changes).await?;
        Book::wrap(ctx, books::get_book(db, &actor, book_id).await?).await
    }

    /// Archives the book (OWNER): it becomes read-only and leaves `books` unless
    /// `includeArchived` is set.
    #[graphql(guard = "BookRoleGuard::arg(Role::Owner, \"id\", &id)")]
    async fn delete_book(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Book> {
        let (db, actor) = (&state(ctx)?.db, actor(ctx)?);
        let book_id = parse_id(&id, "id")?;
        books::archive_book(state(ctx)?, &actor, book_id).await?;
        Book::wrap(ctx, books::get_book(db, &actor, book_id).await?).await
    }
}

/// An optional, nullable argument as a change: left out → no change, `null` → clear.
pub fn change(value: &MaybeUndefined<String>) -> Option<Option<&str>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(value) => Some(Some(value.as_str())),
    }
}
