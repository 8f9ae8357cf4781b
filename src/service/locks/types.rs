//! What the lock operations take and answer: one type each, serialized as the tools
//! publish them.

use serde::Serialize;

use crate::store::locks::TakeoverNote;

/// `acquire_lock` arguments, as the front-ends pass them.
#[derive(Debug, Clone, Default)]
pub struct AcquireArgs {
    pub lock_name: String,
    pub timeout_seconds: Option<i64>,
    pub wait_seconds: Option<i64>,
    pub reason: Option<String>,
    pub force: bool,
    pub branch: Option<String>,
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
    pub count: usize,
    pub locks: Vec<LockView>,
}
