//! Opening the database: a pool, configured for the backend it talks to, with migrations
//! applied before the service accepts a request, and for SQLite one more connection, the
//! writer's ([`connect_writer`]).
//!
//! The pool, on either backend, is sized from the machine's cores ([`pool_size`]) and fails an
//! acquire after [`ACQUIRE_TIMEOUT`], so a lost database surfaces as a fast UNAVAILABLE instead
//! of requests piling up.
//!
//! SQLite (the embedded default) runs in WAL mode, so the pool's connections read in parallel
//! and never wait for a writer; with a busy timeout and foreign keys on. Writes are one at a
//! time, as SQLite allows: units of work queue for this instance's writer connection, in order,
//! instead of in SQLite's busy handler, which polls with sleeps, and commit in groups there
//! (see [`crate::service::unit_of_work::SqliteWriter`]). `synchronous = FULL`: a commit is on
//! disk when it returns, power loss included (WAL with `NORMAL` may lose the last commits on
//! power loss, which a ledger must not do silently).

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

/// How long a request waits for a pooled connection before failing.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// A pooled connection idle at least this long is pinged before it is handed out; one used
/// more recently is not. sqlx already pings every connection as it goes back to the pool, and
/// SeaORM's default pinged again on every acquire: a round trip (on SQLite, a hop to the
/// connection's thread) before every request's first statement, a third of a cached read's
/// round trips on PostgreSQL. A connection that broke since its last use (the database
/// restarted) fails its statement as UNAVAILABLE, as it would have failed the ping.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);
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

/// Connects to `url` with a pool of [`pool_size`], creating the SQLite file's directory when
/// needed.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    connect_with(url, pool_size()).await
}

async fn connect_with(url: &str, connections: u32) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url);
    options
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_timeout(ACQUIRE_TIMEOUT)
        .max_connections(connections)
        .min_connections(1)
        .test_before_acquire_if_idle_for(PING_IF_IDLE_FOR)
        .sqlx_logging(false);
    if is_sqlite(url) {
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

/// Whether `url` names a SQLite database.
pub fn is_sqlite(url: &str) -> bool {
    url.starts_with("sqlite:")
}

/// Opens SQLite's writer connection (see [`crate::service::unit_of_work::SqliteWriter`]):
/// configured like the pool's, counted by `statements`.
///
/// Why a connection of its own: in WAL mode a connection that begins a transaction after
/// *another* connection wrote throws its whole page cache away. Writing always on the same
/// connection keeps the pages every write touches (the books, the balances, the ends of the
/// indexes) in its cache; written on whichever pooled connection was free, each write read them
/// back from the file (profiled: a sixth of `createEntry`'s CPU).
pub async fn connect_writer(
    url: &str,
    statements: &StatementCounter,
) -> Result<DatabaseConnection, DbErr> {
    let mut connection = connect_with(url, 1).await?;
    statements.attach(&mut connection);
    Ok(connection)
}

/// How many SQL statements a connection has run, failed ones included. A relaxed atomic add per
/// statement: cheap enough to keep on in production, and it lets tests prove that a request's
/// statement count does not grow with the data it lists (the DataLoaders' promise).
#[derive(Debug, Clone, Default)]
pub struct StatementCounter(Arc<AtomicU64>);

impl StatementCounter {
    /// Starts counting the statements of `db` and of every clone made from it afterwards.
    pub fn attach(&self, db: &mut DatabaseConnection) {
        let count = self.0.clone();
        db.set_metric_callback(move |_| {
            count.fetch_add(1, Ordering::Relaxed);
        });
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
