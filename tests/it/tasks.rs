//! Issue 17 over MCP: a master plans tasks, children claim them (`next_task`), report
//! (`update_task`), and `done` unblocks the next; the board (`list_tasks`, `get_task`);
//! refusals that change nothing. Both stores.

use serde_json::{Value, json};

use crate::support::client::{Client, call};
use crate::support::daemon::TestDaemon;
use crate::support::redis::RedisServer;

/// Connected as `name` with its credential (issue 16: so it can come back after a restart).
async fn as_session(d: &TestDaemon, name: &str) -> Client {
    let c = crate::support::client::try_connect_as(&d.base, name)
        .await
        .expect("connects");
    call(&c, "whoami", json!({})).await.ok();
    c
}

fn plan() -> Value {
    json!([
        {"id": 1, "title": "Set up the schema", "priority": "high",
         "details": "tables users, sessions", "testStrategy": "migrations run twice"},
        {"id": 2, "title": "Login endpoint", "dependencies": [1],
         "subtasks": [{"id": 1, "title": "handler"}, {"id": 2, "title": "tests", "dependencies": [1]}]},
        {"id": 3, "title": "Docs", "priority": "low", "role": "writer"},
        {"id": 4, "title": "Release", "dependencies": [2, 3], "labels": ["ops"], "metadata": {"owner": "lead"}}
    ])
}

