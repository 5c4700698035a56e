//! The async shell around the pure ledger: every operation authorizes, loads, calls the core,
//! writes through one [`unit_of_work::UnitOfWork`] (one transaction, one commit point), and
//! its events are delivered only after that commit. Writes that are one statement by design
//! (a throttle attempt, a conditional rehash) run on the pool directly.
//!
//! Every service function takes the acting user ([`Actor`]) first, so no write can be written
//! without saying on whose behalf it runs; book-scoped writes also need a proof of access from
//! the access module.

pub mod access;
pub mod access_tokens;
pub mod accounts;
pub mod activity;
pub mod balances;
pub mod book_cache;
pub mod books;
pub mod categories;
pub mod dashboard;
pub mod entries;
pub mod export;
pub mod housekeeping;
pub mod idempotency;
pub mod invites;
pub mod live;
pub mod members;
pub mod profiles;
pub mod rate_limit;
pub mod revocation;
pub mod sessions;
pub mod settlements;
pub mod settling;
pub mod throttle;
pub mod unit_of_work;
pub mod writes;

use entity::enums::TokenScope;

use crate::error::{AppError, AppResult};
use uuid::Uuid;

/// Who is making a request, as proven by its bearer credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub user_id: Uuid,
    pub credential: Credential,
    /// When the credential stops being valid (`None`: an access token without expiry). A
    /// WebSocket outlives the moment it authenticated, so this is checked again on every
    /// operation and closes the socket when it passes.
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// How the actor authenticated; it bounds what the request may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// A short-lived access token from `login`/`register`/`refreshToken`, in session `id` (the
    /// refresh-token family): full rights.
    Session { id: Uuid },
    /// A personal access token for scripts and dashboards, limited to its scope.
    AccessToken { id: Uuid, scope: TokenScope },
}

impl Actor {
    /// Whether the credential has expired at `at`.
    pub fn expired_at(&self, at: chrono::DateTime<chrono::Utc>) -> bool {
        self.expires_at.is_some_and(|expires_at| expires_at <= at)
    }

    /// Whether this credential may change data (a READ access token may only read).
    pub fn may_write(&self) -> bool {
        !matches!(
            self.credential,
            Credential::AccessToken {
                scope: TokenScope::Read,
                ..
            }
        )
    }

    /// Whether this is an interactive session (managing credentials needs one).
    pub fn is_session(&self) -> bool {
        matches!(self.credential, Credential::Session { .. })
    }

    /// FORBIDDEN for credentials that may only read.
    pub fn ensure_may_write(&self) -> AppResult<()> {
        if self.may_write() {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// FORBIDDEN unless this is an interactive session.
    pub fn ensure_session(&self) -> AppResult<()> {
        if self.is_session() {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }
}

/// The current time, read once per operation so one write never mixes two clocks; in whole
/// microseconds, the precision PostgreSQL stores, so a row a service answers with without
/// reading it back ([`entries::Recorded`]) shows the times every later read shows.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::SubsecRound::trunc_subsecs(chrono::Utc::now(), 6)
}
