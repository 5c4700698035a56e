//! Tally's schema, as an ordered list of migrations.
//!
//! Conventions, so the app can rely on them:
//! - Every constraint, index and trigger has a name (`fk_<table>_<what>`,
//!   `uq_<table>_<what>`, `ck_<table>_<what>`, `ix_<table>_<what>`, `tr_<table>_<what>`) and
//!   the app maps names to domain errors, e.g. `uq_users_email_blind_index` → CONFLICT. PostgreSQL reports the name in every violation;
//!   SQLite reports CHECK names but lists the columns for UNIQUE.
//! - Primary keys are UUIDs (`id`) chosen by the app. Money is BIGINT in ten-thousandths
//!   (`*_e4`), exact on both backends. Timestamps have no database default: the app writes them,
//!   so one clock and one text format fill each column.
//! - Every book-scoped table carries `book_id`, so the data can later be distributed by book.
//! - A migration, once released, is never edited: change the schema with a new one.

pub use sea_orm_migration::prelude::*;

mod ddl;
mod m20261121_000001_create_accounts;
mod m20261121_000002_create_books;
mod m20261121_000003_seed_global_categories;
mod m20261121_000004_create_ledger;
mod m20261121_000005_create_book_records;
mod m20261122_000006_throttle_counters;
mod m20261122_000007_session_lifetime;
mod m20261122_000008_members_carry_money;
mod m20261122_000009_balance_version;
mod m20261122_000010_live_entries_index;
mod m20261207_000011_balances_stay_integers;
mod m20261207_000012_live_entry_count;

pub use m20261121_000003_seed_global_categories::{GLOBAL_CATEGORIES, GlobalCategory};
pub use m20261207_000011_balances_stay_integers::REFUSAL as BALANCE_OUT_OF_RANGE;

/// Applies Tally's migrations in order: `Migrator::up(&db, None)`.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261121_000001_create_accounts::Migration),
            Box::new(m20261121_000002_create_books::Migration),
            Box::new(m20261121_000003_seed_global_categories::Migration),
            Box::new(m20261121_000004_create_ledger::Migration),
            Box::new(m20261121_000005_create_book_records::Migration),
            Box::new(m20261122_000006_throttle_counters::Migration),
            Box::new(m20261122_000007_session_lifetime::Migration),
            Box::new(m20261122_000008_members_carry_money::Migration),
            Box::new(m20261122_000009_balance_version::Migration),
            Box::new(m20261122_000010_live_entries_index::Migration),
            Box::new(m20261207_000011_balances_stay_integers::Migration),
            Box::new(m20261207_000012_live_entry_count::Migration),
        ]
    }
}
