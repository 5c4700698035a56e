//! Tally's SeaORM entities: the shape of every table, and nothing else.
//!
//! One module per table, named in the singular (`entry` for the `entries` table), each with a
//! `Relation` per foreign key; [`prelude`] re-exports them as `Entry`, `Book`, … The string
//! enums that CHECK constraints guard (`Role`, `BookKind`, …) live in [`enums`]. No behaviour
//! lives here: validation, authorisation and ledger arithmetic belong to the `tally` crate, and
//! the schema itself (constraints, indexes, seeds) to the `migration` crate.
//!
//! **Money** is an `i64` in *ten-thousandths* of the currency unit, in columns whose names end in
//! `_e4` (`amount_e4 = 1_234_567` is 123.4567). That is scale 4, the range of DECIMAL(19,4), and
//! exact on every backend: SeaORM would store a `Decimal` in SQLite as REAL, a float that reads
//! 99999999999999.9999 back as 100000000000000. Convert at the edges through the app's `Money`.
//!
//! **Timestamps** are UTC (`DateTimeUtc`) and always written by the application, never by a
//! database default: SQLite's `CURRENT_TIMESTAMP` text ("2026-01-02 03:04:05") sorts differently
//! from the RFC 3339 text the driver writes, and mixed formats would misorder indexed columns.

pub mod access_token;
pub mod activity_log;
pub mod allocation;
pub mod book;
pub mod category;
pub mod entry;
pub mod entry_payer;
pub mod enums;
pub mod idempotency_key;
pub mod invite;
pub mod member_balance;
pub mod membership;
pub mod prelude;
pub mod refresh_token;
pub mod settlement;
pub mod split;
pub mod throttle_counter;
pub mod user;
