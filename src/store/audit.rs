//! The audit part of the store trait: an append-only log of who changed what, and who was
//! refused, bounded by age and size.
//!
//! The service layer writes it (`service/audit`); the stores only keep entries in order,
//! trim them and answer queries. A record is metadata only: names, kinds, outcomes and
//! error codes — never a message body, a status text or a credential.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::StoreError;

/// One audit entry. Optional fields are left out of the JSON when empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AuditRecord {
    /// Store clock (ms since the Unix epoch) at which it happened.
    pub at_ms: i64,
    /// What happened: an event kind (`lock_granted`, `message_sent`, `session_ended`, …) or a
    /// refusal (`lock_refused`, `auth_refused`, `rate_limited`, …).
    pub kind: String,
    /// `ok`, `refused` or `error`.
    pub outcome: String,
    /// The session the entry is about (the holder, the sender, the session that ended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// Who made it happen, when it came through a connection; absent when the daemon did it
    /// by itself (the reaper, an expiry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<AuditActor>,
    /// The lock concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock: Option<String>,
    /// The other session concerned (a message's recipient, a takeover's old holder, a
    /// spawned or killed child).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// A short machine word about it: an error code, a message kind, an end reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The caller behind an entry: its session, connection and transport, and the id of the
/// token it came with (never the token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AuditActor {
    pub session: String,
    pub connection: String,
    pub transport: String,
    /// The peer's address (`127.0.0.1:53122`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    /// The token's id (`tok_…`, or `bootstrap` for the daemon's own admin token); absent
    /// when the request came without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// How much the log keeps: both bounds apply at every append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditPolicy {
    /// Entries kept at most (the oldest go first).
    pub max_entries: usize,
    /// Entries older than this are dropped.
    pub max_age_ms: i64,
}

/// Which entries a query wants, newest `limit` of those matching, returned oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditQuery {
    /// Only entries at or after this store time (ms).
    pub since_ms: i64,
    /// Only entries that name this session (as `session`, `target` or `by.session`).
    pub session: Option<String>,
    /// Only entries of this kind.
    pub kind: Option<String>,
    pub limit: usize,
}

impl AuditQuery {
    /// Whether `r` passes the session and kind filters (`since_ms` is the store's part).
    pub fn matches(&self, r: &AuditRecord) -> bool {
        let kind_ok = self.kind.as_deref().is_none_or(|k| r.kind == k);
        let session_ok = self.session.as_deref().is_none_or(|s| {
            r.session.as_deref() == Some(s)
                || r.target.as_deref() == Some(s)
                || r.by.as_ref().is_some_and(|b| b.session == s)
        });
        kind_ok && session_ok && r.at_ms >= self.since_ms
    }
}

/// Store operations for the audit log.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends `entries` (in order) and trims the log to `policy`, in one step.
    async fn append_audit(
        &self,
        entries: &[AuditRecord],
        policy: AuditPolicy,
    ) -> Result<(), StoreError>;

    /// The newest `query.limit` entries matching `query`, oldest first.
    async fn query_audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError>;
}
