//! The one seam every write goes through: a transaction, and the events the change will
//! announce once it has committed.
//!
//! A service begins a [`UnitOfWork`], writes through [`UnitOfWork::txn`], records what happened
//! with [`UnitOfWork::publish`], and calls [`UnitOfWork::commit`], the single commit point: the
//! events are staged inside the transaction (PostgreSQL `NOTIFY`, sent only if it commits) and
//! delivered to this instance only after the commit succeeded. A unit of work dropped without
//! committing rolls back and announces nothing.
//!
//! A change to a book's balances or roster is marked with [`UnitOfWork::balances_changed`]:
//! at commit the book's `balance_version` moves on by exactly one, however many statements the
//! change made, and [`Event::BalancesChanged`] carries the new version, so a live client that
//! sees a version jump knows it missed a change.

use std::collections::BTreeSet;

use sea_orm::{DatabaseTransaction, SqliteTransactionMode, TransactionOptions, TransactionTrait};
use tokio::sync::OwnedSemaphorePermit;
use uuid::Uuid;

use crate::{error::AppResult, events::Event, service::balances, state::AppState};

pub struct UnitOfWork {
    txn: DatabaseTransaction,
    events: Vec<Event>,
    /// Books whose balances or roster this change touched (sorted: versions move in id order,
    /// the order every write locks books in).
    books: BTreeSet<Uuid>,
    /// SQLite: this instance's turn to write on its writer connection, held until the unit
    /// of work ends (see [`crate::db::WriteGate`]). Declared after `txn`, so it is given back
    /// after the transaction has ended.
    _turn: Option<OwnedSemaphorePermit>,
}

impl UnitOfWork {
    pub async fn begin(state: &AppState) -> AppResult<Self> {
        let (turn, db) = match state.write_gate.turn().await {
            Some((turn, writer)) => (Some(turn), writer),
            None => (None, &state.db),
        };
        // SQLite: take the write lock at BEGIN, so no statement of the change can fail
        // upgrading a read lock (PostgreSQL ignores the mode).
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        };
        Ok(Self {
            txn: db.begin_with_options(options).await?,
            events: Vec::new(),
            books: BTreeSet::new(),
            _turn: turn,
        })
    }

    /// The transaction every statement of the change runs in.
    pub fn txn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// Announces `event` if, and once, the change commits.
    pub fn publish(&mut self, event: Event) {
        self.events.push(event);
    }

    /// Marks a change to `book_id`'s balances or roster: its version moves on at commit, and
    /// [`Event::BalancesChanged`] announces it. The caller's transaction has locked the book.
    pub fn balances_changed(&mut self, book_id: Uuid) {
        self.books.insert(book_id);
    }

    /// Commits the change, then delivers its events.
    pub async fn commit(mut self, state: &AppState) -> AppResult<()> {
        let books = std::mem::take(&mut self.books);
        for (book_id, version) in balances::next_versions(&self.txn, &books).await? {
            self.events
                .push(Event::BalancesChanged { book_id, version });
        }
        state.events.stage(&self.txn, &self.events).await?;
        self.txn.commit().await?;
        state.events.deliver(&self.events);
        metrics::counter!("tally_events_published_total").increment(self.events.len() as u64);
        Ok(())
    }
}
