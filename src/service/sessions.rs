//! Sessions: a short-lived JWT access token plus an opaque refresh token.
//!
//! Refresh tokens are stored only as SHA-256 hashes, live 7 days, and are rotated on every use
//! (RFC 9700 §4.14): each use marks the token rotated and issues its successor in the same
//! family. Presenting a token that was already rotated means it leaked (or a client raced
//! itself), so the whole family is revoked. Rotation is a conditional UPDATE (`rotated_at IS
//! NULL`), so of two concurrent refreshes with one token at most one succeeds.

use chrono::{DateTime, Duration, Utc};
use entity::refresh_token;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set,
    TransactionTrait,
    sea_query::{Expr, IntoCondition},
};
use secrecy::SecretString;
use uuid::Uuid;

use crate::{
    auth::secret_token::{OpaqueToken, TokenHash},
    error::{AppError, AppResult},
    service::{Actor, now},
    state::AppState,
};

/// How long a refresh token stays usable if it is never rotated.
pub const REFRESH_TOKEN_TTL: Duration = Duration::days(7);

/// The credentials handed to a client after register, login or refresh.
pub struct Session {
    pub user_id: Uuid,
    pub access_token: SecretString,
    pub access_token_expires_at: DateTime<Utc>,
    pub refresh_token: OpaqueToken,
}

/// Starts a session (a new token family unless `family` is given) inside the caller's
/// transaction.
pub async fn start(
    state: &AppState,
    db: &impl ConnectionTrait,
    user_id: Uuid,
    family: Option<Uuid>,
) -> AppResult<Session> {
    let at = now();
    let refresh_token = OpaqueToken::generate();
    refresh_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        family_id: Set(family.unwrap_or_else(Uuid::new_v4)),
        token_hash: Set(refresh_token.hash().to_vec()),
        expires_at: Set(at + REFRESH_TOKEN_TTL),
        rotated_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(at),
    }
    .insert(db)
    .await?;
    let access = state.keys.jwt.issue(user_id, at)?;
    Ok(Session {
        user_id,
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
    if row.revoked_at.is_some() || row.expires_at <= at {
        return Err(AppError::Unauthenticated);
    }
    let txn = state.db.begin().await?;
    let rotated = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RotatedAt, Expr::value(at))
        .filter(refresh_token::Column::Id.eq(row.id))
        .filter(refresh_token::Column::RotatedAt.is_null())
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    if rotated.rows_affected != 1 {
        txn.rollback().await?;
        tracing::warn!(family = %row.family_id, user = %row.user_id, "refresh token reused: revoking its family");
        revoke_family(&state.db, row.family_id).await?;
        return Err(AppError::Unauthenticated);
    }
    let session = start(state, &txn, row.user_id, Some(row.family_id)).await?;
    txn.commit().await?;
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
        revoke_family(&state.db, row.family_id).await?;
    }
    Ok(())
}

async fn revoke_family(db: &impl ConnectionTrait, family_id: Uuid) -> AppResult<()> {
    revoke_live(db, refresh_token::Column::FamilyId.eq(family_id)).await
}

/// Revokes every refresh token of `user_id` (logout everywhere, password change).
pub async fn revoke_all(db: &impl ConnectionTrait, user_id: Uuid) -> AppResult<()> {
    revoke_live(db, refresh_token::Column::UserId.eq(user_id)).await
}

/// Ends the caller's every session (`logoutAll`).
pub async fn logout_all(state: &AppState, actor: &Actor) -> AppResult<()> {
    actor.ensure_may_write()?;
    revoke_all(&state.db, actor.user_id).await
}

/// Revokes the not-yet-revoked refresh tokens that `which` selects.
async fn revoke_live(db: &impl ConnectionTrait, which: impl IntoCondition) -> AppResult<()> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now()))
        .filter(which)
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}
