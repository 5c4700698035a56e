//! The hourly sweep that deletes rows whose purpose has passed: activity older than the
//! retention period, throttle counters whose window has ended (login failures among them),
//! idempotency keys past their 24 hours, and refresh tokens a day past their expiry.
//!
//! Every instance runs it; the deletes are idempotent, so two instances sweeping at once only
//! repeat each other's work. A failed sweep is logged and tried again at the next tick.

use std::time::Duration;

use sea_orm::DatabaseConnection;

use crate::{
    background::Background,
    error::AppResult,
    service::{activity, idempotency, now, sessions, throttle},
};

/// How often the sweep runs. Rows live at most this much longer than their period, which is
/// days long for activity and an hour at most for throttle windows.
const SWEEP_EVERY: Duration = Duration::from_secs(60 * 60);

/// Sweeps now and then every hour until the returned handle is dropped.
pub fn spawn(db: DatabaseConnection, activity_retention: chrono::Duration) -> Background {
    Background::spawn(async move {
        let mut ticks = tokio::time::interval(SWEEP_EVERY);
        // A sweep that ran late must not be followed by a burst of catch-up sweeps.
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(error) = sweep(&db, activity_retention).await {
                tracing::warn!(?error, "housekeeping sweep failed");
            }
        }
    })
}

async fn sweep(db: &DatabaseConnection, activity_retention: chrono::Duration) -> AppResult<()> {
    let at = now();
    let activity = activity::prune(db, at - activity_retention).await?;
    // The longest throttle window is an hour: anything that began before that has ended.
    let counters = throttle::prune(db, at - throttle::REGISTRATION_WINDOW).await?;
    let keys = idempotency::prune(db, at).await?;
    let refresh_tokens = sessions::prune(db, at).await?;
    if activity + counters + keys + refresh_tokens > 0 {
        tracing::info!(
            activity,
            counters,
            keys,
            refresh_tokens,
            "pruned expired rows"
        );
    }
    Ok(())
}
