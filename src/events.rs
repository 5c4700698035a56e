//! The event bus every committed change feeds, and every instance hears.
//!
//! A write stages its events with [`EventBus::stage`] inside the transaction that makes the
//! change and hands them to [`EventBus::deliver`] after it commits, so no event is ever heard
//! for a change that rolled back:
//!
//! - **In process** (SQLite, or any single instance): `deliver` applies the events to this
//!   instance's state and broadcasts them to its subscribers (open sockets).
//! - **Across instances** (PostgreSQL): `stage` also runs `pg_notify` inside the transaction,
//!   which PostgreSQL sends only when (and if) it commits. Each instance holds one `LISTEN`
//!   connection ([`spawn_listener`]) and delivers what it hears, skipping the notifications it
//!   sent itself (already delivered at commit). After the connection drops, the listener
//!   reconnects with backoff and announces [`Event::Resync`]: notifications sent meanwhile are
//!   lost, so listeners reload what they keep.
//!
//! Payloads carry ids, never data: receivers read what they need from the database.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};

use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

use crate::{
    background::Background,
    error::AppResult,
    service::{profiles::Profiles, revocation::RevokedCredentials},
};

/// The PostgreSQL channel the instances talk on.
const CHANNEL: &str = "tally_events";
/// Notifications sent by one statement at most (each is a bound parameter).
const NOTIFY_BATCH: usize = 100;
/// How many events a slow subscriber may fall behind before it is told it lagged.
const SUBSCRIBER_QUEUE: usize = 1024;
/// The first wait before the listener reconnects; it doubles with every failed attempt.
const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// The longest wait between reconnection attempts of the listener.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Something that happened and committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// A login session (refresh-token family) was ended: its access tokens die at once.
    SessionRevoked { session_id: Uuid },
    /// A personal access token was revoked.
    AccessTokenRevoked { token_id: Uuid },
    /// An entry changed (created, updated, deleted, restored, or a mirror following its
    /// source); `version` is the entry's version after the change.
    EntryChanged {
        book_id: Uuid,
        entry_id: Uuid,
        version: i32,
        change: EntryChange,
    },
    /// A book's balances or its roster changed (an entry, a payment, a member joining, leaving,
    /// removed or given another role), and its `balance_version` moved on by exactly one.
    /// Receivers read the state they follow, version included (a version that jumped means a
    /// missed change): the event does not carry it, so it is known, and sent, before the
    /// change's last statement moves it (see [`crate::service::unit_of_work`]).
    BalancesChanged { book_id: Uuid },
    /// A user's public profile (their name) changed: instances forget the cached one.
    ProfileChanged { user_id: Uuid },
    /// Events may have been missed until `since` (when the listener was listening again):
    /// whoever followed something from before then is to reload it and recheck.
    Resync { since: DateTime<Utc> },
}

/// What happened to an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryChange {
    Created,
    Updated,
    Deleted,
    Restored,
}

/// What goes over `NOTIFY`: the event and the instance that sent it.
#[derive(Serialize, Deserialize)]
struct Envelope {
    origin: Uuid,
    event: Event,
}

/// The bus of one instance. Cloning is cheap.
#[derive(Clone)]
pub struct EventBus(Arc<Inner>);

struct Inner {
    /// Tells this instance's own notifications apart from other instances'.
    instance: Uuid,
    backend: DatabaseBackend,
    subscribers: broadcast::Sender<Event>,
    revoked: RevokedCredentials,
    profiles: Profiles,
    /// Moves on with every revocation (and every resync, which may hide some): what open
    /// sockets watch, so money events never wake them.
    revocations: watch::Sender<u64>,
}

impl EventBus {
    pub fn new(backend: DatabaseBackend, revoked: RevokedCredentials) -> Self {
        let (subscribers, _) = broadcast::channel(SUBSCRIBER_QUEUE);
        Self(Arc::new(Inner {
            instance: Uuid::new_v4(),
            backend,
            subscribers,
            revoked,
            profiles: Profiles::default(),
            revocations: watch::channel(0).0,
        }))
    }

    /// The set of revoked credentials this bus keeps current.
    pub fn revoked(&self) -> &RevokedCredentials {
        &self.0.revoked
    }

    /// The users' public profiles this bus keeps fresh.
    pub fn profiles(&self) -> &Profiles {
        &self.0.profiles
    }

    /// Changes whenever a credential may have been revoked (on any instance): a socket then
    /// checks its own against [`Self::revoked`].
    pub fn revocations(&self) -> watch::Receiver<u64> {
        self.0.revocations.subscribe()
    }

