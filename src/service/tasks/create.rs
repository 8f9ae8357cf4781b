//! `create_tasks`: validate the batch (ids, sizes, cycles), then one store decision that
//! checks it against the project (ids taken, dependencies on earlier batches) and writes
//! all of it or nothing.

use super::{CreateTasksArgs, CreatedTasks};
use crate::domain::tasks::{MAX_TASKS_PER_PROJECT, TaskStatus, validate_batch};
use crate::service::events::Event;
use crate::service::{Caller, Coordinator, ServiceError};
use crate::store::tasks::{CreateOutcome, CreateRefusal, CreateTasks};

impl Coordinator {
    pub async fn create_tasks(
        &self,
        caller: &Caller,
        args: CreateTasksArgs,
    ) -> Result<CreatedTasks, ServiceError> {
        let project = self.task_project(caller, args.project).await?;
        let mut tasks = args.tasks;
        validate_batch(&mut tasks)
            .map_err(|e| ServiceError::invalid(format!("{e}. Nothing was created")))?;
        // A task starts with no assignee; in progress without one nobody works on it and
        // next_task will not hand it out: the answer says so (the master decides).
        let in_progress_unassigned: Vec<String> = tasks
            .iter()
            .filter(|t| t.status == TaskStatus::InProgress)
            .map(|t| t.id.clone())
            .collect();
        let batch = format!("b{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let req = CreateTasks {
            project: project.clone(),
            batch: batch.clone(),
            created_by: caller.session.clone(),
            tasks,
            max_per_project: MAX_TASKS_PER_PROJECT,
        };
        match self.store().create_tasks(&req).await? {
            CreateOutcome::Created(made) => {
                // Dependencies on earlier batches: their status is in the store.
                let outside = made
                    .iter()
                    .flat_map(|t| &t.state.dependencies)
                    .any(|d| !made.iter().any(|m| &m.spec.id == d));
                let earlier = if outside {
                    self.store().list_tasks(&project).await?
                } else {
                    Vec::new()
                };
                let mut statuses = super::status_map(&earlier);
                statuses.extend(made.iter().map(|t| (t.spec.id.as_str(), t.state.status)));
                let ready: Vec<String> = made
                    .iter()
                    .filter(|t| super::is_ready(t, &statuses))
                    .map(|t| t.spec.id.clone())
                    .collect();
                let ids: Vec<String> = made.iter().map(|t| t.spec.id.clone()).collect();
                self.events().publish(Event::TaskCreated {
                    project: project.clone(),
                    batch: batch.clone(),
                    ids: ids.clone(),
                    ready: ready.clone(),
                    by: caller.session.clone(),
                    at_ms: made
                        .first()
                        .map(|t| t.state.created_at_ms)
                        .unwrap_or_default(),
                });
                // The creator's idle children (a master that spawned them before planning
                // more) hear that there is work.
                self.tell_ready(&project, &caller.session, &ready).await;
                Ok(CreatedTasks {
                    project,
                    batch,
                    created: made.len(),
                    ids,
                    ready,
                    in_progress_unassigned,
                })
            }
            CreateOutcome::Refused(r) => Err(refusal(&project, r)),
        }
    }
}

fn refusal(project: &str, r: CreateRefusal) -> ServiceError {
    let details = serde_json::to_value(&r).unwrap_or_default();
    let (code, message) = match r {
        CreateRefusal::DuplicateId { id } => (
            "conflict",
            format!(
                "project {project} already has a task {id}; ids are unique per project. Pick \
             another id (list_tasks shows the taken ones). Nothing was created"
            ),
        ),
        CreateRefusal::UnknownDependency { task, dependency } => (
            "invalid_argument",
            format!(
                "task {task} depends on {dependency}, which project {project} does not have (not \
             in this batch, not created before). Add task {dependency} to the batch or remove \
             the dependency. Nothing was created"
            ),
        ),
        CreateRefusal::ProjectFull { existing, limit } => (
            "limit",
            format!(
                "project {project} has {existing} tasks; with this batch it would exceed the \
             limit of {limit}. Nothing was created"
            ),
        ),
    };
    ServiceError::new(code, message).with_details(details)
}
