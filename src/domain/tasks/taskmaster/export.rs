//! Writing our task records as TaskMaster tasks (one tag of a `tasks.json`): its field names
//! and statuses, the fields an import kept put back, the current assignee in its `assignee`,
//! and what only we have (role, `failed`, progress, notes) under `metadata.mcp_coord`.

use serde_json::{Map, Value, json};

use super::super::{Priority, TaskRecord, TaskStatus};
use super::{CRITICAL, KEPT_KEY, OURS_KEY, is_subtask_field, is_task_field};

/// The records as TaskMaster tasks, in creation order.
pub fn export_tasks(records: &[TaskRecord]) -> Vec<Value> {
    let mut sorted: Vec<&TaskRecord> = records.iter().collect();
    sorted.sort_by_key(|r| r.state.seq);
    sorted.into_iter().map(task).collect()
}

/// `existing` (a tasks.json already there, or none) with tag `tag` set to `tasks`; the other
/// tags stay as they are. A legacy file becomes tagged, its list under `master` (as
/// TaskMaster migrates it). `now` is an RFC 3339 time for the tag's `updated`.
pub fn into_file(
    existing: Option<&Value>,
    tag: &str,
    tasks: Vec<Value>,
    description: &str,
    now: &str,
) -> Result<Value, String> {
    let mut top = match existing {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(o)) if o.contains_key("tasks") => {
            let mut legacy = Map::new();
            legacy.insert("tasks".into(), o["tasks"].clone());
            legacy.insert(
                "metadata".into(),
                o.get("metadata").cloned().unwrap_or_else(|| json!({})),
            );
            let mut m = Map::new();
            m.insert(super::DEFAULT_TAG.into(), Value::Object(legacy));
            m
        }
        Some(Value::Object(o)) if o.values().all(|v| v.get("tasks").is_some()) => o.clone(),
        Some(_) => {
            return Err(
                "the file there is not a TaskMaster tasks.json (neither {\"tasks\": \
                 [...]} nor {\"<tag>\": {\"tasks\": [...]}}); export to another file"
                    .into(),
            );
        }
    };
    let done = tasks
        .iter()
        .filter(|t| t.get("status").and_then(Value::as_str) == Some("done"))
        .count();
    let mut meta = match top.get(tag).and_then(|t| t.get("metadata")) {
        Some(Value::Object(m)) => m.clone(),
        _ => {
            let mut m = Map::new();
            m.insert("created".into(), Value::from(now));
            m.insert("description".into(), Value::from(description));
            m
        }
    };
    meta.insert("updated".into(), Value::from(now));
    // TaskMaster's own counters, where it keeps them, stay true.
    if meta.contains_key("taskCount") {
        meta.insert("taskCount".into(), Value::from(tasks.len()));
    }
    if meta.contains_key("completedCount") {
        meta.insert("completedCount".into(), Value::from(done));
    }
    if meta.contains_key("lastModified") {
        meta.insert("lastModified".into(), Value::from(now));
    }
    top.insert(
        tag.to_string(),
        json!({ "tasks": tasks, "metadata": Value::Object(meta) }),
    );
    Ok(Value::Object(top))
}

/// An id as TaskMaster writes it: a number when it is one.
fn id_value(id: &str) -> Value {
    match id.parse::<u64>() {
        Ok(n) if n.to_string() == id => Value::from(n),
        _ => Value::from(id),
    }
}

/// TaskMaster's status for ours (it has no `failed`: that reads as `blocked`).
fn their_status(s: TaskStatus) -> &'static str {
    match s {
        TaskStatus::Failed => TaskStatus::Blocked.as_str(),
        other => other.as_str(),
    }
}

