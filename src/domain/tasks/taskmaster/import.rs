//! Reading one tag of a TaskMaster `tasks.json` into [`TaskSpec`]s for one `create_tasks`
//! batch. Every refusal names the task (and subtask) and the field that was wrong; the batch
//! check proper (ids, cycles, unknown dependencies, sizes) is `validate_batch`'s, run by
//! `create_tasks` on what this returns.

use serde_json::{Map, Value};

use super::super::validate::local_subtask_id;
use super::super::{Priority, SubtaskSpec, TaskSpec, TaskStatus};
use super::{CRITICAL, DEFAULT_TAG, KEPT_KEY, OURS_KEY, is_subtask_field, is_task_field};
use crate::domain::session::MAX_METADATA_BYTES;
use crate::domain::session_name::truncate;

/// One tag of a tasks.json, as task specs.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// The tag read (`master` for a legacy file).
    pub tag: String,
    /// The file has the legacy shape `{"tasks": […]}` (one list, no tags).
    pub legacy: bool,
    /// Every tag the file has (just `master` for a legacy file).
    pub tags: Vec<String>,
    pub tasks: Vec<TaskSpec>,
    /// Tasks whose TaskMaster `assignee` was not carried over: here claims assign tasks.
    pub dropped_assignees: Vec<String>,
}

const SHAPES: &str = "a TaskMaster tasks.json is {\"tasks\": [...]} (legacy) or \
                      {\"<tag>\": {\"tasks\": [...], \"metadata\": {...}}} (tagged, e.g. \
                      .taskmaster/tasks/tasks.json)";

/// The tasks of tag `tag` (default `master`) of the tasks.json `file`.
pub fn import_tasks(file: &Value, tag: Option<&str>) -> Result<Imported, String> {
    let Value::Object(top) = file else {
        return Err(format!(
            "the file is {}, not a JSON object; {SHAPES}",
            kind(file)
        ));
    };
    let wanted = tag.map(str::trim).filter(|t| !t.is_empty());
    if let Some(w) = wanted {
        super::check_tag(w)?;
    }
    let (tag, legacy, tags, list) = if let Some(list) = top.get("tasks") {
        if let Some(w) = wanted.filter(|w| *w != DEFAULT_TAG) {
            return Err(format!(
                "the file is a legacy tasks.json (one list, no tags), so it has no tag {w}; \
                 leave out --tag (its list is TaskMaster's {DEFAULT_TAG})"
            ));
        }
        (
            DEFAULT_TAG.to_string(),
            true,
            vec![DEFAULT_TAG.to_string()],
            list,
        )
    } else {
        let tags: Vec<String> = top
            .iter()
            .filter(|(_, v)| v.get("tasks").is_some())
            .map(|(k, _)| k.clone())
            .collect();
        if tags.is_empty() {
            return Err(format!(
                "the file has neither \"tasks\" nor a tag holding \"tasks\" (its keys: {}); {SHAPES}",
                key_list(top.keys())
            ));
        }
        let want = wanted.unwrap_or(DEFAULT_TAG);
        let Some(list) = top.get(want).and_then(|t| t.get("tasks")) else {
            return Err(format!(
                "the file has no tag {want}; its tags are {}. Pick one with --tag",
                tags.join(", ")
            ));
        };
        (want.to_string(), false, tags, list)
    };
    let Value::Array(list) = list else {
        return Err(format!(
            "tag {tag}: \"tasks\" is {}, not a list of tasks",
            kind(list)
        ));
    };
    let mut tasks = Vec::with_capacity(list.len());
    let mut dropped_assignees = Vec::new();
    for (i, v) in list.iter().enumerate() {
        let (spec, had_assignee) = task(i, v).map_err(|e| format!("tag {tag}: {e}"))?;
        if had_assignee {
            dropped_assignees.push(spec.id.clone());
        }
        tasks.push(spec);
    }
    Ok(Imported {
        tag,
        legacy,
        tags,
        tasks,
        dropped_assignees,
    })
}

