//! The GraphQL API: schema roots, API types (never the database entities), per-request loaders
//! and guards.
//!
//! The schema is built once at start-up with the limits every public GraphQL endpoint needs:
//! async-graphql's complexity and directive limits, and the [`policy`] for what async-graphql
//! cannot express (bracket nesting before parsing, selection depth with its own bound for
//! introspection, single-use credential fields, the credential as of now), which the
//! [`gateway`] applies to every request of every transport. Expensive or hostile documents are
//! refused before any resolver runs.

pub mod accounts;
pub mod activity;
pub mod books;
pub mod categories;
pub mod connection;
pub mod context;
pub mod dashboard;
pub mod entries;
pub mod entry_input;
pub mod gateway;
pub mod guards;
pub mod invites;
pub mod limits;
pub mod live;
pub mod loaders;
pub mod members;
mod mutation;
pub mod policy;
mod query;
mod scalars;
pub mod settling;

use async_graphql::Schema;

use crate::state::AppState;
pub use live::SubscriptionRoot;
pub use mutation::MutationRoot;
pub use query::QueryRoot;

/// The executable schema served at `/graphql`.
pub type TallySchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Upper bound on a document's cost (each field counts 1; lists multiply by their page size).
/// A full page of 100 entries with their payers, split, members and mirrors costs about 2,500;
/// pages nested in pages (every book's entries) go far beyond and are refused.
const MAX_COMPLEXITY: usize = 5_000;
/// Directives allowed on one field (GHSA-5gc2-7c65-8fq8: unbounded directives exhaust the CPU).
const MAX_DIRECTIVES: usize = 8;

/// Builds the schema with the application state every resolver reads from, and `loaders` as
/// its one extension if given (see [`gateway`] for why only subscriptions have it).
pub fn build_schema(state: &AppState, loaders: Option<loaders::PerRequestLoaders>) -> TallySchema {
    let mut builder = schema_builder();
    if let Some(loaders) = loaders {
        builder = builder.extension(loaders);
    }
    if !state.config.introspection {
        // A production API need not describe itself to strangers: no schema, and no "did you
        // mean" hints that would leak it field by field.
        builder = builder.disable_introspection().disable_suggestions();
    }
    builder.data(state.clone()).finish()
}

/// The schema's SDL, as written to `schema.graphql` by `tally schema`.
pub fn sdl() -> String {
    schema_builder().finish().sdl()
}

/// The schema with async-graphql's request limits, without application state: [`build_schema`]
/// adds the state. On its own it serves the SDL and, behind a [`gateway::Gateway`], fuzzing of
/// the request path (policy, parse, validation), where resolvers that need the database fail.
pub fn schema_builder() -> async_graphql::SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot,
    )
    .limit_complexity(MAX_COMPLEXITY)
    .limit_directives(MAX_DIRECTIVES)
}
