//! Sessions: a short-lived JWT access token plus an opaque refresh token.
//!
//! Refresh tokens are stored only as SHA-256 hashes, live 7 days, and are rotated on every use
//! (RFC 9700 §4.14): each use marks the token rotated and issues its successor in the same
//! family. Presenting a token that was already rotated means it leaked (or a client raced
//! itself), so the whole family is revoked. Rotation is a conditional UPDATE (`rotated_at IS
//! NULL`), so of two concurrent refreshes with one token exactly one succeeds.
//!
//! A family is one login session: its id is the `sid` of every access token issued in it, and
//! it ends for good `TALLY_SESSION_MAX_DAYS` after the login, however often it is refreshed.
//! Ending a session (logout, logout everywhere, a password change, a replayed token) publishes
//! [`Event::SessionRevoked`] with the commit, so every instance refuses its access tokens at
//! once instead of when they expire.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use entity::refresh_token;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set,
    sea_query::{Expr, IntoCondition},
};
use secrecy::SecretString;
use uuid::Uuid;

use crate::{
    auth::secret_token::{OpaqueToken, TokenHash},
    error::{AppError, AppResult},
    events::Event,
    service::{Actor, Credential, now, unit_of_work::UnitOfWork},
    state::AppState,
};

/// How long a refresh token stays usable if it is never rotated.
pub const REFRESH_TOKEN_TTL: Duration = Duration::days(7);

/// How long an expired refresh token's row is kept: a day after it expired it can neither be
/// used nor tell of a reuse worth acting on (its session's live tokens have rows of their own).
const EXPIRED_KEPT: Duration = Duration::days(1);

/// Deletes refresh tokens that expired more than a day before `at` (the hourly sweep).
pub async fn prune(db: &impl ConnectionTrait, at: DateTime<Utc>) -> AppResult<u64> {
    let deleted = refresh_token::Entity::delete_many()
        .filter(refresh_token::Column::ExpiresAt.lt(at - EXPIRED_KEPT))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected)
}

/// The credentials handed to a client after register, login or refresh.
pub struct Session {
    pub user_id: Uuid,
    /// The refresh-token family: the `sid` of its access tokens.
    pub session_id: Uuid,
    pub access_token: SecretString,
    pub access_token_expires_at: DateTime<Utc>,
    pub refresh_token: OpaqueToken,
}

impl Session {
    /// The actor the session's access token authenticates.
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.user_id,
            credential: Credential::Session {
                id: self.session_id,
            },
            expires_at: Some(self.access_token_expires_at),
        }
    }
}

/// Which session a new refresh token belongs to.
pub enum Family {
    /// A new login: a new family, ending after the configured session lifetime.
    New,
    /// A rotation within an existing family, which keeps its end.
    Continue {
        id: Uuid,
        expires_at: Option<DateTime<Utc>>,
    },
}

/// Starts a session (or continues `family`) inside the caller's transaction.
pub async fn start(
    state: &AppState,
    db: &impl ConnectionTrait,
    user_id: Uuid,
    family: Family,
) -> AppResult<Session> {
    let at = now();
    let (family_id, family_expires_at) = match family {
        Family::New => (Uuid::new_v4(), at + state.config.session_max_lifetime),
        Family::Continue { id, expires_at } => (
            id,
            expires_at.unwrap_or(at + state.config.session_max_lifetime),
        ),
    };
    let refresh_token = OpaqueToken::generate();
    refresh_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        family_id: Set(family_id),
        token_hash: Set(refresh_token.hash().to_vec()),
        expires_at: Set((at + REFRESH_TOKEN_TTL).min(family_expires_at)),
        family_expires_at: Set(Some(family_expires_at)),
        rotated_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(at),
    }
    .insert(db)
    .await?;
    let access = state.keys.jwt.issue(user_id, family_id, at)?;
    Ok(Session {
        user_id,
        session_id: family_id,
        access_token: access.token,
        access_token_expires_at: access.expires_at,
        refresh_token,
    })
}

/// Exchanges a refresh token for a new session in the same family.
pub async fn refresh(state: &AppState, presented: &str) -> AppResult<Session> {
    let hash = OpaqueToken::parse(presented)?.hash();
    let at = now();
    let Some(row) = find(state, &hash).await? else {
        return Err(AppError::Unauthenticated);
    };
    let family_over = row.family_expires_at.is_some_and(|end| end <= at);
    if row.revoked_at.is_some() || row.expires_at <= at || family_over {
        return Err(AppError::Unauthenticated);
    }
    let work = UnitOfWork::begin(state).await?;
    let rotated = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RotatedAt, Expr::value(at))
        .filter(refresh_token::Column::Id.eq(row.id))
        .filter(refresh_token::Column::RotatedAt.is_null())
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(work.txn())
        .await?;
    if rotated.rows_affected != 1 {
        drop(work);
        tracing::warn!(family = %row.family_id, user = %row.user_id, "refresh token reused: revoking its family");
        end_sessions(state, refresh_token::Column::FamilyId.eq(row.family_id)).await?;
        return Err(AppError::Unauthenticated);
    }
    let family = Family::Continue {
        id: row.family_id,
        expires_at: row.family_expires_at,
    };
    let session = start(state, work.txn(), row.user_id, family).await?;
    work.commit(state).await?;
    Ok(session)
}

async fn find(state: &AppState, hash: &TokenHash) -> AppResult<Option<refresh_token::Model>> {
    Ok(refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(hash.to_vec()))
        .one(&state.db)
        .await?)
}

/// Ends the session the refresh token belongs to. Unknown tokens are ignored: logging out
/// twice is not an error, and the answer reveals nothing about the token.
pub async fn logout(state: &AppState, presented: &str) -> AppResult<()> {
    let Ok(token) = OpaqueToken::parse(presented) else {
        return Ok(());
    };
    if let Some(row) = find(state, &token.hash()).await? {
        end_sessions(state, refresh_token::Column::FamilyId.eq(row.family_id)).await?;
    }
    Ok(())
}

/// Ends the caller's every session (`logoutAll`).
pub async fn logout_all(state: &AppState, actor: &Actor) -> AppResult<()> {
    actor.ensure_may_write()?;
    end_sessions(state, refresh_token::Column::UserId.eq(actor.user_id)).await
}

/// Ends the sessions `which` selects in a unit of work of their own.
async fn end_sessions(state: &AppState, which: impl IntoCondition) -> AppResult<()> {
    let mut work = UnitOfWork::begin(state).await?;
    revoke(&mut work, which).await?;
    work.commit(state).await
}

/// Revokes the live refresh tokens `which` selects and announces each session it ends.
pub async fn revoke(work: &mut UnitOfWork, which: impl IntoCondition) -> AppResult<()> {
    let revoked = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now()))
        .filter(which)
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec_with_returning(work.txn())
        .await?;
    let sessions: BTreeSet<Uuid> = revoked.into_iter().map(|row| row.family_id).collect();
    for session_id in sessions {
        work.publish(Event::SessionRevoked { session_id });
    }
    Ok(())
}
