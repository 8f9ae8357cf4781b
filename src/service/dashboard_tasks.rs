//! The dashboard's Tasks panel: each project's board as cards (what a person scans: state,
//! assignee, what blocks what, how long in progress), lighter than the tools' `TaskView`
//! (no details, test strategy or note history). One store read per project, through the
//! same board the `list_tasks` tool shows ([`Coordinator::task_board`]).

use std::collections::BTreeMap;

use serde::Serialize;

use super::tasks::{TaskBoard, TaskView};
use super::{Coordinator, ServiceError};
use crate::domain::tasks::{Priority, TaskStatus};
use crate::store::tasks::Waiting;

/// Finished tasks (done or cancelled) a board shows, the most recently changed; the rest
/// are counted in [`ProjectTasks::finished_not_shown`].
pub const FINISHED_SHOWN: usize = 50;

/// One project's board as the page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectTasks {
    pub project: String,
    /// Tasks per status (every status, 0 when none).
    pub counts: BTreeMap<String, usize>,
    pub total: usize,
    /// Ids that can be claimed now, in claim order.
    pub ready: Vec<String>,
    /// Every unfinished task and the newest [`FINISHED_SHOWN`] finished ones, in claim order.
    pub tasks: Vec<TaskCard>,
    pub finished_not_shown: usize,
    /// Store clock (ms) when read.
    pub now_ms: i64,
}

/// A task on the board.
#[derive(Debug, Clone, Serialize)]
pub struct TaskCard {
    pub id: String,
    pub title: String,
    pub status: TaskStatus,
    pub priority: Priority,
    pub ready: bool,
    /// Dependencies not done yet, with their status (what blocks it).
    pub waiting_on: Vec<Waiting>,
    /// Tasks that depend on this one (what it blocks while unfinished).
    pub dependents: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<u8>,
    /// When its assignee claimed it (the page ticks "in progress for …" from it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claimed_at_ms: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub locks: Vec<String>,
    /// Subtasks done, of how many.
    pub subtasks_done: usize,
    pub subtasks: usize,
    /// The newest note, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub updated_at_ms: i64,
}

impl TaskCard {
    fn of(v: TaskView) -> TaskCard {
        TaskCard {
            subtasks_done: v
                .subtasks
                .iter()
                .filter(|s| s.status == TaskStatus::Done)
                .count(),
            subtasks: v.subtasks.len(),
            note: v.notes.last().map(|n| n.text.clone()),
            id: v.id,
            title: v.title,
            status: v.status,
            priority: v.priority,
            ready: v.ready,
            waiting_on: v.waiting_on,
            dependents: v.dependents,
            assignee: v.assignee,
            role: v.role,
            progress: v.progress,
            claimed_at_ms: v.claimed_at_ms,
            locks: v.locks,
            updated_at_ms: v.updated_at_ms,
        }
    }
}

fn finished(status: TaskStatus) -> bool {
    matches!(status, TaskStatus::Done | TaskStatus::Cancelled)
}

impl ProjectTasks {
    fn of(board: TaskBoard) -> ProjectTasks {
        let (mut done, open): (Vec<TaskView>, Vec<TaskView>) =
            board.tasks.into_iter().partition(|t| finished(t.status));
        done.sort_by_key(|t| std::cmp::Reverse(t.updated_at_ms));
        let finished_not_shown = done.len().saturating_sub(FINISHED_SHOWN);
        done.truncate(FINISHED_SHOWN);
        let mut tasks: Vec<TaskCard> = open.into_iter().map(TaskCard::of).collect();
        tasks.extend(done.into_iter().map(TaskCard::of));
        ProjectTasks {
            project: board.project,
            counts: board.counts,
            total: board.total,
            ready: board.ready,
            tasks,
            finished_not_shown,
            now_ms: board.now_ms,
        }
    }
}

impl Coordinator {
    /// One project's board for the page.
    pub async fn dashboard_tasks(&self, project: &str) -> Result<ProjectTasks, ServiceError> {
        Ok(ProjectTasks::of(self.task_board(project).await?))
    }

    /// Every project's board, by project name: one store read for the list of projects,
    /// then one per project.
    pub async fn dashboard_all_tasks(&self) -> Result<Vec<ProjectTasks>, ServiceError> {
        let mut projects = self.store().task_projects().await?;
        projects.sort();
        let mut out = Vec::with_capacity(projects.len());
        for p in projects {
            out.push(self.dashboard_tasks(&p).await?);
        }
        Ok(out)
    }
}
