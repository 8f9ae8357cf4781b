//! A master Claude Code session spawns a child Claude Code with `create_session(command=…)`
//! (issue 15): the child, a real interactive Claude Code in the daemon's tmux against the
//! same scripted model, registers as `child_<p>_task_<t>` through its own hooks (the
//! variables create_session set reach them), is woken by the task its master sends, reports
//! `done`, and the master, idle at its prompt by then, is woken with the result. Nobody
//! types after the master's first prompt.

use serde_json::json;

use super::interactive::{SEEN_WITHIN, registered};
use crate::claude_or_skip;
use crate::support::claude::{Agent, Transport};
use crate::support::client::{call, connect_http};
use crate::support::daemon::TestDaemon;
use crate::support::model::{Reply, ScriptedModel};
use crate::support::tmux::TmuxSocket;

const MASTER: &str = "e2e_master";
const CHILD: &str = "child_e2e_task_1";

async fn master_spawns_a_child(transport: Transport) {
    let Some(claude) = claude_or_skip!(format!("claude_master_spawns_a_child_{transport:?}"))
    else {
        return;
    };
    let tmux = TmuxSocket::new();
    let socket = tmux.name.clone();
    let mut d = TestDaemon::embedded(|s| s.tmux.socket = socket).await;
    let model = ScriptedModel::start().await;
    let master =
        Agent::new(&claude, &d.base, &model.url, transport).with_env("COORD_SESSION", MASTER);
    // The child's own HOME and project (trusted, hooks installed), started by the master.
    let child = Agent::new(&claude, &d.base, &model.url, transport);

    let id = uuid::Uuid::new_v4().simple().to_string();
    let task = format!("task-{}: add the login form", &id[..8]);
    let result = format!("result-{}: login form added, 3 tests pass", &id[8..16]);
    let (m, c) = (
        ScriptedModel::session_marker(MASTER),
        ScriptedModel::session_marker(CHILD),
    );
    let tool = |name: &str, input: serde_json::Value| Reply::Tool {
        name: format!("mcp__coordination__{name}"),
        input,
    };
    model.push_for(
        &m,
        Some("spawn your child"),
        tool(
            "create_session",
            json!({
                "project": "e2e", "task": "1",
                "working_dir": child.project.display().to_string(),
                "command": child.spawned_argv(),
            }),
        ),
    );
    model.push_for(
        &m,
        None,
        tool(
            "send_message_to_session",
            json!({ "to": CHILD, "kind": "task", "message": task }),
        ),
    );
    model.push_for(&m, None, Reply::Text(format!("waiting for {CHILD}")));
    model.push_for(&m, Some(&result), Reply::Text("my child is done".into()));
    model.push_for(
        &c,
        Some(&task),
        tool(
            "report_session_status",
            json!({ "state": "done", "summary": result }),
        ),
    );
    model.push_for(&c, None, Reply::Text("reported to my master".into()));

    let tui = master.tui(&tmux, "master").await;
    registered(&d, MASTER).await;
    tui.submit("spawn your child and give it the login form")
        .await;
    if model
        .wait_for_text(0, "spawn your child", SEEN_WITHIN)
        .await
        .is_none()
    {
        panic!(
            "the master's prompt never reached the model; its screen:\n{}",
            tui.screen()
        );
    }
    let created = model
        .wait_for(0, SEEN_WITHIN, |r| {
            r.tool_results().iter().any(|t| t.contains("attach"))
        })
        .await;
    assert!(
        created.is_some(),
        "create_session never answered; requests: {:?}\nscreen:\n{}",
        model
            .conversation()
            .iter()
            .map(|r| (r.step, r.last_text()))
            .collect::<Vec<_>>(),
        tui.screen()
    );

    // The child registers through its own hooks, as its master's child.
    registered(&d, CHILD).await;
    let probe = connect_http(&d.mcp_url(), &[]).await;
    let (_, woken_child) = model
        .wait_for(0, SEEN_WITHIN, |r| {
            r.text().contains(&c) && r.text().contains(&task)
        })
        .await
        .unwrap_or_else(|| {
            panic!(
                "the child never received its task; tmux: {:?}",
                tmux.sessions()
            )
        });
    let s = call(&probe, "get_session_status", json!({ "session": CHILD })).await;
    let s = s.ok();
    assert_eq!(s["parent"], MASTER, "{s}");
    assert!(
        s["metadata"]["claude_session_id"].is_string(),
        "registered by the child's own SessionStart hook: {s}"
    );
    assert_eq!(
        woken_child.text().matches(&task).count(),
        1,
        "the task reaches the child once"
    );
    assert!(
        woken_child
            .text()
            .contains(&format!("mcp-coord woke session `{CHILD}`")),
        "nobody types into the child: the task must wake it: {}",
        woken_child.last_text()
    );

    // The master, idle since it sent the task, is woken with its child's result.
    let (_, woken) = model
        .wait_for(0, SEEN_WITHIN, |r| {
            r.text().contains(&m) && r.last_text().contains(&result)
        })
        .await
        .unwrap_or_else(|| {
            panic!(
                "the master was never woken with the result; its requests: {:?}",
                model
                    .conversation()
                    .iter()
                    .filter(|r| r.text().contains(&m))
                    .map(|r| r.last_text())
                    .collect::<Vec<_>>()
            )
        });
    assert!(
        woken
            .last_text()
            .contains(&format!("mcp-coord woke session `{MASTER}`")),
        "{}",
        woken.last_text()
    );
    let status = call(&probe, "get_session_status", json!({ "session": CHILD })).await;
    assert_eq!(status.ok()["state"], "done", "{}", status.text);
    let _ = probe.cancel().await;
    d.stop().await;
}

#[tokio::test]
async fn master_spawns_a_child_sse() {
    master_spawns_a_child(Transport::Sse).await;
}

#[tokio::test]
async fn master_spawns_a_child_http() {
    master_spawns_a_child(Transport::Http).await;
}
