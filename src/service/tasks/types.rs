//! What the task operations take and answer: one type each, shared by the MCP tools, the
//! CLI (`mcp-coord tasks`) and `create_session(task=…)`. Field names follow TaskMaster
//! (`testStrategy`, `dependencies`, `subtasks`) where they are its fields.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::domain::tasks::{IdValue, Priority, TaskNote, TaskSpec, TaskStatus, id_string};
use crate::store::tasks::Waiting;

/// `create_tasks`: a batch of tasks, all created or none.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTasksArgs {
    /// The tasks, with TaskMaster's field names: {id, title, description, details,
    /// testStrategy, priority (high/medium/low), dependencies [ids], subtasks [{id, title,
    /// …, dependencies}], status}, plus role, labels and metadata (a JSON object).
    pub tasks: Vec<TaskSpec>,
    /// Default: the calling session's project.
    pub project: Option<String>,
}

/// What `create_tasks` answers.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CreatedTasks {
    pub project: String,
    /// This call's batch id (`get_batch_status(batch=…)`).
    pub batch: String,
    pub created: usize,
    pub ids: Vec<String>,
    /// Of them, the ones that can be claimed now.
    pub ready: Vec<String>,
    /// Tasks created `in-progress` (as a TaskMaster file had them): they have no assignee
    /// here, and next_task hands out pending tasks only, so nobody gets them until
    /// `update_task(task_id, status="pending")` (kept as written, so an export round-trips).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub in_progress_unassigned: Vec<String>,
}

/// `next_task`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NextTaskArgs {
    /// Only tasks for this role (and tasks for no role). Default: any task.
    pub role: Option<String>,
    /// Locks to take together with the task, all or none (e.g. ["path:src/auth"]); the
    /// same names and rules as acquire_lock. Release them with release_lock when done.
    pub locks: Option<Vec<String>>,
    /// How long those locks live unless extended (default locks.default_timeout_seconds).
    pub lock_timeout_seconds: Option<i64>,
    /// Default: the calling session's project.
    pub project: Option<String>,
}

/// A lock granted together with a task.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ClaimedLock {
    pub lock: String,
    /// Fencing token (strictly increasing per lock).
    pub token: u64,
    pub expires_at_ms: i64,
}

/// What `next_task` answers: the claimed task, or why there is none.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NextTask {
    pub project: String,
    /// The task now assigned to you (in-progress); `null` when none is ready.
    pub task: Option<TaskView>,
    /// The locks granted with it (`locks=`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locks: Vec<ClaimedLock>,
    /// When there is none: what the others wait for, and what to do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Counts by status in the project.
    pub counts: BTreeMap<String, usize>,
}

/// `update_task`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTaskArgs {
    /// The task ("3" or 3) or a subtask ("3.2").
    #[serde(deserialize_with = "id_string")]
    #[schemars(with = "IdValue")]
    pub task_id: String,
    /// pending, in-progress, blocked, review, done, failed, deferred or cancelled. `done`
    /// unblocks the dependents; `pending` hands the task back.
    pub status: Option<String>,
    /// Percent done, 0-100.
    pub progress: Option<i64>,
    /// One line for the board and the master (at most 1024 characters).
    pub note: Option<String>,
    /// Default: the calling session's project.
    pub project: Option<String>,
}

/// What `update_task` answers.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UpdatedTask {
    pub project: String,
    /// The task or subtask addressed ("3", "3.2").
    pub task_id: String,
    pub previous_status: TaskStatus,
    pub status: TaskStatus,
    pub task: TaskView,
    /// Tasks that became ready through this change (a `done`).
    pub unblocked: Vec<String>,
    /// Tasks that cannot start while this one is failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocked_dependents: Vec<String>,
}

/// `get_task`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetTaskArgs {
    /// The task ("3" or 3); a subtask id ("3.2") shows its task.
    #[serde(deserialize_with = "id_string")]
    #[schemars(with = "IdValue")]
    pub task_id: String,
    /// Default: the calling session's project.
    pub project: Option<String>,
}

/// `list_tasks`: the board, filtered.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListTasksArgs {
    /// Only tasks in this status.
    pub status: Option<String>,
    /// Only tasks assigned to this session.
    pub assignee: Option<String>,
    /// true: only tasks that can be claimed now; false: only those that cannot.
    pub ready: Option<bool>,
    /// Only tasks of this `create_tasks` batch.
    pub batch: Option<String>,
    /// Default: the calling session's project.
    pub project: Option<String>,
    /// true: every task in full (description, details, testStrategy, metadata, all notes).
    /// Default false: the board without those texts (a plan of detailed tasks would not fit
    /// in one tool answer); get_task(task_id) gives one task in full.
    #[serde(default)]
    pub detail: bool,
}

