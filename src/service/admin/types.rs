//! What the admin operations take and answer: one type each, shared by the MCP tools, the
//! CLI and the dashboard. Who asks is never a field: it is the [`super::Admin`].

use serde::{Deserialize, Serialize};

use crate::domain::tiers::Tier;

/// `admin_release_lock`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminReleaseLockArgs {
    /// The lock, as its holder named it (`pytest`, `issue:42`, `resource:pytest`, …).
    pub lock_name: String,
    /// The holder's git branch, when lock_name is `work`.
    #[serde(default)]
    pub branch: Option<String>,
    /// Why, for the holder (it is told in its inbox); not kept in the audit log.
    #[serde(default)]
    pub reason: Option<String>,
}

/// The answer of `admin_release_lock`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ForceReleased {
    /// Canonical name.
    pub lock: String,
    /// False when nobody held it (nothing changed).
    pub released: bool,
    /// Who held it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<String>,
    /// The holder's tier when it was released (absent: not a live session).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder_tier: Option<Tier>,
    /// The holder's fencing token, now fenced off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<u64>,
    /// Nobody is granted the lock before this (store clock, ms); waiters get it in queue
    /// order after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_delay_until: Option<i64>,
    /// Whether the notice reached the holder's inbox (false when it is not a live session).
    pub holder_told: bool,
    pub message: String,
}

/// `admin_end_session`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminEndSessionArgs {
    /// The session to end (`session_id` works too).
    #[serde(alias = "session_id")]
    pub session: String,
    /// Why, for the session (it is told in its inbox before it ends); not kept in the audit log.
    #[serde(default)]
    pub reason: Option<String>,
}

/// The answer of `admin_end_session`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AdminEnded {
    pub session: String,
    /// False when it was not live (never registered, or already ended): nothing changed.
    pub ended: bool,
    /// Locks it held, released (nobody gets them before `lock_delay_until`).
    pub locks_released: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_delay_until: Option<i64>,
    /// Whether the notice reached its inbox before it ended.
    pub session_told: bool,
    pub message: String,
}

/// `admin_read_inbox`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminInboxArgs {
    /// Whose inbox (`session_id` works too).
    #[serde(alias = "session_id")]
    pub session: String,
    /// At most this many messages (default 20, at most 200).
    #[serde(default)]
    pub limit: Option<i64>,
    /// Only these kinds (info, task, question, reply, status).
    #[serde(default)]
    pub kinds: Option<Vec<String>>,
}

/// `admin_kill_session`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminKillSessionArgs {
    /// The tmux session to kill: any child spawned by create_session, whoever its parent
    /// (`session_id` works too).
    #[serde(alias = "session_id")]
    pub session: String,
}
