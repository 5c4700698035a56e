//! Throttling failed logins (and other guessing, such as invite codes), shared by every
//! instance through the database.
//!
//! Each failure is recorded under keyed hashes of the email and of the client address (raw
//! values never reach the table). A subject with `limit` failures inside the window is refused
//! with RATE_LIMITED until its oldest failure leaves the window. The per-email limit stops
//! guessing one account's password from many addresses; the looser per-address limit stops one
//! client from spraying many accounts while leaving room for people behind one NAT. Aliased
//! `login` fields in one document are separate attempts, so they count one by one.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use entity::login_failure;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};
use uuid::Uuid;

use crate::{
    auth::pii::PiiCipher,
    error::{AppError, AppResult},
};

/// How far back failures count.
pub const WINDOW: Duration = Duration::minutes(15);
/// Failures allowed per email inside the window.
pub const MAX_FAILURES_PER_EMAIL: u64 = 10;
/// Failures allowed per client address inside the window.
pub const MAX_FAILURES_PER_ADDRESS: u64 = 50;
/// Unknown or dead invite codes one user may try inside the window.
pub const MAX_INVITE_GUESSES_PER_USER: u64 = 20;

/// Something failures are counted against.
pub struct Subject {
    hash: [u8; 32],
    limit: u64,
}

impl Subject {
    pub fn email(pii: &PiiCipher, normalized_email: &str) -> Self {
        Self {
            hash: pii.subject_hash("email", normalized_email),
            limit: MAX_FAILURES_PER_EMAIL,
        }
    }

    pub fn address(pii: &PiiCipher, address: IpAddr) -> Self {
        Self {
            hash: pii.subject_hash("client", &address.to_string()),
            limit: MAX_FAILURES_PER_ADDRESS,
        }
    }

    /// A user's failed `joinBook` attempts (invite codes are short enough to guess at).
    pub fn invite_guesses(pii: &PiiCipher, user_id: Uuid) -> Self {
        Self {
            hash: pii.subject_hash("invite-guess", &user_id.to_string()),
            limit: MAX_INVITE_GUESSES_PER_USER,
        }
    }
}

/// RATE_LIMITED when any subject has used up its failures.
pub async fn check(
    db: &impl ConnectionTrait,
    subjects: &[Subject],
    at: DateTime<Utc>,
) -> AppResult<()> {
    for subject in subjects {
        let recent = login_failure::Entity::find()
            .filter(login_failure::Column::Subject.eq(subject.hash.to_vec()))
            .filter(login_failure::Column::OccurredAt.gt(at - WINDOW));
        if recent.clone().count(db).await? < subject.limit {
            continue;
        }
        let oldest = recent
            .order_by_asc(login_failure::Column::OccurredAt)
            .one(db)
            .await?
            .map_or(at, |row| row.occurred_at);
        let retry_after_secs = (oldest + WINDOW - at).num_seconds().max(1);
        return Err(AppError::RateLimited {
            retry_after_secs: u64::try_from(retry_after_secs).unwrap_or(1),
        });
    }
    Ok(())
}

/// Records one failure against every subject, and forgets their failures older than the window.
pub async fn record_failure(
    db: &impl ConnectionTrait,
    subjects: &[Subject],
    at: DateTime<Utc>,
) -> AppResult<()> {
    for subject in subjects {
        login_failure::Entity::delete_many()
            .filter(login_failure::Column::Subject.eq(subject.hash.to_vec()))
            .filter(login_failure::Column::OccurredAt.lte(at - WINDOW))
            .exec(db)
            .await?;
        login_failure::ActiveModel {
            id: Set(Uuid::now_v7()),
            subject: Set(subject.hash.to_vec()),
            occurred_at: Set(at),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// Forgets a subject's failures (after a successful login for that email).
pub async fn clear(db: &impl ConnectionTrait, subject: &Subject) -> AppResult<()> {
    login_failure::Entity::delete_many()
        .filter(login_failure::Column::Subject.eq(subject.hash.to_vec()))
        .exec(db)
        .await?;
    Ok(())
}
