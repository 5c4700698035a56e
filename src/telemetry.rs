//! Logging: `RUST_LOG` filters (default `info`), `TALLY_LOG_FORMAT` picks human-readable or JSON
//! lines. Called once by the binary; tests may call it too, and a second call is a no-op.
//!
//! Every log line written for a request carries its request id, because it is written inside
//! the request's span; work a request hands to another task must take the span along
//! ([`spawn_in_current_span`]), or its lines lose the id.

use tracing::Instrument;
use tracing_subscriber::{EnvFilter, fmt, layer::SubscriberExt, util::SubscriberInitExt};

use crate::config::LogFormat;

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    // `try_init` fails only when a subscriber is already set (a second call in tests): keep it.
    let _ = match format {
        LogFormat::Pretty => registry.with(fmt::layer()).try_init(),
        LogFormat::Json => registry
            .with(fmt::layer().json().flatten_event(true))
            .try_init(),
    };
}

/// Spawns `task` inside the current span (a request's, with its request id), so what it logs
/// can be matched to the request: the spawner of the per-request DataLoaders, whose batches run
/// as tasks of their own.
pub fn spawn_in_current_span<F>(task: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(task.in_current_span())
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Log output kept in memory.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// What one task spawned by `spawn` inside a request span logs.
    fn logged_by_task_spawned_with(
        spawn: fn(std::pin::Pin<Box<dyn Future<Output = ()> + Send>>),
    ) -> String {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::registry()
            .with(fmt::layer().json().with_writer(move || writer.clone()));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        // A current-thread runtime runs spawned tasks on this thread, under this subscriber.
        tracing::subscriber::with_default(subscriber, || {
            runtime.block_on(async {
                let span = tracing::info_span!("request", request_id = "req-42");
                let (done_tx, done_rx) = tokio::sync::oneshot::channel();
                span.in_scope(|| {
                    spawn(Box::pin(async move {
                        tracing::error!("a batch failed");
                        let _ = done_tx.send(());
                    }))
                });
                done_rx.await.unwrap();
            })
        });
        String::from_utf8(captured.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn a_task_spawned_for_a_request_logs_with_its_request_id() {
        let line = logged_by_task_spawned_with(|task| {
            spawn_in_current_span(task);
        });
        assert!(line.contains("a batch failed"), "{line}");
        assert!(line.contains("\"request_id\":\"req-42\""), "{line}");
        // Without the span, the same line has no id: what the loaders logged before.
        let bare = logged_by_task_spawned_with(|task| {
            tokio::spawn(task);
        });
        assert!(bare.contains("a batch failed"), "{bare}");
        assert!(!bare.contains("req-42"), "{bare}");
    }
}
