//! Checking a batch of tasks before any store sees it: ids, sizes, references within the
//! batch, and cycles (named, like `1 → 3 → 2 → 1`). What needs the stored project — ids
//! already taken, dependencies on earlier batches — the store checks in the same atomic
//! step that writes the batch.

use std::collections::{BTreeMap, BTreeSet};

use super::{SubtaskSpec, TaskSpec};
use crate::domain::session::{MAX_METADATA_BYTES, check_id};
use crate::domain::session_name::truncate;

/// Most tasks one `create_tasks` call may create.
pub const MAX_TASKS_PER_CALL: usize = 2000;
/// Most tasks a project may hold.
pub const MAX_TASKS_PER_PROJECT: usize = 10_000;
/// Longest note (`update_task(note=…)`).
pub const MAX_NOTE_LEN: usize = 1024;
/// Notes kept per task (older ones fall off).
pub const NOTES_KEPT: usize = 20;

const MAX_ID_LEN: usize = 64;
const MAX_TITLE: usize = 200;
const MAX_DESCRIPTION: usize = 4000;
const MAX_DETAILS: usize = 32_000;
const MAX_TEST_STRATEGY: usize = 8000;
const MAX_DEPENDENCIES: usize = 200;
const MAX_SUBTASKS: usize = 100;
const MAX_LABELS: usize = 16;

pub fn check_project(project: &str) -> Result<(), String> {
    check_id("project", project)
}

/// A task id: letters, digits, '_' and '-' (no '.', which separates a subtask).
pub(super) fn check_task_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "task id {:?} is not allowed; use 1-{MAX_ID_LEN} letters, digits, '_' or '-' \
             (TaskMaster's numbers are fine; \"1.2\" names subtask 2 of task 1)",
            truncate(id, 40)
        ))
    }
}

/// A subtask id: a number.
pub(super) fn check_subtask_id(id: &str) -> Result<(), String> {
    if !id.is_empty() && id.len() <= 9 && id.chars().all(|c| c.is_ascii_digit()) {
        Ok(())
    } else {
        Err(format!(
            "subtask id {:?} is not allowed; subtasks are numbered 1, 2, … within their task",
            truncate(id, 40)
        ))
    }
}

