//! The credentials revoked recently enough that a token for them may still be alive, kept in
//! memory by every instance so that a revoked session's access tokens die at once without a
//! database query per request.
//!
//! An access token (JWT) is valid for at most [`ACCESS_TOKEN_TTL`] after it was issued, and
//! none is issued for a session after it ends, so a session needs remembering only that long
//! after its revocation (plus clock leeway): the set stays small whatever the history. Personal
//! access tokens are checked in the database on every HTTP request; they are listed here too so
//! that open WebSockets authenticated with one learn of the revocation.
//!
//! The set is loaded at start, updated by the event bus as revocations commit (here or, through
//! PostgreSQL `NOTIFY`, on other instances), and reloaded whenever the bus may have missed one.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

use chrono::{DateTime, Duration, Utc};
use entity::{access_token, refresh_token};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::{
    auth::jwt::{ACCESS_TOKEN_TTL, LEEWAY_SECS},
    error::AppResult,
    events::Event,
    service::{Actor, Credential, now},
};

/// How long a revocation is remembered: as long as a token issued just before it may live.
fn memory() -> Duration {
    ACCESS_TOKEN_TTL + Duration::seconds(i64::try_from(LEEWAY_SECS).unwrap_or(60) + 1)
}

/// A revoked credential: a session (refresh-token family) or a personal access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Revoked {
    Session(Uuid),
    AccessToken(Uuid),
}

impl Revoked {
    fn of(actor: &Actor) -> Self {
        match actor.credential {
            Credential::Session { id } => Self::Session(id),
            Credential::AccessToken { id, .. } => Self::AccessToken(id),
        }
    }
}

/// The set, shared by every request and socket of an instance. Cloning is cheap.
#[derive(Clone, Default)]
pub struct RevokedCredentials(Arc<RwLock<HashMap<Revoked, DateTime<Utc>>>>);

impl RevokedCredentials {
    /// Whether the actor's credential was revoked. A poisoned lock (a panic while writing)
    /// counts as revoked: failing closed is the only safe answer.
    pub fn contains(&self, actor: &Actor) -> bool {
        self.0
            .read()
            .map_or(true, |revoked| revoked.contains_key(&Revoked::of(actor)))
    }

    /// Records a revocation event (other events are ignored), forgetting entries that no
    /// longer matter.
    pub fn apply(&self, event: &Event) {
        let revoked = match *event {
            Event::SessionRevoked { session_id } => Revoked::Session(session_id),
            Event::AccessTokenRevoked { token_id } => Revoked::AccessToken(token_id),
            Event::Resync { .. }
            | Event::EntryChanged { .. }
            | Event::BalancesChanged { .. }
            | Event::ProfileChanged { .. } => {
                return;
            }
        };
        let at = now();
        if let Ok(mut set) = self.0.write() {
            set.retain(|_, forget_at| *forget_at > at);
            set.insert(revoked, at + memory());
        }
    }

    /// Replaces the set with what the database says was revoked within the memory window.
    pub async fn reload(&self, db: &impl ConnectionTrait) -> AppResult<()> {
        let at = now();
        let since = at - memory();
        let sessions: Vec<Uuid> = refresh_token::Entity::find()
            .select_only()
            .column(refresh_token::Column::FamilyId)
            .distinct()
            .filter(refresh_token::Column::RevokedAt.gt(since))
            .into_tuple()
            .all(db)
            .await?;
        let tokens: Vec<Uuid> = access_token::Entity::find()
            .select_only()
            .column(access_token::Column::Id)
            .filter(access_token::Column::RevokedAt.gt(since))
            .into_tuple()
            .all(db)
            .await?;
        // Remembered for the whole window from now: a little longer than needed, never shorter.
        let forget_at = at + memory();
        let fresh: HashMap<Revoked, DateTime<Utc>> = sessions
            .into_iter()
            .map(Revoked::Session)
            .chain(tokens.into_iter().map(Revoked::AccessToken))
            .map(|revoked| (revoked, forget_at))
            .collect();
        if let Ok(mut set) = self.0.write() {
            // Keep what was applied meanwhile: a reload must never forget a revocation.
            for (revoked, forget) in fresh {
                set.entry(revoked).or_insert(forget);
            }
        }
        Ok(())
    }
}