/// One task; `true` when it named an assignee (not carried).
fn task(index: usize, v: &Value) -> Result<(TaskSpec, bool), String> {
    let Value::Object(o) = v else {
        return Err(format!(
            "task #{} of the list is {}, not an object",
            index + 1,
            kind(v)
        ));
    };
    let id = id_of(o.get("id")).ok_or_else(|| {
        format!(
            "task #{} of the list has no usable id (a number like 3); it has {}",
            index + 1,
            o.get("id")
                .map_or("none".to_string(), |v| truncate(&v.to_string(), 40))
        )
    })?;
    let who = format!("task {id}");
    let mut meta = match o.get("metadata") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(other) => {
            return Err(format!(
                "{who}: field metadata is {}; it must be a JSON object",
                kind(other)
            ));
        }
    };
    if meta.contains_key(KEPT_KEY) {
        return Err(format!(
            "{who}: metadata key {KEPT_KEY:?} is where mcp-coord keeps the TaskMaster fields it \
             does not model; rename that key"
        ));
    }
    let ours = match meta.remove(OURS_KEY) {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let (priority, priority_named) = priority(o.get("priority"), &who)?;
    let mut status = status(o.get("status"), &who)?;
    if status == TaskStatus::Blocked && ours.get("status").and_then(Value::as_str) == Some("failed")
    {
        status = TaskStatus::Failed;
    }
    let failed_subtasks = id_list(ours.get("failed_subtasks"), &who, "metadata.mcp_coord")?;
    let mut kept = Map::new();
    for (k, v) in o {
        if !is_task_field(k) {
            kept.insert(k.clone(), v.clone());
        }
    }
    if priority_named.is_some_and(|n| n.trim().eq_ignore_ascii_case(CRITICAL)) {
        kept.insert("priority".into(), Value::from(CRITICAL));
    }
    let mut kept_subtasks = Map::new();
    let subtasks = match o.get("subtasks") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(subs)) => subs
            .iter()
            .enumerate()
            .map(|(i, s)| subtask(&id, i, s, &failed_subtasks, &mut kept_subtasks))
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(format!(
                "{who}: field subtasks is {}; it must be a list",
                kind(other)
            ));
        }
    };
    let mut keep = Map::new();
    if !kept.is_empty() {
        keep.insert("fields".into(), Value::Object(kept));
    }
    if !kept_subtasks.is_empty() {
        keep.insert("subtasks".into(), Value::Object(kept_subtasks));
    }
    if !keep.is_empty() {
        meta.insert(KEPT_KEY.into(), Value::Object(keep));
    }
    let size = serde_json::to_string(&meta).map_or(0, |s| s.len());
    if size > MAX_METADATA_BYTES {
        return Err(format!(
            "{who}: its metadata and the TaskMaster fields mcp-coord keeps for export ({}) take \
             {size} bytes; the limit is {MAX_METADATA_BYTES}. Shorten or remove some of them",
            key_list(
                meta.keys()
                    .filter(|k| *k != KEPT_KEY)
                    .chain(kept_names(&meta).iter())
            )
        ));
    }
    let mut labels = string_list(o.get("tags"), &who, "tags")?;
    for l in string_list(o.get("labels"), &who, "labels")? {
        if !labels.contains(&l) {
            labels.push(l);
        }
    }
    let role = match o.get("role") {
        Some(Value::String(r)) => Some(r.clone()),
        None | Some(Value::Null) => ours.get("role").and_then(Value::as_str).map(str::to_string),
        Some(other) => {
            return Err(format!(
                "{who}: field role is {}; it must be text",
                kind(other)
            ));
        }
    };
    let had_assignee = o
        .get("assignee")
        .is_some_and(|a| !a.is_null() && a.as_str() != Some(""));
    let spec = TaskSpec {
        title: text(o.get("title"), &who, "title")?,
        description: text(o.get("description"), &who, "description")?,
        details: text(o.get("details"), &who, "details")?,
        test_strategy: text(o.get("testStrategy"), &who, "testStrategy")?,
        priority,
        dependencies: id_list(o.get("dependencies"), &who, "dependencies")?,
        status,
        subtasks,
        role,
        labels,
        metadata: meta,
        id,
    };
    Ok((spec, had_assignee))
}

