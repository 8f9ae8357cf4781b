//! The interactive Claude Code TUI in a private tmux: an idle agent woken by a task message,
//! a message sent with `mcp-coord send` shown once in the next prompt's context, and the Stop
//! block delivering a task.

use std::time::Duration;

use mcp_coord::store::messages::ReadQuery;
use serde_json::json;

use crate::claude_or_skip;
use crate::support::binary::{BIN, clean_env};
use crate::support::claude::{Agent, Transport};
use crate::support::daemon::TestDaemon;
use crate::support::model::ScriptedModel;
use crate::support::tmux::TmuxSocket;

/// Bound for the model to see what a test waits for.
pub const SEEN_WITHIN: Duration = Duration::from_secs(60);

/// `mcp-coord --url BASE --session FROM send TO TEXT --kind KIND`.
pub async fn cli_send(base: &str, from: &str, to: &str, text: &str, kind: &str) {
    let mut cmd = std::process::Command::new(BIN);
    clean_env(&mut cmd);
    cmd.args([
        "--url",
        base,
        "--session",
        from,
        "send",
        to,
        text,
        "--kind",
        kind,
    ]);
    let out = tokio::process::Command::from(cmd)
        .output()
        .await
        .expect("mcp-coord send runs");
    assert!(
        out.status.success(),
        "mcp-coord send failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Until the session `name` is registered (its SessionStart hook ran), bounded.
pub async fn registered(d: &TestDaemon, name: &str) {
    let deadline = tokio::time::Instant::now() + SEEN_WITHIN;
    loop {
        if let Ok(Some(e)) = d.coord().store().get_session(name).await
            && e.live
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "session {name} never registered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn idle_agent_woken_by_a_task(transport: Transport) {
    let Some(claude) = claude_or_skip!(format!("claude_idle_agent_woken_{transport:?}")) else {
        return;
    };
    let mut d = TestDaemon::embedded(|_| {}).await;
    let model = ScriptedModel::start().await;
    let name = format!("e2e_idle_{transport:?}").to_lowercase();
    let agent =
        Agent::new(&claude, &d.base, &model.url, transport).with_env("COORD_SESSION", &name);
    let tmux = TmuxSocket::new();
    let tui = agent.tui(&tmux, "idle").await;
    registered(&d, &name).await;
    // Nobody types: the agent sits at its prompt. A task arrives…
    let task = format!("task-{}: rebase on main", uuid::Uuid::new_v4().simple());
    // …and its reply calls a tool, so we also see the woken agent act as its session.
    model.then_tool(Some(&task[..13]), "mcp__coordination__whoami", json!({}));
    cli_send(&d.base, "e2e_master", &name, &task, "task").await;
    let Some((i, woken)) = model.wait_for_text(0, &task, SEEN_WITHIN).await else {
        // Say which side lost it: still unread (no waiter woke) or claimed (Claude dropped it).
        let unread = d
            .coord()
            .store()
            .read_messages(
                &name,
                &ReadQuery {
                    limit: 10,
                    peek: true,
                    kinds: None,
                    inbox: d.coord().inbox_policy(),
                },
            )
            .await
            .map(|m| m.len());
        panic!(
            "the idle agent was never woken with the task. unread in its inbox: {unread:?}; \
             waiters armed: {}; requests the model got: {:?}\nwake trace:\n{}\nscreen:\n{}",
            d.coord().waiters().count(),
            model
                .conversation()
                .iter()
                .map(|r| r.last_text())
                .collect::<Vec<_>>(),
            agent.wake_trace(),
            tui.screen()
        )
    };
    assert!(
        woken.last_text().contains("mcp-coord woke session"),
        "the wake-up reminder: {}",
        woken.last_text()
    );
    assert_eq!(
        woken.text().matches(&task).count(),
        1,
        "the task is delivered once"
    );
    let (_, after) = model
        .wait_for(i + 1, SEEN_WITHIN, |r| !r.tool_results().is_empty())
        .await
        .expect("the whoami result comes back");
    assert!(
        after.tool_results().join("").contains(&name),
        "{:?}",
        after.tool_results()
    );
    d.stop().await;
}

#[tokio::test]
async fn idle_agent_woken_by_a_task_sse() {
    idle_agent_woken_by_a_task(Transport::Sse).await;
}

#[tokio::test]
async fn idle_agent_woken_by_a_task_http() {
    idle_agent_woken_by_a_task(Transport::Http).await;
}

#[tokio::test]
async fn a_sent_message_shows_up_once_in_the_next_prompt_context() {
    let Some(claude) = claude_or_skip!("claude_message_in_prompt_context") else {
        return;
    };
    let mut d = TestDaemon::embedded(|_| {}).await;
    let model = ScriptedModel::start().await;
    let agent = Agent::new(&claude, &d.base, &model.url, Transport::Sse)
        .with_env("COORD_SESSION", "e2e_context");
    let tmux = TmuxSocket::new();
    let tui = agent.tui(&tmux, "context").await;
    registered(&d, "e2e_context").await;
    // info does not wake: it waits for the next prompt.
    let note = format!("note-{}", uuid::Uuid::new_v4().simple());
    cli_send(&d.base, "e2e_sender", "e2e_context", &note, "info").await;
    tui.submit("first prompt").await;
    let (i, first) = model
        .wait_for_text(0, "first prompt", SEEN_WITHIN)
        .await
        .expect("the first prompt reaches the model");
    assert_eq!(first.text().matches(&note).count(), 1, "{}", first.text());
    tui.submit("second prompt").await;
    let (_, second) = model
        .wait_for_text(i + 1, "second prompt", SEEN_WITHIN)
        .await
        .expect("the second prompt reaches the model");
    assert_eq!(
        second.text().matches(&note).count(),
        1,
        "shown once, not again with the next prompt"
    );
    d.stop().await;
}
