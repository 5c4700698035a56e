//! The query root: one object per area, merged.

use async_graphql::{MergedObject, Object};

use crate::graphql::{
    accounts::AccountQuery, books::BookQuery, categories::CategoryQuery, entries::EntryQuery,
    settling::SettlementQuery,
};

#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    SystemQuery,
    AccountQuery,
    BookQuery,
    CategoryQuery,
    EntryQuery,
    SettlementQuery,
);

/// Facts about the server itself.
#[derive(Default)]
pub struct SystemQuery;

#[Object]
impl SystemQuery {
    /// The version of the Tally server answering.
    async fn server_version(&self) -> &'static str {
        env!("CARGO_PKG_VERSION")
    }
}
