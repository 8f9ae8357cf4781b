//! `create_session(task=…)` and the task board (issue 17): the board task a child is
//! spawned for is claimed for it before anything starts — the store's named claim, with
//! next_task's rules (pending, every dependency done, one assignee) — handed back without a
//! trace when the spawn fails, and its text is the child's first inbox message.

use std::collections::BTreeMap;

use crate::domain::message::check_body;
use crate::domain::tasks::{TaskRecord, TaskStatus};
use crate::service::events::Event;
use crate::service::tasks::{TaskView, view};
use crate::service::{Coordinator, ServiceError};
use crate::store::tasks::{ClaimOutcome, ClaimRequest, UpdateOutcome, UpdateTask, Waiting};

/// The text of a task as the child first reads it, cut to fit one message.
pub(super) fn first_message(project: &str, t: &TaskRecord, max_bytes: usize) -> String {
    let id = &t.spec.id;
    let mut head = format!(
        "Your task: {id} — {} (project {project}, from the task board; it is assigned to you, \
         in-progress).",
        t.spec.title
    );
    if !t.spec.dependencies.is_empty() {
        head.push_str(&format!(
            " Its dependencies are done: {}.",
            t.spec.dependencies.join(", ")
        ));
    }
    let tail = format!(
        "\n\nReport with update_task(task_id=\"{id}\", progress=…, note=…); finish with \
         update_task(task_id=\"{id}\", status=\"done\") — or status=\"failed\" with a note \
         saying why. get_task(task_id=\"{id}\") shows it again."
    );
    let mut body = String::new();
    for (label, text) in [
        ("Description", &t.spec.description),
        ("Details", &t.spec.details),
        ("Test strategy", &t.spec.test_strategy),
    ] {
        if !text.trim().is_empty() {
            body.push_str(&format!("\n\n{label}:\n{}", text.trim()));
        }
    }
    if !t.spec.subtasks.is_empty() {
        body.push_str("\n\nSubtasks:");
        for s in &t.spec.subtasks {
            let after = if s.dependencies.is_empty() {
                String::new()
            } else {
                let on: Vec<String> = s.dependencies.iter().map(|d| format!("{id}.{d}")).collect();
                format!(", after {}", on.join(", "))
            };
            let status = t.state.subtasks.get(&s.id).copied().unwrap_or(s.status);
            body.push_str(&format!(
                "\n- {id}.{} {} ({}{after})",
                s.id,
                s.title,
                status.as_str()
            ));
        }
    }
    let whole = format!("{head}{body}{tail}");
    if check_body(&whole, max_bytes).is_ok() {
        return whole;
    }
    // Too long for one message: keep the head and the instructions, cut the middle.
    let cut_note = format!("\n\n… (cut to fit one message: get_task(task_id=\"{id}\") shows all)");
    let room = max_bytes.saturating_sub(head.len() + tail.len() + cut_note.len());
    let mut end = room.min(body.len());
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    format!("{head}{}{cut_note}{tail}", &body[..end])
}

impl Coordinator {
    /// Claims board task `task` of `project` for the child `child`, or says why not.
    /// `required`: `Some(true)` refuses when the board has no such task, `Some(false)`
    /// leaves the board alone, `None` links when the task exists. Nothing changes on a
    /// refusal.
    pub(super) async fn claim_for_child(
        &self,
        project: &str,
        task: &str,
        child: &str,
        required: Option<bool>,
    ) -> Result<Option<TaskRecord>, ServiceError> {
        if required == Some(false) {
            return Ok(None);
        }
        let req = ClaimRequest {
            project: project.to_string(),
            session: child.to_string(),
            role: None,
            task_id: Some(task.to_string()),
            locks: Vec::new(),
        };
        let instead = "nothing was spawned; spawn a child without it with claim_task=false";
        match self.store().claim_task(&req).await? {
            ClaimOutcome::Claimed(c) => Ok(Some(c.task)),
            ClaimOutcome::NotFound if required.is_none() => Ok(None),
            ClaimOutcome::NotFound => Err(ServiceError::not_found(format!(
                "project {project} has no task {task} on its board (claim_task=true wants one); \
                 {instead}, or create it with create_tasks first (list_tasks shows the board)"
            ))),
            ClaimOutcome::NotReady { waiting_on } => Err(ServiceError::new(
                "conflict",
                format!(
                    "task {task} of project {project} is not ready: it waits on {}; {instead}. \
                         Spawn its child when they are done (the master is told of each done)",
                    Waiting::describe(&waiting_on)
                ),
            )
            .with_details(serde_json::json!({ "waiting_on": waiting_on }))),
            ClaimOutcome::NotPending { status, assignee } => {
                let whose = assignee
                    .as_deref()
                    .map(|a| format!(", assigned to {a}"))
                    .unwrap_or_default();
                let what_now = match status {
                    TaskStatus::Done | TaskStatus::Cancelled => {
                        "it is finished; pick a pending task (list_tasks(ready=true))"
                    }
                    _ => {
                        "a task has one assignee; hand it back first with \
                         update_task(status=\"pending\"), or pick a ready one \
                         (list_tasks(ready=true))"
                    }
                };
                Err(ServiceError::new(
                    "conflict",
                    format!(
                        "task {task} of project {project} is {}{whose}; {instead}. {what_now}",
                        status.as_str()
                    ),
                )
                .with_details(serde_json::json!({ "status": status, "assignee": assignee })))
            }
            ClaimOutcome::NothingReady | ClaimOutcome::LocksRefused { .. } => {
                Err(ServiceError::new(
                    "internal",
                    format!("the claim of task {task} for {child} answered out of turn"),
                ))
            }
        }
    }

