//! The converter on the fixtures in tests/fixtures/taskmaster (`tagged.json` was written by
//! task-master-ai 0.43.1's own CLI): what maps to what, round trips, refusals.

use serde_json::{Value, json};

use super::super::{Priority, TaskRecord, TaskSpec, TaskState, TaskStatus, validate_batch};
use super::{KEPT_KEY, OURS_KEY, export_tasks, import_tasks, into_file};

const LEGACY: &str = include_str!("../../../../tests/fixtures/taskmaster/legacy.json");
const TAGGED: &str = include_str!("../../../../tests/fixtures/taskmaster/tagged.json");

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture is JSON")
}

/// Specs as `create_tasks` stores them (validated, normalized).
fn specs(file: &Value, tag: Option<&str>) -> Vec<TaskSpec> {
    let mut tasks = import_tasks(file, tag).expect("imports").tasks;
    validate_batch(&mut tasks).expect("valid");
    tasks
}

fn records(specs: &[TaskSpec]) -> Vec<TaskRecord> {
    specs
        .iter()
        .enumerate()
        .map(|(i, s)| TaskRecord {
            spec: s.clone(),
            state: TaskState::new(s, i as u64, "b1", "master_project_web", 1_000),
        })
        .collect()
}

fn round_trip(specs: &[TaskSpec], recs: &[TaskRecord]) {
    let file = into_file(
        None,
        "master",
        export_tasks(recs),
        "test",
        "2026-12-02T00:00:00Z",
    )
    .expect("a new file");
    let again = self::specs(&file, None);
    assert_eq!(again, specs, "export then import gives the same tasks");
}

#[test]
fn a_legacy_file_maps_field_by_field_and_keeps_what_we_do_not_model() {
    let got = import_tasks(&parse(LEGACY), None).expect("imports");
    assert!(got.legacy);
    assert_eq!(got.tag, "master");
    let t = &got.tasks;
    assert_eq!(t.len(), 4);
    assert_eq!(t[0].id, "1");
    assert_eq!(t[0].status, TaskStatus::Done);
    assert_eq!(t[0].priority, Priority::High, "critical reads as high");
    assert_eq!(
        t[0].test_strategy,
        "Run the migrations twice: the second run changes nothing"
    );
    let kept = &t[0].metadata[KEPT_KEY]["fields"];
    assert_eq!(kept["complexity"], 4);
    assert_eq!(kept["priority"], "critical");
    assert_eq!(kept["createdAt"], "2025-06-01T10:00:00.000Z");
    assert_eq!(t[1].dependencies, vec!["1"]);
    assert_eq!(t[1].labels, vec!["api"], "TaskMaster's tags are our labels");
    assert_eq!(t[1].subtasks[0].status, TaskStatus::Done);
    assert_eq!(
        t[1].metadata[KEPT_KEY]["subtasks"]["1"]["acceptanceCriteria"],
        "returns 401 on a wrong password"
    );
    assert_eq!(t[2].status, TaskStatus::Deferred);
    assert_eq!(t[2].metadata["owner"], "docs-team");
    assert_eq!(t[3].status, TaskStatus::Review);
    assert_eq!(t[3].details, "", "null details are empty");
    // "2.1" and sibling numbers both name subtasks of task 2.
    let stored = specs(&parse(LEGACY), None);
    assert_eq!(stored[1].subtasks[2].dependencies, vec!["1", "2"]);
    assert_eq!(stored[1].subtasks[1].dependencies, vec!["1"]);
}

#[test]
fn a_tagged_file_reads_master_by_default_and_any_tag_by_name() {
    let file = parse(TAGGED);
    let master = import_tasks(&file, None).expect("master");
    assert!(!master.legacy);
    assert_eq!(master.tags, vec!["master", "feature-x"]);
    assert_eq!(master.tasks.len(), 3);
    assert_eq!(master.tasks[1].dependencies, vec!["1"], "its \"1\" strings");
    assert_eq!(master.tasks[1].subtasks[1].dependencies, vec!["2.1"]);
    assert_eq!(
        master.tasks[1].metadata[KEPT_KEY]["subtasks"]["1"]["parentTaskId"],
        2
    );
    let x = import_tasks(&file, Some("feature-x")).expect("feature-x");
    assert_eq!(x.tag, "feature-x");
    assert_eq!(x.tasks.len(), 1);
    assert_eq!(x.tasks[0].title, "X one");
    let err = import_tasks(&file, Some("nope")).unwrap_err();
    assert!(err.contains("no tag nope"), "{err}");
    assert!(err.contains("master, feature-x"), "{err}");
    let err = import_tasks(&parse(LEGACY), Some("feature-x")).unwrap_err();
    assert!(err.contains("legacy"), "{err}");
}

#[test]
fn export_then_import_round_trips_both_fixtures() {
    for (text, tag) in [(LEGACY, None), (TAGGED, None), (TAGGED, Some("feature-x"))] {
        let s = specs(&parse(text), tag);
        round_trip(&s, &records(&s));
    }
}

