//! SQLite's one writer, with group commit: the units of work waiting for it run one after
//! another, each in a savepoint of one shared transaction, and that transaction commits once
//! for all of them. Each one's answer and events wait for that commit.
//!
//! Why: SQLite writes one transaction at a time, and a commit costs far more than the
//! statements before it. A commit appends every page it dirtied to the WAL, then fsyncs
//! (`synchronous = FULL`), and checkpoints copy the pages again. A shared entry dirties about
//! 75 pages: the index tails of six books, their balances and versions. The next entries
//! dirty the *same* pages again. Committed together, those pages are written and synced once
//! per group instead of once per entry.
//!
//! How:
//! - **The turn.** A fair (FIFO) mutex over the writer's [`State`]: a unit of work holds it
//!   while it writes, inside the savepoint `tally_unit`. The first unit of a group opens the
//!   group's transaction (`BEGIN IMMEDIATE`, so no statement ever fails upgrading a read lock).
//! - **The unit's savepoint is opened ahead.** While a group is open and nobody holds the turn,
//!   an empty `tally_unit` savepoint waits on top of it: the group opens the first, and each
//!   unit releases its own and opens the next in one script. So beginning a unit costs no
//!   statement, and ending one costs one. Every statement on SQLite is a hop to the
//!   connection's thread and back, and a unit holds the turn, which all writers queue for,
//!   across every hop it makes: a hop less per unit is a hop less per write.
//! - **The committer.** A task woken whenever a unit ends. It queues for the turn like any
//!   unit, so it gets it only after the units already waiting have run and joined the group.
//!   Then it commits them all, answers each one, and delivers their events in commit order.
//!   Under load a group holds every unit that arrived while the previous group ran. Alone, a
//!   unit commits at once: its group has one member.
//!
//! What it keeps:
//! - **Nothing is acknowledged before it is durable.** A unit's `commit` returns only after
//!   its group's `COMMIT` returned, so `synchronous = FULL` holds for every answer. A failed
//!   group commit fails every unit in it, and none of their events is delivered.
//! - **A failed unit costs only itself.** It gives the turn back without releasing
//!   `tally_unit`; the next holder rolls back to it (`ROLLBACK TO` keeps the savepoint open,
//!   empty, for its own use) before writing. The units before it in the group are untouched.
//! - **A lost group is never half-reported.** SQLite rolls a whole transaction back on some
//!   errors (a full disk, an I/O error). A group begins with a marker savepoint
//!   (`tally_group`), and a group is committed only when the marker is still there. A unit is
//!   released only when its savepoint is still there, and the rollback after a failed unit
//!   finds it only if the group's transaction survived. Where one is gone, the group's units
//!   are failed, and the writer's connection is replaced: its driver's count of open
//!   transactions can no longer be trusted.
//! - **No lock is held by an idle group.** Every unit that ends wakes the committer, so a
//!   group left with no member is closed too, and writes on other connections get the lock.

use std::sync::{Arc, Weak};

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
use tokio::sync::{Mutex, Notify, OwnedMappedMutexGuard, OwnedMutexGuard, oneshot};

use crate::{
    db::{self, StatementCounter},
    error::{AppError, AppResult},
    events::{Event, EventBus},
};

/// The marker savepoint every group's transaction begins with (see the module docs).
const MARKER: &str = "tally_group";
/// The savepoint each unit of work writes in, opened before the unit takes the turn.
const UNIT: &str = "tally_unit";

/// This instance's writer: for SQLite, its own connection with group commit; nothing for
/// PostgreSQL, where units of work take any pooled connection and row locks order them.
#[derive(Clone)]
pub struct SqliteWriter(Option<Arc<Shared>>);

struct Shared {
    /// The turn to write, FIFO, and what the holder may touch.
    turn: Arc<Mutex<State>>,
    /// Wakes the committer: a unit of work ended.
    ended: Arc<Notify>,
    /// Where a replacement connection comes from.
    url: String,
    statements: StatementCounter,
    events: EventBus,
}

struct State {
    connection: DatabaseConnection,
    group: Option<Group>,
}

