//! Property tests: the ledger's laws, checked on generated inputs.
//!
//! Each property runs `PROPTEST_CASES` cases (1,000 when unset; CI sets it explicitly). Where a
//! law has an obviously-correct but slow reference model (naive i128 balances, brute-force
//! optimal plans), the property compares against it, in the spirit of TigerBeetle's auditor.

mod balance_props;
mod purity;
mod settle_props;
mod split_props;
mod strategies;
mod zero_sum_props;
