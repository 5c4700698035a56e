//! Personal access tokens (`tly_…`) for scripts and live dashboards, and turning any bearer
//! credential into an [`Actor`].
//!
//! A token's secret is shown once, at creation; the table keeps its SHA-256 hash and a short
//! visible prefix to tell tokens apart. A READ token may run queries and subscriptions only.
//! Managing tokens needs an interactive session, so a leaked token cannot mint more tokens.

use chrono::{DateTime, Duration, Utc};
use entity::{access_token, enums::TokenScope};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, sea_query::Expr,
};
use uuid::Uuid;

use crate::{
    auth::secret_token::PersonalAccessToken,
    error::{AppError, AppResult},
    events::Event,
    service::{Actor, Credential, now, unit_of_work::UnitOfWork},
    state::AppState,
    text::Name,
};

/// Longest token name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// How stale `last_used_at` may get before a use writes it again: one write per minute per
/// token instead of one per request.
const LAST_USED_RESOLUTION: Duration = Duration::minutes(1);

/// Resolves an `Authorization: Bearer …` value (a JWT or a `tly_` token) to the actor. A JWT
/// of a session that has ended is refused although its signature and expiry are fine.
pub async fn authenticate(state: &AppState, bearer: &str) -> AppResult<Actor> {
    if PersonalAccessToken::looks_like(bearer) {
        return authenticate_access_token(state, bearer).await;
    }
    let claims = state.keys.jwt.verify(bearer)?;
    let actor = Actor {
        user_id: claims.user_id(),
        credential: Credential::Session {
            id: claims.session_id(),
        },
        expires_at: Some(claims.expires_at()),
    };
    ensure_current(state, &actor)?;
    Ok(actor)
}

/// UNAUTHENTICATED once the actor's credential has expired or been revoked: what every
/// operation of a long-lived WebSocket is checked against, as of the moment it runs.
pub fn ensure_current(state: &AppState, actor: &Actor) -> AppResult<()> {
    if actor.expired_at(now()) || state.events.revoked().contains(actor) {
        return Err(AppError::Unauthenticated);
    }
    Ok(())
}

async fn authenticate_access_token(state: &AppState, bearer: &str) -> AppResult<Actor> {
    let hash = PersonalAccessToken::parse(bearer)?.hash();
    let at = now();
    let row = access_token::Entity::find()
        .filter(access_token::Column::TokenHash.eq(hash.to_vec()))
        .filter(access_token::Column::RevokedAt.is_null())
        .one(&state.db)
        .await?
        .filter(|row| row.expires_at.is_none_or(|expires| expires > at))
        .ok_or(AppError::Unauthenticated)?;
    if row
        .last_used_at
        .is_none_or(|used| used + LAST_USED_RESOLUTION < at)
    {
        let work = UnitOfWork::begin(state).await?;
        access_token::Entity::update_many()
            .col_expr(access_token::Column::LastUsedAt, Expr::value(at))
            .filter(access_token::Column::Id.eq(row.id))
            .exec(work.txn())
            .await?;
        work.commit(state).await?;
    }
    Ok(Actor {
        user_id: row.user_id,
        credential: Credential::AccessToken {
            id: row.id,
            scope: row.scope,
        },
        expires_at: row.expires_at,
    })
}

/// Creates a token; the returned secret is the only time it is ever visible.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    name: &str,
    scope: TokenScope,
    expires_at: Option<DateTime<Utc>>,
) -> AppResult<(access_token::Model, PersonalAccessToken)> {
    actor.ensure_session()?;
    let name = Name::parse("name", name, MAX_NAME_CHARS)?;
    let at = now();
    if expires_at.is_some_and(|expires| expires <= at) {
        return Err(AppError::bad_input(
            "expiresAt",
            "the expiry must be in the future",
        ));
    }
    let secret = PersonalAccessToken::generate();
    let work = UnitOfWork::begin(state).await?;
    let row = access_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(actor.user_id),
        name: Set(name.into()),
        scope: Set(scope),
        prefix: Set(secret.visible_prefix()),
        token_hash: Set(secret.hash().to_vec()),
        expires_at: Set(expires_at),
        last_used_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(at),
    }
    .insert(work.txn())
    .await?;
    work.commit(state).await?;
    Ok((row, secret))
}

/// The caller's tokens that are not revoked, newest first.
pub async fn list(state: &AppState, actor: &Actor) -> AppResult<Vec<access_token::Model>> {
    actor.ensure_session()?;
    Ok(access_token::Entity::find()
        .filter(access_token::Column::UserId.eq(actor.user_id))
        .filter(access_token::Column::RevokedAt.is_null())
        .order_by_desc(access_token::Column::CreatedAt)
        .all(&state.db)
        .await?)
}

/// Revokes one of the caller's tokens; another user's token id is NOT_FOUND. Sockets that
/// authenticated with it are closed as the revocation commits.
pub async fn revoke(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<()> {
    actor.ensure_session()?;
    let mut work = UnitOfWork::begin(state).await?;
    let revoked = access_token::Entity::update_many()
        .col_expr(access_token::Column::RevokedAt, Expr::value(now()))
        .filter(access_token::Column::Id.eq(id))
        .filter(access_token::Column::UserId.eq(actor.user_id))
        .filter(access_token::Column::RevokedAt.is_null())
        .exec(work.txn())
        .await?;
    if revoked.rows_affected == 0 {
        return Err(AppError::NotFound {
            entity: "access token",
        });
    }
    work.publish(Event::AccessTokenRevoked { token_id: id });
    work.commit(state).await
}