/// The open transaction and the units released into it, waiting for its commit.
struct Group {
    txn: DatabaseTransaction,
    members: Vec<Member>,
    /// The last unit gave the turn back without releasing its savepoint: what it wrote is still
    /// in `tally_unit`, and the next holder rolls it back before it writes.
    abandoned: bool,
}

/// A unit released into the group: its events, and where it waits to hear that the group
/// committed. Dropped unanswered, it tells the unit the group failed.
struct Member {
    events: Vec<Event>,
    answer: oneshot::Sender<()>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // The committer holds only a weak reference: woken now, it finds the writer gone and
        // ends.
        self.ended.notify_one();
    }
}

impl SqliteWriter {
    /// The writer for the database at `url`: for SQLite, opens its connection (counted by
    /// `statements`) and starts its committer, which delivers committed events to `events`.
    pub async fn open(
        url: &str,
        statements: &StatementCounter,
        events: &EventBus,
    ) -> Result<Self, DbErr> {
        if !db::is_sqlite(url) {
            return Ok(Self(None));
        }
        let connection = db::connect_writer(url, statements).await?;
        let shared = Arc::new(Shared {
            turn: Arc::new(Mutex::new(State {
                connection,
                group: None,
            })),
            ended: Arc::new(Notify::new()),
            url: url.to_owned(),
            statements: statements.clone(),
            events: events.clone(),
        });
        tokio::spawn(commit_groups(
            Arc::downgrade(&shared),
            Arc::clone(&shared.ended),
        ));
        Ok(Self(Some(shared)))
    }

    /// Waits for the turn to write, in the open group (opening one if none is): `None` where
    /// there is no writer (PostgreSQL).
    pub async fn begin(&self) -> AppResult<Option<Turn>> {
        let Some(shared) = &self.0 else {
            return Ok(None);
        };
        let mut state = Arc::clone(&shared.turn).lock_owned().await;
        shared.roll_back_abandoned(&mut state).await;
        if state.group.is_none() {
            state.group = Some(open_group(&state.connection).await?);
        }
        let group = OwnedMutexGuard::try_map(state, |state| state.group.as_mut())
            .map_err(|_| AppError::internal(anyhow::anyhow!("the group just opened is gone")))?;
        Ok(Some(Turn {
            group,
            ended: Arc::clone(&shared.ended),
            released: false,
        }))
    }
}

/// Opens a group's transaction on `connection`: `BEGIN IMMEDIATE`, then the marker and the
/// first unit's savepoint.
async fn open_group(connection: &DatabaseConnection) -> Result<Group, DbErr> {
    let options = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    };
    let txn = connection.begin_with_options(options).await?;
    txn.execute_unprepared(&format!("SAVEPOINT {MARKER}; SAVEPOINT {UNIT}"))
        .await?;
    Ok(Group {
        txn,
        members: Vec::new(),
        abandoned: false,
    })
}

impl Shared {
    /// If the group's last unit was abandoned: rolls back what it wrote, leaving its savepoint
    /// open and empty for the next unit. The savepoint is gone only if SQLite rolled the whole
    /// transaction back (a failed statement may); then the group's units are failed and the
    /// connection replaced.
    async fn roll_back_abandoned(&self, state: &mut State) {
        let Some(group) = state.group.as_mut().filter(|group| group.abandoned) else {
            return;
        };
        group.abandoned = false;
        let rolled_back = unit_statement(&group.txn, &format!("ROLLBACK TO {UNIT}")).await;
        if let Err(error) = rolled_back {
            tracing::error!(
                ?error,
                "SQLite lost a group's transaction; failing its units"
            );
            self.fail(state).await;
        }
    }

