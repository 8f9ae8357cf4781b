//! Issue 17, what others hear: task events on `/events`, `coord://tasks` with
//! subscriptions, the master told of done/failed/handed-back tasks, idle children told of
//! ready ones (as `task` messages, which wake), a task handed back when its assignee ends,
//! and `get_batch_status`.

use std::time::Duration;

use rmcp::model::{ReadResourceRequestParams, ResourceContents, SubscribeRequestParams};
use serde_json::{Value, json};

use crate::messages::next_event;
use crate::support::client::{Client, call, connect_http};
use crate::support::daemon::TestDaemon;
use crate::support::redis::RedisServer;
use crate::support::sse_client::SseEventParser;

async fn as_session(d: &TestDaemon, name: &str) -> Client {
    let c = connect_http(&d.mcp_url(), &[("X-Coord-Session", name)]).await;
    call(&c, "whoami", json!({})).await.ok();
    c
}

async fn inbox(c: &Client) -> Vec<Value> {
    call(c, "get_session_messages", json!({})).await.ok()["messages"]
        .as_array()
        .unwrap()
        .clone()
}

async fn events_and_notifications(d: &TestDaemon) {
    let resp = reqwest::get(format!("{}/events", d.base)).await.unwrap();
    let mut body = resp.bytes_stream();
    let mut parser = SseEventParser::default();
    next_event(&mut body, &mut parser, "ready").await;

    let master = as_session(d, "master_project_shop").await;
    let a = as_session(d, "child_shop_task_a").await;
    let idle = as_session(d, "child_shop_task_idle").await;
    let made = call(
        &master,
        "create_tasks",
        json!({ "tasks": [
            {"id": 1, "title": "cart"},
            {"id": 2, "title": "checkout", "dependencies": [1]},
            {"id": 3, "title": "payments", "dependencies": [2]}
        ]}),
    )
    .await
    .ok()
    .clone();
    let e = next_event(&mut body, &mut parser, "task_created").await;
    assert_eq!(e["project"], "shop");
    assert_eq!(e["ids"], json!(["1", "2", "3"]));
    assert_eq!(e["ready"], json!(["1"]));
    assert_eq!(e["batch"], made["batch"]);

    call(&a, "next_task", json!({})).await.ok();
    let e = next_event(&mut body, &mut parser, "task_claimed").await;
    assert_eq!(
        (e["task"].as_str(), e["assignee"].as_str()),
        (Some("1"), Some("child_shop_task_a"))
    );
    assert_eq!(e["title"], "cart");

    call(
        &a,
        "update_task",
        json!({ "task_id": 1, "status": "done", "note": "merged" }),
    )
    .await
    .ok();
    let e = next_event(&mut body, &mut parser, "task_updated").await;
    assert_eq!(e["status"], "done");
    assert_eq!(e["previous"], "in-progress");
    assert_eq!(e["unblocked"], json!(["2"]));
    assert_eq!(e["note"], "merged");

    // The master hears of it; the idle child hears that 2 is ready — as task messages
    // (they wake an idle agent); the child that did it is told too (it is idle now).
    let told = inbox(&master).await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0]["kind"], "task");
    assert_eq!(told[0]["from"], "mcp-coord");
    let text = told[0]["body"].as_str().unwrap();
    assert!(
        text.contains("Task 1 (cart) of project shop is done (by child_shop_task_a); now ready: 2"),
        "{text}"
    );
    // It heard when the plan came (1 ready), and now that 2 is.
    let woke = inbox(&idle).await;
    assert_eq!(woke.len(), 2, "{woke:?}");
    assert!(
        woke[0]["body"]
            .as_str()
            .unwrap()
            .contains("Tasks 1 of project shop are ready"),
        "{woke:?}"
    );
    assert!(
        woke[1]["body"]
            .as_str()
            .unwrap()
            .contains("Tasks 2 of project shop are ready"),
        "{woke:?}"
    );

    // Failure: the master is told what it blocks.
    call(&idle, "next_task", json!({})).await.ok();
    call(
        &idle,
        "update_task",
        json!({ "task_id": 2, "status": "failed", "note": "API down" }),
    )
    .await
    .ok();
    let told = inbox(&master).await;
    let text = told.last().unwrap()["body"].as_str().unwrap().to_string();
    assert!(
        text.contains("Task 2 (checkout) of project shop failed"),
        "{text}"
    );
    assert!(text.contains("It blocks 3."), "{text}");
    assert!(text.contains("Last note: API down"), "{text}");
    let failed = call(&idle, "get_task", json!({ "task_id": 3 }))
        .await
        .ok()
        .clone();
    assert_eq!(failed["waiting_on"][0]["status"], "failed");

    // A child that ends hands its task back, with a note naming it; the master is told.
    call(
        &master,
        "update_task",
        json!({ "task_id": 2, "status": "pending" }),
    )
    .await
    .ok();
    let got = call(&a, "next_task", json!({})).await.ok().clone();
    assert_eq!(got["task"]["id"], "2");
    call(&a, "end_session", json!({})).await.ok();
    let e = next_event(&mut body, &mut parser, "task_released").await;
    assert_eq!(
        (e["task"].as_str(), e["from"].as_str()),
        (Some("2"), Some("child_shop_task_a"))
    );
    let two = call(&master, "get_task", json!({ "task_id": 2 }))
        .await
        .ok()
        .clone();
    assert_eq!(two["status"], "pending");
    assert!(two.get("assignee").is_none(), "{two}");
    let note = two["notes"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(note["by"], "mcp-coord");
    assert!(
        note["text"]
            .as_str()
            .unwrap()
            .contains("handed back: its assignee child_shop_task_a ended"),
        "{note}"
    );
    let told = inbox(&master).await;
    assert!(
        told.iter().any(|m| m["body"]
            .as_str()
            .unwrap()
            .contains("is pending again: its assignee child_shop_task_a ended")),
        "{told:?}"
    );
    // The idle child heard that 2 is ready again — after the master's retry, and after
    // the hand-back — so it need not poll.
    let woke = inbox(&idle).await;
    let ready_again = woke
        .iter()
        .filter(|m| {
            m["body"]
                .as_str()
                .unwrap()
                .contains("Tasks 2 of project shop are ready")
        })
        .count();
    assert_eq!(ready_again, 2, "{woke:?}");
    assert_eq!(
        call(&idle, "next_task", json!({})).await.ok()["task"]["id"],
        "2"
    );

    // get_batch_status: the batch with its counts, then its board.
    let status = call(&master, "get_batch_status", json!({}))
        .await
        .ok()
        .clone();
    assert_eq!(status["batches"][0]["batch"], made["batch"]);
    assert_eq!(status["batches"][0]["total"], 3);
    assert_eq!(status["batches"][0]["counts"]["done"], 1);
    assert_eq!(status["batches"][0]["completed"], false);
    let one = call(
        &master,
        "get_batch_status",
        json!({ "batch": made["batch"] }),
    )
    .await;
    let ids: Vec<&str> = one.ok()["board"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec!["2", "3"],
        "finished tasks only with include_completed"
    );
}

