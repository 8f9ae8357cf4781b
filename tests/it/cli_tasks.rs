//! Issue 17: `mcp-coord tasks` (the board in the terminal) against a running daemon, as the
//! real binary: counts, who works on what and for how long, ready, blocked by what, failed;
//! `--json` is the `list_tasks` answer; no project is a clear refusal.

use serde_json::{Value, json};

use crate::hooks::BIN;
use crate::support::client::{call, try_connect_as};
use crate::support::daemon::TestDaemon;

fn tasks_cli(base: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(BIN)
        .arg("--url")
        .arg(base)
        .args(["--session", "cli-board-reader", "tasks"])
        .args(args)
        .env_remove("COORD_SESSION")
        .env_remove("MCP_COORD_URL")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_board_shows_counts_work_ready_blocked_and_failed() {
    let mut d = TestDaemon::embedded(|_| {}).await;
    let master = try_connect_as(&d.base, "master_project_web").await.unwrap();
    call(&master, "whoami", json!({})).await.ok();
    call(
        &master,
        "create_tasks",
        json!({ "tasks": [
            {"id": 1, "title": "Schema", "priority": "high"},
            {"id": 2, "title": "Login", "dependencies": [1]},
            {"id": 3, "title": "Docs", "priority": "low", "role": "writer"},
            {"id": 4, "title": "Flaky probe"},
        ]}),
    )
    .await
    .ok();
    let child = try_connect_as(&d.base, "child_web_task_a").await.unwrap();
    call(&child, "whoami", json!({})).await.ok();
    let got = call(&child, "next_task", json!({})).await.ok().clone();
    assert_eq!(got["task"]["id"], "1");
    call(
        &child,
        "update_task",
        json!({ "task_id": 1, "progress": 40, "note": "tables made" }),
    )
    .await
    .ok();
    let other = try_connect_as(&d.base, "child_web_task_b").await.unwrap();
    call(&other, "whoami", json!({})).await.ok();
    let got = call(&other, "next_task", json!({})).await.ok().clone();
    assert_eq!(got["task"]["id"], "4");
    call(
        &other,
        "update_task",
        json!({ "task_id": 4, "status": "failed", "note": "probe host down" }),
    )
    .await
    .ok();

    let out = tasks_cli(&d.base, &["--project", "web"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("Tasks of project web — 4 tasks"), "{text}");
    assert!(
        text.contains("2 pending · 1 in-progress · 1 failed"),
        "{text}"
    );
    let working = text
        .lines()
        .find(|l| l.contains("\"Schema\""))
        .unwrap_or_default();
    assert!(working.contains("child_web_task_a"), "{text}");
    assert!(working.contains("in-progress  for "), "{text}");
    assert!(working.contains("40%"), "{text}");
    assert!(
        text.contains("Working (1)"),
        "a failed task is nobody's work: {text}"
    );
    assert!(text.contains("Ready (1)"), "{text}");
    assert!(text.contains("3 \"Docs\"  low  role writer"), "{text}");
    assert!(
        text.contains("2 \"Login\"  waits on 1 (in-progress)"),
        "{text}"
    );
    assert!(
        text.contains("4 \"Flaky probe\"  \"probe host down\" — child_web_task_b"),
        "{text}"
    );

    // `tasks board --json` is the list_tasks answer.
    let out = tasks_cli(&d.base, &["board", "--project", "web", "--json"]);
    assert!(out.status.success());
    let board: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(board["project"], "web");
    assert_eq!(board["total"], 4);
    assert_eq!(board["ready"], json!(["3"]));
    assert_eq!(board["counts"]["failed"], 1);

    // The CLI session belongs to no project: refused, saying what to pass.
    let out = tasks_cli(&d.base, &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("belong to no project"), "{err}");
    assert!(err.contains("project="), "{err}");

    // A task put aside with nobody on it (deferred by the master) does not hide in the
    // counts: the board lists it as parked, saying how to make it claimable.
    call(
        &master,
        "update_task",
        json!({ "task_id": 3, "status": "deferred" }),
    )
    .await
    .ok();
    let out = tasks_cli(&d.base, &["--project", "web"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Parked, nobody on them (1)"), "{text}");
    assert!(
        text.contains("3 \"Docs\"  deferred  update_task(status=\"pending\")"),
        "{text}"
    );

    // An empty project says how tasks get there.
    let out = tasks_cli(&d.base, &["--project", "api"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("no tasks in project api"));
    d.stop().await;
}
