//! Metrics in the Prometheus text format, served on their own listener (`TALLY_METRICS_LISTEN`)
//! so they are never public by accident. The `metrics` facade records; one process-wide
//! Prometheus recorder keeps them (several servers in one test process share it).
//!
//! What is recorded, and where (each is documented in the README):
//! - `tally_graphql_requests_total{operation, outcome}` and
//!   `tally_graphql_request_duration_seconds{operation, outcome}` (HTTP requests; `outcome` is
//!   `OK` or the first error's code), by [`record_request`];
//! - `tally_db_connections{state="in_use"|"idle"}`, read from the pool at each scrape;
//! - `tally_websocket_connections` and `tally_subscriptions` (gauges, open now);
//! - `tally_throttle_refusals_total{throttle}` (RATE_LIMITED answers);
//! - `tally_events_published_total` (committed changes announced) and
//!   `tally_events_delivered_total` (events sent to subscribers);
//! - SQLite: `tally_sqlite_group_commits_total` and `tally_sqlite_grouped_units_total` (units
//!   of work committed in them: the ratio is the mean group size).
//!
//! Label values a client chooses are bounded: operation names are kept only when short and
//! plain, and only the first [`MAX_OPERATION_NAMES`] distinct ones; the rest count as `other`.

// Metrics are seconds and counts, never money, and the `metrics` facade takes `f64`: the
// project-wide ban on `f64` (clippy.toml) is for money.
#![allow(clippy::disallowed_types)]

use std::{
    collections::HashSet,
    sync::{Mutex, OnceLock, PoisonError},
    time::Duration,
};

use axum::{Router, extract::State, routing::get};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;

use crate::background::Background;

/// Distinct operation names kept as label values.
const MAX_OPERATION_NAMES: usize = 200;
/// Longest operation name kept as a label value.
const MAX_OPERATION_NAME_CHARS: usize = 64;
/// Request-duration buckets, in seconds.
const DURATION_BUCKETS: [f64; 12] = [
    0.000_5, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// The process-wide recorder's handle, installed on first use.
fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&DURATION_BUCKETS)
            .map(PrometheusBuilder::build_recorder)
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
        let handle = recorder.handle();
        // Fails only if another recorder was installed first; then ours stays empty.
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics will be empty");
        }
        handle
    })
}

/// Installs the recorder, so metrics recorded from now on are kept.
pub fn install() {
    handle();
}

/// Records one GraphQL request over HTTP.
pub fn record_request(operation: Option<&str>, outcome: &str, elapsed: Duration) {
    let labels = [
        ("operation", operation_label(operation)),
        ("outcome", outcome.to_owned()),
    ];
    metrics::counter!("tally_graphql_requests_total", &labels).increment(1);
    metrics::histogram!("tally_graphql_request_duration_seconds", &labels)
        .record(elapsed.as_secs_f64());
}

/// A client-chosen operation name as a label value of bounded cardinality.
fn operation_label(operation: Option<&str>) -> String {
    static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let Some(name) = operation else {
        return "anonymous".to_owned();
    };
    let plain = name.len() <= MAX_OPERATION_NAME_CHARS
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_');
    if !plain {
        return "other".to_owned();
    }
    let mut seen = SEEN.lock().unwrap_or_else(PoisonError::into_inner);
    let seen = seen.get_or_insert_with(HashSet::new);
    if seen.contains(name) || seen.len() < MAX_OPERATION_NAMES {
        seen.insert(name.to_owned());
        name.to_owned()
    } else {
        "other".to_owned()
    }
}

/// Counts one more open thing in the gauge `name` for as long as it is held.
pub struct Open(&'static str);

impl Open {
    pub fn count(name: &'static str) -> Self {
        metrics::gauge!(name).increment(1.0);
        Self(name)
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        metrics::gauge!(self.0).decrement(1.0);
    }
}

/// Serves `GET /metrics` on `listener` until the returned task is dropped.
pub fn serve(listener: TcpListener, db: DatabaseConnection) -> Background {
    let router = Router::new().route("/metrics", get(scrape)).with_state(db);
    Background::spawn(async move {
        if let Err(error) = axum::serve(listener, router).await {
            tracing::warn!(%error, "the metrics listener stopped");
        }
    })
}

async fn scrape(State(db): State<DatabaseConnection>) -> String {
    let (in_use, idle) = pool_connections(&db);
    metrics::gauge!("tally_db_connections", "state" => "in_use").set(in_use as f64);
    metrics::gauge!("tally_db_connections", "state" => "idle").set(idle as f64);
    let handle = handle();
    handle.run_upkeep();
    handle.render()
}

/// The pool's connections: (in use, idle).
fn pool_connections(db: &DatabaseConnection) -> (u32, u32) {
    let (size, idle) = match db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
    };
    let idle = u32::try_from(idle).unwrap_or(u32::MAX);
    (size.saturating_sub(idle), idle)
}
