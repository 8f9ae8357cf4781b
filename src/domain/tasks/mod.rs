//! Tasks: a dependency graph a master plans once and children claim (issue 17).
//!
//! The field names are TaskMaster-AI's (`id`, `title`, `description`, `details`,
//! `testStrategy`, `priority`, `dependencies`, `status`, `subtasks`), so its `tasks.json`
//! maps onto [`TaskSpec`] one to one; `role`, `labels` and `metadata` are ours. A task is
//! two parts: the [`TaskSpec`] the planner wrote (never changed by the stores, so its JSON
//! survives as written) and the [`TaskState`] the stores' decisions change (status,
//! assignee, progress, notes). Rules here are pure; `validate.rs` checks a batch.

pub mod taskmaster;
mod validate;

use serde::{Deserialize, Deserializer, Serialize};

use super::named_enum::named_enum;
use serde_json::{Map, Value};

pub use validate::{
    MAX_NOTE_LEN, MAX_TASKS_PER_CALL, MAX_TASKS_PER_PROJECT, NOTES_KEPT, check_note, check_project,
    validate_batch,
};

named_enum! {
    /// TaskMaster's states, with its names.
    #[derive(Default)]
    pub enum TaskStatus {
        #[default]
        Pending = "pending",
        InProgress = "in-progress",
        Blocked = "blocked",
        Review = "review",
        Done = "done",
        Failed = "failed",
        Deferred = "deferred",
        Cancelled = "cancelled",
    }
}

impl TaskStatus {
    pub const NAMES: &'static str =
        "pending, in-progress, blocked, review, done, failed, deferred or cancelled";

    /// Parses a status name (TaskMaster's `completed` is accepted as `done`).
    pub fn parse(s: &str) -> Result<TaskStatus, String> {
        let s = s.trim().to_ascii_lowercase().replace('_', "-");
        if s == "completed" {
            return Ok(TaskStatus::Done);
        }
        TaskStatus::from_name(&s).ok_or_else(|| {
            format!(
                "status {:?} is not known; use one of {}",
                super::session_name::truncate(&s, 40),
                Self::NAMES
            )
        })
    }

    /// A dependency in this state lets its dependents start.
    pub fn satisfies(self) -> bool {
        self == TaskStatus::Done
    }

    /// Moving a task into this state needs every dependency done (`in-progress`, `review`,
    /// `done`: working on it, handing it in, finishing it). The Redis script
    /// `task_update.lua` has the same list.
    pub fn needs_dependencies_done(self) -> bool {
        matches!(
            self,
            TaskStatus::InProgress | TaskStatus::Review | TaskStatus::Done
        )
    }
}

named_enum! {
    /// TaskMaster's priorities; `medium` when not given.
    #[derive(PartialOrd, Ord, Default)]
    pub enum Priority {
        High = "high",
        #[default]
        Medium = "medium",
        Low = "low",
    }
}

impl Priority {
    /// 0 for high: claims go to the lowest rank first (then creation order).
    pub fn rank(self) -> u64 {
        match self {
            Priority::High => 0,
            Priority::Medium => 1,
            Priority::Low => 2,
        }
    }
}

/// A task or subtask id as TaskMaster writes it: a number or a string.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum IdValue {
    Number(u64),
    Text(String),
}

impl IdValue {
    pub fn into_string(self) -> String {
        match self {
            IdValue::Number(n) => n.to_string(),
            IdValue::Text(s) => s.trim().to_string(),
        }
    }
}

pub fn id_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(IdValue::deserialize(d)?.into_string())
}

fn id_strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let v: Option<Vec<IdValue>> = Option::deserialize(d)?;
    Ok(v.unwrap_or_default()
        .into_iter()
        .map(IdValue::into_string)
        .collect())
}

fn text_or_null<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// One task as planned (TaskMaster's fields plus `role`, `labels`, `metadata`).
///
/// Unknown fields are refused: a misspelled `dependencies` (`depends_on`) silently dropped
/// would make the task ready at once, and it could run before what it needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskSpec {
    /// Unique in the project: a number (TaskMaster) or letters, digits, '_' and '-' (no '.':
    /// "1.2" names subtask 2 of task 1).
    #[serde(deserialize_with = "id_string")]
    #[schemars(with = "IdValue")]
    pub id: String,
    /// One line (at most 200 characters).
    pub title: String,
    #[serde(default, deserialize_with = "text_or_null")]
    pub description: String,
    /// How to do it.
    #[serde(default, deserialize_with = "text_or_null")]
    pub details: String,
    /// How to check it is done.
    #[serde(default, alias = "test_strategy", deserialize_with = "text_or_null")]
    pub test_strategy: String,
    /// high, medium (default) or low.
    #[serde(default)]
    pub priority: Priority,
    /// Ids of tasks (in this project: this batch or earlier ones) that must be done first.
    #[serde(default, deserialize_with = "id_strings")]
    #[schemars(with = "Vec<IdValue>")]
    pub dependencies: Vec<String>,
    /// The state it starts in (default pending; an import keeps TaskMaster's).
    #[serde(default)]
    pub status: TaskStatus,
    /// Steps of this task, done by its assignee; ids are numbers within the task.
    #[serde(default)]
    pub subtasks: Vec<SubtaskSpec>,
    /// Only claimers asking for this role (or for no role) get it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Free JSON object (at most 4 KiB).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
}

