//! What the session operations take and answer: one type each, serialized as the tools
//! publish them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::domain::session::{Role, SessionEntry, StatusReport, WorkState};
use crate::domain::tiers::Tier;

/// `register_session` (every field optional: seed 001 passed only metadata); the hooks
/// and `create_session` register through it too.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterArgs {
    /// Session name to bind this connection to (letters, digits, '.', '_', '-'; at most 128).
    /// Convention: `master_project_<p>` for a master, `child_<p>_task_<t>` for its children.
    /// Leave out to register the name this connection already has.
    pub name: Option<String>,
    /// master, child or agent (derived from the name when left out).
    pub role: Option<String>,
    /// Project id (derived from the name when it follows the convention).
    pub project: Option<String>,
    /// Task id (derived from a child's name).
    pub task: Option<String>,
    /// Parent session; overrides the one the naming convention implies.
    pub parent: Option<String>,
    /// Git branch this session works on.
    pub branch: Option<String>,
    /// Working directory / worktree.
    pub cwd: Option<String>,
    /// Free JSON object (at most 4 KiB) other sessions can read; a string is kept as a note.
    pub metadata: Option<Value>,
}

/// `register_session_relationship`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RelationshipArgs {
    /// The parent (master) session.
    pub master_session: String,
    /// The child session (it may not have connected yet).
    pub child_session: String,
}

/// `list_sessions`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListSessionsArgs {
    /// Also list ended sessions (kept for sessions.ended_retention_seconds).
    #[serde(default)]
    pub include_ended: bool,
}

/// `get_session_status`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionArgs {
    /// The session name (`session_id` is accepted too).
    #[serde(alias = "session_id")]
    pub session: String,
}

/// `get_child_sessions`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChildrenArgs {
    /// Whose children; default: the calling session.
    pub parent: Option<String>,
}

/// `report_session_status` (the hooks report `waiting` and `idle` through it).
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportArgs {
    /// One of starting, working, blocked, waiting, idle, done, failed.
    pub state: String,
    /// Percent done, 0-100.
    pub progress: Option<i64>,
    /// One line on what is happening (at most 1024 characters).
    pub summary: Option<String>,
}

/// A session as tools show it: the record, its tier computed now, and its reported status.
#[derive(Debug, Clone, Serialize)]
pub struct SessionView {
    pub name: String,
    /// Same as `name` (seed 003 called it `session_id`).
    pub session_id: String,
    pub role: Role,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    pub depth: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
    /// `active`, `idle`, `stale` or `abandoned`; `null` once ended.
    pub tier: Option<Tier>,
    /// The tier, or `ended` (seed 003's `status`).
    pub status: &'static str,
    /// True when the tier is `active` (seed 003).
    pub is_active: bool,
    pub last_seen_ms: i64,
    pub seconds_since_seen: f64,
    pub registered_at_ms: i64,
    /// `true` when registered with `register_session`, `false` when known only from its
    /// tool calls.
    pub registered: bool,
    pub transport: String,
    /// The last reported work state (`report_session_status`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<WorkState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_at_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<String>,
}

/// The answer of `register_session`.
#[derive(Debug, Clone, Serialize)]
pub struct Registered {
    #[serde(flatten)]
    pub session: SessionView,
    /// The generated name this connection used before, now ended (its locks with it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaced: Option<String>,
}

/// The answer of `list_sessions` (seed 003's shape).
#[derive(Debug, Clone, Serialize)]
pub struct SessionList {
    pub sessions: Vec<SessionView>,
    pub total_count: usize,
    pub active_count: usize,
    /// tmux sessions on our socket with no live coordination record (e.g. started by hand,
    /// or whose session ended while the pane lives on).
    pub unmanaged: Vec<crate::tmux::TmuxSession>,
    /// Why `unmanaged` could not be read (tmux missing or failing); absent when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmux_note: Option<String>,
}

/// The answer of `session_status`: every live session, grouped by tier.
#[derive(Debug, Clone, Serialize)]
pub struct TierGroups {
    pub active: Vec<SessionView>,
    pub idle: Vec<SessionView>,
    pub stale: Vec<SessionView>,
    pub abandoned: Vec<SessionView>,
    pub counts: Value,
    /// Tier boundaries in seconds, so a reader knows what the tiers mean here.
    pub thresholds: Value,
}

/// The answer of `get_session_status`.
#[derive(Debug, Clone, Serialize)]
pub struct SessionDetail {
    #[serde(flatten)]
    pub session: SessionView,
    /// Newest first.
    pub recent_reports: Vec<StatusReport>,
    pub children: Vec<String>,
}

/// The answer of `get_child_sessions`.
#[derive(Debug, Clone, Serialize)]
pub struct Children {
    pub parent: String,
    pub children: Vec<SessionView>,
    pub live_count: usize,
    pub max_children: usize,
}

/// The answer of `register_session_relationship`.
#[derive(Debug, Clone, Serialize)]
pub struct Related {
    pub master_session: String,
    pub child_session: String,
    pub child: SessionView,
}

/// The answer of `end_session`.
#[derive(Debug, Clone, Serialize)]
pub struct Ended {
    #[serde(flatten)]
    pub session: SessionView,
    /// Locks the session held, released when it ended (waiters are woken).
    pub locks_released: Vec<String>,
}

/// What ending a session did.
#[derive(Debug, Clone)]
pub(crate) struct EndedSession {
    pub entry: SessionEntry,
    pub locks_released: Vec<String>,
}
