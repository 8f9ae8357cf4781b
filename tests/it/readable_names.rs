//! Issue 15, Must 4: an agent started by hand (no `COORD_SESSION`) gets a readable, unique
//! name from its worktree and branch, stable across resume, with Claude's session id as an
//! alias that `bind_session` and `send_message_to_session` accept. Driven through
//! `POST /hooks/claude` as `mcp-coord hook` sends it (the e2e with real Claude Code is in
//! claude_code/print.rs).

use serde_json::{Value, json};

use crate::hooks::post_hook;
use crate::support::client::{call, connect_http};
use crate::support::daemon::TestDaemon;
use crate::support::redis::RedisServer;

const A: &str = "0a0a0a0a-1111-4111-8111-000000000001";
const B: &str = "0b0b0b0b-2222-4222-8222-000000000002";
const C: &str = "0c0c0c0c-3333-4333-8333-000000000003";

/// A hook event of Claude session `id` working in the webapp worktree on `feature/login`.
fn event(name: &str, id: &str) -> Value {
    json!({
        "hook_event_name": name,
        "session_id": id,
        "cwd": "/home/ann/src/webapp/api",
        "source": "startup",
        "coord": { "worktree": "/home/ann/src/webapp", "git_branch": "feature/login" }
    })
}

/// The name SessionStart told the agent it is.
async fn started_as(base: &str, id: &str) -> String {
    let (status, answer) = post_hook(base, &event("SessionStart", id)).await;
    assert_eq!(status, 200, "{answer}");
    let ctx = answer["hookSpecificOutput"]["additionalContext"]
        .as_str()
        .expect("context")
        .to_string();
    let name = ctx
        .split('`')
        .nth(1)
        .expect("the context names the session");
    name.to_string()
}

async fn readable_unique_stable_with_alias(d: &mut TestDaemon) {
    let base = d.base.clone();
    assert_eq!(started_as(&base, A).await, "webapp.feature-login");
    // A second agent in the same worktree, while the first is live: suffixed.
    assert_eq!(started_as(&base, B).await, "webapp.feature-login-2");
    // Its SessionStart again (/clear, compaction, resume keeping the id): the same name.
    assert_eq!(started_as(&base, B).await, "webapp.feature-login-2");

    let c = connect_http(&d.mcp_url(), &[]).await;
    // bind_session takes Claude's id.
    let bound = call(&c, "bind_session", json!({ "session_id": A })).await;
    assert_eq!(
        bound.ok()["session"],
        "webapp.feature-login",
        "{}",
        bound.text
    );
    call(&c, "acquire_lock", json!({ "lock_name": "pytest" }))
        .await
        .ok();
    // Refusals, listings and the session record show the readable name.
    let other = connect_http(&d.mcp_url(), &[]).await;
    call(&other, "bind_session", json!({ "session_id": B }))
        .await
        .ok();
    let refused = call(&other, "acquire_lock", json!({ "lock_name": "pytest" })).await;
    refused.err();
    assert!(
        refused.text.contains("held by webapp.feature-login"),
        "{}",
        refused.text
    );
    let s = call(
        &other,
        "get_session_status",
        json!({ "session": "webapp.feature-login" }),
    )
    .await;
    assert_eq!(s.ok()["metadata"]["claude_session_id"], A, "{}", s.text);

    // send accepts Claude's id as the recipient, delivered to the readable session…
    let sent = call(
        &other,
        "send_message_to_session",
        json!({ "to": A, "message": "rebase please", "kind": "info" }),
    )
    .await;
    assert_eq!(
        sent.ok()["recipients"][0]["to"],
        "webapp.feature-login",
        "{}",
        sent.text
    );
    // …and the agent's next prompt context has it (its hooks act as the readable name).
    let (_, answer) = post_hook(&base, &event("UserPromptSubmit", A)).await;
    let ctx = answer["hookSpecificOutput"]["additionalContext"]
        .as_str()
        .unwrap_or_default();
    assert!(ctx.contains("rebase please"), "{answer}");

    // The first agent exits; resumed (Claude may give it a new id), it gets its name back.
    post_hook(&base, &event("SessionEnd", A)).await;
    assert_eq!(started_as(&base, C).await, "webapp.feature-login");
    // The id of the ended agent no longer names anyone: sending to it is refused.
    let gone = call(
        &other,
        "send_message_to_session",
        json!({ "to": A, "message": "still there?" }),
    )
    .await;
    gone.err();
    for c in [c, other] {
        let _ = c.cancel().await;
    }
}

#[tokio::test]
async fn readable_unique_stable_with_alias_embedded() {
    let mut d = TestDaemon::embedded(|_| {}).await;
    readable_unique_stable_with_alias(&mut d).await;
    d.stop().await;
}

#[tokio::test]
async fn readable_unique_stable_with_alias_redis() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    readable_unique_stable_with_alias(&mut d).await;
    d.stop().await;
}

/// Eight agents starting in one worktree at the same moment get eight names.
#[tokio::test]
async fn simultaneous_starts_get_distinct_names() {
    let redis = RedisServer::start();
    let mut d = TestDaemon::on_redis(&redis, |_| {}).await;
    let ids: Vec<String> = (0..8)
        .map(|i| format!("0d0d0d0d-4444-4444-8444-00000000000{i}"))
        .collect();
    let names = futures::future::join_all(ids.iter().map(|id| started_as(&d.base, id))).await;
    let mut distinct = names.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 8, "{names:?}");
    assert!(
        names.contains(&"webapp.feature-login".to_string()),
        "{names:?}"
    );
    assert!(
        names.iter().all(|n| n.starts_with("webapp.feature-login")),
        "{names:?}"
    );
    d.stop().await;
}

/// `COORD_SESSION` still names the session; no directory at all falls back to Claude's id.
#[tokio::test]
async fn coord_session_wins_and_no_directory_means_claude_id() {
    let mut d = TestDaemon::embedded(|_| {}).await;
    let mut named = event("SessionStart", A);
    named["coord"]["session"] = json!("child_web_task_3");
    let (_, answer) = post_hook(&d.base, &named).await;
    assert!(
        answer
            .to_string()
            .contains("you are session `child_web_task_3`"),
        "{answer}"
    );
    let bare = json!({ "hook_event_name": "SessionStart", "session_id": B });
    let (status, answer) = post_hook(&d.base, &bare).await;
    assert_eq!(status, 200);
    assert!(
        answer
            .to_string()
            .contains(&format!("you are session `{B}`")),
        "{answer}"
    );
    d.stop().await;
}