#[test]
fn export_writes_taskmaster_fields_and_gives_back_the_kept_ones() {
    let s = specs(&parse(LEGACY), None);
    let tasks = export_tasks(&records(&s));
    assert_eq!(tasks[0]["id"], 1, "numeric ids stay numbers");
    assert_eq!(tasks[0]["priority"], "critical");
    assert_eq!(tasks[0]["complexity"], 4);
    assert_eq!(tasks[0]["createdAt"], "2025-06-01T10:00:00.000Z");
    assert_eq!(tasks[0]["testStrategy"], s[0].test_strategy);
    assert_eq!(tasks[1]["tags"], json!(["api"]));
    assert_eq!(tasks[1]["dependencies"], json!([1]));
    let sub = &tasks[1]["subtasks"];
    assert_eq!(sub[0]["id"], 1);
    assert_eq!(
        sub[0]["acceptanceCriteria"],
        "returns 401 on a wrong password"
    );
    assert_eq!(sub[2]["dependencies"], json!(["2.1", "2.2"]));
    assert_eq!(tasks[2]["metadata"], json!({"owner": "docs-team"}));
    assert!(tasks[0].get("metadata").is_none(), "{}", tasks[0]);
}

#[test]
fn our_state_travels_where_taskmaster_has_room_for_it() {
    let s = specs(
        &json!({"tasks": [
            {"id": 1, "title": "A", "role": "writer", "subtasks": [{"id": 1, "title": "a1"}]},
            {"id": "api-2", "title": "B", "dependencies": [1]}
        ]}),
        None,
    );
    let mut recs = records(&s);
    recs[0].state.status = TaskStatus::Failed;
    recs[0].state.assignee = Some("child_web_task_a".into());
    recs[0].state.progress = Some(40);
    recs[0]
        .state
        .subtasks
        .insert("1".into(), TaskStatus::Failed);
    let tasks = export_tasks(&recs);
    assert_eq!(tasks[0]["status"], "blocked", "TaskMaster has no failed");
    assert_eq!(tasks[0]["subtasks"][0]["status"], "blocked");
    assert_eq!(tasks[0]["assignee"], "child_web_task_a");
    let ours = &tasks[0]["metadata"][OURS_KEY];
    assert_eq!(ours["status"], "failed");
    assert_eq!(ours["role"], "writer");
    assert_eq!(ours["progress"], 40);
    assert_eq!(ours["failed_subtasks"], json!(["1"]));
    assert_eq!(tasks[1]["id"], "api-2", "text ids stay text");
    let file = into_file(None, "master", tasks, "t", "2026-12-02T00:00:00Z").unwrap();
    let back = import_tasks(&file, None).expect("imports");
    assert_eq!(back.tasks[0].status, TaskStatus::Failed);
    assert_eq!(back.tasks[0].subtasks[0].status, TaskStatus::Failed);
    assert_eq!(back.tasks[0].role.as_deref(), Some("writer"));
    assert!(
        back.tasks[0].metadata.is_empty(),
        "progress and notes are state"
    );
    assert_eq!(back.dropped_assignees, vec!["1"]);
}

#[test]
fn into_file_keeps_the_other_tags_and_migrates_a_legacy_file() {
    let tagged = parse(TAGGED);
    let out = into_file(
        Some(&tagged),
        "feature-x",
        vec![json!({"id": 9})],
        "d",
        "NOW",
    )
    .unwrap();
    assert_eq!(out["master"], tagged["master"], "other tags untouched");
    assert_eq!(out["feature-x"]["tasks"], json!([{"id": 9}]));
    assert_eq!(out["feature-x"]["metadata"]["updated"], "NOW");
    assert_eq!(
        out["feature-x"]["metadata"]["created"],
        tagged["feature-x"]["metadata"]["created"]
    );
    let legacy = parse(LEGACY);
    let out = into_file(Some(&legacy), "next", vec![], "d", "NOW").unwrap();
    assert_eq!(out["master"]["tasks"], legacy["tasks"]);
    assert_eq!(out["next"]["tasks"], json!([]));
    let err = into_file(Some(&json!({"name": "x"})), "master", vec![], "d", "NOW").unwrap_err();
    assert!(err.contains("not a TaskMaster tasks.json"), "{err}");
}

#[test]
fn bad_files_are_refused_naming_the_task_and_field() {
    let cases = [
        (json!([1, 2]), "not a JSON object"),
        (json!({"name": "x"}), "neither \"tasks\""),
        (
            json!({"master": {"tasks": {"1": {}}}}),
            "\"tasks\" is an object",
        ),
        (
            json!({"tasks": [{"title": "no id"}]}),
            "task #1 of the list has no usable id",
        ),
        (
            json!({"tasks": [{"id": 1, "title": "A", "status": "wip"}]}),
            "task 1: field status",
        ),
        (
            json!({"tasks": [{"id": 1, "title": "A", "priority": "urgent"}]}),
            "task 1: field priority",
        ),
        (
            json!({"tasks": [{"id": 1, "title": "A", "dependencies": "2"}]}),
            "task 1: field dependencies is text",
        ),
        (
            json!({"tasks": [{"id": 1, "title": "A", "subtasks": [{"id": 1, "title": "s", "status": 3}]}]}),
            "subtask 1.1: field status",
        ),
        (
            json!({"tasks": [{"id": 1, "title": ["A"]}]}),
            "task 1: field title is a list",
        ),
        (
            json!({"tasks": [{"id": 1, "title": "A", "metadata": {"taskmaster": 1}}]}),
            "is where mcp-coord keeps",
        ),
    ];
    for (file, want) in cases {
        let err = import_tasks(&file, None).unwrap_err();
        assert!(err.contains(want), "{file}: {err}");
    }
}
