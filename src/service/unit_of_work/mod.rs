//! The one seam every write goes through: a transaction, and the events the change will
//! announce once it has committed.
//!
//! A service begins a [`UnitOfWork`], writes through [`UnitOfWork::txn`], records what happened
//! with [`UnitOfWork::publish`], and calls [`UnitOfWork::commit`], the single commit point: the
//! events are staged inside the transaction (PostgreSQL `NOTIFY`, sent only if it commits) and
//! delivered to this instance only after the commit succeeded. A unit of work dropped without
//! committing rolls back and announces nothing.
//!
//! A unit that answers with success commits, even when it changed nothing (an idempotent
//! replay, a rename to the same name): on SQLite what it read may belong to earlier units of
//! its group, not yet committed, and its answer must not run ahead of them. An error may be
//! answered at once: it acknowledges nothing.
//!
//! A change to a book's balances or roster is marked with [`UnitOfWork::balances_changed`]:
//! at commit the book's `balance_version` moves on by exactly one, however many statements the
//! change made, and [`Event::BalancesChanged`] carries the new version, so a live client that
//! sees a version jump knows it missed a change.
//!
//! On SQLite a unit of work is a savepoint in the writer's shared transaction, and its commit
//! returns once that transaction committed ([`group_commit`]); on PostgreSQL it is a
//! transaction of its own.

mod group_commit;

use std::collections::BTreeMap;

use sea_orm::{DatabaseTransaction, TransactionTrait};
use uuid::Uuid;

pub use group_commit::SqliteWriter;

use crate::{error::AppResult, events::Event, service::balances, state::AppState};

pub struct UnitOfWork {
    txn: Txn,
    events: Vec<Event>,
    /// Books whose balances or roster this change touched (sorted: versions move in id order,
    /// the order every write locks books in), each with the number of live entries the change
    /// added to it (negative: took away).
    books: BTreeMap<Uuid, i64>,
}

/// Where a unit of work writes.
enum Txn {
    /// PostgreSQL: a transaction of its own, on any pooled connection.
    Own(DatabaseTransaction),
    /// SQLite: a savepoint in the writer's open group, committed with the group (see
    /// [`group_commit`]).
    Grouped(group_commit::Turn),
}

impl UnitOfWork {
    pub async fn begin(state: &AppState) -> AppResult<Self> {
        let txn = match state.writer.begin().await? {
            Some(turn) => Txn::Grouped(turn),
            None => Txn::Own(state.db.begin().await?),
        };
        Ok(Self {
            txn,
            events: Vec::new(),
            books: BTreeMap::new(),
        })
    }

    /// The transaction every statement of the change runs in.
    pub fn txn(&self) -> &DatabaseTransaction {
        match &self.txn {
            Txn::Own(txn) => txn,
            Txn::Grouped(turn) => turn.txn(),
        }
    }

    /// Announces `event` if, and once, the change commits.
    pub fn publish(&mut self, event: Event) {
        self.events.push(event);
    }

    /// Marks a change to `book_id`'s balances or roster: its version moves on at commit, and
    /// [`Event::BalancesChanged`] announces it. The caller's transaction has locked the book.
    pub fn balances_changed(&mut self, book_id: Uuid) {
        self.books.entry(book_id).or_default();
    }

    /// Marks `delta` live entries added to `book_id` (negative: deleted), a change to its
    /// balances too: `books.live_entries` moves with its version.
    pub fn entries_counted(&mut self, book_id: Uuid, delta: i64) {
        *self.books.entry(book_id).or_default() += delta;
    }

    /// Commits the change, then delivers its events.
    pub async fn commit(mut self, state: &AppState) -> AppResult<()> {
        for (book_id, version) in balances::next_versions(self.txn(), &self.books).await? {
            self.events
                .push(Event::BalancesChanged { book_id, version });
        }
        match self.txn {
            Txn::Own(txn) => {
                state.events.stage(&txn, &self.events).await?;
                txn.commit().await?;
                state.events.committed(&self.events);
                Ok(())
            }
            // The committer delivers the events, in commit order, once the group committed.
            Txn::Grouped(turn) => turn.commit(self.events).await,
        }
    }
}
