//! The reaper: the background task that performs what tiers imply.
//!
//! Tiers are computed on every read, so the reaper never decides what a tier *is*; it only
//! does the side effects: publishes tier changes, ends abandoned sessions, and deletes ended
//! sessions past retention. It finds candidates through the `last_seen` / `ended` sorted
//! sets, never by scanning keys. With several daemons on one Redis, a short lock
//! (`reaper:lock`, `SET NX PX`, held for one interval) lets one reaper act per interval; and
//! every end is a compare-and-set on the session, so nothing is ended twice even if two ran.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::events::Event;
use super::{Coordinator, ServiceError};
use crate::domain::tiers::Tier;
use crate::service::metrics::ReaperAction;

/// Most candidates handled per category per run (the rest wait for the next run).
const BATCH: usize = 1000;

/// Counters of what this daemon's reaper did (read by tests; a metrics endpoint can expose them).
#[derive(Debug)]
pub struct ReaperStats {
    token: String,
    runs: AtomicU64,
    skipped: AtomicU64,
    tier_changes: AtomicU64,
    ended: AtomicU64,
    purged: AtomicU64,
}

/// A snapshot of [`ReaperStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ReaperCounts {
    /// Runs in which this daemon held the reaper lock and acted.
    pub runs: u64,
    /// Runs skipped because another daemon's reaper held the lock.
    pub skipped: u64,
    pub tier_changes: u64,
    /// Abandoned sessions this reaper ended.
    pub ended: u64,
    /// Ended sessions it deleted after retention.
    pub purged: u64,
}

impl ReaperStats {
    pub fn new() -> Self {
        Self {
            token: uuid::Uuid::new_v4().simple().to_string(),
            runs: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            tier_changes: AtomicU64::new(0),
            ended: AtomicU64::new(0),
            purged: AtomicU64::new(0),
        }
    }

    pub fn counts(&self) -> ReaperCounts {
        ReaperCounts {
            runs: self.runs.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
            tier_changes: self.tier_changes.load(Ordering::Relaxed),
            ended: self.ended.load(Ordering::Relaxed),
            purged: self.purged.load(Ordering::Relaxed),
        }
    }
}

impl Default for ReaperStats {
    fn default() -> Self {
        Self::new()
    }
}

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReapReport {
    /// False when another daemon's reaper holds the lock this interval.
    pub acted: bool,
    pub tier_changes: Vec<(String, Tier)>,
    pub ended: Vec<String>,
    /// Locks of the ended sessions, released.
    pub locks_released: Vec<String>,
    pub purged: Vec<String>,
}

impl Coordinator {
    /// One reaper run. Safe to call from any daemon at any time.
    pub async fn reap_once(&self) -> Result<ReapReport, ServiceError> {
        let s = &self.settings().sessions;
        let interval_ms = s.reaper_interval_seconds.saturating_mul(1000);
        let stats = self.reaper_stats();
        if !self
            .store()
            .try_reaper_lock(&stats.token, interval_ms.max(1))
            .await?
        {
            stats.skipped.fetch_add(1, Ordering::Relaxed);
            return Ok(ReapReport::default());
        }
        stats.runs.fetch_add(1, Ordering::Relaxed);
        let mut report = ReapReport {
            acted: true,
            ..Default::default()
        };
        let tiers = self.tiers();
        let now = self.store().now_ms().await?;
        let previous = self.store().swap_reaper_mark(now).await?;

        // Tier changes: sessions whose age crossed a boundary since the previous run.
        if let Some(prev) = previous.filter(|p| *p < now) {
            for (boundary, to) in [(tiers.active_ms, Tier::Idle), (tiers.idle_ms, Tier::Stale)] {
                let crossed = self
                    .store()
                    .sessions_seen_between(Some(prev - boundary), now - boundary, BATCH)
                    .await?;
                for (name, seen) in crossed {
                    let tier = tiers.tier_of(now - seen);
                    tracing::info!(session = %name, %tier, "session tier changed");
                    self.events().publish(Event::TierChanged {
                        session: name.clone(),
                        from: None,
                        to: tier,
                        at_ms: now,
                    });
                    report.tier_changes.push((name, tier.max(to)));
                }
            }
        }

        // Abandoned: end them (only if still not seen since the cut-off).
        let cutoff = now - tiers.stale_ms;
        for (name, _) in self
            .store()
            .sessions_seen_between(None, cutoff, BATCH)
            .await?
        {
            let reason = format!(
                "abandoned: no activity for sessions.stale_seconds = {} s",
                s.stale_seconds
            );
            if let Some(ended) = self.end_named(&name, &reason, Some(cutoff)).await? {
                report.locks_released.extend(ended.locks_released);
                self.events().publish(Event::TierChanged {
                    session: name.clone(),
                    from: None,
                    to: Tier::Abandoned,
                    at_ms: now,
                });
                report.tier_changes.push((name.clone(), Tier::Abandoned));
                report.ended.push(name);
            }
        }

        // Retention: ended sessions past it are deleted.
        let retention_ms = (s.ended_retention_seconds as i64).saturating_mul(1000);
        report.purged = self.store().purge_ended(now - retention_ms, BATCH).await?;
        for name in &report.purged {
            tracing::info!(session = %name, "ended session deleted after retention");
        }
        // Their credentials go with them (an ended name could be taken over anyway).
        self.store().drop_claims(&report.purged).await?;

        stats
            .tier_changes
            .fetch_add(report.tier_changes.len() as u64, Ordering::Relaxed);
        stats
            .ended
            .fetch_add(report.ended.len() as u64, Ordering::Relaxed);
        stats
            .purged
            .fetch_add(report.purged.len() as u64, Ordering::Relaxed);
        if report.acted {
            let m = self.metrics();
            m.reaper_ran();
            m.reaper_acted(ReaperAction::tier_changed, report.tier_changes.len() as u64);
            m.reaper_acted(ReaperAction::session_ended, report.ended.len() as u64);
            m.reaper_acted(
                ReaperAction::lock_released,
                report.locks_released.len() as u64,
            );
            m.reaper_acted(ReaperAction::expired, report.purged.len() as u64);
        }
        Ok(report)
    }

    /// Gives the reaper lock back (at shutdown) so another daemon's reaper can act at once.
    pub async fn release_reaper(&self) {
        if let Err(e) = self
            .store()
            .release_reaper_lock(&self.reaper_stats().token)
            .await
        {
            tracing::debug!("reaper lock not released: {e}");
        }
    }
}

/// Starts the reaper; it stops when `shutdown` is cancelled.
pub fn spawn(coord: Arc<Coordinator>, shutdown: CancellationToken) -> JoinHandle<()> {
    let every = Duration::from_secs(coord.settings().sessions.reaper_interval_seconds.max(1));
    tokio::spawn(async move {
        // The first run is one interval after start, like every later one.
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = ticks.tick() => {
                    if let Err(e) = coord.reap_once().await {
                        tracing::warn!("reaper run failed: {e}; retrying next interval");
                    }
                }
            }
        }
        coord.release_reaper().await;
    })
}
