//! The general request rate limit, on top of the login and guessing throttles of [`throttle`]:
//! every GraphQL operation (a POST or GET, or one operation on a WebSocket) is counted against
//! its client address and, when it carries a credential, against its user; every WebSocket
//! handshake against its address. Open sockets per address are capped as well.
//!
//! Unlike [`throttle`], which guards secrets and so must hold across instances (its counters
//! live in the database), this limit protects the instance that serves the request: it keeps
//! its state in memory, costs no statement, and a deployment of N instances allows N times the
//! rate. Each check is one atomic step of a GCRA cell (the `governor` crate), so a concurrent
//! burst cannot pass more than the quota; the socket cap is checked and taken under one lock.
//!
//! IPv6 clients are keyed by their /64 network, the block a single host is usually given, so
//! rotating addresses inside it does not multiply the quota. Keys whose cells have refilled are
//! forgotten by [`RateLimits::forget_idle`], so the state holds only recently active clients.
//!
//! [`throttle`]: crate::service::throttle

use std::{
    collections::HashMap,
    net::{IpAddr, Ipv6Addr},
    num::NonZeroU32,
    sync::{Arc, Mutex},
    time::Duration,
};

use governor::{DefaultKeyedRateLimiter, Quota, clock::Clock};
use uuid::Uuid;

use crate::{
    background::Background,
    error::{AppError, AppResult},
};

/// How long a client refused for holding too many sockets is asked to wait: sockets end at the
/// client's pace, so this is a polite guess.
const SOCKETS_RETRY_AFTER_SECS: u64 = 30;

/// The limits, as configured (`0` turns a limit off).
#[derive(Debug, Clone, Copy)]
pub struct RateLimitConfig {
    /// Operations per minute one client address may send.
    pub per_address_per_minute: u32,
    /// Operations per minute one user may send, from any address.
    pub per_user_per_minute: u32,
    /// WebSockets one client address may hold open at once.
    pub sockets_per_address: u32,
}

/// The request rate limit and the socket cap of one instance.
pub struct RateLimits {
    per_address: Option<DefaultKeyedRateLimiter<IpAddr>>,
    per_user: Option<DefaultKeyedRateLimiter<Uuid>>,
    sockets: Option<Arc<SocketCounts>>,
}

impl RateLimits {
    pub fn new(config: RateLimitConfig) -> Self {
        Self {
            per_address: quota(config.per_address_per_minute).map(DefaultKeyedRateLimiter::keyed),
            per_user: quota(config.per_user_per_minute).map(DefaultKeyedRateLimiter::keyed),
            sockets: NonZeroU32::new(config.sockets_per_address).map(|max| {
                Arc::new(SocketCounts {
                    max: max.get(),
                    open: Mutex::default(),
                })
            }),
        }
    }

    /// Counts one operation against `address` and, when known, `user`: RATE_LIMITED (with the
    /// seconds until the next one is allowed) when either has used its quota.
    pub fn operation(&self, address: IpAddr, user: Option<Uuid>) -> AppResult<()> {
        if let Some(limiter) = &self.per_address {
            check(limiter, &client_key(address), "address")?;
        }
        if let (Some(limiter), Some(user)) = (&self.per_user, user) {
            check(limiter, &user, "user")?;
        }
        Ok(())
    }

    /// Takes one of `address`'s socket places (a WebSocket handshake also counts as an
    /// operation); the place is held until the returned permit is dropped.
    pub fn open_socket(&self, address: IpAddr) -> AppResult<SocketPermit> {
        self.operation(address, None)?;
        let Some(counts) = &self.sockets else {
            return Ok(SocketPermit(None));
        };
        let key = client_key(address);
        let mut open = counts.lock();
        let held = open.entry(key).or_insert(0);
        if *held >= counts.max {
            metrics::counter!("tally_throttle_refusals_total", "throttle" => "sockets")
                .increment(1);
            return Err(AppError::RateLimited {
                retry_after_secs: SOCKETS_RETRY_AFTER_SECS,
            });
        }
        *held += 1;
        Ok(SocketPermit(Some((Arc::clone(counts), key))))
    }

