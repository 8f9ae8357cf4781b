//! Tasks (issue 17): a master plans a dependency graph once (`create_tasks`), children
//! claim the next ready task (`next_task`) and report (`update_task`); the board is
//! `list_tasks` / `get_task`. Each decision is one store operation (`store::tasks`); this
//! layer validates, resolves the project, words refusals and builds the views.

mod create;
mod next;
mod notify;
mod reads;
mod taskmaster;
pub mod types;
mod update;

use std::collections::BTreeMap;

pub use types::*;

use crate::domain::tasks::{TaskRecord, TaskStatus, check_project};
use crate::service::{Caller, Coordinator, ServiceError};
use crate::store::tasks::Waiting;

impl Coordinator {
    /// The project a task call is about: the argument, else the caller's own.
    pub(crate) async fn task_project(
        &self,
        caller: &Caller,
        project: Option<String>,
    ) -> Result<String, ServiceError> {
        if let Some(p) = project
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
        {
            check_project(&p).map_err(ServiceError::invalid)?;
            return Ok(p);
        }
        let mut me = self.store().get_session(&caller.session).await?;
        if me.is_none() {
            // No record (the store lost its data, and this connection's debounced heartbeat
            // has not re-registered it yet): register it now, as its next heartbeat would,
            // so its project (from the record or the name) is known.
            self.touch(caller).await?;
            me = self.store().get_session(&caller.session).await?;
        }
        match me.and_then(|e| e.record.project) {
            Some(p) => Ok(p),
            None => Err(ServiceError::invalid(format!(
                "you ({}) belong to no project, so there is no task board to use; pass \
                 project=… or register_session(project=…) first",
                caller.session
            ))),
        }
    }
}

/// Counts by status, every status present (0 when none).
pub(crate) fn counts<'a>(tasks: impl Iterator<Item = &'a TaskRecord>) -> BTreeMap<String, usize> {
    let mut out: BTreeMap<String, usize> = TaskStatus::ALL
        .iter()
        .map(|s| (s.as_str().to_string(), 0))
        .collect();
    for t in tasks {
        *out.entry(t.state.status.as_str().to_string()).or_default() += 1;
    }
    out
}

/// Statuses of every task of a project, for readiness and `waiting_on`.
pub(crate) fn status_map(tasks: &[TaskRecord]) -> BTreeMap<&str, TaskStatus> {
    tasks
        .iter()
        .map(|t| (t.spec.id.as_str(), t.state.status))
        .collect()
}

/// Ready: pending, and every dependency done — what `next_task` may hand out. (The stores
/// decide claims with the same rule: `task_common.lua` and `memory/tasks.rs`.)
pub(crate) fn is_ready(t: &TaskRecord, statuses: &BTreeMap<&str, TaskStatus>) -> bool {
    t.state.status == TaskStatus::Pending
        && t.state
            .dependencies
            .iter()
            .all(|d| statuses.get(d.as_str()).is_some_and(|s| s.satisfies()))
}

/// The view of a task, given the statuses of its project (`now` for running time).
pub(crate) fn view(t: &TaskRecord, statuses: &BTreeMap<&str, TaskStatus>, now: i64) -> TaskView {
    let waiting_on: Vec<Waiting> = t
        .state
        .dependencies
        .iter()
        .filter_map(|d| {
            let status = *statuses.get(d.as_str())?;
            (!status.satisfies()).then(|| Waiting {
                id: d.clone(),
                status,
            })
        })
        .collect();
    let s = &t.state;
    let running = matches!(s.status, TaskStatus::InProgress | TaskStatus::Blocked)
        .then_some(s.claimed_at_ms)
        .flatten()
        .map(|at| ((now - at).max(0) as f64) / 1000.0);
    TaskView {
        id: t.spec.id.clone(),
        title: t.spec.title.clone(),
        description: t.spec.description.clone(),
        details: t.spec.details.clone(),
        test_strategy: t.spec.test_strategy.clone(),
        priority: t.spec.priority,
        dependencies: t.spec.dependencies.clone(),
        status: s.status,
        subtasks: t
            .spec
            .subtasks
            .iter()
            .map(|sub| SubtaskView {
                id: format!("{}.{}", t.spec.id, sub.id),
                title: sub.title.clone(),
                description: sub.description.clone(),
                details: sub.details.clone(),
                test_strategy: sub.test_strategy.clone(),
                dependencies: sub
                    .dependencies
                    .iter()
                    .map(|d| format!("{}.{d}", t.spec.id))
                    .collect(),
                status: s.subtasks.get(&sub.id).copied().unwrap_or(sub.status),
            })
            .collect(),
        role: t.spec.role.clone(),
        labels: t.spec.labels.clone(),
        metadata: t.spec.metadata.clone(),
        ready: is_ready(t, statuses),
        waiting_on,
        dependents: s.dependents.clone(),
        assignee: s.assignee.clone(),
        progress: s.progress,
        claimed_at_ms: s.claimed_at_ms,
        running_seconds: running,
        notes: s.notes.clone(),
        locks: s.locks.clone(),
        batch: s.batch.clone(),
        created_by: s.created_by.clone(),
        created_at_ms: s.created_at_ms,
        updated_at_ms: s.updated_at_ms,
    }
}
