//! The one seam every write goes through: a transaction, and the events the change will
//! announce once it has committed.
//!
//! A service begins a [`UnitOfWork`], writes through [`UnitOfWork::txn`], records what happened
//! with [`UnitOfWork::publish`], and calls [`UnitOfWork::commit`], the single commit point: the
//! events are staged inside the transaction (PostgreSQL `NOTIFY`, sent only if it commits) and
//! delivered to this instance only after the commit succeeded. A unit of work dropped without
//! committing rolls back and announces nothing.

use sea_orm::{DatabaseTransaction, TransactionTrait};

use crate::{error::AppResult, events::Event, state::AppState};

pub struct UnitOfWork {
    txn: DatabaseTransaction,
    events: Vec<Event>,
}

impl UnitOfWork {
    pub async fn begin(state: &AppState) -> AppResult<Self> {
        Ok(Self {
            txn: state.db.begin().await?,
            events: Vec::new(),
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

    /// Commits the change, then delivers its events.
    pub async fn commit(self, state: &AppState) -> AppResult<()> {
        state.events.stage(&self.txn, &self.events).await?;
        self.txn.commit().await?;
        state.events.deliver(&self.events);
        Ok(())
    }
}
