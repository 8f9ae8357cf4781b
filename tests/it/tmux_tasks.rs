//! Issue 17: `create_session(project, task=…)` links a child to its board task — claimed for
//! the child before anything starts (refused, with nothing spawned, when the task is not
//! ready or someone has it), its text the child's first inbox message, and handed back
//! without a trace when the spawn fails. A real tmux server on a private socket.

use std::os::unix::fs::PermissionsExt;

use serde_json::{Value, json};

use crate::support::client::{Client, call};
use crate::support::tmux::TmuxSocket;
use crate::tmux::{as_child, as_session, daemon};

fn plan() -> Value {
    json!([
        {"id": 1, "title": "Schema", "priority": "high", "description": "users table",
         "details": "columns id, email", "testStrategy": "migrate twice",
         "subtasks": [{"id": 1, "title": "migration"}]},
        {"id": 2, "title": "Login", "dependencies": [1]},
        {"id": 3, "title": "Docs"}
    ])
}

async fn task(master: &Client, id: &str) -> Value {
    call(master, "get_task", json!({ "task_id": id }))
        .await
        .ok()
        .clone()
}

#[tokio::test]
async fn a_child_spawned_for_a_task_gets_it_and_its_text() {
    let socket = TmuxSocket::new();
    let mut d = daemon(&socket, |_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let master = as_session(&d, "master_project_web").await;
    call(&master, "create_tasks", json!({ "tasks": plan() }))
        .await
        .ok();
    let spawn = |task: Value, extra: Value| {
        let mut args = json!({ "project": "web", "task": task, "working_dir": dir.path(),
                               "command": ["sh", "-c", "sleep 30"] });
        args.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        args
    };

    // Not ready: refused before anything starts, the board unchanged.
    let refused = call(&master, "create_session", spawn(json!(2), json!({}))).await;
    assert_eq!(refused.err()["error"], "conflict", "{}", refused.text);
    assert!(
        refused
            .text
            .contains("task 2 of project web is not ready: it waits on 1 (pending)"),
        "{}",
        refused.text
    );
    assert!(
        refused.text.contains("nothing was spawned"),
        "{}",
        refused.text
    );
    assert!(socket.sessions().is_empty());
    assert!(task(&master, "2").await.get("assignee").is_none());

    // Ready: the child has it, in progress, and its first message is the task.
    let created = call(&master, "create_session", spawn(json!(1), json!({}))).await;
    let c = created.ok();
    assert_eq!(c["session"], "child_web_task_1");
    assert_eq!(c["assigned_task"]["id"], "1", "{c}");
    assert_eq!(c["assigned_task"]["status"], "in-progress");
    assert_eq!(c["assigned_task"]["assignee"], "child_web_task_1");
    let t1 = task(&master, "1").await;
    assert_eq!(t1["assignee"], "child_web_task_1");
    assert_eq!(t1["status"], "in-progress");
    let child = as_child(&d, &socket, "child_web_task_1").await;
    let inbox = call(&child, "get_session_messages", json!({})).await;
    let messages = inbox.ok()["messages"].as_array().unwrap().clone();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let first = &messages[0];
    assert_eq!(first["from"], "master_project_web");
    assert_eq!(first["kind"], "task");
    let body = first["body"].as_str().unwrap();
    for part in [
        "Your task: 1 — Schema (project web",
        "Description:\nusers table",
        "Details:\ncolumns id, email",
        "Test strategy:\nmigrate twice",
        "- 1.1 migration (pending)",
        "update_task(task_id=\"1\", status=\"done\")",
    ] {
        assert!(body.contains(part), "{part:?} missing in {body}");
    }
    // The child reports as the assignee; done makes 2 ready.
    let done = call(
        &child,
        "update_task",
        json!({ "task_id": 1, "status": "done" }),
    )
    .await;
    assert_eq!(done.ok()["unblocked"], json!(["2"]));

    // Someone has it: refused, naming who.
    call(
        &master,
        "update_task",
        json!({ "task_id": 3, "status": "in-progress" }),
    )
    .await
    .ok();
    let taken = call(&master, "create_session", spawn(json!(3), json!({}))).await;
    assert_eq!(taken.err()["error"], "conflict");
    assert!(
        taken
            .text
            .contains("task 3 of project web is in-progress, assigned to master_project_web"),
        "{}",
        taken.text
    );
    assert_eq!(socket.sessions(), vec!["child_web_task_1"]);

    // claim_task=true wants a board task; false leaves the board alone.
    let none = call(
        &master,
        "create_session",
        spawn(json!("review"), json!({ "claim_task": true })),
    )
    .await;
    assert_eq!(none.err()["error"], "not_found");
    assert!(
        none.text
            .contains("project web has no task review on its board"),
        "{}",
        none.text
    );
    let free = call(
        &master,
        "create_session",
        spawn(json!(2), json!({ "claim_task": false })),
    )
    .await;
    assert!(free.ok().get("assigned_task").is_none());
    assert!(task(&master, "2").await.get("assignee").is_none());
    // Without a board task of that name, create_session spawns as before.
    let plain = call(&master, "create_session", spawn(json!("review"), json!({}))).await;
    assert!(plain.ok().get("assigned_task").is_none());
    d.stop().await;
}

#[tokio::test]
async fn a_failed_spawn_hands_the_task_back_without_a_trace() {
    let socket = TmuxSocket::new();
    // A tmux that answers everything but refuses to start sessions.
    let bin = tempfile::tempdir().unwrap();
    let wrapper = bin.path().join("tmux");
    std::fs::write(
        &wrapper,
        "#!/bin/sh\nfor a in \"$@\"; do [ \"$a\" = new-session ] && { echo 'no room' >&2; exit 1; }; done\nexec tmux \"$@\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = wrapper.to_str().unwrap().to_string();
    let mut d = daemon(&socket, move |s| s.tmux.binary = path).await;
    let dir = tempfile::tempdir().unwrap();
    let master = as_session(&d, "master_project_web").await;
    call(&master, "create_tasks", json!({ "tasks": plan() }))
        .await
        .ok();
    let before = task(&master, "1").await;
    let failed = call(
        &master,
        "create_session",
        json!({ "project": "web", "task": 1, "working_dir": dir.path(), "command": "sleep 30" }),
    )
    .await;
    assert!(failed.is_error, "{}", failed.text);
    assert!(failed.text.contains("no room"), "{}", failed.text);
    let after = task(&master, "1").await;
    assert_eq!(after["status"], "pending", "{after}");
    assert!(after.get("assignee").is_none(), "{after}");
    assert_eq!(after["notes"], before["notes"], "no hand-back note");
    assert_eq!(after["ready"], true);
    // The child's registration is ended, and the master got no "pending again" message.
    let child = call(&master, "get_child_sessions", json!({})).await;
    let live: Vec<Value> = child.ok()["children"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        live.iter()
            .all(|c| c["name"] != "child_web_task_1" || c["status"] == "ended"),
        "{live:?}"
    );
    let inbox = call(&master, "get_session_messages", json!({})).await;
    assert_eq!(inbox.ok()["messages"], json!([]), "{}", inbox.text);
    d.stop().await;
}
