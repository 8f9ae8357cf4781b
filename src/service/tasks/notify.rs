//! Who hears about task changes: `/events` and `coord://tasks` subscribers (task events),
//! the master that created the task, and the master's idle children when tasks become
//! ready. Messages are system messages of kind `task`, which wake an idle agent by default
//! (`messages.wake_kinds`). A notification that cannot be delivered never undoes or fails
//! the decision it reports: it is logged.

use std::collections::BTreeMap;

use crate::domain::message::{MessageKind, SYSTEM_SENDER};
use crate::domain::tasks::{NOTES_KEPT, TaskRecord, TaskStatus};
use crate::service::events::Event;
use crate::service::{Coordinator, ServiceError};
use crate::store::tasks::{HandBack, is_active};

/// Waits between attempts to hand back an ended session's tasks.
const HAND_BACK_RETRIES: [std::time::Duration; 3] = [
    std::time::Duration::from_millis(100),
    std::time::Duration::from_millis(500),
    std::time::Duration::from_millis(2000),
];

impl Coordinator {
    /// Sends `body` as a `task` system message to `to`, logging (not failing) on error.
    async fn tell(&self, to: &str, body: String) {
        match self.send_system(to, MessageKind::Task, body).await {
            Ok(_) => {}
            Err(e) => tracing::warn!(to, "a task notification was not delivered: {e}"),
        }
    }

    /// After a `done` or `failed` of a whole task: tell its creator, and when tasks became
    /// ready, the creator's live children that have no task in progress.
    pub(super) async fn announce_outcome(
        &self,
        project: &str,
        task: &TaskRecord,
        by: &str,
        unblocked: &[String],
    ) {
        let master = task.state.created_by.as_str();
        let id = &task.spec.id;
        let title = &task.spec.title;
        let last_note = task
            .state
            .notes
            .last()
            .map(|n| format!(" Last note: {}", n.text))
            .unwrap_or_default();
        match task.state.status {
            TaskStatus::Done if master != by => {
                let ready = if unblocked.is_empty() {
                    "nothing new became ready".to_string()
                } else {
                    format!("now ready: {}", unblocked.join(", "))
                };
                self.tell(
                    master,
                    format!("Task {id} ({title}) of project {project} is done (by {by}); {ready}."),
                )
                .await;
            }
            TaskStatus::Failed if master != by => {
                let blocked = if task.state.dependents.is_empty() {
                    String::new()
                } else {
                    format!(" It blocks {}.", task.state.dependents.join(", "))
                };
                self.tell(
                    master,
                    format!(
                        "Task {id} ({title}) of project {project} failed (by {by}).{blocked}{last_note} \
                         Retry it with update_task(task_id=\"{id}\", status=\"pending\") or cancel it."
                    ),
                )
                .await;
            }
            _ => {}
        }
        self.tell_ready(project, master, unblocked).await;
    }

    /// Tasks of `master`'s plan became ready (created ready, unblocked by a done, back to
    /// pending after a retry or a hand-back): its idle children hear, logged on failure.
    pub(super) async fn tell_ready(&self, project: &str, master: &str, ready: &[String]) {
        if ready.is_empty() {
            return;
        }
        if let Err(e) = self.wake_idle_children(project, master, ready).await {
            tracing::warn!(
                project,
                "idle children were not told about ready tasks: {e}"
            );
        }
    }

    /// Tells the master's live children without a task in progress that tasks are ready.
    async fn wake_idle_children(
        &self,
        project: &str,
        master: &str,
        ready: &[String],
    ) -> Result<(), ServiceError> {
        let children = self.store().child_sessions(master).await?;
        if children.is_empty() {
            return Ok(());
        }
        let busy: Vec<String> = self
            .store()
            .list_tasks(project)
            .await?
            .into_iter()
            .filter(|t| is_active(t.state.status))
            .filter_map(|t| t.state.assignee)
            .collect();
        for child in children.iter().filter(|c| c.live) {
            let name = &child.record.name;
            if busy.contains(name) || child.record.project.as_deref() != Some(project) {
                continue;
            }
            self.tell(
                name,
                format!(
                    "Tasks {} of project {project} are ready: next_task() claims the best one.",
                    ready.join(", ")
                ),
            )
            .await;
        }
        Ok(())
    }

    /// A session ended or was abandoned: its tasks go back to pending, with a note saying
    /// who dropped them, and their creators are told.
    pub(crate) async fn hand_back_tasks(&self, session: &str, reason: &str) {
        let text = format!("handed back: its assignee {session} ended ({reason})");
        let hand_back = HandBack {
            session: session.to_string(),
            by: SYSTEM_SENDER.to_string(),
            text,
            notes_kept: NOTES_KEPT,
        };
        // The session has ended already: a store blip here would leave its tasks in
        // progress under nobody, so try a few times (one atomic script each; a retry after
        // a success finds nothing left to hand back).
        let mut attempt = 0;
        let released = loop {
            match self.store().release_tasks_of(&hand_back).await {
                Ok(r) => break r,
                Err(e) if attempt < HAND_BACK_RETRIES.len() => {
                    tracing::warn!(
                        session,
                        attempt,
                        "its tasks could not be handed back yet: {e}"
                    );
                    tokio::time::sleep(HAND_BACK_RETRIES[attempt]).await;
                    attempt += 1;
                }
                Err(e) => {
                    tracing::error!(
                        session,
                        "its tasks could not be handed back: {e}; they stay assigned to it \
                         (update_task(status=\"pending\") by their creator hands them back)"
                    );
                    return;
                }
            }
        };
        // project → master → ids handed back, for who hears they are ready again.
        let mut back: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
        for (project, t) in released {
            back.entry(project.clone())
                .or_default()
                .entry(t.state.created_by.clone())
                .or_default()
                .push(t.spec.id.clone());
            let at_ms = t.state.updated_at_ms;
            tracing::info!(session, project = %project, task = %t.spec.id, "task handed back");
            self.events().publish(Event::TaskReleased {
                project: project.clone(),
                task: t.spec.id.clone(),
                from: session.to_string(),
                reason: reason.to_string(),
                at_ms,
            });
            if t.state.created_by != session {
                self.tell(
                    &t.state.created_by,
                    format!(
                        "Task {} ({}) of project {project} is pending again: its assignee {session} \
                         ended ({reason}). next_task hands it out again.",
                        t.spec.id, t.spec.title
                    ),
                )
                .await;
            }
        }
        // Those of them that are ready again: the master's idle children hear (one read of
        // each project's tasks).
        for (project, masters) in back {
            let all = match self.store().list_tasks(&project).await {
                Ok(all) => all,
                Err(e) => {
                    tracing::warn!(project, "handed-back tasks not announced: {e}");
                    continue;
                }
            };
            let statuses = super::status_map(&all);
            for (master, ids) in masters {
                let ready: Vec<String> = all
                    .iter()
                    .filter(|t| ids.contains(&t.spec.id) && super::is_ready(t, &statuses))
                    .map(|t| t.spec.id.clone())
                    .collect();
                self.tell_ready(&project, &master, &ready).await;
            }
        }
    }
}
