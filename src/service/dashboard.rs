//! The dashboard's data: one serializable snapshot of the whole swarm (sessions, locks with
//! their queues, task boards, daemon facts, recent activity), served once when the page opens; from then
//! on the page follows `/events` and patches it. Everything here is read-only.
//!
//! The snapshot is several store reads, not one atomic one: the page subscribes to
//! `/events` first and replays what arrived while the snapshot was read, so a change that
//! falls between two reads still shows (see `assets/dashboard/app.js`).

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::dashboard_tasks::ProjectTasks;
use super::health::HealthReport;
use super::metrics::MetricTotals;
use super::sessions::SessionView;
use super::{Coordinator, Event, ServiceError};
use crate::domain::auth::Role;
use crate::domain::tiers::Tier;
use crate::store::locks::LockQueue;

/// Events the activity log keeps for a page that opens later.
pub const ACTIVITY_KEPT: usize = 300;
/// Ended sessions the snapshot shows (the newest); the rest are counted.
pub const ENDED_SHOWN: usize = 100;

/// Who is looking at the page: it shows admin actions only to an admin, and says whether
/// the viewer is logged in.
#[derive(Debug, Clone, Serialize)]
pub struct Viewer {
    pub role: Role,
    /// The token's id (`tok_…`, `bootstrap`), never the secret; none without a token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    /// Through the login cookie (so the page offers to log out).
    pub logged_in: bool,
    /// The daemon requires a token (`auth.required`).
    pub auth_required: bool,
}

/// The snapshot `GET /dashboard/state` returns.
#[derive(Debug, Clone, Serialize)]
pub struct DashboardView {
    pub viewer: Viewer,
    /// Store clock (ms) when the snapshot was read: the page's clock offset.
    pub now_ms: i64,
    pub daemon: DaemonFacts,
    /// Live sessions, then the newest [`ENDED_SHOWN`] ended ones.
    pub sessions: Vec<SessionView>,
    /// Ended sessions not in `sessions` (older ones, until purged).
    pub ended_not_shown: usize,
    /// Held locks by name, each with its queue.
    pub locks: Vec<LockEntry>,
    /// Each project's task board, by project name.
    pub tasks: Vec<ProjectTasks>,
    /// The newest events, oldest first (never `session_seen`; never message bodies).
    pub activity: Vec<Event>,
}

/// What the page shows about the daemon itself; also pushed every few seconds on
/// `/events?stats=N` as `daemon_stats`.
#[derive(Debug, Clone, Serialize)]
pub struct DaemonFacts {
    pub now_ms: i64,
    pub health: HealthReport,
    /// Counters since start; the page shows their rates between two readings.
    pub totals: MetricTotals,
    pub thresholds: Thresholds,
    pub lock_delay_seconds: u64,
    /// How often `/events` sends a keep-alive: a page that hears nothing for a few of
    /// these knows the connection is dead.
    pub keep_alive_seconds: u64,
}

/// Tier boundaries in seconds, so the page can say what a tier means here.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Thresholds {
    pub active_seconds: u64,
    pub idle_seconds: u64,
    pub stale_seconds: u64,
}

/// One held lock with its holder's tier and its queue.
#[derive(Debug, Clone, Serialize)]
pub struct LockEntry {
    pub lock: String,
    pub holder: String,
    /// `active`, `idle`, `stale`, `abandoned`, or `ended`.
    pub holder_tier: &'static str,
    pub token: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub acquired_at: i64,
    pub expires_at: i64,
    /// Sessions waiting for it, first in line first.
    pub waiters: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock_delay_until: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserved_for: Option<String>,
}

/// The newest events, kept for pages that open later. Fed by its own subscriber task, so
/// publishing stays a plain broadcast.
#[derive(Debug, Default)]
pub struct ActivityLog {
    events: Mutex<VecDeque<Event>>,
}