async fn master_children_flow(d: &TestDaemon) {
    let master = as_session(d, "master_project_web").await;
    let made = call(&master, "create_tasks", json!({ "tasks": plan() })).await;
    let made = made.ok();
    assert_eq!(made["project"], "web", "the caller's project by default");
    assert_eq!(made["created"], 4);
    assert_eq!(made["ready"], json!(["1", "3"]));
    assert!(made["batch"].as_str().unwrap().starts_with('b'));

    let a = as_session(d, "child_web_task_a").await;
    let b = as_session(d, "child_web_task_b").await;
    let got = call(&a, "next_task", json!({})).await.ok().clone();
    assert_eq!(got["task"]["id"], "1", "high priority first");
    assert_eq!(got["task"]["status"], "in-progress");
    assert_eq!(got["task"]["assignee"], "child_web_task_a");
    assert_eq!(got["task"]["testStrategy"], "migrations run twice");
    let got = call(&b, "next_task", json!({ "role": "tester" }))
        .await
        .ok()
        .clone();
    assert!(got["task"].is_null(), "3 is for writers: {got}");
    assert!(
        got["reason"]
            .as_str()
            .unwrap()
            .contains("other roles (writer)"),
        "{got}"
    );
    let got = call(&b, "next_task", json!({ "role": "writer" }))
        .await
        .ok()
        .clone();
    assert_eq!(got["task"]["id"], "3");
    let none = call(&b, "next_task", json!({})).await.ok().clone();
    assert!(none["task"].is_null());
    let reason = none["reason"].as_str().unwrap();
    assert!(reason.contains("2 waits on 1 (in-progress)"), "{reason}");
    assert_eq!(none["counts"]["in-progress"], 2);

    // b may not report on a's task; a reports progress, then done.
    let err = call(&b, "update_task", json!({ "task_id": 1, "status": "done" })).await;
    assert_eq!(err.err()["error"], "not_owner");
    assert!(
        err.text.contains("assigned to child_web_task_a"),
        "{}",
        err.text
    );
    call(
        &a,
        "update_task",
        json!({ "task_id": "1", "progress": 50, "note": "schema drafted" }),
    )
    .await
    .ok();
    let done = call(&a, "update_task", json!({ "task_id": 1, "status": "done" })).await;
    let done = done.ok();
    assert_eq!(done["previous_status"], "in-progress");
    assert_eq!(done["unblocked"], json!(["2"]));

    let got = call(&a, "next_task", json!({})).await.ok().clone();
    assert_eq!(got["task"]["id"], "2");
    assert_eq!(got["task"]["subtasks"][1]["id"], "2.2");
    assert_eq!(got["task"]["subtasks"][1]["dependencies"], json!(["2.1"]));
    let sub = call(
        &a,
        "update_task",
        json!({ "task_id": "2.1", "status": "done" }),
    )
    .await;
    assert_eq!(sub.ok()["status"], "done");
    assert_eq!(sub.ok()["task"]["subtasks"][0]["status"], "done");
    assert_eq!(sub.ok()["task"]["status"], "in-progress");

    // The board: counts, ready, who has what, what waits on what.
    let board = call(&master, "list_tasks", json!({})).await.ok().clone();
    assert_eq!(board["total"], 4);
    assert_eq!(board["counts"]["done"], 1);
    assert_eq!(board["counts"]["in-progress"], 2);
    let four = board["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "4")
        .unwrap();
    assert_eq!(four["ready"], false);
    assert_eq!(four["waiting_on"].as_array().unwrap().len(), 2);
    // Without detail the board leaves the long texts out (and says so); with it, all.
    assert!(four.get("metadata").is_none(), "{four}");
    assert!(
        board["brief"].as_str().unwrap().contains("get_task"),
        "{board}"
    );
    let full = call(&master, "list_tasks", json!({ "detail": true }))
        .await
        .ok()
        .clone();
    assert!(full.get("brief").is_none(), "{full}");
    let four = full["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "4")
        .unwrap();
    assert_eq!(four["metadata"]["owner"], "lead");
    let mine = call(
        &master,
        "list_tasks",
        json!({ "assignee": "child_web_task_a" }),
    )
    .await;
    let ids: Vec<&str> = mine.ok()["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["1", "2"]);
    let running = call(&master, "list_tasks", json!({ "status": "in-progress" })).await;
    assert!(
        running.ok()["tasks"][0]["running_seconds"]
            .as_f64()
            .is_some()
    );
    let one = call(&master, "get_task", json!({ "task_id": 1 }))
        .await
        .ok()
        .clone();
    assert_eq!(one["notes"][0]["text"], "schema drafted");
    assert_eq!(one["notes"][0]["by"], "child_web_task_a");
    assert_eq!(one["dependents"], json!(["2"]));
    assert_eq!(one["details"], "tables users, sessions");
    let batch = made["batch"].as_str().unwrap();
    let of_batch = call(
        &master,
        "list_tasks",
        json!({ "batch": batch, "ready": false }),
    )
    .await;
    assert_eq!(of_batch.ok()["total"], 4);
}

#[tokio::test]
async fn master_plans_children_claim_report_and_done_unblocks_on_redis() {
    let redis = RedisServer::start();
    let d = TestDaemon::on_redis(&redis, |_| {}).await;
    master_children_flow(&d).await;
    // The keys the README documents for redis-cli.
    let mut c = redis.conn();
    let state: String = ::redis::cmd("HGET")
        .arg("claude:tasks:web:state")
        .arg("2")
        .query(&mut c)
        .unwrap();
    assert!(
        state.contains("\"assignee\":\"child_web_task_a\""),
        "{state}"
    );
    let ready: Vec<String> = ::redis::cmd("ZRANGE")
        .arg("claude:tasks:web:ready")
        .arg(0)
        .arg(-1)
        .query(&mut c)
        .unwrap();
    assert!(ready.is_empty(), "{ready:?}");
    let holds: Vec<String> = ::redis::cmd("SMEMBERS")
        .arg("claude:task_holds:child_web_task_a")
        .query(&mut c)
        .unwrap();
    assert_eq!(holds, vec!["web:2"]);
}

#[tokio::test]
async fn master_plans_children_claim_report_and_done_unblocks_embedded() {
    let d = TestDaemon::embedded(|_| {}).await;
    master_children_flow(&d).await;
}

#[tokio::test]
async fn bad_plans_are_refused_with_the_reason_and_change_nothing() {
    let d = TestDaemon::embedded(|_| {}).await;
    let m = as_session(&d, "master_project_api").await;
    let cycle = call(
        &m,
        "create_tasks",
        json!({ "tasks": [
            {"id": 1, "title": "a", "dependencies": [3]},
            {"id": 2, "title": "b", "dependencies": [1]},
            {"id": 3, "title": "c", "dependencies": [2]}
        ]}),
    )
    .await;
    assert_eq!(cycle.err()["error"], "invalid_argument");
    assert!(
        cycle.text.contains("cycle: 1 → 3 → 2 → 1"),
        "{}",
        cycle.text
    );
    let me = call(
        &m,
        "create_tasks",
        json!({ "tasks": [{"id": 1, "title": "a", "dependencies": [1]}] }),
    )
    .await;
    assert!(me.text.contains("depends on itself"), "{}", me.text);
    let unknown = call(
        &m,
        "create_tasks",
        json!({ "tasks": [{"id": 1, "title": "a"}, {"id": 2, "title": "b", "dependencies": [7]}] }),
    )
    .await;
    assert!(unknown.text.contains("depends on 7"), "{}", unknown.text);
    assert!(
        unknown.text.contains("Nothing was created"),
        "{}",
        unknown.text
    );
    // A misspelled field is refused, not dropped: without its dependencies the task would
    // be ready at once.
    let mut params = rmcp::model::CallToolRequestParams::new("create_tasks");
    params = params.with_arguments(
        json!({ "tasks": [{"id": 1, "title": "a"}, {"id": 2, "title": "b", "depends_on": [1]}] })
            .as_object()
            .cloned()
            .unwrap(),
    );
    let misspelled = match m.call_tool(params).await {
        Ok(r) => format!("{r:?}"),
        Err(e) => e.to_string(),
    };
    assert!(
        misspelled.contains("unknown field `depends_on`") && misspelled.contains("dependencies"),
        "{misspelled}"
    );
    let big = call(
        &m,
        "create_tasks",
        json!({ "tasks": [{"id": 1, "title": "x".repeat(500)}] }),
    )
    .await;
    assert!(big.text.contains("limit is 200"), "{}", big.text);
    let board = call(&m, "list_tasks", json!({})).await.ok().clone();
    assert_eq!(board["total"], 0, "nothing was created: {board}");

    call(
        &m,
        "create_tasks",
        json!({ "tasks": [{"id": 1, "title": "a"}] }),
    )
    .await
    .ok();
    let dup = call(
        &m,
        "create_tasks",
        json!({ "tasks": [{"id": 1, "title": "again"}] }),
    )
    .await;
    assert_eq!(dup.err()["error"], "conflict");
    let status = call(
        &m,
        "update_task",
        json!({ "task_id": 1, "status": "finished" }),
    )
    .await;
    assert!(
        status.text.contains("pending, in-progress"),
        "{}",
        status.text
    );
    let missing = call(&m, "get_task", json!({ "task_id": 9 })).await;
    assert_eq!(missing.err()["error"], "not_found");
    let nothing = call(&m, "update_task", json!({ "task_id": 1 })).await;
    assert!(
        nothing.text.contains("nothing to update"),
        "{}",
        nothing.text
    );

    // No project: say how to get one. Another project by argument works.
    let loner = as_session(&d, "loner").await;
    let err = call(&loner, "next_task", json!({})).await;
    assert!(err.text.contains("belong to no project"), "{}", err.text);
    let other = call(&loner, "next_task", json!({ "project": "api" }))
        .await
        .ok()
        .clone();
    assert_eq!(other["task"]["id"], "1");
    let bad = call(&loner, "list_tasks", json!({ "project": "a:b" })).await;
    assert_eq!(bad.err()["error"], "invalid_argument");
}

#[tokio::test]
async fn the_embedded_store_keeps_tasks_across_a_restart() {
    let mut d = TestDaemon::embedded(|_| {}).await;
    let dir = d.coord().settings().store.data_dir.clone();
    let m = as_session(&d, "master_project_web").await;
    call(&m, "create_tasks", json!({ "tasks": plan() }))
        .await
        .ok();
    let c = as_session(&d, "child_web_task_a").await;
    call(&c, "next_task", json!({})).await.ok();
    d.stop().await;
    drop((m, c));

    let again = TestDaemon::embedded(|s| s.store.data_dir = dir.clone()).await;
    crate::support::client::carry_credentials(&d.base, &again.base);
    let m = as_session(&again, "master_project_web").await;
    let board = call(&m, "list_tasks", json!({})).await.ok().clone();
    assert_eq!(board["total"], 4);
    assert_eq!(board["tasks"][0]["assignee"], "child_web_task_a", "{board}");
    assert_eq!(board["ready"], json!(["3"]));
}

#[tokio::test]
async fn next_task_takes_its_locks_with_the_task_or_nothing() {
    let redis = RedisServer::start();
    let d = TestDaemon::on_redis(&redis, |_| {}).await;
    let m = as_session(&d, "master_project_lk").await;
    call(
        &m,
        "create_tasks",
        json!({ "tasks": [{"id": 1, "title": "auth"}] }),
    )
    .await
    .ok();
    let holder = as_session(&d, "holder").await;
    call(
        &holder,
        "acquire_lock",
        json!({ "lock_name": "path:src/auth/login.rs" }),
    )
    .await
    .ok();
    let c = as_session(&d, "child_lk_task_x").await;
    let refused = call(
        &c,
        "next_task",
        json!({ "locks": ["resource:db", "path:src/auth"] }),
    )
    .await;
    assert!(refused.is_error);
    assert!(
        refused
            .text
            .contains("no task was claimed and no lock taken"),
        "{}",
        refused.text
    );
    assert!(refused.text.contains("holder"), "{}", refused.text);
    let db = call(&holder, "check_lock", json!({ "lock_name": "resource:db" })).await;
    assert!(
        db.ok()["held"].is_null(),
        "resource:db was not taken: {}",
        db.text
    );
    let got = call(
        &c,
        "next_task",
        json!({ "locks": ["resource:db", "path:src/api"], "lock_timeout_seconds": 120 }),
    )
    .await
    .ok()
    .clone();
    assert_eq!(got["task"]["id"], "1");
    assert_eq!(got["locks"][0]["lock"], "resource:db");
    assert_eq!(got["task"]["locks"], json!(["resource:db", "path:src/api"]));
    let db = call(&holder, "check_lock", json!({ "lock_name": "resource:db" })).await;
    assert_eq!(db.ok()["held"]["holder"], "child_lk_task_x", "{}", db.text);
    assert_eq!(db.ok()["held"]["token"], got["locks"][0]["token"]);

    // After Redis lost its data, a claim with locks honours the data-loss hold (acquire's
    // step 0); a claim without locks needs none.
    let mut redis = redis;
    redis.restart();
    let started = std::time::Instant::now();
    loop {
        let r = call(
            &m,
            "create_tasks",
            json!({ "tasks": [{"id": 1, "title": "again"}, {"id": 2, "title": "two"}] }),
        )
        .await;
        if !r.is_error || started.elapsed() > std::time::Duration::from_secs(10) {
            r.ok();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let held_back = call(&c, "next_task", json!({ "locks": ["resource:db"] })).await;
    assert_eq!(
        held_back.err()["error"],
        "store_recovering",
        "{}",
        held_back.text
    );
    let plain = call(&c, "next_task", json!({})).await.ok().clone();
    assert_eq!(plain["task"]["id"], "1");
}