fn bounded(field: &str, id: &str, value: &str, max: usize) -> Result<(), String> {
    let n = value.chars().count();
    if n > max {
        return Err(format!(
            "task {id}: {field} is {n} characters long; the limit is {max}"
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
    {
        return Err(format!(
            "task {id}: {field} contains control characters; send plain text"
        ));
    }
    Ok(())
}

pub fn check_note(note: &str) -> Result<(), String> {
    let n = note.chars().count();
    if n > MAX_NOTE_LEN {
        return Err(format!(
            "the note is {n} characters long; the limit is {MAX_NOTE_LEN}"
        ));
    }
    Ok(())
}

/// Checks a batch and normalizes it in place (subtask ids "1.2" → "2", subtask dependencies
/// to sibling numbers, trimmed role). Returns the first problem found, worded for a model.
pub fn validate_batch(tasks: &mut [TaskSpec]) -> Result<(), String> {
    if tasks.is_empty() {
        return Err("no tasks given; pass tasks=[{id, title, …}, …]".into());
    }
    if tasks.len() > MAX_TASKS_PER_CALL {
        return Err(format!(
            "{} tasks in one call; the limit is {MAX_TASKS_PER_CALL}: split the plan into batches",
            tasks.len()
        ));
    }
    let mut ids = BTreeSet::new();
    for t in tasks.iter_mut() {
        check_task_id(&t.id)?;
        if !ids.insert(t.id.clone()) {
            return Err(format!(
                "task id {} appears twice in this batch; ids are unique per project",
                t.id
            ));
        }
        check_one(t)?;
    }
    for t in tasks.iter() {
        for d in &t.dependencies {
            if d == &t.id {
                return Err(format!(
                    "task {} depends on itself; remove {} from its dependencies",
                    t.id, t.id
                ));
            }
            if d.contains('.') {
                return Err(format!(
                    "task {} depends on subtask {d}; a task depends on whole tasks (\"{}\")",
                    t.id,
                    d.split('.').next().unwrap_or(d)
                ));
            }
            check_task_id(d).map_err(|e| format!("task {}: dependency {e}", t.id))?;
        }
    }
    let graph: BTreeMap<&str, Vec<&str>> = tasks
        .iter()
        .map(|t| {
            let deps = t
                .dependencies
                .iter()
                .map(String::as_str)
                .filter(|d| ids.contains(*d))
                .collect();
            (t.id.as_str(), deps)
        })
        .collect();
    if let Some(cycle) = find_cycle(&graph) {
        return Err(format!(
            "the dependencies form a cycle: {}; no task in it could ever start. Remove one of \
             these dependencies",
            cycle.join(" → ")
        ));
    }
    Ok(())
}

fn check_one(t: &mut TaskSpec) -> Result<(), String> {
    let id = t.id.clone();
    t.title = t.title.trim().to_string();
    if t.title.is_empty() {
        return Err(format!(
            "task {id} has no title; give it one line saying what to do"
        ));
    }
    bounded("title", &id, &t.title, MAX_TITLE)?;
    bounded("description", &id, &t.description, MAX_DESCRIPTION)?;
    bounded("details", &id, &t.details, MAX_DETAILS)?;
    bounded("testStrategy", &id, &t.test_strategy, MAX_TEST_STRATEGY)?;
    if t.dependencies.len() > MAX_DEPENDENCIES {
        return Err(format!(
            "task {id} has {} dependencies; the limit is {MAX_DEPENDENCIES}",
            t.dependencies.len()
        ));
    }
    t.dependencies.sort();
    t.dependencies.dedup();
    if let Some(role) = &t.role {
        let role = role.trim().to_string();
        check_id("role", &role).map_err(|e| format!("task {id}: {e}"))?;
        t.role = Some(role);
    }
    if t.labels.len() > MAX_LABELS {
        return Err(format!(
            "task {id} has {} labels; the limit is {MAX_LABELS}",
            t.labels.len()
        ));
    }
    for l in &t.labels {
        if l.is_empty() || l.chars().count() > MAX_ID_LEN {
            return Err(format!(
                "task {id}: label {:?} must be 1-{MAX_ID_LEN} characters",
                truncate(l, 40)
            ));
        }
    }
    let meta = serde_json::to_string(&t.metadata).unwrap_or_default().len();
    if meta > MAX_METADATA_BYTES {
        return Err(format!(
            "task {id}: metadata is {meta} bytes; the limit is {MAX_METADATA_BYTES}"
        ));
    }
    check_subtasks(&id, &mut t.subtasks)
}

/// A subtask id or sibling reference of task `parent` as its number within the task:
/// `"2"`, `2` and `"<parent>.2"` are all `"2"`; a subtask of another task is refused.
pub(super) fn local_subtask_id(parent: &str, raw: &str) -> Result<String, String> {
    let local = match raw.split_once('.') {
        Some((p, s)) if p == parent => s,
        Some(_) => {
            return Err(format!(
                "subtask of task {parent} depends on {raw}; subtasks depend only on \
                 subtasks of the same task (numbers, or \"{parent}.<n>\")"
            ));
        }
        None => raw,
    };
    check_subtask_id(local)
        .map(|_| local.trim_start_matches('0').to_string())
        .map(|s| if s.is_empty() { "0".into() } else { s })
}

fn check_subtasks(parent: &str, subs: &mut [SubtaskSpec]) -> Result<(), String> {
    if subs.len() > MAX_SUBTASKS {
        return Err(format!(
            "task {parent} has {} subtasks; the limit is {MAX_SUBTASKS}",
            subs.len()
        ));
    }
    let sibling = |raw: &str| local_subtask_id(parent, raw);
    let mut ids = BTreeSet::new();
    for s in subs.iter_mut() {
        s.id = sibling(&s.id).map_err(|e| format!("task {parent}: {e}"))?;
        let sid = format!("{parent}.{}", s.id);
        if !ids.insert(s.id.clone()) {
            return Err(format!("subtask {sid} appears twice in task {parent}"));
        }
        s.title = s.title.trim().to_string();
        if s.title.is_empty() {
            return Err(format!("subtask {sid} has no title"));
        }
        bounded("title", &sid, &s.title, MAX_TITLE)?;
        bounded("description", &sid, &s.description, MAX_DESCRIPTION)?;
        bounded("details", &sid, &s.details, MAX_DETAILS)?;
        bounded("testStrategy", &sid, &s.test_strategy, MAX_TEST_STRATEGY)?;
        let deps: Result<Vec<String>, String> = s.dependencies.iter().map(|d| sibling(d)).collect();
        s.dependencies = deps.map_err(|e| format!("subtask {sid}: {e}"))?;
        s.dependencies.sort();
        s.dependencies.dedup();
    }
    for s in subs.iter() {
        for d in &s.dependencies {
            if d == &s.id {
                return Err(format!("subtask {parent}.{d} depends on itself"));
            }
            if !ids.contains(d) {
                return Err(format!(
                    "subtask {parent}.{} depends on {parent}.{d}, which task {parent} does not have",
                    s.id
                ));
            }
        }
    }
    let graph: BTreeMap<&str, Vec<&str>> = subs
        .iter()
        .map(|s| {
            (
                s.id.as_str(),
                s.dependencies.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    if let Some(cycle) = find_cycle(&graph) {
        let named: Vec<String> = cycle.iter().map(|c| format!("{parent}.{c}")).collect();
        return Err(format!(
            "the subtasks of task {parent} depend on each other in a cycle: {}",
            named.join(" → ")
        ));
    }
    Ok(())
}

/// A cycle in `graph` (node → what it depends on), as the path `a, b, …, a`; `None` if the
/// graph is acyclic. Iterative, so a 2,000-task chain does not overflow the stack.
pub fn find_cycle<'a>(graph: &BTreeMap<&'a str, Vec<&'a str>>) -> Option<Vec<&'a str>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Closed,
    }
    let mut mark: BTreeMap<&str, Mark> = BTreeMap::new();
    for &start in graph.keys() {
        if mark.contains_key(start) {
            continue;
        }
        // (node, index of the next edge to follow)
        let mut stack: Vec<(&str, usize)> = vec![(start, 0)];
        mark.insert(start, Mark::Open);
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            let edges = graph.get(node).map(Vec::as_slice).unwrap_or(&[]);
            if *next < edges.len() {
                let dep = edges[*next];
                *next += 1;
                match mark.get(dep) {
                    Some(Mark::Open) => {
                        let from = stack.iter().position(|(n, _)| *n == dep).unwrap_or(0);
                        let mut cycle: Vec<&str> = stack[from..].iter().map(|(n, _)| *n).collect();
                        cycle.push(dep);
                        return Some(cycle);
                    }
                    Some(Mark::Closed) => {}
                    None => {
                        mark.insert(dep, Mark::Open);
                        stack.push((dep, 0));
                    }
                }
            } else {
                mark.insert(node, Mark::Closed);
                stack.pop();
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(id: &str, deps: &[&str]) -> TaskSpec {
        serde_json::from_value(serde_json::json!({
            "id": id, "title": format!("task {id}"), "dependencies": deps
        }))
        .unwrap()
    }

    #[test]
    fn cycles_are_refused_with_the_cycle_named() {
        let mut batch = vec![task("1", &["3"]), task("2", &["1"]), task("3", &["2"])];
        let err = validate_batch(&mut batch).unwrap_err();
        assert!(err.contains("1 → 3 → 2 → 1"), "{err}");
        let mut batch = vec![task("1", &[]), task("2", &["1"]), task("3", &["1", "2"])];
        validate_batch(&mut batch).unwrap();
    }

    #[test]
    fn self_dependency_duplicates_and_bad_ids_are_refused() {
        let err = validate_batch(&mut [task("1", &["1"])]).unwrap_err();
        assert!(err.contains("depends on itself"), "{err}");
        let err = validate_batch(&mut [task("1", &[]), task("1", &[])]).unwrap_err();
        assert!(err.contains("appears twice"), "{err}");
        let err = validate_batch(&mut [task("a.b", &[])]).unwrap_err();
        assert!(err.contains("not allowed"), "{err}");
        let err = validate_batch(&mut [task("2", &["1.1"])]).unwrap_err();
        assert!(err.contains("whole tasks"), "{err}");
    }

    #[test]
    fn numeric_ids_and_subtask_forms_are_normalized() {
        let mut t: TaskSpec = serde_json::from_value(serde_json::json!({
            "id": 7, "title": "t", "dependencies": [1, "2"], "priority": "high",
            "subtasks": [
                {"id": 1, "title": "a"},
                {"id": "7.2", "title": "b", "dependencies": [1]},
                {"id": 3, "title": "c", "dependencies": ["7.2", "1"]}
            ]
        }))
        .unwrap();
        check_one(&mut t).unwrap();
        assert_eq!(t.id, "7");
        assert_eq!(t.dependencies, vec!["1", "2"]);
        let ids: Vec<&str> = t.subtasks.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, vec!["1", "2", "3"]);
        assert_eq!(t.subtasks[2].dependencies, vec!["1", "2"]);
        let mut bad = t.clone();
        bad.subtasks[0].dependencies = vec!["3".into()];
        let err = check_one(&mut bad).unwrap_err();
        assert!(
            err.contains("7.1 → 7.3 → 7.2 → 7.1") || err.contains("cycle"),
            "{err}"
        );
    }

    #[test]
    fn a_long_chain_does_not_overflow() {
        let ids: Vec<String> = (0..5000).map(|i| i.to_string()).collect();
        let mut graph: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for i in 1..ids.len() {
            graph.insert(&ids[i], vec![&ids[i - 1]]);
        }
        assert!(find_cycle(&graph).is_none());
        graph.insert(&ids[0], vec![&ids[4999]]);
        assert_eq!(find_cycle(&graph).unwrap().len(), 5001);
    }

    #[test]
    fn sizes_are_bounded() {
        let mut t = task("1", &[]);
        t.title = "x".repeat(201);
        assert!(
            validate_batch(&mut [t])
                .unwrap_err()
                .contains("limit is 200")
        );
    }
}
