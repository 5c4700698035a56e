//! Black-box tests: a real server over HTTP (and WebSocket) against a real database.
//! One binary for all of them keeps linking fast.

// A panic in a test is a failure with a clear location, not a crashed request: helpers may unwrap.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod activity;
mod appenders;
mod books;
mod categories;
mod dashboard;
mod database;
mod entries;
mod entry_properties;
mod helpers;
mod hostile_documents;
mod http_surface;
mod invites;
mod isolation;
mod ledger_helpers;
mod members;
mod metrics;
mod names;
mod rate_limits;
mod roles_matrix;
mod schema_file;
mod settling;
mod shared_caches;
mod sockets;
mod statement_counts;
mod subscriptions;
mod throttles;
mod websocket;
