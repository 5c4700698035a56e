//! Tally: a GraphQL API for shared expense books.
//!
//! # Layout
//! - [`auth`]: passwords, access tokens, opaque secrets and PII encryption.
//! - [`background`]: tasks that run beside the server and stop with it.
//! - [`config`]: environment-only configuration, secrets redacted.
//! - [`db`]: opening the pool and applying migrations.
//! - [`error`]: the one error type and its stable `extensions.code`.
//! - [`events`]: the bus committed changes are announced on, across instances on PostgreSQL.
//! - [`graphql`]: schema roots, API types, loaders and guards.
//! - [`http`]: the axum router (`/graphql`, `/graphql/ws`, `/healthz`, `/readyz`).
//! - [`ledger`]: the pure money core: exact amounts, splits, balances, settlement plans.
//! - [`observability`]: Prometheus metrics on their own listener.
//! - [`service`]: authorize, load, call the ledger, write in one transaction.
//! - [`startup`]: building and running an instance with a graceful stop.
//! - [`text`]: the validated text types every name and description goes through.

pub mod auth;
pub mod background;
pub mod check;
pub mod config;
pub mod db;
pub mod error;
pub mod events;
pub mod graphql;
pub mod http;
pub mod ledger;
pub mod observability;
pub mod service;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod text;
