//! Opening the database: one pool, configured for the backend it talks to, with migrations
//! applied before the service accepts a request.
//!
//! SQLite (the embedded default) runs in WAL mode with a busy timeout and foreign keys on, behind
//! a single pooled connection: SQLite has one writer at a time anyway, and one connection means a
//! deferred transaction can never fail with `SQLITE_BUSY` when it upgrades to a write. PostgreSQL
//! gets a small pool with short acquire timeouts, so a lost database surfaces as a fast error
//! instead of requests piling up.

use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DbErr,
    sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous},
};

/// How long a request waits for a pooled connection before failing.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long SQLite waits on a lock held by another process before reporting busy.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Connects to `url`, creating the SQLite file's directory when needed.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url);
    options
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_timeout(ACQUIRE_TIMEOUT)
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        if let Some(dir) = sqlite_file(url).and_then(Path::parent) {
            std::fs::create_dir_all(dir).map_err(|error| {
                DbErr::Custom(format!("cannot create {}: {error}", dir.display()))
            })?;
        }
        options.max_connections(1).map_sqlx_sqlite_opts(|sqlite| {
            sqlite
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                .foreign_keys(true)
        });
    } else {
        options.max_connections(10).min_connections(1);
    }
    Database::connect(options).await
}

/// How many SQL statements a connection has run, failed ones included. A relaxed atomic add per
/// statement: cheap enough to keep on in production, and it lets tests prove that a request's
/// statement count does not grow with the data it lists (the DataLoaders' promise).
#[derive(Debug, Clone, Default)]
pub struct StatementCounter(Arc<AtomicU64>);

impl StatementCounter {
    /// Starts counting the statements of `db` and of every clone made from it afterwards.
    pub fn attach(db: &mut DatabaseConnection) -> Self {
        let counter = Self::default();
        let count = counter.0.clone();
        db.set_metric_callback(move |_| {
            count.fetch_add(1, Ordering::Relaxed);
        });
        counter
    }

    /// Statements run so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Connects and brings the schema up to date.
pub async fn connect_and_migrate(url: &str) -> Result<DatabaseConnection, DbErr> {
    let db = connect(url).await?;
    Migrator::up(&db, None).await?;
    Ok(db)
}

/// The file path inside a `sqlite://path?options` URL, if it names a file.
fn sqlite_file(url: &str) -> Option<&Path> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| Path::new(path))
}
