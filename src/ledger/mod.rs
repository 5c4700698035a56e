//! The ledger core: exact money, split allocation, balances and settlement plans.
//!
//! This module is **pure**: no async, no database, no clock, no I/O, no floats. Services load
//! values, call these functions, and persist what comes back, so every rule people must trust is
//! here, in one place, and tested by example and by property.
//!
//! # Invariants
//! - Money is an exact `i64` count of ten-thousandths ([`Money`]); arithmetic that would leave
//!   its range is an error, never a wrap.
//! - Σ allocations of an entry = the entry amount ([`allocate`]); Σ payments = the entry amount
//!   ([`validate_payers`]).
//! - Σ net balances of a book = 0, and `net = paid − owed` for each member ([`balances`]).
//! - A settlement plan zeroes every balance in at most n − 1 transfers, the fewest possible for
//!   up to [`EXACT_PLAN_MEMBERS_MAX`] members, and stays put as people pay ([`settlement_plan`]).
//!
//! # Layout
//! - [`money`], [`currency`], `portion`: the value types ([`Money`], [`Currency`],
//!   [`Percent`], [`Weight`]) and their decimal text (`decimal`).
//! - [`split`] (with `apportion`): dividing an entry among members, for every split mode.
//! - [`payers`]: several payers on one entry.
//! - [`exchange`]: entries in another currency, converted by a given rate.
//! - [`breakdown`]: shares of a total in percent that add up to exactly 100.
//! - [`balance`]: paid / owed / net per member, and applying an entry's effect.
//! - [`settle`] (with `zero_sum`): who pays whom, and checking a recorded payment.
//! - [`error`]: [`LedgerError`], which names the input at fault.

mod apportion;
pub mod balance;
pub mod breakdown;
pub mod currency;
mod decimal;
pub mod error;
pub mod exchange;
pub mod money;
pub mod payers;
mod portion;
pub mod settle;
pub mod split;
mod zero_sum;

#[cfg(test)]
mod tests;

pub use balance::{
    Balance, BalanceStatus, EntryEffect, EntryKind, apply_effect, audit, balances, net_balances,
    replace_effect, unapply_effect,
};
pub use breakdown::percentages;
pub use currency::{Currency, CurrencyError};
pub use error::{LedgerError, fields};
pub use exchange::{Rate, RateError, convert, convert_parts};
pub use money::{Money, MoneyError};
pub use payers::validate_payers;
pub use portion::{Percent, Weight};
pub use settle::{EXACT_PLAN_MEMBERS_MAX, Plan, Transfer, check_payment, settlement_plan};
pub use split::{Allocation, SplitRule, allocate};

/// A book member (a user id).
pub type MemberId = uuid::Uuid;

/// An entry id; it seeds the split tie-break, so an entry always splits the same way.
pub type EntryId = uuid::Uuid;