    /// Commits the open group, if any (after rolling back its last unit if that one was
    /// abandoned), then answers its units and delivers their events in the order they were
    /// released.
    async fn commit(&self, state: &mut State) {
        self.roll_back_abandoned(state).await;
        let Some(Group { txn, members, .. }) = state.group.take() else {
            return;
        };
        let committed = async {
            txn.execute_unprepared(&format!("RELEASE {MARKER}")).await?;
            txn.commit().await
        }
        .await;
        match committed {
            Ok(()) => {
                metrics::counter!("tally_sqlite_group_commits_total").increment(1);
                metrics::counter!("tally_sqlite_grouped_units_total")
                    .increment(members.len() as u64);
                for member in members {
                    self.events.committed(&member.events);
                    // A unit whose request was dropped meanwhile hears nothing: not an error.
                    let _ = member.answer.send(());
                }
            }
            Err(error) => {
                tracing::error!(?error, units = members.len(), "SQLite group commit failed");
                drop(members);
                self.fail(state).await;
            }
        }
    }

    /// Fails the units of the group that was lost (their senders dropped unanswered) and
    /// replaces the connection: the old one's count of open transactions is not to be trusted
    /// after its transaction was lost. Closing it rolls back whatever SQLite still holds open.
    async fn fail(&self, state: &mut State) {
        state.group = None;
        match db::connect_writer(&self.url, &self.statements).await {
            Ok(connection) => {
                let old = std::mem::replace(&mut state.connection, connection);
                if let Err(error) = old.close().await {
                    tracing::warn!(?error, "closing the old SQLite writer connection");
                }
            }
            // The old connection stays; the next group's `BEGIN` tells its unit what is wrong.
            Err(error) => tracing::error!(?error, "cannot reopen the SQLite writer connection"),
        }
    }
}

/// The committer: whenever a unit of work ends, takes its turn (after the units already
/// waiting) and commits the group they formed.
async fn commit_groups(shared: Weak<Shared>, ended: Arc<Notify>) {
    loop {
        ended.notified().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let mut state = Arc::clone(&shared.turn).lock_owned().await;
        shared.commit(&mut state).await;
    }
}

/// Runs `sql`, a statement a unit of work makes the writer run beside its own, counted with
/// them. (The group's own, which a unit alone on the writer also causes, are not: `BEGIN`, the
/// marker, `COMMIT`. Statement counts are per request, and those are per group.)
async fn unit_statement(txn: &DatabaseTransaction, sql: &str) -> Result<(), DbErr> {
    txn.execute_raw(Statement::from_string(DbBackend::Sqlite, sql))
        .await?;
    Ok(())
}

/// A unit of work's turn on the SQLite writer: the open group, with the unit's savepoint open
/// on top. Giving it back wakes the committer, and marks the group's last unit abandoned
/// unless it was released.
pub struct Turn {
    group: OwnedMappedMutexGuard<State, Group>,
    ended: Arc<Notify>,
    released: bool,
}

impl Drop for Turn {
    fn drop(&mut self) {
        if !self.released {
            self.group.abandoned = true;
        }
        self.ended.notify_one();
    }
}

impl Turn {
    /// The group's transaction, which every statement of the unit runs in, inside the unit's
    /// savepoint.
    pub fn txn(&self) -> &DatabaseTransaction {
        &self.group.txn
    }

