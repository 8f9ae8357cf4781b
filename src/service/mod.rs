//! Use-cases. Each capability lives here once; MCP tools, the CLI and hook handling are
//! thin front-ends that parse, call one function of [`Coordinator`], and format.
//!
//! Capabilities add `impl Coordinator` blocks in their own files (`locks.rs`, `sessions.rs`,
//! …) so each one reads top to bottom on its own.

pub mod admin;
pub mod audit;
pub mod caller;
pub mod children;
pub mod claims;
pub mod claude_bindings;
pub mod connections;
pub mod dashboard;
pub mod dashboard_tasks;
pub mod error;
pub mod events;
pub mod health;
pub mod hook_names;
pub mod hooks;
pub mod human_time;
pub mod locks;
pub mod messages;
pub mod metrics;
pub mod policy;
pub mod rate_limit;
pub mod reaper;
pub mod recovery;
pub mod sessions;
pub mod tasks;
pub mod tmux;
pub mod tokens;
pub mod wake;

use std::sync::Arc;
use std::time::Instant;

pub use caller::Caller;
pub use connections::Connections;
pub use error::ServiceError;
pub use events::{Event, Events};
pub use metrics::Metrics;
pub use reaper::ReaperStats;

use crate::config::Settings;
use crate::domain::tiers::TierThresholds;
use crate::store::Store;
use crate::store::messages::InboxPolicy;
use crate::store::sessions::SessionPolicy;

/// The service layer: one per daemon, shared by every connection.
pub struct Coordinator {
    store: Arc<dyn Store>,
    settings: Arc<Settings>,
    started: Instant,
    connections: Connections,
    tiers: TierThresholds,
    session_policy: SessionPolicy,
    inbox_policy: InboxPolicy,
    events: Events,
    reaper: ReaperStats,
    tmux: tmux::TmuxRuntime,
    metrics: Metrics,
    recent_bindings: claude_bindings::RecentBindings,
    bound_connections: claude_bindings::BoundConnections,
    /// Hash of this daemon's bootstrap admin token (see [`tokens`]), once written.
    bootstrap: std::sync::OnceLock<String>,
    claude_processes: claude_bindings::ClaudeProcesses,
    waiters: wake::Waiters,
    rate_limits: rate_limit::RateLimits,
}

impl Coordinator {
    pub fn new(store: Arc<dyn Store>, settings: Arc<Settings>) -> Arc<Self> {
        let tiers = policy::tier_thresholds(&settings.sessions);
        let session_policy = policy::session_policy(&settings.sessions);
        let inbox_policy = policy::inbox_policy(&settings.messages);
        let tmux = tmux::TmuxRuntime::new(&settings.tmux);
        let rate_limits = rate_limit::RateLimits::new(&settings.limits);
        Arc::new(Self {
            store,
            settings,
            started: Instant::now(),
            connections: Connections::default(),
            tiers,
            session_policy,
            inbox_policy,
            events: Events::default(),
            reaper: ReaperStats::new(),
            tmux,
            metrics: Metrics::new(),
            recent_bindings: claude_bindings::RecentBindings::default(),
            bound_connections: claude_bindings::BoundConnections::default(),
            bootstrap: std::sync::OnceLock::new(),
            claude_processes: claude_bindings::ClaudeProcesses::default(),
            waiters: wake::Waiters::default(),
            rate_limits,
        })
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn connections(&self) -> &Connections {
        &self.connections
    }

    /// Prometheus metrics; capabilities record through its methods (`lock_granted()`, …).
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub fn tiers(&self) -> TierThresholds {
        self.tiers
    }

    /// `locks.lock_delay_seconds` in ms: how long a lock taken over or forced free is
    /// reserved (for the taker, or for nobody).
    pub fn lock_delay_ms(&self) -> i64 {
        (self.settings.locks.lock_delay_seconds as i64) * 1000
    }

    /// What the store checks session writes against (from `[sessions]`).
    pub fn session_policy(&self) -> SessionPolicy {
        self.session_policy
    }

    /// The inbox rules the store applies (from `[messages]`).
    pub fn inbox_policy(&self) -> InboxPolicy {
        self.inbox_policy
    }

    /// Hook bindings this daemon wrote recently (see [`claude_bindings`]).
    fn recent_bindings(&self) -> &claude_bindings::RecentBindings {
        &self.recent_bindings
    }

    /// Which MCP connection bound each Claude id (see [`claude_bindings::BoundConnections`]).
    pub fn bound_connections(&self) -> &claude_bindings::BoundConnections {
        &self.bound_connections
    }

    /// The bootstrap admin token's hash, once [`Coordinator::set_bootstrap`] was called.
    pub fn bootstrap_hash(&self) -> Option<&str> {
        self.bootstrap.get().map(String::as_str)
    }

    /// Records the bootstrap admin token's hash (at start; first one wins).
    pub fn set_bootstrap(&self, hash: String) {
        let _ = self.bootstrap.set(hash);
    }

    /// Claude Code processes the hooks reported, with their sessions.
    pub fn claude_processes(&self) -> &claude_bindings::ClaudeProcesses {
        &self.claude_processes
    }

    /// The wake-up waiters parked on this daemon, one per session.
    pub fn waiters(&self) -> &wake::Waiters {
        &self.waiters
    }

    /// The rate limits every front-end applies (from `[limits]`).
    pub fn rate_limits(&self) -> &rate_limit::RateLimits {
        &self.rate_limits
    }

    /// Session events (tier changes, status reports, ends) for other capabilities.
    pub fn events(&self) -> &Events {
        &self.events
    }

    /// What this daemon's reaper has done so far.
    pub fn reaper_stats(&self) -> &ReaperStats {
        &self.reaper
    }

    pub fn uptime(&self) -> std::time::Duration {
        self.started.elapsed()
    }
}