/// The board of a project (or of one batch).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TaskBoard {
    pub project: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<String>,
    /// Counts by status (of the whole project or batch, before the filters).
    pub counts: BTreeMap<String, usize>,
    pub total: usize,
    /// Ids that can be claimed now, in claim order.
    pub ready: Vec<String>,
    /// The tasks that pass the filters, in claim order (priority, then creation).
    pub tasks: Vec<TaskView>,
    /// Store clock (ms) when read.
    pub now_ms: i64,
    /// Set when the tasks are shown without their texts (`list_tasks` without detail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brief: Option<String>,
}

/// A subtask as shown.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SubtaskView {
    pub id: String,
    pub title: String,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub description: String,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub details: String,
    #[serde(
        rename = "testStrategy",
        skip_serializing_if = "String::is_empty",
        default
    )]
    pub test_strategy: String,
    pub dependencies: Vec<String>,
    pub status: TaskStatus,
}

/// A task as tools show it: the plan (TaskMaster's fields, `testStrategy` as it spells it)
/// and its state now (our snake_case fields, like every other answer).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TaskView {
    pub id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub details: String,
    #[serde(
        rename = "testStrategy",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub test_strategy: String,
    pub priority: Priority,
    pub dependencies: Vec<String>,
    pub status: TaskStatus,
    pub subtasks: Vec<SubtaskView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
    /// Pending with every dependency done: the next claim may take it.
    pub ready: bool,
    /// Dependencies not done yet, with their status (what blocks it).
    pub waiting_on: Vec<Waiting>,
    /// Tasks that depend on this one.
    pub dependents: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_at_ms: Option<i64>,
    /// Seconds since it was claimed, while in progress or blocked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running_seconds: Option<f64>,
    #[serde(default)]
    pub notes: Vec<TaskNote>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locks: Vec<String>,
    pub batch: String,
    pub created_by: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// `get_batch_status` (seed 002's name): the batches of a project, or the board of one.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchStatusArgs {
    /// One batch (the id `create_tasks` answered with): its board. Default: every batch.
    pub batch: Option<String>,
    /// Also list batches (or tasks) that are finished (every task done or cancelled).
    #[serde(default)]
    pub include_completed: bool,
    /// At most this many batches (newest first) or tasks; default 10, at most 1000.
    pub limit: Option<i64>,
    /// Default: the calling session's project.
    pub project: Option<String>,
}

/// One batch in `get_batch_status`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BatchSummary {
    pub batch: String,
    pub created_by: String,
    pub created_at_ms: i64,
    pub total: usize,
    pub counts: BTreeMap<String, usize>,
    /// Every task done or cancelled.
    pub completed: bool,
}

/// What `get_batch_status` answers.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BatchStatus {
    pub project: String,
    /// Newest first.
    pub batches: Vec<BatchSummary>,
    /// With `batch`: its board (finished tasks only with include_completed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub board: Option<TaskBoard>,
}

/// `import_tasks`: one tag of a TaskMaster `tasks.json`, created as one batch (all or none).
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportTasksArgs {
    /// The tasks.json itself: the JSON object (or its text). Legacy `{"tasks": [...]}` or
    /// tagged `{"<tag>": {"tasks": [...], "metadata": {...}}}`.
    pub file: Value,
    /// Which tag of a tagged file (default `master`, as TaskMaster).
    pub tag: Option<String>,
    /// Default: the calling session's project.
    pub project: Option<String>,
}

/// What `import_tasks` answers: the batch created, and from where.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ImportedTasks {
    #[serde(flatten)]
    pub created: CreatedTasks,
    /// The tag read (`master` for a legacy file).
    pub tag: String,
    /// The file had the legacy shape (no tags).
    pub legacy: bool,
    /// Every tag in the file.
    pub tags: Vec<String>,
    /// Tasks whose TaskMaster `assignee` was not carried (claims assign tasks here).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assignees_not_carried: Vec<String>,
}

/// `export_tasks`: a project's tasks as one tag of a TaskMaster `tasks.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportTasksArgs {
    /// The tag to write them under (default `master`).
    pub tag: Option<String>,
    /// A tasks.json to update (the JSON object): its other tags are kept, a legacy one
    /// becomes tagged. Default: a new file with just this tag.
    pub into: Option<Value>,
    /// Default: the calling session's project.
    pub project: Option<String>,
}

/// What `export_tasks` answers.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ExportedTasks {
    pub project: String,
    pub tag: String,
    /// How many tasks the tag holds.
    pub exported: usize,
    /// The tasks.json to write (`task-master list` reads it).
    pub file: Value,
}
