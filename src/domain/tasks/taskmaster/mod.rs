//! TaskMaster-AI's `tasks.json` ↔ our task records (issue 17, "TaskMaster interop"), pure:
//! the callers read and write the files. A plan made with `task-master` imports as one
//! `create_tasks` batch, and what we export `task-master list` / `show` read back.
//!
//! The file comes in two shapes: legacy `{"tasks": […], "metadata": {…}}` and tagged
//! `{"<tag>": {"tasks": […], "metadata": {…}}, …}` (TaskMaster's default tag is `master`).
//! TaskMaster's task fields map one to one onto [`TaskSpec`](super::TaskSpec) (`tags` are our
//! `labels`); the fields we do not model (`complexity`, `createdAt`, a subtask's
//! `parentTaskId`, …) are kept under the metadata key [`KEPT_KEY`] so export writes them back.
//! What only we have — `role`, a `failed` status (TaskMaster has none: it reads as
//! `blocked`), progress and notes — travels in the task's TaskMaster `metadata` under
//! [`OURS_KEY`].

mod export;
mod import;

pub use export::{export_tasks, into_file};
pub use import::{Imported, import_tasks};

/// TaskMaster's default tag, the one `task-master` uses until `use-tag` switches.
pub const DEFAULT_TAG: &str = "master";

/// Metadata key holding the TaskMaster fields we do not model, as they were written:
/// `{"fields": {name: value}, "subtasks": {"<n>": {name: value}}}`.
pub const KEPT_KEY: &str = "taskmaster";

/// Key in an exported task's TaskMaster `metadata` holding what only mcp-coord has.
pub const OURS_KEY: &str = "mcp_coord";

/// TaskMaster fields a subtask shares with its task, each with a place in
/// [`SubtaskSpec`](super::SubtaskSpec).
const SUBTASK_FIELDS: &[&str] = &[
    "id",
    "title",
    "description",
    "details",
    "testStrategy",
    "status",
    "dependencies",
];

/// The task fields besides those, with a place in [`TaskSpec`](super::TaskSpec) (or, for
/// `assignee`, in the state that claims decide, so an import does not carry it).
const TASK_ONLY_FIELDS: &[&str] = &[
    "priority", "subtasks", "tags", "labels", "role", "metadata", "assignee",
];

/// A task field we model (the rest an import keeps under [`KEPT_KEY`]).
fn is_task_field(name: &str) -> bool {
    SUBTASK_FIELDS.contains(&name) || TASK_ONLY_FIELDS.contains(&name)
}

/// A subtask field we model.
fn is_subtask_field(name: &str) -> bool {
    SUBTASK_FIELDS.contains(&name)
}

/// The priority TaskMaster writes for our `high` when the file said `critical` (it has four).
const CRITICAL: &str = "critical";

/// A tag name as TaskMaster allows them: letters, digits, '-' and '_' (we also take '.').
pub fn check_tag(tag: &str) -> Result<(), String> {
    let ok = !tag.is_empty()
        && tag.len() <= 64
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "tag {:?} is not allowed; use 1-64 letters, digits, '-', '_' or '.' (TaskMaster's \
             default tag is {DEFAULT_TAG})",
            crate::domain::session_name::truncate(tag, 40)
        ))
    }
}

#[cfg(test)]
mod tests;
