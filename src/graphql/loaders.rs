//! Per-request DataLoaders: every lookup of a user, a membership, a book's roster or a book's
//! categories made while resolving one request is batched into one statement per kind, and
//! remembered for the rest of the request. Listing a book's members with their users is thus a
//! fixed number of statements, however many members there are.
//!
//! A fresh [`Loaders`] is attached to every query and mutation by the
//! [`Gateway`](crate::graphql::gateway::Gateway) (so HTTP and WebSocket requests alike get one),
//! and to each event of a subscription by [`PerRequestLoaders`], a schema extension: a cache
//! shared across requests would serve one request another's stale rows.
//!
//! Loaders do not authorize: they are reached only from objects the caller was already allowed
//! to see (a `Book` exists in the response only after its access check).

use std::{collections::HashMap, sync::Arc};

use async_graphql::{
    Context,
    dataloader::{DataLoader, HashMapCache, Loader},
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute},
};
use entity::{allocation, category, entry, entry_payer, enums::Role, membership, split};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::{
    error::{AppError, AppResult},
    graphql::{accounts::User, context::actor},
    service::{
        access::BookAccess,
        accounts,
        book_cache::{self, CachedBook},
        categories,
        entries::query,
        members,
    },
    state::AppState,
};

/// The request's loaders.
pub type Loaders = DataLoader<Batcher, HashMapCache>;

/// The loaders of the request being resolved.
pub fn loaders<'a>(ctx: &Context<'a>) -> AppResult<&'a Loaders> {
    ctx.data::<Loaders>()
        .map_err(|_| AppError::internal(anyhow::anyhow!("Loaders missing from the request")))
}

/// A user as shown to the caller, through the request's user loader.
pub async fn user(ctx: &Context<'_>, user_id: Uuid) -> async_graphql::Result<Option<User>> {
    let viewer = actor(ctx)?;
    let user = loaders(ctx)?.load_one(UserKey(user_id)).await?;
    Ok(user.map(|user| User::new(user, Some(&viewer))))
}

/// Forgets the request's cached memberships and rosters after a mutation changed them, so a
/// later field of the same document (mutations run in order) sees the new roles.
pub fn forget_memberships(loaders: &Loaders) {
    loaders.clear::<MembershipKey>();
    loaders.clear::<BookKey>();
}

/// Forgets the request's cached entry parts after a mutation changed an entry, so a later
/// field of the same document reads the entry as it is now.
pub fn forget_entries(loaders: &Loaders) {
    loaders.clear::<PayersKey>();
    loaders.clear::<SharesKey>();
    loaders.clear::<SplitKey>();
    loaders.clear::<MirrorsKey>();
    loaders.clear::<SeatKey>();
}

/// Forgets the request's cached category lists after a mutation changed a category.
pub fn forget_categories(loaders: &Loaders) {
    loaders.clear::<CategoriesKey>();
}

/// A user's public profile by user id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserKey(pub Uuid);

/// One user's role in one book, if they are a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MembershipKey {
    pub book_id: Uuid,
    pub user_id: Uuid,
}

/// A book's roster and stored balances at the `balance_version` the request read it at
/// (served from [`book_cache`] across requests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BookKey {
    pub book_id: Uuid,
    pub version: i64,
}

impl BookKey {
    /// The key of the book `access` proved, at the version its access check read.
    pub fn of(access: &BookAccess) -> Self {
        Self {
            book_id: access.book_id(),
            version: access.book().balance_version,
        }
    }
}

/// The categories a book offers (global and its own, live ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CategoriesKey(pub Uuid);

/// A seat (live or removed) by its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SeatKey(pub Uuid);

/// A category by its id (live or deleted: an entry keeps showing its category).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CategoryKey(pub Uuid);

/// The payers of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PayersKey(pub Uuid);

/// The allocations of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SharesKey(pub Uuid);

/// The split of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SplitKey(pub Uuid);

/// The live mirrors of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MirrorsKey(pub Uuid);

/// Answers every key type above with one statement per batch.
pub struct Batcher {
    state: AppState,
}

/// Builds a request's loaders. Their batches run as tasks of their own, inside the request's
/// span, so an error a batch logs carries the request id.
///
/// No batching delay (async-graphql waits 1 ms by default, once per level of nesting): a batch
/// task starts when the executor next picks it, after the resolver that spawned it yields, and
/// by then the sibling resolvers polled in the same pass (a list's items are resolved together)
/// have queued their keys. A roster with its users was three such waits, most of its latency.
pub fn new_loaders(state: AppState) -> Loaders {
    DataLoader::with_cache(
        Batcher { state },
        crate::telemetry::spawn_in_current_span,
        HashMapCache::default(),
    )
    .delay(std::time::Duration::ZERO)
}

// Loader errors must be `Clone`; `async_graphql::Error` is, and converting into it is where an
// `AppError` gets its code (and an internal one gets logged).
type LoadResult<K, V> = Result<HashMap<K, V>, async_graphql::Error>;

impl Loader<UserKey> for Batcher {
    type Value = accounts::PublicUser;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[UserKey]) -> LoadResult<UserKey, Self::Value> {
        let ids: Vec<Uuid> = keys.iter().map(|key| key.0).collect();
        let users = accounts::public_users(&self.state, &ids).await?;
        Ok(users
            .into_iter()
            .map(|user| (UserKey(user.id), user))
            .collect())
    }
}

