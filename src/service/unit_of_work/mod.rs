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
//! change made, and [`Event::BalancesChanged`] announces it (a live client that then reads a
//! version more than one on knows it missed a change). Balances move with it:
//! [`UnitOfWork::move_balances`] adds up the change's movements, and the commit applies them
//! in the same, last, statement ([`balances::apply`]): the balance rows and the versions are
//! what every other writer of the book waits for until this change commits.
//!
//! On SQLite a unit of work is a savepoint in the writer's shared transaction, and its commit
//! returns once that transaction committed ([`group_commit`]); on PostgreSQL it is a
//! transaction of its own.

mod group_commit;

use std::collections::BTreeMap;

use sea_orm::{DatabaseTransaction, TransactionTrait};
use uuid::Uuid;

pub use group_commit::SqliteWriter;

use crate::{
    error::AppResult,
    events::Event,
    ledger::EntryEffect,
    service::balances::{self, Direction, Moves},
    state::AppState,
};

pub struct UnitOfWork {
    txn: Txn,
    events: Vec<Event>,
    /// Books whose balances or roster this change touched (sorted: versions move in id order,
    /// the order every write locks books in), each with the number of live entries the change
    /// added to it (negative: took away).
    books: BTreeMap<Uuid, i64>,
    /// The balance changes, applied by the change's last statement at commit.
    moves: Moves,
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
            moves: Moves::default(),
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

    /// Moves `book_id`'s balances by `effect` (the caller's transaction has locked the book),
    /// at commit, and so its version too. An overflow in the change's totals is refused here
    /// (BAD_USER_INPUT), one in a stored balance by the commit.
    pub fn move_balances(
        &mut self,
        book_id: Uuid,
        effect: &EntryEffect,
        direction: Direction,
    ) -> AppResult<()> {
        self.balances_changed(book_id);
        self.moves.add(book_id, effect, direction)
    }

    /// Commits the change, then delivers its events.
    pub async fn commit(mut self, state: &AppState) -> AppResult<()> {
        self.events.extend(
            self.books
                .keys()
                .map(|&book_id| Event::BalancesChanged { book_id }),
        );
        // Staged before the last statement, which takes what every other writer of these
        // books waits for until this commit.
        if let Txn::Own(txn) = &self.txn {
            state.events.stage(txn, &self.events).await?;
        }
        let moves = std::mem::take(&mut self.moves);
        balances::apply(self.txn(), moves, &self.books).await?;
        match self.txn {
            Txn::Own(txn) => {
                txn.commit().await?;
                state.events.committed(&self.events);
                Ok(())
            }
            // The committer delivers the events, in commit order, once the group committed.
            Txn::Grouped(turn) => turn.commit(self.events).await,
        }
    }
}
