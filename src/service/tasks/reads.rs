//! The board: `get_task` and `list_tasks` (filters by status, assignee, readiness, batch).

use super::{GetTaskArgs, ListTasksArgs, TaskBoard, TaskView, counts, status_map, view};
use crate::domain::tasks::{TaskRef, TaskStatus};
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
        let all = self.store().list_tasks(&project).await?;
        let now = self.store().now_ms().await?;
        let statuses = status_map(&all);
        let scope: Vec<_> = all
            .iter()
            .filter(|t| batch.as_ref().is_none_or(|b| &t.state.batch == b))
            .collect();
        if let Some(b) = &batch
            && scope.is_empty()
        {
            return Err(ServiceError::not_found(format!(
                "project {project} has no batch {b}; create_tasks answers with its batch id"
            )));
        }
        let views: Vec<TaskView> = scope.iter().map(|t| view(t, &statuses, now)).collect();
        let ready = views
            .iter()
            .filter(|v| v.ready)
            .map(|v| v.id.clone())
            .collect();
        let tasks = views
            .into_iter()
            .filter(|v| status.is_none_or(|s| v.status == s))
            .filter(|v| {
                args.assignee
                    .as_ref()
                    .is_none_or(|a| v.assignee.as_ref() == Some(a))
            })
            .filter(|v| args.ready.is_none_or(|r| v.ready == r))
            .collect();
        Ok(TaskBoard {
            project,
            batch,
            counts: counts(scope.iter().copied()),
            total: scope.len(),
            ready,
            tasks,
            now_ms: now,
        })
    }
}