    /// Releases the unit's savepoint into the group (opening the next unit's in the same
    /// script), gives the turn to the next unit, and waits for the group's commit; `events`
    /// are delivered right after it.
    pub async fn commit(mut self, events: Vec<Event>) -> AppResult<()> {
        unit_statement(
            &self.group.txn,
            &format!("RELEASE {UNIT}; SAVEPOINT {UNIT}"),
        )
        .await?;
        let (answer, heard) = oneshot::channel();
        self.group.members.push(Member { events, answer });
        self.released = true;
        drop(self);
        // The cause of a failure is logged once, by the committer.
        heard.await.map_err(|_| {
            AppError::internal(anyhow::anyhow!(
                "the SQLite group commit this change was in failed"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    //! The writer against a real SQLite file. Units are ordered by when they queue for the
    //! turn (a fair mutex): a unit queued while another holds the turn runs after it, and
    //! before the committer that the holder's end wakes.

    use std::time::Duration;

    use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};

    use super::*;
    use crate::service::revocation::RevokedCredentials;

    /// A writer on a fresh SQLite file with one table `t (x TEXT)`, and a reader connection.
    async fn writer() -> (SqliteWriter, DatabaseConnection) {
        let (writer, reader, _) = counted_writer().await;
        (writer, reader)
    }

    /// [`writer`], and the counter of the writer's statements.
    async fn counted_writer() -> (SqliteWriter, DatabaseConnection, StatementCounter) {
        let dir = std::env::temp_dir().join(format!("tally-group-{}", uuid::Uuid::new_v4()));
        let url = format!("sqlite://{}/db.sqlite?mode=rwc", dir.display());
        let reader = db::connect(&url).await.unwrap();
        reader
            .execute_unprepared("CREATE TABLE t (x TEXT NOT NULL)")
            .await
            .unwrap();
        let events = EventBus::new(DatabaseBackend::Sqlite, RevokedCredentials::default());
        let statements = StatementCounter::default();
        let writer = SqliteWriter::open(&url, &statements, &events)
            .await
            .unwrap();
        (writer, reader, statements)
    }

    async fn insert(turn: &Turn, x: &str) {
        turn.txn()
            .execute_raw(Statement::from_sql_and_values(
                DatabaseBackend::Sqlite,
                "INSERT INTO t (x) VALUES (?)",
                [x.into()],
            ))
            .await
            .unwrap();
    }

    /// A unit that wrote `x` and still holds the turn.
    async fn holding_after(writer: &SqliteWriter, x: &str) -> Turn {
        let turn = writer.begin().await.unwrap().unwrap();
        insert(&turn, x).await;
        turn
    }

    async fn rows(reader: &DatabaseConnection) -> Vec<String> {
        let rows = reader
            .query_all_raw(Statement::from_string(
                DatabaseBackend::Sqlite,
                "SELECT x FROM t ORDER BY x",
            ))
            .await
            .unwrap();
        rows.iter()
            .map(|row| row.try_get::<String>("", "x").unwrap())
            .collect()
    }

    /// `task`'s outcome, failing the test instead of hanging when nothing ever commits.
    async fn finished<T>(task: tokio::task::JoinHandle<T>) -> T {
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("the unit never heard back")
            .unwrap()
    }

    /// Lets a spawned unit reach the turn's queue: units spawned with a settle between them
    /// queue in that order.
    async fn settle() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    /// A unit that writes `x` and ends without committing: its turn is given back abandoned.
    fn failing(writer: &SqliteWriter, x: &'static str) -> tokio::task::JoinHandle<()> {
        let writer = writer.clone();
        tokio::spawn(async move { drop(holding_after(&writer, x).await) })
    }

    /// A unit that writes `x` and commits; what its commit answered.
    fn unit(writer: &SqliteWriter, x: &'static str) -> tokio::task::JoinHandle<AppResult<()>> {
        let writer = writer.clone();
        tokio::spawn(async move { holding_after(&writer, x).await.commit(Vec::new()).await })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn units_queued_behind_one_commit_together_and_are_answered_after_it() {
        let (writer, reader) = writer().await;
        let first = holding_after(&writer, "a").await;
        let (b, c) = (unit(&writer, "b"), unit(&writer, "c"));
        settle().await;
        let last = {
            let writer = writer.clone();
            tokio::spawn(async move { writer.begin().await.unwrap().unwrap() })
        };
        settle().await;
        let a = tokio::spawn(first.commit(Vec::new()));
        // b and c ran after a, in its group; `last` holds the turn now, ahead of the committer.
        let last = finished(last).await;
        settle().await;
        assert!(rows(&reader).await.is_empty(), "nothing is committed yet");
        assert!(!a.is_finished() && !b.is_finished() && !c.is_finished());
        insert(&last, "d").await;
        let d = tokio::spawn(last.commit(Vec::new()));
        for unit in [a, b, c, d] {
            assert!(finished(unit).await.is_ok());
        }
        assert_eq!(rows(&reader).await, ["a", "b", "c", "d"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_unit_begins_in_an_open_group_without_a_statement_and_ends_with_one() {
        let (writer, reader, statements) = counted_writer().await;
        let first = holding_after(&writer, "a").await;
        let second = {
            let writer = writer.clone();
            tokio::spawn(async move { writer.begin().await.unwrap().unwrap() })
        };
        settle().await;
        let before = statements.get();
        let first = tokio::spawn(first.commit(Vec::new()));
        // The committer queued behind `second`, which holds the turn now.
        let second = finished(second).await;
        assert_eq!(
            statements.get() - before,
            1,
            "one statement between the first unit's last write and the second's first"
        );
        insert(&second, "b").await;
        let second = tokio::spawn(second.commit(Vec::new()));
        assert!(finished(first).await.is_ok());
        assert!(finished(second).await.is_ok());
        assert_eq!(rows(&reader).await, ["a", "b"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_unit_abandoned_last_in_its_group_is_rolled_back_before_the_commit() {
        let (writer, reader) = writer().await;
        let first = holding_after(&writer, "a").await;
        let failing = failing(&writer, "b");
        settle().await;
        // The committer that `first`'s end wakes queues behind the failing unit.
        let first = tokio::spawn(first.commit(Vec::new()));
        finished(failing).await;
        assert!(finished(first).await.is_ok());
        assert_eq!(rows(&reader).await, ["a"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_unit_is_rolled_back_alone() {
        let (writer, reader) = writer().await;
        let first = holding_after(&writer, "a").await;
        // Rolled back to its savepoint.
        let failing = failing(&writer, "b");
        settle().await;
        let c = unit(&writer, "c");
        settle().await;
        let first = tokio::spawn(first.commit(Vec::new()));
        finished(failing).await;
        assert!(finished(first).await.is_ok());
        assert!(finished(c).await.is_ok());
        assert_eq!(rows(&reader).await, ["a", "c"]);
    }

    /// What SQLite does to the whole transaction on a full disk or an I/O error, done by hand.
    fn unit_losing_the_group(writer: &SqliteWriter) -> tokio::task::JoinHandle<()> {
        let writer = writer.clone();
        tokio::spawn(async move {
            let turn = writer.begin().await.unwrap().unwrap();
            turn.txn().execute_unprepared("ROLLBACK").await.unwrap();
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lost_group_fails_its_units_and_the_next_unit_starts_afresh() {
        let (writer, reader) = writer().await;
        let first = holding_after(&writer, "a").await;
        let loser = unit_losing_the_group(&writer);
        settle().await;
        // Queued after the loser and before the committer: it finds the group gone before it
        // writes, and must neither commit on its own nor be failed with the lost group.
        let c = unit(&writer, "c");
        settle().await;
        let first = tokio::spawn(first.commit(Vec::new()));
        finished(loser).await;
        assert!(
            finished(first).await.is_err(),
            "a was lost, and must be told so"
        );
        assert!(finished(c).await.is_ok());
        assert_eq!(rows(&reader).await, ["c"]);
        // The writer still works.
        assert!(finished(unit(&writer, "d")).await.is_ok());
        assert_eq!(rows(&reader).await, ["c", "d"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_group_lost_just_before_its_commit_fails_its_units() {
        let (writer, reader) = writer().await;
        let first = holding_after(&writer, "a").await;
        let loser = unit_losing_the_group(&writer);
        settle().await;
        // The committer comes right after the loser: its marker is gone.
        assert!(
            finished(tokio::spawn(first.commit(Vec::new())))
                .await
                .is_err()
        );
        finished(loser).await;
        assert!(rows(&reader).await.is_empty());
        assert!(finished(unit(&writer, "b")).await.is_ok());
        assert_eq!(rows(&reader).await, ["b"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_idle_group_gives_the_write_lock_back() {
        let (writer, reader) = writer().await;
        // A unit that fails before it writes leaves the group it opened.
        drop(writer.begin().await.unwrap().unwrap());
        settle().await;
        // Another connection can write at once (its busy timeout would otherwise run out).
        let write = reader.execute_unprepared("INSERT INTO t (x) VALUES ('z')");
        tokio::time::timeout(Duration::from_secs(1), write)
            .await
            .expect("the idle group still holds the write lock")
            .unwrap();
    }
}
