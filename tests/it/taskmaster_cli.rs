//! Issue 17, TaskMaster interop from the terminal: `mcp-coord tasks import FILE` /
//! `tasks export -o FILE` as the real binary, and against the real `task-master` CLI
//! (task-master-ai from npm, installed by scripts/test.sh into
//! ~/.cache/mcp-coord-test/task-master): tasks it writes without an AI key are imported, and
//! what we export it lists, shows and edits; its edit imports back.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::hooks::BIN;
use crate::support::client::{Client, call, try_connect_as};
use crate::support::daemon::TestDaemon;
use crate::taskmaster::fixture;

fn fixture_path(name: &str) -> String {
    format!(
        "{}/tests/fixtures/taskmaster/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn cli(base: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--url")
        .arg(base)
        .args(["--session", "cli-planner", "tasks"])
        .args(args)
        .env_remove("COORD_SESSION")
        .env_remove("MCP_COORD_URL")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A fresh directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mcp-coord-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn reader(d: &TestDaemon) -> Client {
    let c = try_connect_as(&d.base, "master_project_reader")
        .await
        .unwrap();
    call(&c, "whoami", json!({})).await.ok();
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_import_and_export_from_the_terminal() {
    let d = TestDaemon::embedded(|_| {}).await;
    let dir = scratch("tm-cli");
    let out = cli(
        &d.base,
        &["import", &fixture_path("legacy.json"), "--project", "web"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("imported 4 tasks from"), "{said}");
    assert!(said.contains("(tag master) into project web"), "{said}");
    assert!(said.contains("ready now: 2"), "{said}");
    let r = reader(&d).await;
    let board = call(&r, "list_tasks", json!({ "project": "web" })).await;
    assert_eq!(board.ok()["total"], 4);

    // Export into a copy of a tagged file: its tags stay, ours is added.
    let file = dir.join("tasks.json");
    std::fs::copy(fixture_path("tagged.json"), &file).unwrap();
    let f = file.to_str().unwrap();
    let out = cli(
        &d.base,
        &["export", "--project", "web", "--tag", "web", "-o", f],
    );
    assert!(out.status.success(), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("exported 4 tasks of project web"), "{said}");
    assert!(
        said.contains("other tags kept: master, feature-x"),
        "{said}"
    );
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(written["master"], fixture("tagged.json")["master"]);
    assert_eq!(written["web"]["tasks"][0]["priority"], "critical");

    // … and that tag imports back as the same plan.
    let out = cli(&d.base, &["import", f, "--tag", "web", "--project", "web2"]);
    assert!(out.status.success(), "{}", text(&out));
    let one = call(&r, "list_tasks", json!({ "project": "web" })).await;
    let two = call(&r, "list_tasks", json!({ "project": "web2" })).await;
    for (a, b) in one.ok()["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .zip(two.ok()["tasks"].as_array().unwrap())
    {
        for field in [
            "id",
            "title",
            "details",
            "testStrategy",
            "priority",
            "status",
        ] {
            assert_eq!(a[field], b[field], "{field} of task {}", a["id"]);
        }
        assert_eq!(a["subtasks"], b["subtasks"]);
        assert_eq!(a["metadata"], b["metadata"]);
    }
    // Without -o the file goes to stdout.
    let out = cli(&d.base, &["export", "--project", "web2"]);
    let printed: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(printed["master"]["tasks"].as_array().map(Vec::len), Some(4));

    // Refusals: what was wrong, exit 1, nothing created.
    let out = cli(
        &d.base,
        &[
            "import",
            &fixture_path("bad-cycle.json"),
            "--project",
            "api",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("cycle: 1 → 3 → 2 → 1"),
        "{}",
        text(&out)
    );
    let not_json = dir.join("broken.json");
    std::fs::write(&not_json, "{\"tasks\": [").unwrap();
    let out = cli(
        &d.base,
        &["import", not_json.to_str().unwrap(), "--project", "api"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("is not JSON (line 1"), "{}", text(&out));
    let out = cli(&d.base, &["import", &fixture_path("legacy.json")]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("--project P"), "{}", text(&out));
    let out = cli(
        &d.base,
        &["import", "/nonexistent/tasks.json", "--project", "api"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let board = call(&r, "list_tasks", json!({ "project": "api" })).await;
    assert_eq!(board.ok()["total"], 0, "nothing was created");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The `task-master` CLI: `MCP_COORD_TASKMASTER`, else the test cache scripts/test.sh fills.
fn task_master() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MCP_COORD_TASKMASTER") {
        return Some(PathBuf::from(p));
    }
    let home = std::env::var_os("HOME")?;
    let p =
        Path::new(&home).join(".cache/mcp-coord-test/task-master/node_modules/.bin/task-master");
    p.exists().then_some(p)
}

/// Runs `task-master ARGS` in `dir` (no AI key: only its manual commands); must succeed.
fn tm(bin: &Path, dir: &Path, args: &[&str]) -> String {
    let out = Command::new(bin)
        .args(args)
        .current_dir(dir)
        .env("TASKMASTER_SKIP_AUTO_UPDATE", "1")
        .env("CI", "true")
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("OPENAI_API_KEY")
        .output()
        .unwrap();
    assert!(out.status.success(), "task-master {args:?}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn tm_json(bin: &Path, dir: &Path, args: &[&str]) -> Value {
    let out = tm(bin, dir, args);
    let start = out.find('{').unwrap_or(0);
    serde_json::from_str(&out[start..])
        .unwrap_or_else(|e| panic!("task-master {args:?}: {e}: {out}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_task_master_plans_we_import_and_reads_what_we_export() {
    let Some(bin) = task_master() else {
        println!(
            "SKIPPED real task-master interop: task-master-ai is not installed (scripts/test.sh \
             installs it into ~/.cache/mcp-coord-test/task-master; or set MCP_COORD_TASKMASTER)"
        );
        return;
    };
    let dir = scratch("tm-real");
    let tasks_dir = dir.join(".taskmaster/tasks");
    std::fs::create_dir_all(&tasks_dir).unwrap();
    let file = tasks_dir.join("tasks.json");
    std::fs::write(&file, r#"{"master": {"tasks": []}}"#).unwrap();
    // A plan written by task-master itself, manual mode (no AI key).
    tm(
        &bin,
        &dir,
        &[
            "add-task",
            "--title",
            "Schema",
            "--description",
            "tables",
            "--details",
            "use sqlx",
            "--priority",
            "high",
        ],
    );
    tm(
        &bin,
        &dir,
        &[
            "add-task",
            "--title",
            "Login API",
            "--description",
            "endpoints",
            "--dependencies",
            "1",
        ],
    );
    tm(
        &bin,
        &dir,
        &[
            "add-task",
            "--title",
            "Docs",
            "--description",
            "write docs",
            "--priority",
            "low",
        ],
    );
    tm(
        &bin,
        &dir,
        &["add-dependency", "--id", "3", "--depends-on", "2"],
    );
    tm(
        &bin,
        &dir,
        &[
            "add-subtask",
            "--parent",
            "2",
            "--title",
            "handler",
            "--description",
            "the handler",
        ],
    );
    tm(
        &bin,
        &dir,
        &[
            "add-subtask",
            "--parent",
            "2",
            "--title",
            "tests",
            "--description",
            "its tests",
            "--dependencies",
            "2.1",
        ],
    );
    tm(&bin, &dir, &["set-status", "--id", "1", "--status", "done"]);

    let d = TestDaemon::embedded(|_| {}).await;
    let f = file.to_str().unwrap();
    let out = cli(&d.base, &["import", f, "--project", "web"]);
    assert!(out.status.success(), "{}", text(&out));
    let r = reader(&d).await;
    let two = call(&r, "get_task", json!({ "task_id": 2, "project": "web" })).await;
    let two = two.ok().clone();
    assert_eq!(two["title"], "Login API");
    assert_eq!(two["dependencies"], json!(["1"]));
    assert_eq!(two["ready"], true, "1 is done");
    assert_eq!(two["subtasks"][1]["dependencies"], json!(["2.1"]));
    let three = call(&r, "get_task", json!({ "task_id": 3, "project": "web" })).await;
    assert_eq!(three.ok()["dependencies"], json!(["2"]));

    // A child claims 2 and fails subtask 2.1's sibling work; the export goes back into
    // task-master's own file.
    let child = try_connect_as(&d.base, "child_web_task_a").await.unwrap();
    call(&child, "whoami", json!({})).await.ok();
    let got = call(&child, "next_task", json!({})).await;
    assert_eq!(got.ok()["task"]["id"], "2");
    call(
        &child,
        "update_task",
        json!({ "task_id": "2.1", "status": "done" }),
    )
    .await
    .ok();
    call(
        &child,
        "update_task",
        json!({ "task_id": 2, "progress": 60, "note": "handler in" }),
    )
    .await
    .ok();
    let out = cli(&d.base, &["export", "--project", "web", "-o", f]);
    assert!(out.status.success(), "{}", text(&out));

    // task-master reads it: list and show.
    let listed = tm_json(&bin, &dir, &["list", "--json", "--with-subtasks"]);
    let tasks = listed["tasks"].as_array().expect("task-master lists tasks");
    assert_eq!(tasks.len(), 3, "{listed}");
    let by_id = |id: &str| {
        tasks
            .iter()
            .find(|t| t["id"].to_string().trim_matches('"') == id)
            .unwrap()
    };
    assert_eq!(by_id("1")["status"], "done");
    assert_eq!(by_id("2")["status"], "in-progress");
    assert_eq!(by_id("2")["title"], "Login API");
    assert_eq!(by_id("3")["status"], "pending");
    let shown = tm_json(&bin, &dir, &["show", "2", "--json"]);
    let task = if shown.get("task").is_some() {
        &shown["task"]
    } else {
        &shown
    };
    assert_eq!(task["title"], "Login API", "{shown}");
    assert_eq!(task["subtasks"][0]["status"], "done", "{shown}");
    assert_eq!(task["subtasks"][1]["title"], "tests", "{shown}");
    assert_eq!(task["assignee"], "child_web_task_a", "{shown}");
    assert_eq!(task["metadata"]["mcp_coord"]["progress"], 60, "{shown}");

    // task-master edits our export; what it wrote imports back.
    tm(
        &bin,
        &dir,
        &["set-status", "--id", "3", "--status", "deferred"],
    );
    let out = cli(&d.base, &["import", f, "--project", "web2"]);
    assert!(out.status.success(), "{}", text(&out));
    let three = call(&r, "get_task", json!({ "task_id": 3, "project": "web2" })).await;
    assert_eq!(three.ok()["status"], "deferred");
    let two = call(&r, "get_task", json!({ "task_id": 2, "project": "web2" })).await;
    assert_eq!(two.ok()["subtasks"][0]["status"], "done");
    assert_eq!(two.ok()["status"], "in-progress");
    let _ = std::fs::remove_dir_all(&dir);
}