    /// The spawn failed after the claim: the task is pending and unassigned again, no note
    /// and no message (as if it had never been claimed).
    pub(super) async fn unclaim_for_child(&self, project: &str, task: &TaskRecord, child: &str) {
        let req = UpdateTask {
            project: project.to_string(),
            task_id: task.spec.id.clone(),
            subtask: None,
            session: child.to_string(),
            status: Some(TaskStatus::Pending),
            progress: None,
            note: None,
            notes_kept: crate::domain::tasks::NOTES_KEPT,
        };
        match self.store().update_task(&req).await {
            Ok(UpdateOutcome::Updated { .. }) => {}
            Ok(other) => {
                tracing::warn!(project, task = %task.spec.id, child, "the claim of a child that never started was not handed back: {other:?}")
            }
            Err(e) => {
                tracing::warn!(project, task = %task.spec.id, child, "the claim of a child that never started was not handed back now ({e}); it goes back when the child's session is ended")
            }
        }
    }

    /// The child started: the board learns who has the task, and the child's inbox gets
    /// its text from `parent`. Returns the task as tools show it.
    pub(super) async fn hand_task_to_child(
        &self,
        project: &str,
        task: &TaskRecord,
        parent: &str,
        child: &str,
    ) -> TaskView {
        let at_ms = task.state.updated_at_ms;
        self.events().publish(Event::TaskClaimed {
            project: project.to_string(),
            task: task.spec.id.clone(),
            title: task.spec.title.clone(),
            assignee: child.to_string(),
            locks: Vec::new(),
            at_ms,
        });
        let body = first_message(project, task, self.settings().messages.max_bytes);
        if let Err(e) = self.send_task_message(parent, child, body).await {
            tracing::warn!(child, task = %task.spec.id, "the task's text did not reach the child's inbox: {e}");
        }
        view(task, &BTreeMap::new(), at_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::tasks::TaskSpec;

    fn record(details: &str) -> TaskRecord {
        let spec: TaskSpec = serde_json::from_value(serde_json::json!({
            "id": 3, "title": "Login API", "description": "POST /login",
            "details": details, "testStrategy": "curl it", "dependencies": [1],
            "subtasks": [{"id": 1, "title": "handler"}, {"id": 2, "title": "tests", "dependencies": [1]}]
        }))
        .unwrap();
        TaskRecord {
            state: crate::domain::tasks::TaskState::new(&spec, 1, "b1", "m", 0),
            spec,
        }
    }

    #[test]
    fn the_first_message_carries_the_whole_task_and_how_to_report() {
        let m = first_message("web", &record("use argon2"), 16 * 1024);
        for part in [
            "Your task: 3 — Login API (project web",
            "dependencies are done: 1.",
            "Description:\nPOST /login",
            "Details:\nuse argon2",
            "Test strategy:\ncurl it",
            "- 3.1 handler (pending)",
            "- 3.2 tests (pending, after 3.1)",
            "update_task(task_id=\"3\", status=\"done\")",
        ] {
            assert!(m.contains(part), "{part:?} missing in {m}");
        }
    }

    #[test]
    fn a_long_task_is_cut_to_one_message_keeping_head_and_instructions() {
        let m = first_message("web", &record(&"é".repeat(20_000)), 4096);
        assert!(check_body(&m, 4096).is_ok(), "{} bytes", m.len());
        assert!(m.starts_with("Your task: 3"));
        assert!(m.contains("cut to fit one message: get_task(task_id=\"3\") shows all"));
        assert!(m.ends_with("shows it again."));
    }
}
