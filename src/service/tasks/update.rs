//! `update_task`: a status, progress or note for a task or a subtask, by its assignee
//! (or its creator, or anyone while unassigned), in one store decision.

use super::{UpdateTaskArgs, UpdatedTask, view};
use crate::domain::tasks::{NOTES_KEPT, TaskRef, TaskStatus, check_note};
use crate::service::events::Event;
use crate::service::{Caller, Coordinator, ServiceError};
use crate::store::tasks::{UpdateOutcome, UpdateTask};

impl Coordinator {
    pub async fn update_task(
        &self,
        caller: &Caller,
        args: UpdateTaskArgs,
    ) -> Result<UpdatedTask, ServiceError> {
        let project = self.task_project(caller, args.project).await?;
        let target = TaskRef::parse(&args.task_id).map_err(ServiceError::invalid)?;
        let status = args
            .status
            .as_deref()
            .map(TaskStatus::parse)
            .transpose()
            .map_err(ServiceError::invalid)?;
        let progress = match args.progress {
            None => None,
            Some(p @ 0..=100) => Some(p as u8),
            Some(p) => {
                return Err(ServiceError::invalid(format!(
                    "progress {p} is out of range; give a percentage from 0 to 100"
                )));
            }
        };
        let note = args
            .note
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty());
        if let Some(n) = &note {
            check_note(n).map_err(ServiceError::invalid)?;
        }
        if status.is_none() && progress.is_none() && note.is_none() {
            return Err(ServiceError::invalid(
                "nothing to update; give status, progress or note",
            ));
        }
        let req = UpdateTask {
            project: project.clone(),
            task_id: target.task.clone(),
            subtask: target.subtask.clone(),
            session: caller.session.clone(),
            status,
            progress,
            note,
            notes_kept: NOTES_KEPT,
        };
        match self.store().update_task(&req).await? {
            UpdateOutcome::Updated {
                task,
                previous,
                unblocked,
            } => {
                let now = task.state.updated_at_ms;
                let statuses = if task.state.dependencies.is_empty() {
                    Default::default()
                } else {
                    // The view's `waiting_on` needs the dependencies' statuses.
                    let mut m = std::collections::BTreeMap::new();
                    for d in &task.state.dependencies {
                        if let Some(t) = self.store().get_task(&project, d).await? {
                            m.insert(d.clone(), t.state.status);
                        }
                    }
                    m
                };
                let statuses = statuses.iter().map(|(k, v)| (k.as_str(), *v)).collect();
                let now_status = match &target.subtask {
                    Some(s) => task.state.subtasks.get(s).copied().unwrap_or(previous),
                    None => task.state.status,
                };
                self.events().publish(Event::TaskUpdated {
                    project: project.clone(),
                    task: target.to_string(),
                    status: now_status,
                    previous,
                    by: caller.session.clone(),
                    assignee: task.state.assignee.clone(),
                    progress: req.progress,
                    note: req.note.clone(),
                    unblocked: unblocked.clone(),
                    at_ms: now,
                });
                if target.subtask.is_none()
                    && previous != task.state.status
                    && matches!(task.state.status, TaskStatus::Done | TaskStatus::Failed)
                {
                    self.announce_outcome(&project, &task, &caller.session, &unblocked)
                        .await;
                }
                let view = view(&task, &statuses, now);
                // Back to pending and ready (a retry after failed, a child handing it back):
                // the master's idle children hear, as when a done unblocks tasks.
                if target.subtask.is_none() && previous != TaskStatus::Pending && view.ready {
                    self.tell_ready(
                        &project,
                        &task.state.created_by,
                        std::slice::from_ref(&task.spec.id),
                    )
                    .await;
                }
                let blocked_dependents =
                    if target.subtask.is_none() && task.state.status == TaskStatus::Failed {
                        task.state.dependents.clone()
                    } else {
                        Vec::new()
                    };
                Ok(UpdatedTask {
                    project,
                    task_id: target.to_string(),
                    previous_status: previous,
                    status: now_status,
                    task: view,
                    unblocked,
                    blocked_dependents,
                })
            }
            UpdateOutcome::NotFound => Err(ServiceError::not_found(format!(
                "project {project} has no task {}; list_tasks shows its tasks",
                target.task
            ))),
            UpdateOutcome::NoSubtask => Err(ServiceError::not_found(format!(
                "task {} has no subtask {target}; get_task({}) shows its subtasks",
                target.task, target.task
            ))),
            UpdateOutcome::NotYours { assignee } => Err(ServiceError::new(
                "not_owner",
                format!(
                    "task {target} is assigned to {assignee}; only its assignee or the session \
                     that created it may change it. Ask {assignee} (send_message_to_session) or \
                     take another task with next_task"
                ),
            )
            .with_details(serde_json::json!({ "assignee": assignee }))),
            UpdateOutcome::WaitingOn(waiting) => Err(ServiceError::new(
                "conflict",
                format!(
                    "task {target} cannot be {} yet: it waits on {}. It becomes ready when \
                         they are done (next_task hands out only ready tasks); if it no longer \
                         needs them, cancel it or plan it anew",
                    status.map_or("started", |s| s.as_str()),
                    crate::store::tasks::Waiting::describe(&waiting)
                ),
            )
            .with_details(serde_json::json!({ "waiting_on": waiting }))),
        }
    }
}