/// A subtask: a step of its task, addressed as "<task>.<n>". Unknown fields are refused,
/// as for tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubtaskSpec {
    /// A number, unique within the task ("1.2" is accepted and means 2).
    #[serde(deserialize_with = "id_string")]
    #[schemars(with = "IdValue")]
    pub id: String,
    pub title: String,
    #[serde(default, deserialize_with = "text_or_null")]
    pub description: String,
    #[serde(default, deserialize_with = "text_or_null")]
    pub details: String,
    #[serde(default, alias = "test_strategy", deserialize_with = "text_or_null")]
    pub test_strategy: String,
    /// Sibling subtasks that must be done first (numbers, or "<task>.<n>").
    #[serde(default, deserialize_with = "id_strings")]
    #[schemars(with = "Vec<IdValue>")]
    pub dependencies: Vec<String>,
    #[serde(default)]
    pub status: TaskStatus,
}

/// A note on a task: a progress line, a hand-back, a failure reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TaskNote {
    pub at_ms: i64,
    pub by: String,
    pub text: String,
}

/// What the stores' decisions change. Its JSON is what the Redis scripts edit, so every
/// list in it tolerates cjson's `{}` for an empty array.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TaskState {
    pub status: TaskStatus,
    pub priority: Priority,
    /// Creation order within the project (ties of priority go to the older task).
    pub seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, deserialize_with = "crate::domain::lua_json::lua_vec")]
    pub dependencies: Vec<String>,
    /// Tasks that depend on this one (kept by the stores, so `done` finds them at once).
    #[serde(default, deserialize_with = "crate::domain::lua_json::lua_vec")]
    pub dependents: Vec<String>,
    /// Subtask id → its status.
    #[serde(default)]
    pub subtasks: std::collections::BTreeMap<String, TaskStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_at_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<u8>,
    /// The newest [`NOTES_KEPT`] notes, oldest first.
    #[serde(default, deserialize_with = "crate::domain::lua_json::lua_vec")]
    pub notes: Vec<TaskNote>,
    /// Locks taken together with the claim (canonical names).
    #[serde(default, deserialize_with = "crate::domain::lua_json::lua_vec")]
    pub locks: Vec<String>,
    /// The `create_tasks` call that made it (`get_batch_status`).
    pub batch: String,
    pub created_by: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// A task as stored: the plan and its state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRecord {
    pub spec: TaskSpec,
    pub state: TaskState,
}

impl TaskState {
    /// The state of a task created from `spec` at `now` by `by` in batch `batch`.
    pub fn new(spec: &TaskSpec, seq: u64, batch: &str, by: &str, now: i64) -> TaskState {
        TaskState {
            status: spec.status,
            priority: spec.priority,
            seq,
            role: spec.role.clone(),
            dependencies: spec.dependencies.clone(),
            dependents: Vec::new(),
            subtasks: spec
                .subtasks
                .iter()
                .map(|s| (s.id.clone(), s.status))
                .collect(),
            assignee: None,
            claimed_at_ms: None,
            progress: None,
            notes: Vec::new(),
            locks: Vec::new(),
            batch: batch.to_string(),
            created_by: by.to_string(),
            created_at_ms: now,
            updated_at_ms: now,
        }
    }
}

/// What `update_task` addresses: a task ("3") or one of its subtasks ("3.2").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRef {
    pub task: String,
    pub subtask: Option<String>,
}

impl TaskRef {
    pub fn parse(s: &str) -> Result<TaskRef, String> {
        let s = s.trim();
        let (task, sub) = match s.split_once('.') {
            Some((t, sub)) => (t, Some(sub)),
            None => (s, None),
        };
        validate::check_task_id(task)?;
        if let Some(sub) = sub {
            validate::check_subtask_id(sub)?;
        }
        Ok(TaskRef {
            task: task.to_string(),
            subtask: sub.map(str::to_string),
        })
    }
}

impl std::fmt::Display for TaskRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.subtask {
            Some(s) => write!(f, "{}.{s}", self.task),
            None => write!(f, "{}", self.task),
        }
    }
}

/// Does a claimer asking for `wanted` (or for any role) get a task meant for `task_role`?
pub fn role_fits(task_role: Option<&str>, wanted: Option<&str>) -> bool {
    match (task_role, wanted) {
        (None, _) | (_, None) => true,
        (Some(t), Some(w)) => t == w,
    }
}
