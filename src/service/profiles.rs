//! Users' public profiles (decrypted), kept across requests on this instance: a roster of 20
//! members otherwise reads 20 user rows and decrypts 40 fields for every request.
//!
//! **Freshness.** A profile changes only through `updateProfile`, which announces
//! [`Event::ProfileChanged`] after it commits; every instance hears it (PostgreSQL's `NOTIFY`,
//! see [`crate::events`]) and forgets that profile, and an [`Event::Resync`] (notifications may
//! have been lost) forgets them all. So the instance that made the change answers with the new
//! name at once, and another instance as soon as it hears of it.
//!
//! **No stale fill.** A reader that read a row before a change committed must not store it
//! after the change was forgotten. Every forget moves a generation counter first; a reader
//! notes the generation before reading, stores what it read, and takes its rows out again if
//! the generation moved meanwhile. Either the forget's move comes before that check (the reader
//! takes its rows out) or after it, and then the forget's removal comes after the reader's
//! store: both ways the stale row goes.
//!
//! **Bound.** [`CAPACITY`] profiles, a few hundred bytes each.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use uuid::Uuid;

use crate::{events::Event, service::accounts::PublicUser};

/// Profiles kept at most (about 8 MiB).
pub const CAPACITY: usize = 32_768;

/// The cache of one instance. Cloning is cheap.
#[derive(Clone)]
pub struct Profiles(Arc<Inner>);

struct Inner {
    cache: quick_cache::sync::Cache<Uuid, Arc<PublicUser>>,
    /// Moves on before every forget.
    generation: AtomicU64,
}

/// Where a reader started: see [`Profiles::fill`].
#[derive(Debug, Clone, Copy)]
pub struct Generation(u64);

impl Default for Profiles {
    fn default() -> Self {
        Self(Arc::new(Inner {
            cache: quick_cache::sync::Cache::new(CAPACITY),
            generation: AtomicU64::new(0),
        }))
    }
}

impl Profiles {
    /// The cached profiles among `ids`, and the ids that are not cached.
    pub fn get(&self, ids: &[Uuid]) -> (Vec<Arc<PublicUser>>, Vec<Uuid>) {
        let mut found = Vec::with_capacity(ids.len());
        let mut missing = Vec::new();
        for id in ids {
            match self.0.cache.get(id) {
                Some(user) => found.push(user),
                None => missing.push(*id),
            }
        }
        (found, missing)
    }

    /// To be taken before reading the rows to [`Self::fill`] with.
    pub fn generation(&self) -> Generation {
        Generation(self.0.generation.load(Ordering::SeqCst))
    }

    /// Stores profiles read from the database after `started`; if something was forgotten
    /// meanwhile, they may predate that change and are taken out again.
    pub fn fill(&self, started: Generation, users: &[Arc<PublicUser>]) {
        for user in users {
            self.0.cache.insert(user.id, Arc::clone(user));
        }
        if self.0.generation.load(Ordering::SeqCst) != started.0 {
            for user in users {
                self.0.cache.remove(&user.id);
            }
        }
    }

    /// Forgets what `event` makes stale.
    pub fn apply(&self, event: &Event) {
        match event {
            Event::ProfileChanged { user_id } => {
                self.0.generation.fetch_add(1, Ordering::SeqCst);
                self.0.cache.remove(user_id);
            }
            Event::Resync { .. } => {
                self.0.generation.fetch_add(1, Ordering::SeqCst);
                self.0.cache.clear();
            }
            Event::SessionRevoked { .. }
            | Event::AccessTokenRevoked { .. }
            | Event::EntryChanged { .. }
            | Event::BalancesChanged { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: Uuid, name: &str) -> Arc<PublicUser> {
        Arc::new(PublicUser {
            id,
            email: "someone@example.com".into(),
            name: name.into(),
            created_at: chrono::Utc::now(),
        })
    }

    #[test]
    fn a_changed_profile_is_forgotten() {
        let profiles = Profiles::default();
        let id = Uuid::new_v4();
        profiles.fill(profiles.generation(), &[user(id, "Alice")]);
        assert_eq!(profiles.get(&[id]).0[0].name, "Alice");
        profiles.apply(&Event::ProfileChanged { user_id: id });
        assert_eq!(profiles.get(&[id]).1, vec![id]);
    }

    #[test]
    fn rows_read_before_a_change_are_not_kept() {
        let profiles = Profiles::default();
        let id = Uuid::new_v4();
        let started = profiles.generation();
        // The change commits and is forgotten while the reader holds the old row.
        profiles.apply(&Event::ProfileChanged { user_id: id });
        profiles.fill(started, &[user(id, "Old name")]);
        assert!(profiles.get(&[id]).0.is_empty());
    }

    #[test]
    fn a_resync_forgets_everyone() {
        let profiles = Profiles::default();
        let ids = [Uuid::new_v4(), Uuid::new_v4()];
        profiles.fill(
            profiles.generation(),
            &[user(ids[0], "A"), user(ids[1], "B")],
        );
        profiles.apply(&Event::Resync {
            since: chrono::Utc::now(),
        });
        assert_eq!(profiles.get(&ids).1.len(), 2);
    }

    #[test]
    fn racing_readers_and_changes_never_leave_a_stale_profile() {
        // Round after round, readers (read the "database", then fill) race one writer (rename
        // in the "database", then announce the change). After each round the cache must hold
        // the newest name or nothing.
        let profiles = Profiles::default();
        let id = Uuid::new_v4();
        let database = std::sync::RwLock::new(0_u64);
        let read = || database.read().map(|n| n.to_string()).unwrap_or_default();
        for _ in 0..500 {
            let start = std::sync::Barrier::new(4);
            std::thread::scope(|scope| {
                for _ in 0..3 {
                    scope.spawn(|| {
                        start.wait();
                        let started = profiles.generation();
                        let name = read();
                        std::thread::yield_now();
                        profiles.fill(started, &[user(id, &name)]);
                    });
                }
                scope.spawn(|| {
                    start.wait();
                    if let Ok(mut name) = database.write() {
                        *name += 1;
                    }
                    profiles.apply(&Event::ProfileChanged { user_id: id });
                });
            });
            if let Some(cached) = profiles.get(&[id]).0.first() {
                assert_eq!(cached.name, read());
            }
        }
    }
}