    /// Forgets the clients whose quota has refilled completely (they are indistinguishable
    /// from clients never seen), so memory follows recent activity.
    pub fn forget_idle(&self) {
        if let Some(limiter) = &self.per_address {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        if let Some(limiter) = &self.per_user {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// How often clients whose quota has refilled are forgotten.
const FORGET_IDLE_EVERY: Duration = Duration::from_secs(60);

/// Forgets idle clients every minute until the returned handle is dropped.
pub fn spawn_forgetting(limits: Arc<RateLimits>) -> Background {
    Background::spawn(async move {
        let mut ticks = tokio::time::interval(FORGET_IDLE_EVERY);
        loop {
            ticks.tick().await;
            limits.forget_idle();
        }
    })
}

/// `per_minute` operations a minute, of which a sixth (ten seconds' worth) may come at once;
/// `None` for 0 (no limit).
fn quota(per_minute: u32) -> Option<Quota> {
    let rate = NonZeroU32::new(per_minute)?;
    let burst = NonZeroU32::new(per_minute.div_ceil(6)).unwrap_or(NonZeroU32::MIN);
    Some(Quota::per_minute(rate).allow_burst(burst))
}

fn check<K>(limiter: &DefaultKeyedRateLimiter<K>, key: &K, kind: &'static str) -> AppResult<()>
where
    K: std::hash::Hash + Eq + Clone,
{
    limiter.check_key(key).map_err(|not_until| {
        metrics::counter!("tally_throttle_refusals_total", "throttle" => kind).increment(1);
        let wait = not_until.wait_time_from(limiter.clock().now());
        AppError::RateLimited {
            retry_after_secs: whole_seconds(wait),
        }
    })
}

/// A wait in whole seconds, rounded up and at least one: a client that waits that long finds
/// room.
fn whole_seconds(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

/// The key an address is limited under: IPv4 as it is, IPv6 by its /64 network (an IPv4
/// address mapped into IPv6 counts as the IPv4 address).
fn client_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let network = u128::from(v6) & (u128::MAX << 64);
                IpAddr::V6(Ipv6Addr::from(network))
            }
        },
    }
}

/// Open sockets per client key.
struct SocketCounts {
    max: u32,
    open: Mutex<HashMap<IpAddr, u32>>,
}

impl SocketCounts {
    /// The counts; a panic elsewhere while they were held cannot have left them half-updated
    /// (each change is one integer step), so a poisoned lock is used as it is.
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, u32>> {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One open socket's place in its address's count; dropping it gives the place back.
pub struct SocketPermit(Option<(Arc<SocketCounts>, IpAddr)>);

impl Drop for SocketPermit {
    fn drop(&mut self) {
        let Some((counts, key)) = self.0.take() else {
            return;
        };
        let mut open = counts.lock();
        if let Some(held) = open.get_mut(&key) {
            *held = held.saturating_sub(1);
            // No entry for an address without sockets: the map holds only open ones.
            if *held == 0 {
                open.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_address: u32, per_user: u32, sockets: u32) -> RateLimits {
        RateLimits::new(RateLimitConfig {
            per_address_per_minute: per_address,
            per_user_per_minute: per_user,
            sockets_per_address: sockets,
        })
    }

    fn address(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_address_gets_its_burst_then_is_told_when_to_come_back() {
        let limits = limits(60, 0, 0);
        let client = address("203.0.113.7");
        for _ in 0..10 {
            limits.operation(client, None).unwrap();
        }
        match limits.operation(client, None) {
            Err(AppError::RateLimited { retry_after_secs }) => assert_eq!(retry_after_secs, 1),
            other => panic!("expected RATE_LIMITED, got {other:?}"),
        }
        // Another address has its own quota.
        limits.operation(address("203.0.113.8"), None).unwrap();
    }

    #[test]
    fn a_user_is_limited_across_addresses() {
        let limits = limits(0, 6, 0);
        let user = Uuid::new_v4();
        limits
            .operation(address("198.51.100.1"), Some(user))
            .unwrap();
        let refused = limits.operation(address("198.51.100.2"), Some(user));
        assert!(matches!(refused, Err(AppError::RateLimited { .. })));
        limits.operation(address("198.51.100.2"), None).unwrap();
    }

    #[test]
    fn ipv6_addresses_of_one_network_share_a_quota() {
        let limits = limits(6, 0, 0);
        limits.operation(address("2001:db8::1"), None).unwrap();
        let refused = limits.operation(address("2001:db8::ffff:1"), None);
        assert!(matches!(refused, Err(AppError::RateLimited { .. })));
        limits.operation(address("2001:db8:0:1::1"), None).unwrap();
        assert_eq!(
            client_key(address("::ffff:192.0.2.1")),
            address("192.0.2.1")
        );
    }

    #[test]
    fn zero_turns_a_limit_off() {
        let limits = limits(0, 0, 0);
        for _ in 0..10_000 {
            limits
                .operation(address("192.0.2.1"), Some(Uuid::nil()))
                .unwrap();
        }
        let permits: Vec<_> = (0..1_000)
            .map(|_| limits.open_socket(address("192.0.2.1")).unwrap())
            .collect();
        assert_eq!(permits.len(), 1_000);
    }

    #[test]
    fn socket_places_are_given_back_when_sockets_close() {
        let limits = limits(0, 0, 2);
        let client = address("192.0.2.9");
        let first = limits.open_socket(client).unwrap();
        let _second = limits.open_socket(client).unwrap();
        assert!(limits.open_socket(client).is_err());
        drop(first);
        let _third = limits.open_socket(client).unwrap();
        assert!(limits.open_socket(client).is_err());
    }

    /// Runs `work` on `threads` threads released at the same instant; their results.
    fn at_once<T: Send + 'static>(
        threads: usize,
        work: impl Fn() -> T + Send + Sync + 'static,
    ) -> Vec<T> {
        let work = Arc::new(work);
        let barrier = Arc::new(std::sync::Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (work, barrier) = (Arc::clone(&work), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    work()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    }

    #[test]
    fn concurrent_sockets_never_exceed_the_cap() {
        let limits = Arc::new(limits(0, 0, 5));
        let client = address("192.0.2.10");
        let shared = Arc::clone(&limits);
        let permits: Vec<_> = at_once(16, move || shared.open_socket(client).ok())
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(permits.len(), 5);
    }

    #[test]
    fn concurrent_operations_never_pass_more_than_the_burst() {
        let limits = Arc::new(limits(600, 0, 0));
        let client = address("192.0.2.11");
        let passed: usize = at_once(8, move || {
            (0..100)
                .filter(|_| limits.operation(client, None).is_ok())
                .count()
        })
        .into_iter()
        .sum();
        // A burst of 100, plus at most the few that refilled while the threads ran (10/s).
        assert!((100..=105).contains(&passed), "{passed} passed");
    }

    #[test]
    fn idle_clients_are_forgotten() {
        let limits = limits(60_000, 0, 0);
        limits.operation(address("192.0.2.12"), None).unwrap();
        assert_eq!(limits.per_address.as_ref().unwrap().len(), 1);
        std::thread::sleep(Duration::from_millis(20));
        limits.forget_idle();
        assert_eq!(limits.per_address.as_ref().unwrap().len(), 0);
    }
}