impl ActivityLog {
    /// A log fed by `coord`'s events until `shutdown`.
    pub fn start(coord: &Arc<Coordinator>, shutdown: CancellationToken) -> Arc<ActivityLog> {
        let log = Arc::new(ActivityLog::default());
        let mut rx = coord.events().subscribe();
        let weak = Arc::downgrade(&log);
        tokio::spawn(async move {
            loop {
                let received = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    r = rx.recv() => r,
                };
                let Some(log) = weak.upgrade() else { return };
                match received {
                    Ok(event) => log.record(event),
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        log
    }

    fn record(&self, event: Event) {
        if matches!(event, Event::SessionSeen { .. }) {
            return; // a heartbeat, not activity
        }
        let mut events = self.events.lock();
        if events.len() == ACTIVITY_KEPT {
            events.pop_front();
        }
        events.push_back(event);
    }

    /// Oldest first.
    pub fn recent(&self) -> Vec<Event> {
        self.events.lock().iter().cloned().collect()
    }
}

impl Coordinator {
    /// The daemon facts of the dashboard (one store ping).
    pub async fn daemon_facts(&self) -> DaemonFacts {
        let health = self.health().await;
        let mut totals = self.metrics().totals();
        totals.store_errors = totals.store_errors.max(self.store().errors_total());
        let s = &self.settings().sessions;
        DaemonFacts {
            now_ms: self
                .store()
                .now_ms()
                .await
                .unwrap_or_else(|_| crate::store::memory::wall_clock_ms()),
            health,
            totals,
            thresholds: Thresholds {
                active_seconds: s.active_seconds,
                idle_seconds: s.idle_seconds,
                stale_seconds: s.stale_seconds,
            },
            lock_delay_seconds: self.settings().locks.lock_delay_seconds,
            keep_alive_seconds: self.settings().server.sse_keep_alive_seconds.max(1),
        }
    }

    /// Everything the dashboard shows, read now.
    pub async fn dashboard_view(
        &self,
        activity: &ActivityLog,
        viewer: Viewer,
    ) -> Result<DashboardView, ServiceError> {
        let daemon = self.daemon_facts().await;
        let entries = self.store().list_sessions(true).await?;
        let listing = self.store().list(self.tiers()).await?;
        let names: Vec<String> = listing.locks.iter().map(|h| h.lock.name.clone()).collect();
        let mut queues: std::collections::HashMap<String, LockQueue> = self
            .store()
            .queues(&names)
            .await?
            .into_iter()
            .map(|q| (q.name.clone(), q))
            .collect();
        let now = listing.now_ms;

        let (live, mut ended): (Vec<_>, Vec<_>) = entries.iter().partition(|e| e.live);
        ended.sort_by_key(|e| std::cmp::Reverse(e.record.ended_at_ms.unwrap_or(0)));
        let ended_not_shown = ended.len().saturating_sub(ENDED_SHOWN);
        let mut sessions: Vec<SessionView> =
            live.iter().map(|e| self.session_view(e, now)).collect();
        sessions.sort_by(|a, b| a.name.cmp(&b.name));
        sessions.extend(
            ended
                .iter()
                .take(ENDED_SHOWN)
                .map(|e| self.session_view(e, now)),
        );

        let mut locks: Vec<LockEntry> = listing
            .locks
            .into_iter()
            .map(|h| {
                let q = queues.remove(&h.lock.name);
                LockEntry {
                    holder_tier: h.tier.map(Tier::as_str).unwrap_or("ended"),
                    waiters: q.as_ref().map(|q| q.waiters.clone()).unwrap_or_default(),
                    lock_delay_until: q.as_ref().and_then(|q| q.delay_until),
                    reserved_for: q.and_then(|q| q.reserved_for),
                    lock: h.lock.name,
                    holder: h.lock.holder,
                    token: h.lock.token,
                    reason: h.lock.reason,
                    acquired_at: h.lock.acquired_at,
                    expires_at: h.lock.expires_at,
                }
            })
            .collect();
        locks.sort_by(|a, b| a.lock.cmp(&b.lock));
        let tasks = self.dashboard_all_tasks().await?;
        Ok(DashboardView {
            viewer,
            now_ms: now,
            daemon,
            sessions,
            ended_not_shown,
            locks,
            tasks,
            activity: activity.recent(),
        })
    }
}