fn subtask(
    parent: &str,
    index: usize,
    v: &Value,
    failed: &[String],
    kept: &mut Map<String, Value>,
) -> Result<SubtaskSpec, String> {
    let Value::Object(o) = v else {
        return Err(format!(
            "task {parent}: subtask #{} is {}, not an object",
            index + 1,
            kind(v)
        ));
    };
    let raw = id_of(o.get("id")).ok_or_else(|| {
        format!(
            "task {parent}: subtask #{} has no usable id (a number like 1, or \"{parent}.1\")",
            index + 1
        )
    })?;
    let local = local_subtask_id(parent, &raw).map_err(|_| {
        format!("task {parent}: subtask id {raw:?} is not a number within the task")
    })?;
    let who = format!("subtask {parent}.{local}");
    let mut status = status(o.get("status"), &who)?;
    if status == TaskStatus::Blocked && failed.contains(&local) {
        status = TaskStatus::Failed;
    }
    let extra: Map<String, Value> = o
        .iter()
        .filter(|(k, _)| !is_subtask_field(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !extra.is_empty() {
        kept.insert(local.clone(), Value::Object(extra));
    }
    Ok(SubtaskSpec {
        title: text(o.get("title"), &who, "title")?,
        description: text(o.get("description"), &who, "description")?,
        details: text(o.get("details"), &who, "details")?,
        test_strategy: text(o.get("testStrategy"), &who, "testStrategy")?,
        dependencies: id_list(o.get("dependencies"), &who, "dependencies")?,
        status,
        id: local,
    })
}

/// The names of the kept TaskMaster fields (for the size refusal).
fn kept_names(meta: &Map<String, Value>) -> Vec<String> {
    meta.get(KEPT_KEY)
        .and_then(|k| k.get("fields"))
        .and_then(Value::as_object)
        .map(|f| f.keys().cloned().collect())
        .unwrap_or_default()
}

/// A task or subtask id: a whole number or non-empty text.
fn id_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Number(n) => n.as_u64().map(|n| n.to_string()),
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    }
}

fn text(v: Option<&Value>, who: &str, field: &str) -> Result<String, String> {
    match v {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(format!(
            "{who}: field {field} is {}; it must be text",
            kind(other)
        )),
    }
}

fn id_list(v: Option<&Value>, who: &str, field: &str) -> Result<Vec<String>, String> {
    list(
        v,
        who,
        field,
        "ids (numbers like 3 or text like \"3\")",
        id_of,
    )
}

fn string_list(v: Option<&Value>, who: &str, field: &str) -> Result<Vec<String>, String> {
    list(v, who, field, "text", |v| {
        v.and_then(Value::as_str).map(str::to_string)
    })
}

fn list(
    v: Option<&Value>,
    who: &str,
    field: &str,
    what: &str,
    item: fn(Option<&Value>) -> Option<String>,
) -> Result<Vec<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                item(Some(i)).ok_or_else(|| {
                    format!(
                        "{who}: field {field} holds {}; it must be a list of {what}",
                        truncate(&i.to_string(), 40)
                    )
                })
            })
            .collect(),
        Some(other) => Err(format!(
            "{who}: field {field} is {}; it must be a list of {what}",
            kind(other)
        )),
    }
}

fn status(v: Option<&Value>, who: &str) -> Result<TaskStatus, String> {
    match v {
        None | Some(Value::Null) => Ok(TaskStatus::Pending),
        Some(Value::String(s)) => {
            TaskStatus::parse(s).map_err(|e| format!("{who}: field status: {e}"))
        }
        Some(other) => Err(format!(
            "{who}: field status is {}; use one of {}",
            kind(other),
            TaskStatus::NAMES
        )),
    }
}

/// Our priority and, when given, the name the file used (`critical` is our `high`).
fn priority<'a>(v: Option<&'a Value>, who: &str) -> Result<(Priority, Option<&'a str>), String> {
    let name = match v {
        None | Some(Value::Null) => return Ok((Priority::Medium, None)),
        Some(Value::String(s)) => s.as_str(),
        Some(other) => {
            return Err(format!(
                "{who}: field priority is {}; use high, medium or low",
                kind(other)
            ));
        }
    };
    let p = match name.trim().to_ascii_lowercase().as_str() {
        "high" | CRITICAL => Priority::High,
        "medium" | "" => Priority::Medium,
        "low" => Priority::Low,
        _ => {
            return Err(format!(
                "{who}: field priority {:?} is not known; use high, medium or low \
                 (TaskMaster's critical reads as high)",
                truncate(name, 40)
            ));
        }
    };
    Ok((p, Some(name)))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn key_list<'a>(keys: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<&str> = keys.map(String::as_str).take(12).collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}
