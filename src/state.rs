//! What every request can reach: the database pool, the keys, and the configuration.
//! Cloning is cheap (everything is behind `Arc` or is a pool handle).

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::{
    auth::{jwt::JwtKeys, pii::PiiCipher},
    config::{Config, expose},
    db::StatementCounter,
    events::EventBus,
};

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    /// SQLite's one writer on this instance, committing units of work in groups: see
    /// [`crate::service::unit_of_work::SqliteWriter`].
    pub writer: crate::service::unit_of_work::SqliteWriter,
    pub config: Arc<Config>,
    pub keys: Arc<Keys>,
    /// Counts the statements run on `db`.
    pub statements: StatementCounter,
    /// Where committed changes are announced; it also keeps the revoked-credential set.
    pub events: EventBus,
    /// The books live subscribers on this instance watch: see [`crate::service::live`].
    pub live: crate::service::live::Hub,
    /// Books' rosters and balances by (book, balance version): see
    /// [`crate::service::book_cache`].
    pub books: Arc<crate::service::book_cache::BookCache>,
    /// Settlement plans by (book, balance version): see [`crate::service::settling`].
    pub plans: Arc<crate::service::settling::PlanCache>,
    /// The general request rate limit: see [`crate::service::rate_limit`].
    pub rate_limits: Arc<crate::service::rate_limit::RateLimits>,
    /// Turns `true` when the instance starts shutting down, so long-lived connections
    /// (WebSockets, which the HTTP server does not drain) can say goodbye.
    pub stopping: tokio::sync::watch::Receiver<bool>,
}

/// The keys derived from the configured secrets.
pub struct Keys {
    pub jwt: JwtKeys,
    pub pii: PiiCipher,
}

impl Keys {
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        Ok(Self {
            jwt: JwtKeys::new(expose(&config.jwt_secret))?,
            pii: config.data_keys.cipher()?,
        })
    }
}
