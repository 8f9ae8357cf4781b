//! The task store: every task decision (create a batch, claim, update) is one atomic
//! store operation — one Lua script in Redis, one critical section in the embedded store.
//!
//! Both keep, per task, the plan ([`TaskSpec`], as the planner wrote it) and its state
//! ([`TaskState`]); "ready" means pending with every dependency done. Rules the two share
//! are stated here once ([`may_update`], [`claim_order`]) and mirrored by the scripts.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::StoreError;
use super::locks::{AcquireRequest, Grant, Refusal};
use crate::domain::tasks::{TaskRecord, TaskSpec, TaskState, TaskStatus};

/// One `create_tasks` call: all of `tasks` are created, or none.
#[derive(Debug, Clone)]
pub struct CreateTasks {
    pub project: String,
    /// Id of this call's batch (`get_batch_status`).
    pub batch: String,
    pub created_by: String,
    /// Already checked by `domain::tasks::validate_batch`.
    pub tasks: Vec<TaskSpec>,
    /// A project holds at most this many tasks.
    pub max_per_project: usize,
}

/// Why a batch was refused; nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "refusal", rename_all = "snake_case")]
pub enum CreateRefusal {
    /// The project already has a task with this id.
    DuplicateId { id: String },
    /// `task` depends on `dependency`, which neither the project nor the batch has.
    UnknownDependency { task: String, dependency: String },
    /// The batch would take the project over its limit.
    ProjectFull { existing: usize, limit: usize },
}

#[derive(Debug, Clone, PartialEq)]
pub enum CreateOutcome {
    /// The new tasks, in batch order, with their states.
    Created(Vec<TaskRecord>),
    Refused(CreateRefusal),
}

/// `next_task` (no `task_id`: the best ready task) or an assignment of one named task.
#[derive(Debug, Clone)]
pub struct ClaimRequest {
    pub project: String,
    /// Who gets it (the caller, or the child `create_session` spawns).
    pub session: String,
    /// Only tasks for this role or for none (`role_fits`).
    pub role: Option<String>,
    /// This task, and no other.
    pub task_id: Option<String>,
    /// Locks granted together with the task, all or none (no waiting: `waiter` is `None`).
    /// The same requests `acquire_lock` builds; the same decision as `acquire` makes.
    pub locks: Vec<AcquireRequest>,
}

/// A claimed task and the locks granted with it (in request order).
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    pub task: TaskRecord,
    pub grants: Vec<Grant>,
}

/// A dependency that is not done yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Waiting {
    pub id: String,
    pub status: TaskStatus,
}

impl Waiting {
    /// `1 (in-progress), 2 (pending)`: what a task waits on, as refusals and the board say it.
    pub fn describe(waiting: &[Waiting]) -> String {
        let on: Vec<String> = waiting
            .iter()
            .map(|w| format!("{} ({})", w.id, w.status.as_str()))
            .collect();
        on.join(", ")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ClaimOutcome {
    /// Now in progress, assigned to the claimer (with its locks).
    Claimed(Box<Claimed>),
    /// The task was free but `lock` was refused: nothing was claimed, no lock taken.
    LocksRefused {
        lock: String,
        refusal: Box<Refusal>,
    },
    /// No ready task (for that role).
    NothingReady,
    NotFound,
    /// The named task's dependencies are not all done.
    NotReady {
        waiting_on: Vec<Waiting>,
    },
    /// The named task is not pending (someone has it, or it is finished).
    NotPending {
        status: TaskStatus,
        assignee: Option<String>,
    },
}

/// `update_task`: a new status, progress or note for a task or one of its subtasks.
#[derive(Debug, Clone)]
pub struct UpdateTask {
    pub project: String,
    pub task_id: String,
    pub subtask: Option<String>,
    /// The caller: the assignee, the task's creator, or anyone while it is unassigned.
    pub session: String,
    pub status: Option<TaskStatus>,
    pub progress: Option<u8>,
    pub note: Option<String>,
    /// Notes kept per task.
    pub notes_kept: usize,
}

/// `release_tasks_of`: the tasks of a session that ended go back to pending.
#[derive(Debug, Clone)]
pub struct HandBack {
    pub session: String,
    /// Who hands them back (the note's author).
    pub by: String,
    /// The note put on each task.
    pub text: String,
    /// Notes kept per task.
    pub notes_kept: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum UpdateOutcome {
    Updated {
        task: Box<TaskRecord>,
        /// The status before (of the subtask, when one was addressed).
        previous: TaskStatus,
        /// Dependents that became ready through this change.
        unblocked: Vec<String>,
    },
    NotFound,
    NoSubtask,
    /// Someone else's task: only its assignee or its creator may change it.
    NotYours {
        assignee: String,
    },
    /// `in-progress` while dependencies are not done.
    WaitingOn(Vec<Waiting>),
}

#[async_trait]
pub trait TaskStore {
    /// Creates a batch: all or nothing.
    async fn create_tasks(&self, req: &CreateTasks) -> Result<CreateOutcome, StoreError>;

    /// Claims the highest-priority ready task (or the named one) for `req.session`.
    async fn claim_task(&self, req: &ClaimRequest) -> Result<ClaimOutcome, StoreError>;

    async fn update_task(&self, req: &UpdateTask) -> Result<UpdateOutcome, StoreError>;

    async fn get_task(&self, project: &str, id: &str) -> Result<Option<TaskRecord>, StoreError>;

    /// Every task of the project, in claim order (priority, then creation).
    async fn list_tasks(&self, project: &str) -> Result<Vec<TaskRecord>, StoreError>;

    /// Projects that have tasks.
    async fn task_projects(&self) -> Result<Vec<String>, StoreError>;

    /// Hands back every task `req.session` works on (in-progress or blocked): pending again,
    /// no assignee, with a note `req.text` by `req.by`. Returns them as (project, task),
    /// ordered.
    async fn release_tasks_of(
        &self,
        req: &HandBack,
    ) -> Result<Vec<(String, TaskRecord)>, StoreError>;
}

/// May `session` change a task in `state`? Its assignee and its creator may; anyone may
/// while it has no assignee.
pub fn may_update(state: &TaskState, session: &str) -> bool {
    match &state.assignee {
        None => true,
        Some(a) => a == session || state.created_by == session,
    }
}

/// The order claims take ready tasks in: priority, then creation. Redis keeps it as the
/// score of the `ready` zset.
pub fn claim_order(state: &TaskState) -> u64 {
    state.priority.rank() * 1_000_000_000 + state.seq
}

/// Statuses in which a task counts as its assignee's current work (handed back to
/// `pending` when the assignee is gone).
pub fn is_active(status: TaskStatus) -> bool {
    matches!(status, TaskStatus::InProgress | TaskStatus::Blocked)
}
