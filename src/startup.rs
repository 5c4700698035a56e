//! Assembling and running one Tally instance: database, schema, router, listener, and a
//! graceful stop.
//!
//! `Application::build` binds the listener before returning (port 0 picks a free port), so tests
//! can start many instances side by side and read their address. On a stop signal the server
//! stops accepting, lets in-flight requests finish, and gives up after the configured grace.

use std::{future::Future, net::SocketAddr, sync::Arc};

use anyhow::Context;
use tokio::net::TcpListener;

use crate::{
    background::Background,
    config::Config,
    db::{self, StatementCounter},
    events::{self, EventBus},
    graphql, http, observability,
    service::{
        housekeeping, live,
        rate_limit::{self, RateLimits},
        revocation::RevokedCredentials,
        unit_of_work::SqliteWriter,
    },
    state::{AppState, Keys},
};

pub struct Application {
    listener: TcpListener,
    /// Where `/metrics` answers, when `TALLY_METRICS_LISTEN` is set.
    metrics: Option<TcpListener>,
    router: axum::Router,
    state: AppState,
    stopping: tokio::sync::watch::Sender<bool>,
}

impl Application {
    /// Connects to the database, applies migrations, builds the schema and binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let mut db = db::connect_and_migrate(&config.database_url)
            .await
            .context("opening and migrating the database")?;
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        let metrics = match config.metrics_listen {
            Some(address) => Some(
                TcpListener::bind(address)
                    .await
                    .with_context(|| format!("binding the metrics listener {address}"))?,
            ),
            None => None,
        };
        observability::install();
        let keys =
            Keys::from_config(&config).context("deriving keys from the configured secrets")?;
        let statements = StatementCounter::default();
        statements.attach(&mut db);
        let revoked = RevokedCredentials::default();
        revoked
            .reload(&db)
            .await
            .map_err(|error| anyhow::anyhow!("loading revoked sessions: {error:?}"))?;
        let events = EventBus::new(db.get_database_backend(), revoked);
        let writer = SqliteWriter::open(&config.database_url, &statements, &events)
            .await
            .context("opening the database's writer")?;
        let (stopping, stopping_rx) = tokio::sync::watch::channel(false);
        let rate_limits = Arc::new(RateLimits::new(config.rate_limits));
        let state = AppState {
            db,
            writer,
            config: Arc::new(config),
            keys: Arc::new(keys),
            statements,
            events,
            live: Default::default(),
            books: Arc::new(crate::service::book_cache::new_cache()),
            plans: Arc::new(crate::service::settling::PlanCache::new(
                crate::service::settling::PLAN_CACHE_ITEMS,
            )),
            rate_limits,
            stopping: stopping_rx,
        };
        let router = http::router(state.clone(), graphql::gateway::Gateway::new(state.clone()));
        Ok(Self {
            listener,
            metrics,
            router,
            state,
            stopping,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Where `/metrics` answers, if anywhere.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then drains in-flight requests for at most the
    /// configured grace period.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let grace = self.state.config.shutdown_grace;
        // Stops with the server: dropped whichever way this function returns.
        let _housekeeping =
            housekeeping::spawn(self.state.db.clone(), self.state.config.activity_retention);
        let _listener = events::spawn_listener(
            self.state.events.clone(),
            self.state.db.clone(),
            self.state.config.database_url.clone(),
        );
        let _live = Background::spawn(live::dispatch(self.state.clone()));
        let _rate_limits = rate_limit::spawn_forgetting(self.state.rate_limits.clone());
        let _metrics = self
            .metrics
            .map(|listener| observability::serve(listener, self.state.db.clone()));
        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        let sockets = self.stopping;
        let server = axum::serve(self.listener, service).with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: draining in-flight requests");
            // Open WebSockets are closed with 1001 (going away); no one may be listening.
            let _ = sockets.send(true);
            let _ = stopping_tx.send(());
        });
        let server = tokio::spawn(async move { server.await });
        tokio::pin!(server);
        tokio::select! {
            finished = &mut server => return finished.context("server task")?.context("serving"),
            _ = stopping_rx => {}
        }
        match tokio::time::timeout(grace, &mut server).await {
            Ok(finished) => finished.context("server task")?.context("serving")?,
            Err(_) => {
                tracing::warn!(
                    ?grace,
                    "requests still running after the grace period; stopping anyway"
                );
                server.abort();
            }
        }
        self.state
            .db
            .clone()
            .close()
            .await
            .context("closing the database")?;
        Ok(())
    }
}

/// Resolves on SIGINT (Ctrl-C) or, on Unix, SIGTERM (what orchestrators send).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
