//! The daemon restarts under a running interactive Claude Code (issue 15): the agent's next
//! tool call works and acts as the same session, on both transports. The agent is started by
//! hand (no `COORD_SESSION`, no name in its MCP URL), so only its hooks' binding (kept in
//! Redis) can tell the restarted daemon who it is. Its prompts are typed by the daemon's own
//! `send_keys`, which must see them submitted: the scripted model receives the text.
//!
//! The daemon is a real process on a fixed port, SIGKILLed (a crash) and started again.

use std::time::Duration;

use serde_json::{Value, json};

use super::interactive::SEEN_WITHIN;
use crate::claude_or_skip;
use crate::support::claude::{Agent, Transport};
use crate::support::client::{Client, call, connect_http, try_connect_as};
use crate::support::model::ScriptedModel;
use crate::support::process::DaemonProcess;
use crate::support::redis::RedisServer;
use crate::support::tmux::TmuxSocket;

/// The agent's readable name: its project directory `project` on branch `e2e/restart`.
const NAME: &str = "project.e2e-restart";
/// Who drives the agent's pane with `send_keys` (its tmux `MASTER_SESSION_ID`).
const MASTER: &str = "e2e_restart_master";
/// The agent's tmux session.
const PANE: &str = "restart";

/// Until session `name` is live on the daemon at `mcp_url` (bounded).
async fn registered(mcp_url: &str, name: &str) {
    let c = connect_http(mcp_url, &[]).await;
    let deadline = tokio::time::Instant::now() + SEEN_WITHIN;
    loop {
        let s = call(&c, "get_session_status", json!({ "session": name })).await;
        if !s.is_error && s.json["ended_at_ms"].is_null() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "session {name} never registered: {}",
            s.text
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = c.cancel().await;
}

/// Until the agent's Claude Code has reopened its SSE stream to the restarted daemon by
/// itself: `/health` counts an SSE connection (bounded; nobody else uses SSE). A POST before
/// that goes to the old stream's endpoint and is refused (404, "reconnect"); Streamable
/// HTTP has no such window: its first request after the restart gets the 404 and the
/// client initializes again at once.
async fn reconnected(base: &str) {
    let field = "sse";
    let deadline = tokio::time::Instant::now() + SEEN_WITHIN;
    loop {
        let health: Value = match reqwest::get(format!("{base}/health")).await {
            Ok(r) => r.json().await.unwrap_or(Value::Null),
            Err(_) => Value::Null,
        };
        if health["connections"][field].as_u64().unwrap_or(0) >= 1 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "Claude Code never reconnected over {field}: {health}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `send_keys` from the master into the agent's TUI; asserts tmux saw it submitted.
async fn type_prompt(master: &Client, text: &str) {
    let sent = call(
        master,
        "send_keys",
        json!({ "session": PANE, "text": text, "enter": true }),
    )
    .await;
    assert_eq!(sent.ok()["confirmed"], true, "{}", sent.text);
}

/// The newest tool result, once a request after `from` carries more than `seen` of them
/// (each request repeats the conversation so far): its index, the count, and its JSON.
async fn next_tool_result(
    model: &ScriptedModel,
    from: usize,
    seen: usize,
) -> (usize, usize, Value) {
    let (i, r) = model
        .wait_for(from, SEEN_WITHIN, |r| r.tool_results().len() > seen)
        .await
        .unwrap_or_else(|| panic!("no new tool result came back after request {from}"));
    let results = r.tool_results();
    let text = results.last().cloned().unwrap_or_default();
    (
        i,
        results.len(),
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn restart_under_a_running_agent(transport: Transport) {
    let Some(claude) = claude_or_skip!(format!("claude_restart_{transport:?}")) else {
        return;
    };
    let tmux = TmuxSocket::new();
    let redis = RedisServer::start();
    let mut daemon =
        DaemonProcess::start(Some(&redis.url()), &[("MCP_COORD_TMUX_SOCKET", &tmux.name)]);
    let model = ScriptedModel::start().await;
    let agent =
        Agent::new(&claude, &daemon.base(), &model.url, transport).git_branch("e2e/restart");
    let _tui = agent
        .tui_with(&tmux, PANE, &[("MASTER_SESSION_ID", MASTER)])
        .await;
    registered(&daemon.mcp_url(), NAME).await;

    // Before: the prompt typed by send_keys reaches the model, which takes a lock.
    model.then_tool(
        Some("before the restart"),
        "mcp__coordination__acquire_lock",
        json!({ "lock_name": "pytest", "timeout_seconds": 600 }),
    );
    model.then_text(None, "holding pytest");
    // With its credential: the master comes back as itself after the restart (issue 16).
    let master = try_connect_as(&daemon.base(), MASTER).await.unwrap();
    type_prompt(&master, "before the restart").await;
    let (i, _) = model
        .wait_for_text(0, "before the restart", SEEN_WITHIN)
        .await
        .expect("the prompt typed with send_keys reaches the model");
    let (i, seen, grant) = next_tool_result(&model, i, 0).await;
    assert_eq!(
        (grant["granted"].as_bool(), grant["holder"].as_str()),
        (Some(true), Some(NAME)),
        "{grant}"
    );
    let _ = master.cancel().await;

    // The daemon crashes and comes back on the same port, on the same Redis.
    daemon.restart();
    if transport == Transport::Sse {
        reconnected(&daemon.base()).await;
    }

    // After: the next tool calls work and act as the same session (it still holds pytest).
    model.then_tool(
        Some("after the restart"),
        "mcp__coordination__release_lock",
        json!({ "lock_name": "pytest" }),
    );
    model.then_tool(None, "mcp__coordination__whoami", json!({}));
    model.then_text(None, "released");
    // With its credential: the master comes back as itself after the restart (issue 16).
    let master = try_connect_as(&daemon.base(), MASTER).await.unwrap();
    type_prompt(&master, "after the restart").await;
    let (j, _) = model
        .wait_for_text(i + 1, "after the restart", SEEN_WITHIN)
        .await
        .expect("the prompt after the restart reaches the model");
    let (j, seen, released) = next_tool_result(&model, j, seen).await;
    assert_eq!(
        released["released"],
        true,
        "released by the session that took it: {released}\n{}",
        daemon.log()
    );
    let (_, _, me) = next_tool_result(&model, j + 1, seen).await;
    assert_eq!(me["session"], NAME, "{me}");
    // Never woken with an error while the daemon was away.
    assert!(
        model
            .conversation()
            .iter()
            .all(|r| !r.text().contains("mcp-coord woke")),
        "the restart must not wake the agent"
    );
    let _ = master.cancel().await;
}

#[tokio::test]
async fn restart_under_a_running_agent_sse() {
    restart_under_a_running_agent(Transport::Sse).await;
}

#[tokio::test]
async fn restart_under_a_running_agent_http() {
    restart_under_a_running_agent(Transport::Http).await;
}
