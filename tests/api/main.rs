//! Black-box tests: a real server over HTTP (and WebSocket) against a real database.
//! One binary for all of them keeps linking fast.

mod accounts;
mod books;
mod database;
mod helpers;
mod http_surface;
mod schema_file;
