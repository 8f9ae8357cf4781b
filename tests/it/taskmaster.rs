//! Issue 17, TaskMaster interop over MCP: `import_tasks` loads a TaskMaster tasks.json
//! (tests/fixtures/taskmaster; `tagged.json` was written by task-master-ai's own CLI) as one
//! batch, `export_tasks` writes the board back as one, and a re-import of the export gives
//! the same plan. Bad files are refused with what was wrong, and nothing is created. Both
//! stores.

use serde_json::{Value, json};

use crate::support::client::{Client, call};
use crate::support::daemon::TestDaemon;
use crate::support::redis::RedisServer;

pub fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/taskmaster/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("JSON")
}

async fn master(d: &TestDaemon, name: &str) -> Client {
    let c = crate::support::client::try_connect_as(&d.base, name)
        .await
        .expect("connects");
    call(&c, "whoami", json!({})).await.ok();
    c
}

/// The plan part of every task of `project` (what an import sets), by id.
async fn plans(c: &Client, project: &str) -> Vec<Value> {
    let board = call(c, "list_tasks", json!({ "project": project })).await;
    let mut tasks: Vec<Value> = board.ok()["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| {
            json!({
                "id": t["id"], "title": t["title"], "description": t["description"],
                "details": t["details"], "testStrategy": t["testStrategy"],
                "priority": t["priority"], "dependencies": t["dependencies"],
                "status": t["status"], "subtasks": t["subtasks"], "role": t["role"],
                "labels": t["labels"], "metadata": t["metadata"],
            })
        })
        .collect();
    tasks.sort_by_key(|t| t["id"].as_str().unwrap_or_default().to_string());
    tasks
}

async fn import_export_round_trip(d: &TestDaemon) {
    let m = master(d, "master_project_web").await;
    let made = call(
        &m,
        "import_tasks",
        json!({ "file": fixture("legacy.json") }),
    )
    .await;
    let made = made.ok();
    assert_eq!(made["project"], "web");
    assert_eq!(made["created"], 4);
    assert_eq!(made["tag"], "master");
    assert_eq!(made["legacy"], true);
    // 1 is done, so 2 is ready; 3 is deferred and 4 in review: not claimable.
    assert_eq!(made["ready"], json!(["2"]));
    let board = call(&m, "list_tasks", json!({})).await.ok().clone();
    assert_eq!(board["total"], 4);
    assert_eq!(board["counts"]["done"], 1);
    assert_eq!(board["counts"]["deferred"], 1);
    assert_eq!(board["counts"]["review"], 1);
    let two = call(&m, "get_task", json!({ "task_id": 2 }))
        .await
        .ok()
        .clone();
    assert_eq!(two["title"], "Login endpoint");
    assert_eq!(two["labels"], json!(["api"]));
    assert_eq!(two["subtasks"][2]["id"], "2.3");
    assert_eq!(two["subtasks"][2]["dependencies"], json!(["2.1", "2.2"]));
    assert_eq!(two["subtasks"][0]["status"], "done");

    // A child works on 2; the export carries its status and assignee in TaskMaster's fields.
    let child = master(d, "child_web_task_a").await;
    let got = call(&child, "next_task", json!({})).await.ok().clone();
    assert_eq!(got["task"]["id"], "2");
    let out = call(&m, "export_tasks", json!({})).await.ok().clone();
    assert_eq!(out["exported"], 4);
    let tasks = out["file"]["master"]["tasks"].as_array().expect("tagged");
    assert_eq!(tasks[1]["status"], "in-progress");
    assert_eq!(tasks[1]["assignee"], "child_web_task_a");
    assert_eq!(tasks[0]["priority"], "critical", "given back as written");
    assert_eq!(tasks[0]["complexity"], 4, "kept fields given back");

    // The export, imported into another project, is the same plan.
    let again = call(
        &m,
        "import_tasks",
        json!({ "file": out["file"], "project": "web2" }),
    )
    .await;
    assert_eq!(again.ok()["created"], 4, "{}", again.text);
    let mut first = plans(&m, "web").await;
    let second = plans(&m, "web2").await;
    // (Task 2 is in progress on the first board: the state goes along, the plan is equal.)
    assert_eq!(second[1]["status"], "in-progress");
    first[1]["status"] = json!("in-progress");
    assert_eq!(first, second);

    // export into an existing file keeps its other tags.
    let tagged = fixture("tagged.json");
    let out = call(&m, "export_tasks", json!({ "tag": "web", "into": tagged })).await;
    let file = &out.ok()["file"];
    assert_eq!(file["master"], tagged["master"]);
    assert_eq!(file["feature-x"], tagged["feature-x"]);
    assert_eq!(file["web"]["tasks"].as_array().map(Vec::len), Some(4));
}