fn task(r: &TaskRecord) -> Value {
    let spec = &r.spec;
    let state = &r.state;
    let kept = spec.metadata.get(KEPT_KEY);
    let kept_fields = kept
        .and_then(|k| k.get("fields"))
        .and_then(Value::as_object);
    let kept_subtasks = kept
        .and_then(|k| k.get("subtasks"))
        .and_then(Value::as_object);
    let priority = match (spec.priority, kept_fields.and_then(|f| f.get("priority"))) {
        (Priority::High, Some(Value::String(p))) if p.eq_ignore_ascii_case(CRITICAL) => p.clone(),
        (p, _) => serde_json::to_value(p)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
    };
    let mut o = Map::new();
    o.insert("id".into(), id_value(&spec.id));
    o.insert("title".into(), Value::from(spec.title.as_str()));
    o.insert("description".into(), Value::from(spec.description.as_str()));
    o.insert("details".into(), Value::from(spec.details.as_str()));
    o.insert(
        "testStrategy".into(),
        Value::from(spec.test_strategy.as_str()),
    );
    o.insert("status".into(), Value::from(their_status(state.status)));
    o.insert(
        "dependencies".into(),
        Value::Array(spec.dependencies.iter().map(|d| id_value(d)).collect()),
    );
    o.insert("priority".into(), Value::from(priority));
    let mut failed_subtasks = Vec::new();
    let subtasks = spec
        .subtasks
        .iter()
        .map(|s| {
            let status = state.subtasks.get(&s.id).copied().unwrap_or(s.status);
            if status == TaskStatus::Failed {
                failed_subtasks.push(Value::from(s.id.as_str()));
            }
            let mut so = Map::new();
            so.insert("id".into(), id_value(&s.id));
            so.insert("title".into(), Value::from(s.title.as_str()));
            so.insert("description".into(), Value::from(s.description.as_str()));
            so.insert("details".into(), Value::from(s.details.as_str()));
            if !s.test_strategy.is_empty() {
                so.insert("testStrategy".into(), Value::from(s.test_strategy.as_str()));
            }
            so.insert("status".into(), Value::from(their_status(status)));
            so.insert(
                "dependencies".into(),
                Value::Array(
                    s.dependencies
                        .iter()
                        .map(|d| Value::from(format!("{}.{d}", spec.id)))
                        .collect(),
                ),
            );
            let extra = kept_subtasks
                .and_then(|k| k.get(&s.id))
                .and_then(Value::as_object);
            put_back(&mut so, extra, is_subtask_field);
            Value::Object(so)
        })
        .collect();
    o.insert("subtasks".into(), Value::Array(subtasks));
    if !spec.labels.is_empty() {
        o.insert("tags".into(), json!(spec.labels));
    }
    if let Some(a) = &state.assignee {
        o.insert("assignee".into(), Value::from(a.as_str()));
    }
    let mut meta: Map<String, Value> = spec
        .metadata
        .iter()
        .filter(|(k, _)| *k != KEPT_KEY)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let ours = ours(r, failed_subtasks);
    if !ours.is_empty() {
        meta.insert(OURS_KEY.into(), Value::Object(ours));
    }
    if !meta.is_empty() {
        o.insert("metadata".into(), Value::Object(meta));
    }
    put_back(&mut o, kept_fields, is_task_field);
    Value::Object(o)
}

/// What only mcp-coord has, for `metadata.mcp_coord` (empty when there is nothing).
fn ours(r: &TaskRecord, failed_subtasks: Vec<Value>) -> Map<String, Value> {
    let state = &r.state;
    let mut m = Map::new();
    if let Some(role) = &r.spec.role {
        m.insert("role".into(), Value::from(role.as_str()));
    }
    if state.status == TaskStatus::Failed {
        m.insert("status".into(), Value::from(TaskStatus::Failed.as_str()));
    }
    if !failed_subtasks.is_empty() {
        m.insert("failed_subtasks".into(), Value::Array(failed_subtasks));
    }
    if let Some(p) = state.progress {
        m.insert("progress".into(), Value::from(p));
    }
    if let Some(at) = state.claimed_at_ms {
        m.insert("claimed_at_ms".into(), Value::from(at));
    }
    if !state.notes.is_empty() {
        m.insert("notes".into(), json!(state.notes));
    }
    m
}

/// The fields an import kept, back in place (never over a field we wrote).
fn put_back(
    o: &mut Map<String, Value>,
    kept: Option<&Map<String, Value>>,
    modelled: fn(&str) -> bool,
) {
    for (k, v) in kept.into_iter().flatten() {
        if !modelled(k) && !o.contains_key(k) {
            o.insert(k.clone(), v.clone());
        }
    }
}
