//! The board: `get_task` and `list_tasks` (filters by status, assignee, readiness, batch).

use super::{
    BatchStatus, BatchStatusArgs, BatchSummary, GetTaskArgs, ListTasksArgs, TaskBoard, TaskView,
    counts, status_map, view,
};
use crate::domain::tasks::{TaskRef, TaskStatus, check_project};
use crate::service::{Caller, Coordinator, ServiceError};

impl Coordinator {
    pub async fn get_task(
        &self,
        caller: &Caller,
        args: GetTaskArgs,
    ) -> Result<TaskView, ServiceError> {
        let project = self.task_project(caller, args.project).await?;
        let target = TaskRef::parse(&args.task_id).map_err(ServiceError::invalid)?;
        // The dependencies' statuses come from the same listing (one read).
        let all = self.store().list_tasks(&project).await?;
        let now = self.store().now_ms().await?;
        let statuses = status_map(&all);
        all.iter()
            .find(|t| t.spec.id == target.task)
            .map(|t| view(t, &statuses, now))
            .ok_or_else(|| {
                ServiceError::not_found(format!(
                    "project {project} has no task {}; list_tasks shows its tasks",
                    target.task
                ))
            })
    }

    pub async fn list_tasks(
        &self,
        caller: &Caller,
        args: ListTasksArgs,
    ) -> Result<TaskBoard, ServiceError> {
        let project = self.task_project(caller, args.project).await?;
        let status = args
            .status
            .as_deref()
            .map(TaskStatus::parse)
            .transpose()
            .map_err(ServiceError::invalid)?;
        let batch = args
            .batch
            .map(|b| b.trim().to_string())
            .filter(|b| !b.is_empty());
        let board = self.board_of(project, batch.as_deref()).await?;
        let tasks = board
            .tasks
            .into_iter()
            .filter(|v| status.is_none_or(|s| v.status == s))
            .filter(|v| {
                args.assignee
                    .as_ref()
                    .is_none_or(|a| v.assignee.as_ref() == Some(a))
            })
            .filter(|v| args.ready.is_none_or(|r| v.ready == r))
            .map(|v| if args.detail { v } else { brief(v) })
            .collect();
        Ok(TaskBoard {
            tasks,
            brief: (!args.detail).then(|| {
                "texts left out (description, details, testStrategy, metadata, older notes): \
                 get_task(task_id) shows one task in full, list_tasks(detail=true) all"
                    .to_string()
            }),
            ..board
        })
    }

    /// The whole board of `project` (every task, in claim order), for a reader that is no
    /// session: the dashboard. One store read of the project's tasks; an unknown project is
    /// an empty board.
    pub async fn task_board(&self, project: &str) -> Result<TaskBoard, ServiceError> {
        check_project(project).map_err(ServiceError::invalid)?;
        self.board_of(project.to_string(), None).await
    }

    /// The board of a project, or of one of its batches (unfiltered).
    async fn board_of(
        &self,
        project: String,
        batch: Option<&str>,
    ) -> Result<TaskBoard, ServiceError> {
        let all = self.store().list_tasks(&project).await?;
        let now = self.store().now_ms().await?;
        let statuses = status_map(&all);
        let scope: Vec<_> = all
            .iter()
            .filter(|t| batch.is_none_or(|b| t.state.batch == b))
            .collect();
        if let Some(b) = batch
            && scope.is_empty()
        {
            return Err(ServiceError::not_found(format!(
                "project {project} has no batch {b}; create_tasks answers with its batch id"
            )));
        }
        let tasks: Vec<TaskView> = scope.iter().map(|t| view(t, &statuses, now)).collect();
        let ready = tasks
            .iter()
            .filter(|v| v.ready)
            .map(|v| v.id.clone())
            .collect();
        Ok(TaskBoard {
            project,
            batch: batch.map(str::to_string),
            counts: counts(scope.iter().copied()),
            total: scope.len(),
            ready,
            tasks,
            now_ms: now,
            brief: None,
        })
    }
}

impl Coordinator {
    /// `get_batch_status`: every batch of the project with its counts, or one batch's board.
    pub async fn get_batch_status(
        &self,
        caller: &Caller,
        args: BatchStatusArgs,
    ) -> Result<BatchStatus, ServiceError> {
        let limit = match args.limit {
            None => 10,
            Some(n @ 1..=1000) => n as usize,
            Some(n) => {
                return Err(ServiceError::invalid(format!(
                    "limit {n} is out of range; give 1 to 1000"
                )));
            }
        };
        let project = self.task_project(caller, args.project.clone()).await?;
        let all = self.store().list_tasks(&project).await?;
        let finished = |s: TaskStatus| matches!(s, TaskStatus::Done | TaskStatus::Cancelled);
        let mut batches: Vec<BatchSummary> = Vec::new();
        for t in &all {
            match batches.iter_mut().find(|b| b.batch == t.state.batch) {
                Some(b) => {
                    b.total += 1;
                    *b.counts.entry(t.state.status.as_str().into()).or_default() += 1;
                    b.completed &= finished(t.state.status);
                    b.created_at_ms = b.created_at_ms.min(t.state.created_at_ms);
                }
                None => batches.push(BatchSummary {
                    batch: t.state.batch.clone(),
                    created_by: t.state.created_by.clone(),
                    created_at_ms: t.state.created_at_ms,
                    total: 1,
                    counts: counts(std::iter::once(t)),
                    completed: finished(t.state.status),
                }),
            }
        }
        batches.sort_by(|a, b| (b.created_at_ms, &b.batch).cmp(&(a.created_at_ms, &a.batch)));
        let board = match &args.batch {
            None => None,
            Some(b) => {
                let mut board = self
                    .list_tasks(
                        caller,
                        ListTasksArgs {
                            batch: Some(b.clone()),
                            project: Some(project.clone()),
                            ..Default::default()
                        },
                    )
                    .await?;
                if !args.include_completed {
                    board.tasks.retain(|t| !finished(t.status));
                }
                board.tasks.truncate(limit);
                batches.retain(|s| &s.batch == b);
                Some(board)
            }
        };
        if board.is_none() {
            if !args.include_completed {
                batches.retain(|b| !b.completed);
            }
            batches.truncate(limit);
        }
        Ok(BatchStatus {
            project,
            batches,
            board,
        })
    }
}

/// A task on a board without its long texts: what a model needs to pick and follow work
/// (ids, titles, states, who, what blocks what), not every plan's prose at once.
fn brief(mut v: TaskView) -> TaskView {
    v.description.clear();
    v.details.clear();
    v.test_strategy.clear();
    v.metadata.clear();
    let keep_from = v.notes.len().saturating_sub(1);
    v.notes.drain(..keep_from);
    for s in &mut v.subtasks {
        s.description.clear();
        s.details.clear();
        s.test_strategy.clear();
    }
    v
}