#[tokio::test]
async fn taskmaster_files_import_and_export_round_trips_embedded() {
    let d = TestDaemon::embedded(|_| {}).await;
    import_export_round_trip(&d).await;
}

#[tokio::test]
async fn taskmaster_files_import_and_export_round_trips_on_redis() {
    let redis = RedisServer::start();
    let d = TestDaemon::on_redis(&redis, |_| {}).await;
    import_export_round_trip(&d).await;
}

#[tokio::test]
async fn a_tagged_file_imports_the_tag_asked_for() {
    let d = TestDaemon::embedded(|_| {}).await;
    let m = master(&d, "master_project_shop").await;
    let x = call(
        &m,
        "import_tasks",
        json!({ "file": fixture("tagged.json"), "tag": "feature-x" }),
    )
    .await;
    assert_eq!(x.ok()["created"], 1);
    assert_eq!(x.ok()["tags"], json!(["master", "feature-x"]));
    // As text too (a model may send the file's content as a string).
    let text = fixture("tagged.json").to_string();
    let master_tag = call(
        &m,
        "import_tasks",
        json!({ "file": text, "project": "shop2" }),
    )
    .await;
    assert_eq!(master_tag.ok()["created"], 3);
    // Task 2 was in progress in the file: kept so (an export round-trips), and the answer
    // says nobody here works on it — next_task will not hand it out until it is pending.
    assert_eq!(
        master_tag.ok()["in_progress_unassigned"],
        json!(["2"]),
        "{}",
        master_tag.text
    );
    let two = call(&m, "get_task", json!({ "task_id": 2, "project": "shop2" })).await;
    assert_eq!(two.ok()["subtasks"][1]["dependencies"], json!(["2.1"]));
    assert_eq!(two.ok()["status"], "in-progress");
}

#[tokio::test]
async fn bad_taskmaster_files_are_refused_with_the_reason_and_create_nothing() {
    let d = TestDaemon::embedded(|_| {}).await;
    let m = master(&d, "master_project_api").await;
    for (file, tag, want) in [
        ("bad-cycle.json", None, "cycle: 1 → 3 → 2 → 1"),
        ("bad-unknown-dependency.json", None, "task 2 depends on 7"),
        (
            "bad-subtask-dependency.json",
            None,
            "depends on 1.5, which task 1 does not have",
        ),
        ("bad-shape.json", None, "\"tasks\" is an object, not a list"),
        (
            "bad-field.json",
            None,
            "task 2: field status: status \"wip\" is not known",
        ),
        (
            "tagged.json",
            Some("nope"),
            "no tag nope; its tags are master, feature-x",
        ),
    ] {
        let r = call(
            &m,
            "import_tasks",
            json!({ "file": fixture(file), "tag": tag }),
        )
        .await;
        assert_eq!(r.err()["error"], "invalid_argument", "{file}: {}", r.text);
        assert!(r.text.contains(want), "{file}: {}", r.text);
        assert!(r.text.contains("Nothing was created"), "{file}: {}", r.text);
    }
    let board = call(&m, "list_tasks", json!({})).await;
    assert_eq!(board.ok()["total"], 0, "nothing was created");
}
