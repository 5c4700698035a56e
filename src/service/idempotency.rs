//! Idempotency keys: a client retrying a mutation (a timeout, a flaky network) sends the same
//! key again and gets what the first request created, instead of a second expense.
//!
//! A request is identified by (caller, operation, key). The first request **claims** the key
//! by inserting its row, in the same transaction as the write it protects, with the SHA-256 of
//! its canonical input and the id of the object it is about to create. The unique index
//! `uq_idempotency_keys_user_op_key` decides every race in one statement:
//!
//! - a concurrent request with the same key blocks on that index until the first commits (then
//!   it replays the first's result) or rolls back (then it claims the key itself) — exactly one
//!   write, never two;
//! - the same key with a different input is a CONFLICT, and changes nothing;
//! - a key older than [`KEY_TTL`] is expired: the claim takes it over in the same upsert, and
//!   the hourly [`housekeeping`](super::housekeeping) sweep deletes such rows.
//!
//! Only the created object's id is kept, never a rendered response: a replay shows the object
//! as it is now.

use chrono::{DateTime, Duration, Utc};
use entity::idempotency_key;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set,
    sea_query::{Expr, ExprTrait, OnConflict},
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// How long a key is remembered.
pub const KEY_TTL: Duration = Duration::hours(24);
/// Longest key, in characters.
pub const MAX_KEY_CHARS: usize = 255;

/// A client's idempotency key: 1 to 255 visible ASCII characters (a UUID fits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(input: &str) -> AppResult<Self> {
        let visible = input.bytes().all(|byte| byte.is_ascii_graphic());
        if input.is_empty() || input.len() > MAX_KEY_CHARS || !visible {
            return Err(AppError::bad_input(
                "idempotencyKey",
                format!("must be 1 to {MAX_KEY_CHARS} visible ASCII characters, e.g. a UUID"),
            ));
        }
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The SHA-256 of a request's canonical form (its parsed input, serialised in a fixed order).
pub fn request_hash(canonical: &serde_json::Value) -> [u8; 32] {
    Sha256::digest(canonical.to_string().as_bytes()).into()
}

/// What claiming a key found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The key is this request's: go on and create `result_id`.
    Fresh,
    /// The same request ran before and created this; return it without writing.
    Replay(Uuid),
}

/// Claims `key` for `(user_id, operation)` in `txn`, for a request hashing to `hash` that will
/// create `result_id`. One upsert decides (see the module docs); a different request under the
/// same live key is a CONFLICT.
pub async fn claim(
    txn: &DatabaseTransaction,
    user_id: Uuid,
    operation: &str,
    key: &IdempotencyKey,
    hash: [u8; 32],
    result_id: Uuid,
    at: DateTime<Utc>,
) -> AppResult<Claim> {
    let expired_before = at - KEY_TTL;
    let row = idempotency_key::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        operation: Set(operation.to_owned()),
        key: Set(key.as_str().to_owned()),
        request_hash: Set(hash.to_vec()),
        result_id: Set(result_id),
        created_at: Set(at),
    };
    // Takes over an expired row in place; a live one is left alone (the WHERE fails), and then
    // no row is written.
    let on_conflict = OnConflict::columns([
        idempotency_key::Column::UserId,
        idempotency_key::Column::Operation,
        idempotency_key::Column::Key,
    ])
    .update_columns([
        idempotency_key::Column::RequestHash,
        idempotency_key::Column::ResultId,
        idempotency_key::Column::CreatedAt,
    ])
    .action_and_where(
        Expr::col((idempotency_key::Entity, idempotency_key::Column::CreatedAt)).lt(expired_before),
    )
    .to_owned();
    let written = idempotency_key::Entity::insert(row)
        .on_conflict(on_conflict)
        .exec_without_returning(txn)
        .await?;
    if written == 1 {
        return Ok(Claim::Fresh);
    }
    let first = idempotency_key::Entity::find()
        .filter(idempotency_key::Column::UserId.eq(user_id))
        .filter(idempotency_key::Column::Operation.eq(operation))
        .filter(idempotency_key::Column::Key.eq(key.as_str()))
        .one(txn)
        .await?
        .ok_or_else(|| {
            AppError::internal(anyhow::anyhow!("idempotency key neither written nor found"))
        })?;
    if first.request_hash != hash {
        return Err(AppError::conflict(
            "this idempotency key was used for a different request",
        ));
    }
    Ok(Claim::Replay(first.result_id))
}

/// Deletes keys older than [`KEY_TTL`] at `at`; returns how many went.
pub async fn prune(db: &impl ConnectionTrait, at: DateTime<Utc>) -> AppResult<u64> {
    let deleted = idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::CreatedAt.lt(at - KEY_TTL))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_short_visible_ascii() {
        assert!(IdempotencyKey::parse("0b6f1c1e-9d4e-4a57-8a57-1d2c3b4a5f60").is_ok());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("has space").is_err());
        assert!(IdempotencyKey::parse("ünïcode").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
    }

    #[test]
    fn the_hash_follows_the_canonical_input() {
        let a = request_hash(&serde_json::json!({"amount": "1.00"}));
        let b = request_hash(&serde_json::json!({"amount": "1.00"}));
        let c = request_hash(&serde_json::json!({"amount": "1.01"}));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
