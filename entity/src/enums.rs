//! The closed sets of strings stored in text columns. Each column also carries a CHECK
//! constraint listing the same values, so a row written without these types (raw SQL, another
//! tool) is held to the same set.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A member's role in a book, from most to least powerful: OWNER > ADMIN > WRITER > READER.
///
/// Stored in `memberships.role` and `invites.role` (where the database refuses `OWNER`: an
/// invite never hands out ownership).
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    #[sea_orm(string_value = "OWNER")]
    Owner,
    #[sea_orm(string_value = "ADMIN")]
    Admin,
    #[sea_orm(string_value = "WRITER")]
    Writer,
    #[sea_orm(string_value = "READER")]
    Reader,
}

/// Whether a book belongs to one person or is shared (`books.kind`).
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BookKind {
    #[sea_orm(string_value = "PERSONAL")]
    Personal,
    #[sea_orm(string_value = "SPLIT")]
    Split,
}

/// What an entry records (`entries.kind`). A payment between members is a `Transfer`.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EntryKind {
    #[sea_orm(string_value = "EXPENSE")]
    Expense,
    #[sea_orm(string_value = "INCOME")]
    Income,
    #[sea_orm(string_value = "TRANSFER")]
    Transfer,
}

/// How a split apportions an entry's amount among its allocations (`splits.mode`).
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SplitMode {
    #[sea_orm(string_value = "EQUAL")]
    Equal,
    #[sea_orm(string_value = "RATIO")]
    Ratio,
    #[sea_orm(string_value = "SHARES")]
    Shares,
    #[sea_orm(string_value = "EXACT")]
    Exact,
    #[sea_orm(string_value = "ADJUSTMENT")]
    Adjustment,
}

/// What a personal access token may do (`access_tokens.scope`).
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TokenScope {
    #[sea_orm(string_value = "READ")]
    Read,
    #[sea_orm(string_value = "WRITE")]
    Write,
}
