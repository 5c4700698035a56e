//! `tr_member_balances_integer_*`: on SQLite, a balance that stops being an integer is refused.
//!
//! Balances change by adding to them in the database (`paid_e4 = paid_e4 + excluded.paid_e4`),
//! never by reading and writing back. Where a sum leaves the 64-bit range, PostgreSQL's
//! `bigint` arithmetic fails the statement; SQLite's turns the sum into a floating-point
//! number instead, which an INTEGER column then keeps as it is. These triggers make SQLite
//! refuse it too (`RAISE(ABORT, …)`, SQLITE_CONSTRAINT_TRIGGER), so on both backends an
//! overflowing balance fails the change that caused it, and the app answers it as the
//! client's error. PostgreSQL needs nothing.

use sea_orm_migration::{prelude::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The message the triggers abort with; the app recognises the refusal by it.
pub const REFUSAL: &str = "balance out of range";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Sqlite {
            return Ok(());
        }
        for event in ["INSERT", "UPDATE"] {
            let sql = format!(
                "CREATE TRIGGER tr_member_balances_integer_{name} BEFORE {event} ON member_balances \
                 WHEN typeof(NEW.paid_e4) <> 'integer' OR typeof(NEW.owed_e4) <> 'integer' \
                 OR typeof(NEW.net_e4) <> 'integer' \
                 BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END",
                name = event.to_lowercase(),
            );
            manager.get_connection().execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Sqlite {
            return Ok(());
        }
        for name in ["insert", "update"] {
            manager
                .get_connection()
                .execute_unprepared(&format!("DROP TRIGGER tr_member_balances_integer_{name}"))
                .await?;
        }
        Ok(())
    }

    /// SQLite runs DDL in transactions too: a failed step leaves nothing half-created behind.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
