//! Throttling guesses (passwords, invite codes) and costly requests (registrations), shared by
//! every instance through the database.
//!
//! Each subject (a keyed hash of an email, a client address or a user; raw values never reach
//! the table) has a counter of the attempts taken in its current fixed window. An attempt is
//! **decided and recorded in one statement**: a conditional upsert that starts a new window or
//! adds one to the current one only while the window has room, and reports whether it did. So a
//! concurrent burst of N attempts is evaluated at most `limit` times, however they interleave;
//! the others are refused with RATE_LIMITED before any password is hashed.
//!
//! An attempt is taken *before* the guarded work runs and holds its place while the work runs.
//! What happens after depends on the outcome: a failure keeps its place (it is the failure
//! record), a success gives it back ([`refund`]) or forgets the subject ([`clear`]). Each of
//! these is a unit of work of its own, committed before the guarded work goes on: on SQLite it
//! queues for the writer with every other change, instead of polling SQLite's lock from another
//! connection (a login during a stream of writes waited seconds that way).
//!
//! Fixed windows let a client spend two windows' worth around a boundary; the limits are set
//! with that in mind.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use entity::throttle_counter::{self, Column};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, StatementBuilder,
    sea_query::{Expr, ExprTrait, OnConflict, Query},
};
use uuid::Uuid;

use crate::{
    auth::pii::PiiCipher,
    error::{AppError, AppResult},
    service::unit_of_work::UnitOfWork,
    state::AppState,
};

/// The window of the login and guessing limits.
pub const WINDOW: Duration = Duration::minutes(15);
/// Failed logins allowed per email inside the window.
pub const MAX_FAILURES_PER_EMAIL: u32 = 10;
/// Failed logins allowed per client address inside the window.
pub const MAX_FAILURES_PER_ADDRESS: u32 = 50;
/// Unknown or dead invite codes one user may try inside the window.
pub const MAX_INVITE_GUESSES_PER_USER: u32 = 20;
/// Wrong current passwords one user may give `changePassword` inside the window.
pub const MAX_PASSWORD_CHANGE_FAILURES_PER_USER: u32 = 5;
/// The window of the registration limit.
pub const REGISTRATION_WINDOW: Duration = Duration::hours(1);

/// Something attempts are counted against, with its limit.
pub struct Subject {
    /// What is throttled (`email`, `client`, `register`, …): a metrics label, never a person.
    kind: &'static str,
    hash: [u8; 32],
    limit: u32,
    window: Duration,
}

impl Subject {
    pub fn email(pii: &PiiCipher, normalized_email: &str) -> Self {
        Self::new(
            pii,
            "email",
            normalized_email,
            MAX_FAILURES_PER_EMAIL,
            WINDOW,
        )
    }

    pub fn address(pii: &PiiCipher, address: IpAddr) -> Self {
        let address = address.to_string();
        Self::new(pii, "client", &address, MAX_FAILURES_PER_ADDRESS, WINDOW)
    }

    /// A user's failed `joinBook` attempts (invite codes are short enough to guess at).
    pub fn invite_guesses(pii: &PiiCipher, user_id: Uuid) -> Self {
        let user = user_id.to_string();
        Self::new(
            pii,
            "invite-guess",
            &user,
            MAX_INVITE_GUESSES_PER_USER,
            WINDOW,
        )
    }

    /// A user's wrong current passwords in `changePassword` (a stolen access token must not
    /// become an oracle for the password).
    pub fn password_changes(pii: &PiiCipher, user_id: Uuid) -> Self {
        let user = user_id.to_string();
        let limit = MAX_PASSWORD_CHANGE_FAILURES_PER_USER;
        Self::new(pii, "password-change", &user, limit, WINDOW)
    }

    /// Registrations from one client address, `per_hour` of them an hour (every registration
    /// costs a password hash and creates an account).
    pub fn registrations(pii: &PiiCipher, address: IpAddr, per_hour: u32) -> Self {
        let address = address.to_string();
        Self::new(pii, "register", &address, per_hour, REGISTRATION_WINDOW)
    }

    fn new(pii: &PiiCipher, kind: &'static str, value: &str, limit: u32, window: Duration) -> Self {
        Self {
            kind,
            hash: pii.subject_hash(kind, value),
            limit,
            window,
        }
    }
}

/// A place taken in a subject's window.
pub struct Attempt {
    hash: [u8; 32],
    window_started_ms: i64,
}

/// Gives the places back (the attempts succeeded and should not count), except in windows
/// already replaced by newer ones.
pub async fn refund(
    state: &AppState,
    attempts: impl IntoIterator<Item = Attempt>,
) -> AppResult<()> {
    let work = UnitOfWork::begin(state).await?;
    give_back(work.txn(), attempts).await?;
    work.commit(state).await
}

