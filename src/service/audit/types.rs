//! The argument and answer of `audit_log` (the MCP tool and `mcp-coord audit`).

use serde::{Deserialize, Serialize};

use crate::store::audit::AuditRecord;

/// Entries returned when the caller names no limit, and the most one query returns.
pub const DEFAULT_LIMIT: u32 = 200;
pub const MAX_LIMIT: u32 = 5000;

/// Which audit entries to read: the newest `limit` of those matching, oldest first.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditLogArgs {
    /// How far back: a duration such as `15m`, `1h`, `2d`, `1h 30m` (default `1h`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Only entries naming this session (as the subject, the other party, or the caller).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// Only entries of this kind, e.g. `lock_granted`, `lock_refused`, `message_sent`,
    /// `session_ended`, `session_spawned`, `rate_limited`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// At most this many entries (default 200, at most 5000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AuditLog {
    /// Store clock (ms) the query started from.
    pub since_ms: i64,
    pub count: usize,
    /// `true` when more entries matched than `limit` allowed (the oldest were left out).
    pub truncated: bool,
    /// Oldest first.
    pub entries: Vec<AuditRecord>,
    /// Said when the log may be incomplete (the writer fell behind, or did not catch up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}