    /// Events delivered from now on (a receiver that falls behind gets `Lagged`).
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.0.subscribers.subscribe()
    }

    /// Inside the committing transaction: on PostgreSQL, queues the events' notifications,
    /// which the database sends only if the transaction commits. Nothing to do on SQLite.
    pub async fn stage(&self, txn: &impl ConnectionTrait, events: &[Event]) -> AppResult<()> {
        if self.0.backend != DatabaseBackend::Postgres {
            return Ok(());
        }
        // One statement per batch of notifications, not one per event: a shared entry
        // announces a dozen, and every statement is a round trip made under the book's lock.
        for batch in events.chunks(NOTIFY_BATCH) {
            let mut values = Vec::with_capacity(batch.len() + 1);
            values.push(CHANNEL.into());
            for event in batch {
                let envelope = Envelope {
                    origin: self.0.instance,
                    event: event.clone(),
                };
                let payload =
                    serde_json::to_string(&envelope).map_err(crate::error::AppError::internal)?;
                values.push(payload.into());
            }
            let calls: Vec<String> = (2..=values.len())
                .map(|n| format!("pg_notify($1, ${n})"))
                .collect();
            txn.execute_raw(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                format!("SELECT {}", calls.join(", ")),
                values,
            ))
            .await?;
        }
        Ok(())
    }

    /// After this instance committed a change: [`Self::deliver`]s its events and counts them
    /// as published.
    pub fn committed(&self, events: &[Event]) {
        self.deliver(events);
        metrics::counter!("tally_events_published_total").increment(events.len() as u64);
    }

    /// After commit: applies the events to this instance and tells its subscribers.
    pub fn deliver(&self, events: &[Event]) {
        for event in events {
            self.0.revoked.apply(event);
            self.0.profiles.apply(event);
            if matches!(
                event,
                Event::SessionRevoked { .. }
                    | Event::AccessTokenRevoked { .. }
                    | Event::Resync { .. }
            ) {
                self.0
                    .revocations
                    .send_modify(|generation| *generation += 1);
            }
            // No subscriber is not an error: nobody is listening right now.
            let _ = self.0.subscribers.send(event.clone());
        }
    }

    /// A notification heard on the channel: delivered unless this instance sent it.
    fn heard(&self, payload: &str) {
        match serde_json::from_str::<Envelope>(payload) {
            Ok(envelope) if envelope.origin == self.0.instance => {}
            Ok(envelope) => self.deliver(&[envelope.event]),
            Err(error) => tracing::warn!(%error, "ignoring a malformed event notification"),
        }
    }
}

/// On PostgreSQL, listens on the channel until dropped, reconnecting with backoff; after every
/// reconnection it reloads the revoked set and delivers [`Event::Resync`]. `None` on SQLite.
pub fn spawn_listener(bus: EventBus, db: DatabaseConnection, url: String) -> Option<Background> {
    if bus.0.backend != DatabaseBackend::Postgres {
        return None;
    }
    Some(Background::spawn(async move {
        let mut backoff = MIN_BACKOFF;
        loop {
            let error = listen(&bus, &db, &url, &mut backoff).await;
            tracing::warn!(%error, ?backoff, "event listener lost its connection");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }))
}

/// One listening connection's life: connect, listen, resync (anything may have been missed
/// before the LISTEN took effect), then deliver until the connection drops. Returns why it
/// ended; a connection that got as far as listening resets the backoff.
async fn listen(
    bus: &EventBus,
    db: &DatabaseConnection,
    url: &str,
    backoff: &mut Duration,
) -> anyhow::Error {
    use sea_orm::sqlx::postgres::PgListener;
    let result: anyhow::Result<()> = async {
        let mut listener = PgListener::connect(url).await?;
        listener.listen(CHANNEL).await?;
        let since = crate::service::now();
        *backoff = MIN_BACKOFF;
        resync(bus, db, since)
            .await
            .map_err(|error| anyhow::anyhow!("{error:?}"))?;
        tracing::info!("listening for events from other instances");
        // `try_recv` answers `None` when the connection was lost.
        while let Some(notification) = listener.try_recv().await? {
            bus.heard(notification.payload());
        }
        Ok(())
    }
    .await;
    result
        .err()
        .unwrap_or_else(|| anyhow::anyhow!("the LISTEN connection closed"))
}

async fn resync(bus: &EventBus, db: &DatabaseConnection, since: DateTime<Utc>) -> AppResult<()> {
    bus.0.revoked.reload(db).await?;
    bus.deliver(&[Event::Resync { since }]);
    Ok(())
}