async fn give_back(
    db: &impl ConnectionTrait,
    attempts: impl IntoIterator<Item = Attempt>,
) -> AppResult<()> {
    for attempt in attempts {
        throttle_counter::Entity::update_many()
            .col_expr(Column::Attempts, Expr::col(Column::Attempts).sub(1))
            .filter(Column::Subject.eq(attempt.hash.to_vec()))
            .filter(Column::WindowStartedMs.eq(attempt.window_started_ms))
            .filter(Column::Attempts.gt(0))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Takes one attempt from every subject, or none: RATE_LIMITED (with the seconds until the full
/// subject's window ends) when any of them has no room left. A change of its own, committed
/// before the guarded work runs.
pub async fn attempt(
    state: &AppState,
    subjects: &[Subject],
    at: DateTime<Utc>,
) -> AppResult<Vec<Attempt>> {
    let work = UnitOfWork::begin(state).await?;
    let mut taken = Vec::with_capacity(subjects.len());
    for subject in subjects {
        match take(work.txn(), subject, at).await? {
            Some(attempt) => taken.push(attempt),
            // The request will not run: the unit of work, dropped uncommitted, gives its places
            // in the other subjects back.
            None => return Err(rate_limited(work.txn(), subject, at).await?),
        }
    }
    work.commit(state).await?;
    Ok(taken)
}

/// The conditional upsert: a subject without a counter, or whose window has ended, starts a
/// window with this attempt; one with room left counts it; one that is full is left alone and
/// no row comes back.
async fn take(
    db: &impl ConnectionTrait,
    subject: &Subject,
    at: DateTime<Utc>,
) -> AppResult<Option<Attempt>> {
    let at_ms = at.timestamp_millis();
    let window_ended = Expr::col((throttle_counter::Entity, Column::WindowStartedMs))
        .lte(at_ms - subject.window.num_milliseconds());
    let has_room =
        Expr::col((throttle_counter::Entity, Column::Attempts)).lt(i64::from(subject.limit));
    let attempts_now = Expr::case(window_ended.clone(), 1)
        .finally(Expr::col((throttle_counter::Entity, Column::Attempts)).add(1));
    let window_now = Expr::case(window_ended.clone(), at_ms).finally(Expr::col((
        throttle_counter::Entity,
        Column::WindowStartedMs,
    )));
    let upsert = Query::insert()
        .into_table(throttle_counter::Entity)
        .columns([Column::Subject, Column::WindowStartedMs, Column::Attempts])
        .values([subject.hash.to_vec().into(), at_ms.into(), 1.into()])
        .map_err(AppError::internal)?
        .on_conflict(
            OnConflict::column(Column::Subject)
                .value(Column::Attempts, attempts_now)
                .value(Column::WindowStartedMs, window_now)
                .action_and_where(window_ended.or(has_room))
                .to_owned(),
        )
        .returning_col(Column::WindowStartedMs)
        .to_owned();
    let row = db
        .query_one_raw(StatementBuilder::build(&upsert, &db.get_database_backend()))
        .await?;
    row.map(|row| {
        Ok(Attempt {
            hash: subject.hash,
            window_started_ms: row.try_get::<i64>("", "window_started_ms")?,
        })
    })
    .transpose()
}

/// The refusal for a full subject, saying when its window ends. Read after the decision, only
/// to inform the client: the decision itself was the upsert's.
async fn rate_limited(
    db: &impl ConnectionTrait,
    subject: &Subject,
    at: DateTime<Utc>,
) -> AppResult<AppError> {
    let counter = throttle_counter::Entity::find_by_id(subject.hash.to_vec())
        .one(db)
        .await?;
    let window_ends_ms = counter.map_or(at.timestamp_millis(), |counter| {
        counter.window_started_ms + subject.window.num_milliseconds()
    });
    let wait_ms = window_ends_ms - at.timestamp_millis();
    // Round up: a client that waits the advertised seconds must find room.
    let retry_after_secs =
        u64::try_from((wait_ms + 999) / 1000).map_or(1, |secs| Ord::max(secs, 1));
    metrics::counter!("tally_throttle_refusals_total", "throttle" => subject.kind).increment(1);
    Ok(AppError::RateLimited { retry_after_secs })
}

/// Forgets a subject's attempts and gives the places in `others` back, in one change (after a
/// successful login: the email's failures are forgotten, the address's place is returned).
pub async fn clear(
    state: &AppState,
    subject: &Subject,
    others: impl IntoIterator<Item = Attempt>,
) -> AppResult<()> {
    let work = UnitOfWork::begin(state).await?;
    throttle_counter::Entity::delete_by_id(subject.hash.to_vec())
        .exec(work.txn())
        .await?;
    give_back(work.txn(), others).await?;
    work.commit(state).await
}

/// Deletes the counters whose window began before `cutoff` (every window is at most an hour
/// long, so a cutoff of an hour ago forgets only finished windows); returns how many went.
pub async fn prune(db: &impl ConnectionTrait, cutoff: DateTime<Utc>) -> AppResult<u64> {
    let deleted = throttle_counter::Entity::delete_many()
        .filter(Column::WindowStartedMs.lt(cutoff.timestamp_millis()))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected)
}
