//! Opening the database: one pool, configured for the backend it talks to, with migrations
//! applied before the service accepts a request.
//!
//! The pool, on either backend, is sized from the machine's cores ([`pool_size`]) and fails an
//! acquire after [`ACQUIRE_TIMEOUT`], so a lost database surfaces as a fast UNAVAILABLE instead
//! of requests piling up.
//!
//! SQLite (the embedded default) runs in WAL mode, so its connections read in parallel and
//! never wait for a writer; with a busy timeout and foreign keys on. Writes are one at a time,
//! as SQLite allows: every unit of work begins `IMMEDIATE` (it takes the write lock at `BEGIN`,
//! so it never fails upgrading a read to a write), and waits its turn at this instance's
//! [`WriteGate`] first, in order, instead of in SQLite's busy handler, which polls with sleeps.
//! `synchronous = FULL`: a commit is on disk when it returns, power loss included (WAL with
//! `NORMAL` may lose the last commits on power loss, which a ledger must not do silently).

use std::{
    num::NonZeroUsize,
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
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a request waits for a pooled connection before failing.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long SQLite waits on a lock held by another connection or process before reporting
/// busy (a write outside a unit of work, such as a throttle's upsert, may meet one).
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections per pool: twice the cores, at least 4. A request holds a connection while it
/// waits on the network (PostgreSQL) or on SQLite's worker thread, so a few more connections
/// than cores keep the cores busy; many more only queue inside the database.
pub fn pool_size() -> u32 {
    let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    u32::try_from(cores * 2).unwrap_or(u32::MAX).max(4)
}

/// Connects to `url`, creating the SQLite file's directory when needed.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url);
    options
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_timeout(ACQUIRE_TIMEOUT)
        .max_connections(pool_size())
        .min_connections(1)
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        if let Some(dir) = sqlite_file(url).and_then(Path::parent) {
            std::fs::create_dir_all(dir).map_err(|error| {
                DbErr::Custom(format!("cannot create {}: {error}", dir.display()))
            })?;
        }
        options.map_sqlx_sqlite_opts(|sqlite| {
            sqlite
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                .foreign_keys(true)
                // Statement journals (a multi-row INSERT's undo log, kept until it succeeds)
                // in memory: spilled to temporary files they cost a write syscall per page.
                .pragma("temp_store", "memory")
        });
    }
    Database::connect(options).await
}

/// This instance's queue for SQLite's single writer: a unit of work holds a turn from before
/// its `BEGIN IMMEDIATE` until it ends, so writers wait here, in order and without polling.
/// PostgreSQL has row locks and needs no gate.
#[derive(Clone, Default)]
pub struct WriteGate(Option<Arc<Semaphore>>);

impl WriteGate {
    /// The gate for the database at `url`: one turn at a time for SQLite, none for PostgreSQL.
    pub fn for_url(url: &str) -> Self {
        Self(
            url.starts_with("sqlite:")
                .then(|| Arc::new(Semaphore::new(1))),
        )
    }

    /// Waits for this instance's turn to write (at once where there is no gate).
    pub async fn turn(&self) -> Option<OwnedSemaphorePermit> {
        let gate = self.0.as_ref()?;
        // The semaphore is never closed, so acquiring only ever waits.
        Arc::clone(gate).acquire_owned().await.ok()
    }
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
