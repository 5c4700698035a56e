//! `throttle_counters` replaces `login_failures`: one row per throttled subject holding the
//! attempts of its current window, so that deciding and recording an attempt is one atomic
//! upsert (a log of failures had to be counted first and written later, and a concurrent burst
//! slipped through between the two).
//!
//! Windows are kept in epoch milliseconds (BIGINT) rather than timestamps: the upsert compares
//! and assigns them inside SQL, and integer arithmetic means the same on SQLite and PostgreSQL.

use sea_orm_migration::{prelude::*, schema::*};

use crate::ddl::{byte_length, check, drop_table};
use crate::m20261121_000001_create_accounts::create_login_failures;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ThrottleCounters::Table)
                    // The subject is the primary key: the upsert's conflict target.
                    .col(blob(ThrottleCounters::Subject).primary_key())
                    .col(big_integer(ThrottleCounters::WindowStartedMs))
                    .col(integer(ThrottleCounters::Attempts))
                    // An HMAC-SHA256 is 32 bytes.
                    .check(check(
                        "ck_throttle_counters_subject_len",
                        byte_length(ThrottleCounters::Subject).eq(32),
                    ))
                    // Refunds never take a window below zero attempts.
                    .check(check(
                        "ck_throttle_counters_attempts",
                        Expr::col(ThrottleCounters::Attempts).gte(0),
                    ))
                    .to_owned(),
            )
            .await?;
        // The hourly sweep deletes counters whose window has passed.
        manager
            .create_index(
                Index::create()
                    .name("ix_throttle_counters_window")
                    .table(ThrottleCounters::Table)
                    .col(ThrottleCounters::WindowStartedMs)
                    .to_owned(),
            )
            .await?;
        // Failures recorded under the old scheme only throttled for 15 minutes: nothing to carry.
        manager.drop_table(drop_table(LoginFailures::Table)).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_login_failures(manager).await?;
        manager
            .drop_table(drop_table(ThrottleCounters::Table))
            .await
    }

    /// SQLite runs DDL in transactions too: a failed step leaves nothing half-created behind.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

#[derive(DeriveIden)]
enum ThrottleCounters {
    Table,
    Subject,
    WindowStartedMs,
    Attempts,
}

#[derive(DeriveIden)]
enum LoginFailures {
    Table,
}
