//! What the lock operations take and answer: one type each, serialized as the tools
//! publish them.

use serde::{Deserialize, Serialize};

use crate::store::locks::TakeoverNote;

/// `acquire_lock`: the one argument type the tool, the CLI (`lock`, `run`) and the tests use.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AcquireLockArgs {
    /// `pytest`, `pr-create` (bare = resource), `issue:42`, `wave:5c`, `wave:5c.1`,
    /// `path:src/auth/login.rs`, or `work` (the issue/wave of your git branch).
    pub lock_name: String,
    /// Lock lifetime in seconds unless extended (default 300; above the configured maximum it
    /// is clamped). `timeout` is accepted too.
    #[serde(default, alias = "timeout")]
    pub timeout_seconds: Option<i64>,
    /// Wait up to this many seconds for the lock (first come, first served); 0 = answer now.
    #[serde(default)]
    pub wait_seconds: Option<i64>,
    /// Why you take it, shown to others (e.g. "running the full test suite").
    #[serde(default)]
    pub reason: Option<String>,
    /// Take the lock over if its holder is stale (silent for long). Refused for active and
    /// idle holders.
    #[serde(default)]
    pub force: bool,
    /// Your git branch, for `work` (e.g. `issue-42-auth` → `issue:42`).
    #[serde(default)]
    pub branch: Option<String>,
}

/// `release_lock` and `check_lock`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LockNameArgs {
    /// The lock, as given to acquire_lock (`pytest`, `issue:42`, `work`, …).
    pub lock_name: String,
    /// Your git branch, when lock_name is `work`.
    #[serde(default)]
    pub branch: Option<String>,
}

/// `extend_lock`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ExtendLockArgs {
    pub lock_name: String,
    /// New lifetime from now, in seconds (default 300). `timeout` is accepted too.
    #[serde(default, alias = "timeout")]
    pub timeout_seconds: Option<i64>,
    #[serde(default)]
    pub branch: Option<String>,
}

/// `list_locks`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ListLocksArgs {
    /// Glob over lock names (default `*`): `resource:*`, `wave:5c*`, `py*`.
    #[serde(default)]
    pub pattern: Option<String>,
    /// At most this many locks in one answer (default 500, at most 5000); when more match,
    /// `next_cursor` says where the rest start.
    #[serde(default)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous answer: the matching locks after it (in name order).
    #[serde(default)]
    pub cursor: Option<String>,
}

/// A granted lock.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Granted {
    pub granted: bool,
    /// Canonical name (`resource:pytest`).
    pub lock: String,
    /// Fencing token: pass it to anything that must not act on a stale holder's behalf.
    pub token: u64,
    pub holder: String,
    /// Store clock, ms since the epoch.
    pub expires_at: i64,
    pub expires_at_utc: String,
    pub expires_in_seconds: i64,
    /// You already held it: the TTL was extended and the token kept.
    pub reentrant: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taken_over_from: Option<String>,
    /// Related locks of dead or stale holders that were released for this grant.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub released_related: Vec<String>,
    /// A lock-delay runs until then: if you release early, nobody else can take it before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock_delay_until: Option<i64>,
    pub waited_ms: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Released {
    pub lock: String,
    /// False when nobody held it (never taken, already released, or expired).
    pub released: bool,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taken_over: Option<TakeoverNote>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Extended {
    pub lock: String,
    pub token: u64,
    pub expires_at: i64,
    pub expires_at_utc: String,
    pub expires_in_seconds: i64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// One lock as `check_lock` and `list_locks` show it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct LockView {
    pub lock: String,
    pub holder: String,
    /// `active`, `idle`, `stale`, `abandoned`, or `ended` (not a live session: the lock is free to take).
    pub holder_tier: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holder_last_seen_ms_ago: Option<i64>,
    pub token: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub acquired_at: i64,
    pub expires_at: i64,
    pub expires_at_utc: String,
    pub expires_in_seconds: i64,
    pub is_mine: bool,
    /// Sessions queued for it (`list_locks` only; `check_lock` says it beside the holder).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiters: Option<u32>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct LockCheck {
    pub lock: String,
    /// No one holds it (a lock-delay or queued waiters may still stand before you).
    pub free: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held: Option<LockView>,
    pub waiters: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock_delay_until: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserved_for: Option<String>,
    /// Set when a lock you held was taken over.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taken_over: Option<TakeoverNote>,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct LockList {
    pub pattern: String,
    /// Locks in this answer.
    pub count: usize,
    /// Locks matching the pattern, in every page together.
    pub total_count: usize,
    /// In name order.
    pub locks: Vec<LockView>,
    /// More locks match: pass this as `cursor` for the next page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}
