//! A book's roster and stored balances as of one `balance_version`, shared by every request on
//! this instance that reads the book at that version.
//!
//! Every change to a book's roster (a member joining, leaving or removed, a role change, a
//! guest added or claimed) and to its balances moves the book's `balance_version` in the same
//! transaction ([`UnitOfWork::balances_changed`]). So (book, version) names one state of both,
//! and a request whose access check read the book at version v may use what is cached for v
//! without asking the database again. Nothing is ever invalidated, on this instance or across
//! instances: a write makes a new version, which is a new key, and the old one ages out.
//!
//! **What a key holds.** A miss reads the roster and the balances *after* the caller read the
//! version, so what is stored under v is the state at v or at a later version (a write may have
//! committed in between), never an earlier one: a reader at v sees what it would have seen by
//! reading the database itself a moment later, as before this cache.
//!
//! **Bound.** By weight, one unit per seat and per balance row, [`WEIGHT_CAPACITY`] in all
//! (a 20-member book weighs about 41 units, roughly 5 KiB).
//!
//! [`UnitOfWork::balances_changed`]: crate::service::unit_of_work::UnitOfWork::balances_changed

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
};

use entity::membership;
use uuid::Uuid;

use crate::{
    error::AppResult,
    ledger::Balance,
    service::{balances, members},
    state::AppState,
};

/// A book's live seats (in the order they joined) and its stored balances, as of one version.
#[derive(Debug, Default)]
pub struct CachedBook {
    pub roster: Vec<membership::Model>,
    pub balances: BTreeMap<Uuid, Balance>,
}

/// Weighs a cached book by the rows it holds.
#[derive(Clone, Copy, Default)]
pub struct ByRows;

impl quick_cache::Weighter<(Uuid, i64), Arc<CachedBook>> for ByRows {
    fn weight(&self, _key: &(Uuid, i64), book: &Arc<CachedBook>) -> u64 {
        1 + book.roster.len() as u64 + book.balances.len() as u64
    }
}

/// The cache, by (book, balance version).
pub type BookCache = quick_cache::sync::Cache<(Uuid, i64), Arc<CachedBook>, ByRows>;

/// Rows kept at most (seats plus balance rows plus one per book): about 16 MiB.
pub const WEIGHT_CAPACITY: u64 = 131_072;

/// An empty cache sized for [`WEIGHT_CAPACITY`].
pub fn new_cache() -> BookCache {
    BookCache::with_weighter(4096, WEIGHT_CAPACITY, ByRows)
}

/// Each of `keys` (book, version) as of that version (or later; see the module doc): from the
/// cache, and the misses read together, two statements however many. For readers that already
/// checked the caller's access to each book and read its version from the book's row.
pub async fn many(
    state: &AppState,
    keys: &[(Uuid, i64)],
) -> AppResult<HashMap<(Uuid, i64), Arc<CachedBook>>> {
    let mut found = HashMap::with_capacity(keys.len());
    let mut missing = Vec::new();
    for key in keys {
        match state.books.get(key) {
            Some(book) => {
                found.insert(*key, book);
            }
            None => missing.push(*key),
        }
    }
    if missing.is_empty() {
        return Ok(found);
    }
    let ids: Vec<Uuid> = missing.iter().map(|(book_id, _)| *book_id).collect();
    let db = &state.db;
    let (rosters, balances) =
        tokio::try_join!(members::rosters(db, &ids), balances::of_books(db, &ids))?;
    for key @ (book_id, _) in missing {
        let book = Arc::new(CachedBook {
            // `get`, not `remove`: one request may hold a book at two versions (read before
            // and after a mutation of its own).
            roster: rosters.get(&book_id).cloned().unwrap_or_default(),
            balances: balances.get(&book_id).cloned().unwrap_or_default(),
        });
        state.books.insert(key, Arc::clone(&book));
        found.insert(key, book);
    }
    Ok(found)
}
