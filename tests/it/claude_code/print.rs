//! `claude -p` runs: the `mcp_tool` bind handshake (the lock an agent takes through its own
//! MCP connection is held under the name its hooks registered: `COORD_SESSION`, or the
//! readable `<worktree>.<branch>` of an agent started by hand, the same after `--resume`)
//! and a refusal that names the holder, as the model reads it.

use serde_json::json;

use crate::claude_or_skip;
use crate::support::claude::{Agent, Transport};
use crate::support::client::{call, connect_http};
use crate::support::daemon::TestDaemon;
use crate::support::model::ScriptedModel;

async fn bind_handshake(transport: Transport, coord_session: Option<&str>) {
    let name = format!("claude_bind_handshake_{transport:?}");
    let Some(claude) = claude_or_skip!(name) else {
        return;
    };
    let mut d = TestDaemon::embedded(|_| {}).await;
    let model = ScriptedModel::start().await;
    let mut agent = Agent::new(&claude, &d.base, &model.url, transport);
    match coord_session {
        Some(s) => agent = agent.with_env("COORD_SESSION", s),
        // Started by hand: named after its worktree (`project`) and branch.
        None => agent = agent.git_branch("e2e/readable"),
    }
    model.then_tool(
        None,
        "mcp__coordination__acquire_lock",
        json!({ "lock_name": "pytest", "timeout_seconds": 600 }),
    );
    model.then_tool(None, "mcp__coordination__whoami", json!({}));
    model.then_text(None, "done");
    let run = agent.print("take the pytest lock").await;
    assert_eq!(run.status, Some(0), "{}", run.describe());
    assert_eq!(
        run.mcp_status("coordination").as_deref(),
        Some("connected"),
        "{}",
        run.describe()
    );
    let claude_id = run.session_id().expect("init event names the session");
    let expected = coord_session.unwrap_or(READABLE).to_string();

    // What the model was told: the hook's SessionStart context, then the tool results.
    let conversation = model.conversation();
    assert!(
        conversation[0]
            .text()
            .contains(&format!("you are session `{expected}`")),
        "SessionStart context missing: {}",
        conversation[0].text()
    );
    let results = run.tool_results();
    assert_eq!(results.len(), 2, "{}", run.describe());
    let grant: serde_json::Value = serde_json::from_str(&results[0]).expect("JSON tool result");
    assert_eq!(grant["granted"], true, "{grant}");
    assert_eq!(
        grant["holder"], expected,
        "the lock must be held under the hook-registered name: {grant}"
    );
    assert!(!results[0].contains("agent-"), "{}", results[0]);
    let whoami: serde_json::Value = serde_json::from_str(&results[1]).unwrap();
    assert_eq!(whoami["session"], expected, "{whoami}");

    // SessionEnd (claude -p exits) ended the session and released its lock.
    let c = connect_http(&d.mcp_url(), &[]).await;
    let check = call(&c, "check_lock", json!({ "lock_name": "pytest" })).await;
    assert_eq!(check.ok()["free"], true, "{}", check.text);
    let _ = c.cancel().await;

    if coord_session.is_none() {
        // Resumed, the agent is the same readable session again.
        model.then_tool(None, "mcp__coordination__whoami", json!({}));
        model.then_text(None, "still me");
        let again = agent
            .print_with("who am I now?", &["--resume", &claude_id])
            .await;
        assert_eq!(again.status, Some(0), "{}", again.describe());
        let whoami: serde_json::Value =
            serde_json::from_str(again.tool_results().first().expect("whoami result"))
                .expect("JSON tool result");
        assert_eq!(whoami["session"], expected, "{}", again.describe());
    }
    d.stop().await;
}

/// The readable name of an agent started by hand in `project` on branch `e2e/readable`.
const READABLE: &str = "project.e2e-readable";

#[tokio::test]
async fn bind_handshake_sse() {
    bind_handshake(Transport::Sse, Some("e2e_bind_sse")).await;
}

#[tokio::test]
async fn bind_handshake_http() {
    bind_handshake(Transport::Http, Some("e2e_bind_http")).await;
}

#[tokio::test]
async fn bind_handshake_without_coord_session_sse() {
    bind_handshake(Transport::Sse, None).await;
}

async fn second_agent_refused(transport: Transport) {
    let Some(claude) = claude_or_skip!(format!("claude_second_agent_refused_{transport:?}")) else {
        return;
    };
    let mut d = TestDaemon::embedded(|_| {}).await;
    // The first agent holds pytest on its own connection.
    let holder = connect_http(&d.mcp_url(), &[("X-Coord-Session", "e2e_first_agent")]).await;
    call(
        &holder,
        "acquire_lock",
        json!({ "lock_name": "pytest", "timeout_seconds": 600 }),
    )
    .await
    .ok();

    let model = ScriptedModel::start().await;
    let agent = Agent::new(&claude, &d.base, &model.url, transport)
        .with_env("COORD_SESSION", "e2e_second_agent");
    model.then_tool(
        None,
        "mcp__coordination__acquire_lock",
        json!({ "lock_name": "pytest" }),
    );
    model.then_text(None, "I will wait for it");
    let run = agent.print("run the tests").await;
    assert_eq!(run.status, Some(0), "{}", run.describe());

    // The model's second request carries the refusal, naming the holder.
    let (_, after) = model
        .wait_for(1, std::time::Duration::from_secs(5), |r| {
            !r.tool_results().is_empty()
        })
        .await
        .expect("a request with the tool result");
    let refusal = after.tool_results().join("\n");
    assert!(
        refusal.contains("held by e2e_first_agent"),
        "the refusal must name the holder: {refusal}"
    );
    let _ = holder.cancel().await;
    d.stop().await;
}

#[tokio::test]
async fn second_agent_refused_sse() {
    second_agent_refused(Transport::Sse).await;
}

#[tokio::test]
async fn second_agent_refused_http() {
    second_agent_refused(Transport::Http).await;
}

#[tokio::test]
async fn bind_handshake_without_coord_session_http() {
    bind_handshake(Transport::Http, None).await;
}