impl Loader<MembershipKey> for Batcher {
    type Value = Role;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[MembershipKey]) -> LoadResult<MembershipKey, Self::Value> {
        let pairs: Vec<(Uuid, Uuid)> = keys.iter().map(|k| (k.book_id, k.user_id)).collect();
        let found = members::memberships(&self.state.db, &pairs).await?;
        Ok(keys
            .iter()
            .filter_map(|key| {
                let row = found.get(&(key.book_id, key.user_id))?;
                Some((*key, row.role))
            })
            .collect())
    }
}

impl Loader<BookKey> for Batcher {
    type Value = Arc<CachedBook>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[BookKey]) -> LoadResult<BookKey, Self::Value> {
        let pairs: Vec<(Uuid, i64)> = keys.iter().map(|key| (key.book_id, key.version)).collect();
        let books = book_cache::many(&self.state, &pairs).await?;
        Ok(books
            .into_iter()
            .map(|((book_id, version), book)| (BookKey { book_id, version }, book))
            .collect())
    }
}

impl Loader<CategoriesKey> for Batcher {
    type Value = Vec<category::Model>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[CategoriesKey]) -> LoadResult<CategoriesKey, Self::Value> {
        let ids: Vec<Uuid> = keys.iter().map(|key| key.0).collect();
        let offered = categories::offered(&self.state.db, &ids).await?;
        Ok(offered
            .into_iter()
            .map(|(book_id, list)| (CategoriesKey(book_id), list))
            .collect())
    }
}

impl Loader<SeatKey> for Batcher {
    type Value = membership::Model;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[SeatKey]) -> LoadResult<SeatKey, Self::Value> {
        let ids: Vec<Uuid> = keys.iter().map(|key| key.0).collect();
        let seats = members::seats(&self.state.db, &ids).await?;
        Ok(seats
            .into_iter()
            .map(|(id, seat)| (SeatKey(id), seat))
            .collect())
    }
}

impl Loader<CategoryKey> for Batcher {
    type Value = category::Model;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[CategoryKey]) -> LoadResult<CategoryKey, Self::Value> {
        let rows = category::Entity::find()
            .filter(category::Column::Id.is_in(keys.iter().map(|key| key.0)))
            .all(&self.state.db)
            .await
            .map_err(AppError::from)?;
        Ok(rows
            .into_iter()
            .map(|row| (CategoryKey(row.id), row))
            .collect())
    }
}

/// Loads a per-entry list for a batch of entries with `fetch`, keyed back by `key`.
async fn by_entry<K, V, F>(
    keys: &[K],
    id: impl Fn(&K) -> Uuid,
    key: impl Fn(Uuid) -> K,
    fetch: impl FnOnce(Vec<Uuid>) -> F,
) -> LoadResult<K, V>
where
    K: std::hash::Hash + Eq,
    F: std::future::Future<Output = AppResult<HashMap<Uuid, V>>>,
{
    let ids: Vec<Uuid> = keys.iter().map(id).collect();
    let found = fetch(ids).await?;
    Ok(found
        .into_iter()
        .map(|(id, value)| (key(id), value))
        .collect())
}

impl Loader<PayersKey> for Batcher {
    type Value = Vec<entry_payer::Model>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[PayersKey]) -> LoadResult<PayersKey, Self::Value> {
        by_entry(
            keys,
            |k| k.0,
            PayersKey,
            |ids| async move { query::payers_of(&self.state.db, &ids).await },
        )
        .await
    }
}

impl Loader<SharesKey> for Batcher {
    type Value = Vec<allocation::Model>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[SharesKey]) -> LoadResult<SharesKey, Self::Value> {
        by_entry(
            keys,
            |k| k.0,
            SharesKey,
            |ids| async move { query::shares_of(&self.state.db, &ids).await },
        )
        .await
    }
}

impl Loader<SplitKey> for Batcher {
    type Value = split::Model;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[SplitKey]) -> LoadResult<SplitKey, Self::Value> {
        by_entry(
            keys,
            |k| k.0,
            SplitKey,
            |ids| async move { query::splits_of(&self.state.db, &ids).await },
        )
        .await
    }
}

impl Loader<MirrorsKey> for Batcher {
    type Value = Vec<entry::Model>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[MirrorsKey]) -> LoadResult<MirrorsKey, Self::Value> {
        by_entry(
            keys,
            |k| k.0,
            MirrorsKey,
            |ids| async move { query::mirrors_of(&self.state.db, &ids).await },
        )
        .await
    }
}

/// Schema extension giving every execution its own [`Loaders`]: the subscriptions' schema
/// has it (see [`crate::graphql::gateway`]).
pub struct PerRequestLoaders(pub AppState);

impl ExtensionFactory for PerRequestLoaders {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(AttachLoaders(self.0.clone()))
    }
}

struct AttachLoaders(AppState);

#[async_graphql::async_trait::async_trait]
impl Extension for AttachLoaders {
    /// Runs once per query or mutation, and once per event of a subscription: a subscription's
    /// events each get fresh loaders, so nothing one event read (a role, a name) outlives it.
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> async_graphql::Response {
        let mut data = async_graphql::Data::default();
        data.insert(new_loaders(self.0.clone()));
        next.run_with_data(ctx, operation_name, data).await
    }
}