#[tokio::test]
async fn task_events_notifications_and_hand_back_on_redis() {
    let redis = RedisServer::start();
    let d = TestDaemon::on_redis(&redis, |_| {}).await;
    events_and_notifications(&d).await;
}

#[tokio::test]
async fn task_events_notifications_and_hand_back_embedded() {
    let d = TestDaemon::embedded(|_| {}).await;
    events_and_notifications(&d).await;
}

#[tokio::test]
async fn coord_tasks_is_readable_and_notifies_subscribers() {
    let d = TestDaemon::embedded(|_| {}).await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let watcher = crate::messages::watch_with(&d.mcp_url(), "child_ui_task_w", tx).await;
    #[allow(deprecated)]
    watcher
        .subscribe(SubscribeRequestParams::new("coord://tasks"))
        .await
        .expect("subscribed");
    let master = as_session(&d, "master_project_ui").await;
    call(
        &master,
        "create_tasks",
        json!({ "tasks": [{"id": "a", "title": "layout"}] }),
    )
    .await
    .ok();
    let uri = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("an update of coord://tasks")
        .unwrap();
    assert_eq!(uri, "coord://tasks");
    // The watcher's first tool call registers it (project ui, from its name).
    watcher
        .call_tool(rmcp::model::CallToolRequestParams::new("whoami"))
        .await
        .unwrap();
    let read = watcher
        .read_resource(ReadResourceRequestParams::new("coord://tasks"))
        .await
        .unwrap();
    let ResourceContents::TextResourceContents { text, .. } = &read.contents[0] else {
        panic!("text contents")
    };
    let board: Value = serde_json::from_str(text).unwrap();
    assert_eq!(board["project"], "ui");
    assert_eq!(board["ready"], json!(["a"]));
}
